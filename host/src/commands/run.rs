//! `assay run`: compute a spec (or reuse an identical finished run), or resume a run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use assay_engine::{Outcome, RunOptions};
use assay_spec::Override;
use assay_store::record::last_evaluation;
use assay_store::Store;
use clap::Args;

use crate::builtins::load_catalog;
use crate::process::{EXIT_DIVERGED, EXIT_INTERRUPTED};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Spec file.
    #[arg(required_unless_present = "resume")]
    pub spec: Option<PathBuf>,
    /// Override a value: KEY.PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue a run from its last checkpoint.
    #[arg(long, value_name = "RUN_ID", conflicts_with = "spec")]
    pub resume: Option<String>,
    /// Recompute even if an identical finished run exists.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Stop after this step with a checkpoint (status `interrupted`); `--resume` continues.
    #[arg(long, value_name = "STEP")]
    pub pause_at: Option<u64>,
}

/// `assay run SPEC` or `assay run --resume ID`.
pub fn run(args: RunArgs, registry: Option<&Path>, store: &Store) -> anyhow::Result<ExitCode> {
    assay_engine::install_interrupt_handler();
    let catalog = load_catalog(registry)?;
    let opts = RunOptions {
        quiet: args.quiet,
        force: args.force,
        pause_at: args.pause_at,
    };
    let (id, outcome) = match (&args.resume, &args.spec) {
        (Some(id), _) => assay_engine::resume(&catalog, store, id, &opts)?,
        (None, Some(path)) => {
            let set = Override::parse_all(&args.set)?;
            let raw = assay_spec::read_raw(path, &set)?;
            let spec = assay_spec::resolve(&raw, &path.display().to_string(), &catalog)
                .map_err(|e| assay_spec::attribute_overrides(e, &set))?;
            assay_engine::run(&catalog, &spec, store, &opts)?
        }
        (None, None) => bail!("give a spec file or --resume RUN_ID"),
    };
    if !args.quiet {
        if let Some(summary) = store
            .run_dir(&id)
            .ok()
            .and_then(|dir| last_evaluation(&dir))
        {
            eprintln!("run {id}: {summary}");
        }
    }
    let code = match outcome {
        Outcome::Completed | Outcome::Reused(_) => ExitCode::SUCCESS,
        Outcome::Diverged => {
            eprintln!("run {id} diverged (NaN or infinite loss); metrics up to that step are kept");
            ExitCode::from(EXIT_DIVERGED)
        }
        Outcome::Interrupted => {
            eprintln!("run {id} interrupted; continue it with `assay run --resume {id}`");
            ExitCode::from(EXIT_INTERRUPTED)
        }
    };
    println!("{id}");
    Ok(code)
}
