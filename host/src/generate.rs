//! `assay generate`: continue prompts with a trained language model of the store.
//!
//! The run's spec is rebuilt (its dataset supplies the tokenizer, its model the architecture),
//! the weights of its last checkpoint are loaded, and [`assay_sdk::generate`] continues every
//! prompt. `--json` prints, per prompt, the prompt and generated token ids and text.

use std::path::PathBuf;

use anyhow::{bail, Context};
use assay_sdk::{Generated, Model, Sampling};

use crate::catalog::Catalog;
use crate::reference::{Checkpoint, RunRef};
use crate::store::Store;

/// Arguments of `assay generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// A run id of the store (its dataset's or model's tokenizer is used), or `hf:ORG/NAME` /
    /// `hf:ORG/NAME@REVISION`: a Hugging Face checkpoint from the local cache (downloaded into
    /// it unless HF_HUB_OFFLINE=1).
    pub model: String,
    /// A prompt; repeat for several (prompts of equal token length run as one batch).
    #[arg(long = "prompt", required = true)]
    pub prompts: Vec<String>,
    /// Tokens to generate at most.
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    /// 0 = greedy; otherwise sample at this temperature.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Sample among the k most likely tokens (0 = all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Nucleus sampling: the most likely tokens covering this probability (1 = all).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Stop sequence; repeat for several.
    #[arg(long = "stop")]
    pub stop: Vec<String>,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Recompute the whole sequence at every step instead of using the key/value cache.
    #[arg(long)]
    pub no_cache: bool,
    /// One JSON object per prompt: prompt, prompt and generated ids, text, why it stopped.
    #[arg(long)]
    pub json: bool,
}

/// Runs `assay generate`.
pub fn generate_command(
    catalog: &Catalog,
    store: &Store,
    args: &GenerateArgs,
) -> anyhow::Result<Vec<Generated>> {
    if !(args.top_p > 0.0 && args.top_p <= 1.0) {
        bail!("--top-p {}: expected a value in (0, 1]", args.top_p);
    }
    let sampling = Sampling {
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        stop: args.stop.clone(),
        seed: args.seed,
        use_cache: !args.no_cache,
    };
    let prompts: Vec<&str> = args.prompts.iter().map(String::as_str).collect();
    if let Some(rest) = args.model.strip_prefix("hf:") {
        let (repo, revision) = rest.split_once('@').unwrap_or((rest, "main"));
        let entry = catalog.get(assay_sdk::Kind::Model, "hf")?;
        let params = entry.component.resolve(&[
            ("repo", assay_sdk::Value::Str(repo.to_string())),
            ("revision", assay_sdk::Value::Str(revision.to_string())),
        ])?;
        let device = assay_sdk::candle::Device::Cpu;
        let cx = assay_sdk::ModelContext {
            build: assay_sdk::BuildContext {
                seed: args.seed,
                device: device.clone(),
            },
            data: assay_sdk::DataInfo::tokens(1, 0, assay_sdk::Objective::NextToken { vocab: 0 }),
        };
        let model = entry
            .build_model(&params, &cx)
            .with_context(|| format!("loading {}", args.model))?;
        let Some(tokenizer) = model.generative().and_then(|g| g.tokenizer()) else {
            bail!("{}: the checkpoint has no tokenizer.json", args.model);
        };
        let model: &dyn Model = &model;
        return Ok(assay_sdk::generate(
            model,
            tokenizer.as_ref(),
            &prompts,
            &sampling,
            &device,
        )?);
    }
    let id = &args.model;
    let dir: PathBuf = store.run_dir(id)?;
    let spec_path = dir.join(crate::layout::SPEC);
    let raw = crate::spec::read_raw(&spec_path, &[])
        .with_context(|| format!("run {id} is not in {}", store.root().display()))?;
    let spec = crate::spec::resolve(&raw, &spec_path.display().to_string(), catalog)?;
    let (dataset, model, device) = crate::engine::build_data_and_model(catalog, &spec)
        .with_context(|| format!("rebuilding run {id}"))?;
    let source = RunRef {
        id: id.clone(),
        checkpoint: Checkpoint::Final,
    };
    let (step, weights) = source.weights(store, &device)?;
    crate::reference::set_parameters(
        &crate::engine::all_weights(&model),
        &weights,
        &format!("run {id} step {step}"),
    )?;
    let Some(tokenizer) = assay_sdk::Dataset::tokenizer(&dataset)
        .or_else(|| model.generative().and_then(|g| g.tokenizer()))
    else {
        bail!(
            "run {id}: neither its dataset `{}` nor its model has a tokenizer, so it cannot be prompted with text",
            spec.dataset.as_ref().map_or("?", |d| d.plugin.as_str())
        );
    };
    let model: &dyn Model = &model;
    Ok(assay_sdk::generate(
        model,
        tokenizer.as_ref(),
        &prompts,
        &sampling,
        &device,
    )?)
}
