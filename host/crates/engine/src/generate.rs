//! Continue prompts (`assay generate`) with a trained language model of the store.
//!
//! The run's spec is rebuilt (its dataset supplies the tokenizer, its model the architecture),
//! the weights of its last checkpoint are loaded, and [`assay_sdk::generate()`] continues every
//! prompt.

use std::path::PathBuf;

use anyhow::{bail, Context};
use assay_sdk::{Generated, Model, Sampling};

use assay_catalog::Catalog;
use assay_spec::{Checkpoint, RunRef};
use assay_store::Store;

/// What to generate from: a run of the store or a Hugging Face checkpoint, prompts, sampling.
#[derive(Debug, Clone)]
pub struct Request {
    /// A run id of the store (its dataset's or model's tokenizer is used), or `hf:ORG/NAME` /
    /// `hf:ORG/NAME@REVISION`: a Hugging Face checkpoint from the local cache.
    pub model: String,
    /// The prompts (prompts of equal token length run as one batch).
    pub prompts: Vec<String>,
    /// How to sample, when to stop, and whether to use the key/value cache.
    pub sampling: Sampling,
}

/// Continues every prompt of `args`, one result per prompt.
pub fn generate(
    catalog: &Catalog,
    store: &Store,
    args: &Request,
) -> anyhow::Result<Vec<Generated>> {
    let sampling = &args.sampling;
    if !(sampling.top_p > 0.0 && sampling.top_p <= 1.0) {
        bail!(
            "top_p (--top-p) {}: expected a value in (0, 1]",
            sampling.top_p
        );
    }
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
                seed: sampling.seed,
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
            sampling,
            &device,
        )?);
    }
    let id = &args.model;
    let dir: PathBuf = store.run_dir(id)?;
    let spec_path = dir.join(assay_store::layout::SPEC);
    let raw = assay_spec::read_raw(&spec_path, &[])
        .with_context(|| format!("run {id} is not in {}", store.root().display()))?;
    let spec = assay_spec::resolve(&raw, &spec_path.display().to_string(), catalog)?;
    let (dataset, model, device) = crate::parts::build_data_and_model(&spec)
        .with_context(|| format!("rebuilding run {id}"))?;
    let source = RunRef {
        id: id.clone(),
        checkpoint: Checkpoint::Final,
    };
    let (step, weights) = store.weights(&source, &device)?;
    crate::weights::set_parameters(
        &crate::checkpoint::all_weights(&model),
        &weights,
        &format!("run {id} step {step}"),
    )?;
    let Some(tokenizer) = assay_sdk::Dataset::tokenizer(&dataset)
        .or_else(|| model.generative().and_then(|g| g.tokenizer()))
    else {
        bail!(
            "run {id}: neither its dataset `{}` nor its model has a tokenizer, so it cannot be prompted with text",
            spec.dataset.as_ref().map_or("?", |d| d.plugin())
        );
    };
    let model: &dyn Model = &model;
    Ok(assay_sdk::generate(
        model,
        tokenizer.as_ref(),
        &prompts,
        sampling,
        &device,
    )?)
}
