//! `assay sweep`: expand a `[sweep]` table, freeze the runs into a manifest in the store, run
//! them on this machine or as a Slurm job array, and report their state from the run
//! directories alone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};

use assay_catalog::Catalog;
use assay_engine::{Outcome, RunOptions};
use assay_spec::Override;
use assay_store::manifest::Manifest;
use assay_store::sweep_state::{counts, entry_state, run_status, EntryState};
use assay_store::{Status, Store};

use crate::builtins::{load_catalog, registry_path};
use crate::executors::slurm::SlurmOptions;
use crate::executors::{local, slurm};
use crate::process::{EXIT_DIVERGED, EXIT_INTERRUPTED};

/// Where a sweep's runs execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Processes on this machine.
    Local,
    /// One sbatch job array.
    Slurm,
}

/// `assay sweep`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepCommand {
    #[command(subcommand)]
    sub: Option<SweepSub>,
    #[command(flatten)]
    run: SweepArgs,
}

/// Arguments of `assay sweep SPEC`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Spec with a [sweep] table.
    spec: Option<PathBuf>,
    /// Override a value of the base spec: KEY.PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Runs at a time (local backend).
    #[arg(long, short, default_value_t = 1)]
    jobs: usize,
    /// Print the planned runs and which are already in the store; run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where the runs execute.
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    backend: Backend,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Slurm time limit per task (e.g. 01:00:00).
    #[arg(long)]
    time: Option<String>,
    /// GPUs per Slurm task.
    #[arg(long)]
    gpus_per_task: Option<u32>,
    /// At most this many array tasks at once.
    #[arg(long)]
    array_parallelism: Option<usize>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum SweepSub {
    /// Done / running / failed / pending, from the run directories (and squeue where it answers).
    Status {
        /// Manifest path or sweep id.
        manifest: String,
    },
    /// Run one entry of a manifest (what workers and Slurm array tasks execute).
    Task {
        /// Manifest path or sweep id.
        manifest: String,
        /// Entry index.
        #[arg(long)]
        index: usize,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// `assay sweep`.
pub fn run(cmd: SweepCommand, registry: Option<&Path>, store: &Store) -> anyhow::Result<ExitCode> {
    let load = || load_catalog(registry);
    let registry = registry_path(registry);
    match cmd.sub {
        Some(SweepSub::Status { manifest }) => status(&manifest, store),
        Some(SweepSub::Task {
            manifest,
            index,
            quiet,
        }) => task(&manifest, index, quiet, store, &load()?),
        None => {
            let args = cmd.run;
            let Some(spec) = &args.spec else {
                bail!("give a spec file with a [sweep] table")
            };
            let catalog = load()?;
            let set = Override::parse_all(&args.set)?;
            let raw = assay_spec::read_raw(spec, &set)?;
            let registry = registry
                .as_deref()
                .map(|r| r.canonicalize().unwrap_or_else(|_| r.to_path_buf()));
            let m = Manifest::plan(
                &raw,
                &spec.display().to_string(),
                &catalog,
                registry.as_deref(),
            )?;
            if args.dry_run {
                print_plan(&m, store);
                return Ok(ExitCode::SUCCESS);
            }
            let path = m.freeze(store)?;
            let path = path.canonicalize().unwrap_or(path);
            let (_, m) = Manifest::load(&path.display().to_string(), store)?;
            match args.backend {
                Backend::Local => {
                    let s = local::run(&path, &m, store, args.jobs, args.quiet)?;
                    eprintln!(
                        "sweep {}: {} cached, {} completed, {} diverged, {} failed",
                        m.id,
                        s.cached,
                        s.completed,
                        s.diverged,
                        s.failed.len()
                    );
                    for (i, log) in &s.failed {
                        eprintln!("  entry {i} failed; see {log}");
                    }
                    println!("{}", path.display());
                    Ok(if s.failed.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    })
                }
                Backend::Slurm => {
                    let options = SlurmOptions {
                        partition: args.partition.clone(),
                        time: args.time.clone(),
                        gpus_per_task: args.gpus_per_task,
                        array_parallelism: args.array_parallelism,
                    };
                    let job = slurm::submit(&path, &m, store, &options)?;
                    eprintln!("submitted sweep {} as Slurm job {job}; follow it with `assay sweep status {}`", m.id, path.display());
                    println!("{job}");
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}

fn print_plan(m: &Manifest, store: &Store) {
    println!(
        "sweep {}: {} runs (varying {})",
        m.id,
        m.entries.len(),
        if m.swept.is_empty() {
            "nothing".to_string()
        } else {
            m.swept.join(", ")
        }
    );
    for e in &m.entries {
        let state = match run_status(store, &e.run_id) {
            Some(s @ (Status::Completed | Status::Diverged)) => format!("cached ({})", s.as_str()),
            Some(s) => s.as_str().to_string(),
            None => "to run".to_string(),
        };
        let o: Vec<String> = e
            .overrides
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "{:>4}  {:<40} {:<20} {}",
            e.index,
            e.run_id,
            state,
            o.join(" ")
        );
    }
}

fn status(arg: &str, store: &Store) -> anyhow::Result<ExitCode> {
    let (path, m) = Manifest::load(arg, store)?;
    let queued = m
        .slurm_job
        .as_deref()
        .map(slurm::queued_tasks)
        .unwrap_or_default();
    println!("sweep {} ({})", m.id, path.display());
    let mut states = Vec::new();
    for e in &m.entries {
        let state = entry_state(store, &m, e);
        states.push(state);
        let text = match (state, queued.iter().find(|(i, _)| *i == e.index)) {
            (EntryState::Pending, Some((_, q))) => format!("pending (slurm: {})", q.to_lowercase()),
            _ => state.describe(e.index),
        };
        println!("{:>4}  {:<40} {}", e.index, e.run_id, text);
    }
    let (done, running, failed, pending) = counts(&states);
    println!("done {done} / running {running} / failed {failed} / pending {pending}");
    Ok(ExitCode::SUCCESS)
}

fn task(
    arg: &str,
    index: usize,
    quiet: bool,
    store: &Store,
    catalog: &Catalog,
) -> anyhow::Result<ExitCode> {
    assay_engine::install_interrupt_handler();
    let (path, m) = Manifest::load(arg, store)?;
    let entry = m.entries.get(index).with_context(|| {
        format!(
            "{}: no entry {index} (it has {})",
            path.display(),
            m.entries.len()
        )
    })?;
    let file = format!("{}#{index}", path.display());
    let raw = assay_spec::parse_raw(&entry.spec, &file)?;
    let mut spec = assay_spec::resolve(&raw, &file, catalog)?;
    if spec.run_id() != entry.run_id {
        bail!("{file}: resolves to run {} instead of {}: the plugins changed since the sweep was planned", spec.run_id(), entry.run_id);
    }
    // The frozen spec names the runs it starts from by id; their specs travel alongside so that
    // a task started before them computes them (or waits for the task computing them).
    for (i, text) in entry.dependencies.iter().enumerate() {
        let dep_file = format!("{file}/dependency-{i}");
        let raw = assay_spec::parse_raw(text, &dep_file)?;
        spec.dependencies
            .push(assay_spec::resolve(&raw, &dep_file, catalog)?);
    }
    let opts = RunOptions {
        quiet,
        ..RunOptions::default()
    };
    let (id, outcome) = assay_engine::run_or_resume(catalog, &spec, store, &opts)?;
    println!("{id}");
    Ok(match outcome {
        Outcome::Completed | Outcome::Reused(Status::Completed) => ExitCode::SUCCESS,
        Outcome::Diverged | Outcome::Reused(Status::Diverged) => ExitCode::from(EXIT_DIVERGED),
        Outcome::Reused(_) => ExitCode::SUCCESS,
        Outcome::Interrupted => {
            slurm::requeue_if_in_slurm();
            ExitCode::from(EXIT_INTERRUPTED)
        }
    })
}
