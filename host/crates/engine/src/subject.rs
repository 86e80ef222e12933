//! The model that `assay generate`, `cache`, `lens` and `patch` work on: a finished run of the
//! store or a Hugging Face checkpoint, with its tokenizer.
//!
//! A run is rebuilt from its spec's `[model]` table and the `data.json` it saved (so neither its
//! dataset nor the current directory matter), its last checkpoint's weights are loaded, and its
//! own `tokenizer.json` is used. Runs made before those files existed are rebuilt with their
//! dataset, as before.

use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use assay_catalog::guard::GuardedModel;
use assay_catalog::Catalog;
use assay_sdk::prelude::*;
use assay_spec::{Checkpoint, RunRef};
use assay_store::Store;

/// A loaded model with its tokenizer.
pub struct Subject {
    /// The model, with the run's (or checkpoint's) weights.
    pub model: GuardedModel,
    /// Its tokenizer.
    pub tokenizer: Arc<dyn assay_sdk::Tokenizer>,
    /// Where its tensors live.
    pub device: Device,
    /// `run ID (step N)` or `hf:ORG/NAME@REV`, for messages and file headers.
    pub label: String,
}

impl Subject {
    /// Token ids of `text`; an empty result is an error naming the text.
    pub fn encode(&self, text: &str) -> anyhow::Result<Vec<u32>> {
        let ids = self.tokenizer.encode(text)?;
        if ids.is_empty() {
            bail!("`{text}` is empty after tokenization");
        }
        Ok(ids)
    }

    /// The id of `token`, which must be exactly one token.
    pub fn single_token(&self, token: &str) -> anyhow::Result<u32> {
        let ids = self.tokenizer.encode(token)?;
        match ids.as_slice() {
            [id] => Ok(*id),
            _ => bail!(
                "target `{token}` is {} tokens ({ids:?}) for {}'s tokenizer, not one; give a single token (a leading space may matter)",
                ids.len(),
                self.label
            ),
        }
    }
}

/// Loads `name`: a run id of `store`, or `hf:ORG/NAME[@REVISION]`.
pub fn load(catalog: &Catalog, store: &Store, name: &str, seed: u64) -> anyhow::Result<Subject> {
    if let Some(rest) = name.strip_prefix("hf:") {
        return load_hf(catalog, rest, seed).with_context(|| format!("loading {name}"));
    }
    load_run(store, catalog, name)
}

fn load_hf(catalog: &Catalog, rest: &str, seed: u64) -> anyhow::Result<Subject> {
    let (repo, revision) = rest.split_once('@').unwrap_or((rest, "main"));
    let entry = catalog.get(assay_sdk::Kind::Model, "hf")?;
    let params = entry.component.resolve(&[
        ("repo", Value::Str(repo.to_string())),
        ("revision", Value::Str(revision.to_string())),
    ])?;
    let device = Device::Cpu;
    let cx = ModelContext {
        build: BuildContext {
            seed,
            device: device.clone(),
        },
        data: DataInfo::tokens(1, 0, Objective::NextToken { vocab: 0 }),
    };
    let model = entry.build_model(&params, &cx)?;
    let Some(tokenizer) = model.generative().and_then(|g| g.tokenizer()) else {
        bail!("the checkpoint has no tokenizer.json");
    };
    Ok(Subject {
        model,
        tokenizer,
        device,
        label: format!("hf:{repo}@{revision}"),
    })
}

fn load_run(store: &Store, catalog: &Catalog, id: &str) -> anyhow::Result<Subject> {
    let run = load_run_model(store, catalog, id)?;
    let Some(tokenizer) = run.tokenizer else {
        bail!(
            "run {id}: it saved no tokenizer.json and neither its dataset `{}` nor its model has a tokenizer, so it cannot be prompted with text",
            run.dataset
        );
    };
    Ok(Subject {
        model: run.model,
        tokenizer,
        device: run.device,
        label: run.label,
    })
}

/// A finished run's model with its final weights, and what came with it.
pub struct RunModel {
    /// The model.
    pub model: GuardedModel,
    /// The shapes and objective it was trained on.
    pub data: DataInfo,
    /// Its tokenizer, when the run saved one or its dataset or model has one.
    pub tokenizer: Option<Arc<dyn assay_sdk::Tokenizer>>,
    /// Where its tensors live.
    pub device: Device,
    /// `run ID (step N)`.
    pub label: String,
    /// The run's dataset plugin, for messages.
    pub dataset: String,
}

/// Rebuilds run `id`'s model from its spec and saved `data.json` and loads its last weights.
pub fn load_run_model(store: &Store, catalog: &Catalog, id: &str) -> anyhow::Result<RunModel> {
    let dir = store.run_dir(id)?;
    let spec_path = dir.join(assay_store::layout::SPEC);
    let raw = assay_spec::read_raw(&spec_path, &[])
        .with_context(|| format!("run {id} is not in {}", store.root().display()))?;
    let spec = assay_spec::resolve(&raw, &spec_path.display().to_string(), catalog)?;
    let saved_info = crate::run_files::load_data_info(&dir)?;
    let saved_tokenizer = crate::run_files::load_tokenizer(&dir)?;
    let (model, device, tokenizer, data) = match saved_info {
        Some(info) => {
            let device =
                assay_spec::device::open(&spec.device).map_err(|m| anyhow!("device: {m}"))?;
            let Some(mspec) = &spec.model else {
                bail!("run {id} has no [model]");
            };
            let model = mspec
                .entry
                .build_model(
                    &mspec.params,
                    &ModelContext {
                        build: BuildContext {
                            seed: spec.seed,
                            device: device.clone(),
                        },
                        data: info.clone(),
                    },
                )
                .with_context(|| format!("rebuilding the model of run {id}"))?;
            let tokenizer =
                saved_tokenizer.or_else(|| model.generative().and_then(|g| g.tokenizer()));
            (model, device, tokenizer, info)
        }
        None => {
            // A run from before data.json: rebuild its dataset too.
            let (dataset, model, device) =
                crate::parts::build_data_and_model(&spec).with_context(|| {
                    format!(
                        "rebuilding run {id} (it predates data.json, so its dataset is rebuilt)"
                    )
                })?;
            let info = assay_sdk::Dataset::info(&dataset);
            let tokenizer = saved_tokenizer
                .or_else(|| assay_sdk::Dataset::tokenizer(&dataset))
                .or_else(|| model.generative().and_then(|g| g.tokenizer()));
            (model, device, tokenizer, info)
        }
    };
    let source = RunRef {
        id: id.to_string(),
        checkpoint: Checkpoint::Final,
    };
    let (step, weights) = store.weights(&source, &device)?;
    crate::weights::set_parameters(
        &crate::checkpoint::all_weights(&model),
        &weights,
        &format!("run {id} step {step}"),
    )?;
    Ok(RunModel {
        model,
        data,
        tokenizer,
        device,
        label: format!("run {id} (step {step})"),
        dataset: spec
            .dataset
            .as_ref()
            .map_or("?".to_string(), |d| d.plugin().to_string()),
    })
}
