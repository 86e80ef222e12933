//! `assay patch`: activation patching of a run or checkpoint, clean into corrupted, as a table.

use std::path::PathBuf;
use std::process::ExitCode;

use assay_interp::patching::{table, Request};
use assay_store::export::Format;
use assay_store::Store;
use clap::Args;

use crate::builtins::load_catalog;
use crate::commands::query::format_parser;

/// Arguments of `assay patch`.
#[derive(Args, Debug)]
pub struct PatchArgs {
    /// A run id of the store, or `hf:ORG/NAME[@REVISION]`.
    pub model: String,
    /// The prompt whose activations are copied.
    #[arg(long)]
    pub clean: String,
    /// The prompt they are copied into (the same number of tokens).
    #[arg(long)]
    pub corrupted: String,
    /// The metric is logit(answer) - logit(wrong) at the last position (each one token).
    #[arg(long)]
    pub answer: String,
    /// See --answer.
    #[arg(long)]
    pub wrong: String,
    /// The hook point within each block to patch (`hook_resid_pre`, `attn.hook_z`,
    /// `hook_mlp_out`, ...).
    #[arg(long, default_value = "hook_resid_pre")]
    pub hook: String,
    /// Patch each position separately (one row per block and position).
    #[arg(long)]
    pub per_position: bool,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = format_parser())]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `assay patch`.
pub fn run(
    args: &PatchArgs,
    registry: Option<&std::path::Path>,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(registry)?;
    let subject = assay_engine::subject::load(&catalog, store, &args.model, 0)?;
    let table = table(
        &subject,
        &Request {
            clean: args.clean.clone(),
            corrupted: args.corrupted.clone(),
            hook: args.hook.clone(),
            per_position: args.per_position,
            answer: args.answer.clone(),
            wrong: args.wrong.clone(),
        },
    )?;
    let bytes = assay_store::export::render_table(&table, args.format)?;
    crate::commands::query::emit(&bytes, table.rows()?, args.format, args.out.as_deref())
}
