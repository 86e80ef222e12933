//! The checkpoint format: one safetensors file per saved step holding the model's weights
//! (`model.` keys: parameters and buffers), the optimizer's state (`optim.` keys) and the step
//! (`meta.step`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use assay_sdk::prelude::*;
use assay_store::layout;
use assay_store::store::write_atomic;

use crate::parts::Parts;

/// `checkpoints/step-000000400.safetensors` in the run directory `dir`.
fn checkpoint_path(dir: &Path, step: u64) -> PathBuf {
    dir.join(layout::CHECKPOINTS)
        .join(format!("step-{step:09}.safetensors"))
}

/// A model's trained parameters and its buffers (frozen weights): what a checkpoint holds.
pub fn all_weights(model: &dyn Model) -> Vec<(String, Var)> {
    let mut all = model.parameters();
    all.extend(model.buffers());
    all
}

/// Writes the model's weights, the optimizer's state and the step, atomically.
pub(crate) fn save_checkpoint(parts: &Parts, dir: &Path, step: u64) -> anyhow::Result<()> {
    let mut map: HashMap<String, Tensor> = HashMap::new();
    for (name, var) in all_weights(&parts.model) {
        map.insert(
            format!("{}{name}", layout::MODEL_KEY),
            var.as_tensor().clone(),
        );
    }
    for (name, t) in parts.optimizer.state()? {
        map.insert(format!("{}{name}", layout::OPTIMIZER_KEY), t);
    }
    map.insert(
        layout::STEP_KEY.into(),
        Tensor::new(&[step as i64], &Device::Cpu)?,
    );
    std::fs::create_dir_all(dir.join(layout::CHECKPOINTS))?;
    let bytes = assay_sdk::safetensors::serialize(map.iter(), None)
        .map_err(|e| anyhow!("serialising the checkpoint of step {step}: {e}"))?;
    write_atomic(&checkpoint_path(dir, step), &bytes)?;
    Ok(())
}

/// Restores weights and optimizer state; returns the step the checkpoint was taken at.
pub(crate) fn load_checkpoint(parts: &mut Parts, path: &Path) -> anyhow::Result<u64> {
    let map = assay_sdk::candle::safetensors::load(path, &parts.device)
        .with_context(|| format!("reading checkpoint {}", path.display()))?;
    let step = map
        .get(layout::STEP_KEY)
        .ok_or_else(|| anyhow!("{}: no meta.step", path.display()))?
        .to_vec1::<i64>()?[0] as u64;
    for (name, var) in all_weights(&parts.model) {
        let t = map
            .get(&format!("{}{name}", layout::MODEL_KEY))
            .ok_or_else(|| {
                anyhow!(
                    "{}: no weights for model parameter `{name}`",
                    path.display()
                )
            })?;
        var.set(t)
            .with_context(|| format!("{}: restoring `{name}`", path.display()))?;
    }
    let state: Vec<(String, Tensor)> = map
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(layout::OPTIMIZER_KEY)
                .map(|n| (n.to_string(), v.clone()))
        })
        .collect();
    parts.optimizer.load_state(&state)?;
    Ok(step)
}
