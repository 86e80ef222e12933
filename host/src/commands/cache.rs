//! `assay cache`: activations of a run or checkpoint at chosen hook points, for prompts, into a
//! safetensors file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use assay_interp::cache::{write, Request};
use assay_store::Store;
use clap::Args;

use crate::builtins::load_catalog;
use crate::commands::prompts::PromptArgs;

/// Arguments of `assay cache`.
#[derive(Args, Debug)]
pub struct CacheArgs {
    /// A run id of the store, or `hf:ORG/NAME[@REVISION]`.
    pub model: String,
    #[command(flatten)]
    pub prompts: PromptArgs,
    /// Hook points to cache: glob patterns over hook names (`blocks.*.hook_resid_post`);
    /// repeatable. `assay lens`'s errors and `assay plugins info MODEL` list the names.
    #[arg(long = "hook", required = true)]
    pub hooks: Vec<String>,
    /// The safetensors file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Prompts per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Refuse (before writing anything) a cache larger than this many bytes.
    #[arg(long)]
    pub max_bytes: Option<u64>,
}

/// `assay cache`.
pub fn run(
    args: &CacheArgs,
    registry: Option<&std::path::Path>,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(registry)?;
    let subject = assay_engine::subject::load(&catalog, store, &args.model, 0)?;
    let req = Request {
        hooks: args.hooks.clone(),
        prompts: args.prompts.read()?,
        batch: args.batch,
        max_bytes: args.max_bytes,
        out: args.out.clone(),
    };
    let bar = indicatif::ProgressBar::new(req.prompts.len() as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let written = write(&subject, &req, |done, _| bar.set_position(done as u64))
        .with_context(|| format!("caching activations of {}", subject.label))?;
    bar.finish_and_clear();
    eprintln!(
        "wrote {} hook points x {} prompts x {} positions ({} bytes) to {}",
        written.hooks.len(),
        written.prompts,
        written.positions,
        written.bytes,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
