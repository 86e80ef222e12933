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
    /// Cache the test examples of this spec file's `[dataset]` (token inputs) instead of, or
    /// besides, prompts.
    #[arg(long, value_name = "SPEC.toml")]
    pub dataset: Option<PathBuf>,
    /// With --dataset: the first this many test examples.
    #[arg(long, default_value_t = 64)]
    pub limit: usize,
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
    let mut prompts = Vec::new();
    if args.dataset.is_none() || !args.prompts.is_empty() {
        for text in args.prompts.read()? {
            let ids = subject.encode(&text)?;
            prompts.push((text, ids));
        }
    }
    if let Some(path) = &args.dataset {
        prompts.extend(dataset_examples(&catalog, path, args.limit)?);
    }
    let req = Request {
        hooks: args.hooks.clone(),
        prompts,
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

/// The first `limit` test examples of the `[dataset]` of the spec file at `path`, as token ids.
fn dataset_examples(
    catalog: &assay_catalog::Catalog,
    path: &std::path::Path,
    limit: usize,
) -> anyhow::Result<Vec<(String, Vec<u32>)>> {
    use assay_sdk::{Dataset, InputKind, Split};
    let raw = assay_spec::read_raw(path, &[])?;
    let spec = assay_spec::resolve(&raw, &path.display().to_string(), catalog)?;
    let (dataset, device) = assay_engine::parts::build_dataset(&spec)?;
    if !matches!(dataset.info().input, InputKind::Tokens { .. }) {
        anyhow::bail!(
            "{}: its dataset's inputs are not tokens, so they cannot be fed to a language model",
            path.display()
        );
    }
    let n = dataset.len(Split::Test).min(limit);
    if n == 0 {
        anyhow::bail!("{}: its dataset has no test examples", path.display());
    }
    let indices: Vec<usize> = (0..n).collect();
    let batch = dataset.batch(Split::Test, &indices, &device)?;
    let rows = batch
        .input
        .to_dtype(assay_sdk::candle::DType::U32)?
        .to_vec2::<u32>()?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, ids)| (format!("test example {i}"), ids))
        .collect())
}
