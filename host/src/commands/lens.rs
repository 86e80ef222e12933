//! `assay lens`: the logit lens of a run or checkpoint on prompts, as a table.

use std::path::PathBuf;
use std::process::ExitCode;

use assay_interp::lens::{table, Request};
use assay_store::export::Format;
use assay_store::Store;
use clap::Args;

use crate::builtins::load_catalog;
use crate::commands::prompts::PromptArgs;
use crate::commands::query::format_parser;

/// Arguments of `assay lens`.
#[derive(Args, Debug)]
pub struct LensArgs {
    /// A run id of the store, or `hf:ORG/NAME[@REVISION]`.
    pub model: String,
    #[command(flatten)]
    pub prompts: PromptArgs,
    /// A token whose rank and probability to report at every layer (one token); repeatable.
    #[arg(long = "target")]
    pub targets: Vec<String>,
    /// A position to read (negative counts from the end: -1 is the last); repeatable; default
    /// every position.
    #[arg(long = "position", allow_hyphen_values = true)]
    pub positions: Vec<i64>,
    /// How many of each layer's most probable tokens to list.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = format_parser())]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `assay lens`.
pub fn run(
    args: &LensArgs,
    registry: Option<&std::path::Path>,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(registry)?;
    let subject = assay_engine::subject::load(&catalog, store, &args.model, 0)?;
    let table = table(
        &subject,
        &Request {
            prompts: args.prompts.read()?,
            targets: args.targets.clone(),
            positions: args.positions.clone(),
            top_k: args.top_k,
        },
    )?;
    let bytes = assay_store::export::render_table(&table, args.format)?;
    crate::commands::query::emit(&bytes, table.rows()?, args.format, args.out.as_deref())
}
