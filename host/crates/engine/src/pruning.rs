//! The start of a run with `[init]` or `[prune]`: rewinding to another run's weights, scoring
//! and masking, norm matching, and holding the mask while the run trains.
//!
//! Only weight matrices (parameters of rank ≥ 2) are scored and masked. The mask is stored in the
//! run directory as `mask.safetensors` (one `f32` 0/1 tensor per matrix, by parameter name), so a
//! resumed run holds the same mask and other tools can read it.

use std::path::Path;

use anyhow::{anyhow, Context};
use assay_sdk::prelude::*;
use assay_sdk::prune::norm;

use assay_catalog::guard::{GuardedDataset, GuardedModel};
use assay_spec::{PruneApply, Spec};
use assay_store::record::RunLog;
use assay_store::store::write_atomic;
use assay_store::Store;

use crate::weights::set_parameters;

/// File name of a run's mask.
pub const MASK_FILE: &str = assay_store::layout::MASK;

/// The weight matrices of a model: what pruning scores and masks.
pub fn weight_matrices(model: &dyn Model) -> Vec<(String, Var)> {
    model
        .parameters()
        .into_iter()
        .filter(|(_, v)| v.rank() >= 2)
        .collect()
}

fn snapshot(params: &[(String, Var)]) -> anyhow::Result<Vec<(String, Tensor)>> {
    params
        .iter()
        .map(|(n, v)| Ok((n.clone(), v.as_tensor().detach().copy()?)))
        .collect()
}

fn restore(params: &[(String, Var)], saved: &[(String, Tensor)]) -> anyhow::Result<()> {
    for ((_, v), (_, t)) in params.iter().zip(saved) {
        v.set(t)?;
    }
    Ok(())
}

/// What the start of a run needs to see.
pub struct Start<'a> {
    /// The run's model, freshly built.
    pub model: &'a GuardedModel,
    /// The run's dataset.
    pub dataset: &'a GuardedDataset,
    /// Where tensors live.
    pub device: &'a Device,
    /// Indices of the training examples the pruner's batch uses.
    pub batch: Vec<usize>,
}

/// Applies `[init]` and `[prune]` to a freshly built model at step 0. Returns the mask to hold
/// while training, if the run holds one. Logs `init/source_step`, `prune/kept`,
/// `prune/density`, `prune/source_step` and, for norm matching, `prune/scale`.
pub fn prepare(
    spec: &Spec,
    store: &Store,
    dir: &Path,
    start: &Start<'_>,
    log: &mut RunLog,
) -> anyhow::Result<Option<Mask>> {
    let all = start.model.parameters();
    if let Some(init) = &spec.init {
        let (step, weights) = store
            .weights(&init.source, start.device)
            .context("[init]")?;
        let tokenizer = start.dataset.tokenizer();
        crate::run_files::check_same_tokenizer(
            &store.run_dir(&init.source.id)?,
            &init.source.id,
            tokenizer.as_deref(),
        )
        .context("[init]")?;
        // A model with adapters (LoRA) takes the source's weights into its frozen base and
        // keeps its fresh adapters.
        crate::weights::load_into(
            start.model,
            &weights,
            &format!("run {} step {step}", init.source.id),
        )
        .context("[init]")?;
        log.metric(0, "init/source_step", step as f64);
    }
    let Some(p) = &spec.prune else {
        return Ok(None);
    };
    let matrices = weight_matrices(start.model);
    if matrices.is_empty() {
        return Err(anyhow!(
            "[prune]: the model has no weight matrices to prune"
        ));
    }
    let starting = snapshot(&all)?;
    if let Some(source) = &p.source {
        let (step, weights) = store.weights(source, start.device).context("[prune]")?;
        set_parameters(&all, &weights, &format!("run {} step {step}", source.id))
            .context("[prune]")?;
        log.metric(0, "prune/source_step", step as f64);
    }
    let entry = &p.pruner.entry;
    let cx = BuildContext {
        seed: spec.seed,
        device: start.device.clone(),
    };
    let mut pruner = entry
        .build_pruner(&p.pruner.params, &cx)
        .with_context(|| format!("building {}", entry.label()))?;
    let batch = start
        .dataset
        .batch(Split::Train, &start.batch, start.device)?;
    let objective = start.dataset.info().objective;
    let model = start.model;
    let mut output = || -> Result<Tensor> { model.forward(&batch.input, &mut Hooks::none()) };
    let target = batch.target.clone();
    let loss = move |out: &Tensor| -> Result<Tensor> {
        crate::loss::loss(&objective, out, &target)
            .map_err(|e| PluginError::invalid(format!("{e:#}")))
    };
    let mut pcx = PruneContext {
        parameters: matrices.clone(),
        output: &mut output,
        loss: &loss,
        keep: p.keep,
        rng: cx.rng(&format!("prune/{}", p.pruner.plugin())),
        device: start.device.clone(),
    };
    let scores = pruner
        .scores(&mut pcx)
        .with_context(|| format!("[prune]: scoring with {}", entry.label()))?;
    let mask = Mask::keep_top(&scores, p.keep)?;
    restore(&all, &starting)?;
    let kept = mask.kept()?;
    log.metric(0, "prune/kept", kept as f64);
    log.metric(0, "prune/density", mask.density()?);
    save_mask(&mask, dir)?;
    match p.apply {
        PruneApply::Mask => {
            mask.apply(&matrices)?;
            Ok(Some(mask))
        }
        PruneApply::NormL1 | PruneApply::NormL2 => {
            let order = if p.apply == PruneApply::NormL1 { 1 } else { 2 };
            let dense = snapshot(&matrices)?;
            let target = norm(&dense, order, Some(&mask))?;
            let scale = target / norm(&dense, order, None)?;
            for (_, v) in &matrices {
                v.set(&(v.as_tensor().to_dtype(DType::F64)? * scale)?.to_dtype(v.dtype())?)?;
            }
            log.metric(0, "prune/scale", scale);
            Ok(None)
        }
    }
}

/// Writes `mask` to the run directory.
pub fn save_mask(mask: &Mask, dir: &Path) -> anyhow::Result<()> {
    let bytes =
        assay_sdk::safetensors::serialize(mask.entries.iter().map(|(n, t)| (n.as_str(), t)), None)
            .map_err(|e| anyhow!("serialising the mask: {e}"))?;
    write_atomic(&dir.join(MASK_FILE), &bytes)?;
    Ok(())
}

/// Reads the mask of the run in `dir` (for a resumed run that holds one).
pub fn load_mask(dir: &Path, device: &Device) -> anyhow::Result<Mask> {
    let path = dir.join(MASK_FILE);
    let map = assay_sdk::candle::safetensors::load(&path, device)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut entries: Vec<(String, Tensor)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Mask { entries })
}
