//! Checkpoints of runs without a model (solver and episode runs): opaque state bytes per
//! component (`state.NAME` keys, `u8` tensors) and the step (`meta.step`: iterations or
//! episodes done), in the same `checkpoints/step-N.safetensors` files as model checkpoints, so
//! `--resume` finds them the same way.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context};
use assay_sdk::prelude::*;
use assay_store::layout;
use assay_store::store::write_atomic;

const STATE_KEY: &str = "state.";

/// Writes `states` (name, bytes) and `step` atomically.
pub(crate) fn save(dir: &Path, step: u64, states: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let mut map: HashMap<String, Tensor> = HashMap::new();
    for (name, bytes) in states {
        let t = Tensor::from_vec(bytes.clone(), bytes.len(), &Device::Cpu)?;
        map.insert(format!("{STATE_KEY}{name}"), t);
    }
    map.insert(
        layout::STEP_KEY.into(),
        Tensor::new(&[step as i64], &Device::Cpu)?,
    );
    let ckpts = dir.join(layout::CHECKPOINTS);
    std::fs::create_dir_all(&ckpts)?;
    let bytes = assay_sdk::safetensors::serialize(map.iter(), None)
        .map_err(|e| anyhow!("serialising the checkpoint of step {step}: {e}"))?;
    write_atomic(&ckpts.join(format!("step-{step:09}.safetensors")), &bytes)?;
    Ok(())
}

/// Reads a checkpoint written by [`save`]: the step and the state bytes by name.
pub(crate) fn load(path: &Path) -> anyhow::Result<(u64, HashMap<String, Vec<u8>>)> {
    let map = assay_sdk::candle::safetensors::load(path, &Device::Cpu)
        .with_context(|| format!("reading checkpoint {}", path.display()))?;
    let step = map
        .get(layout::STEP_KEY)
        .ok_or_else(|| anyhow!("{}: no meta.step", path.display()))?
        .to_vec1::<i64>()?[0] as u64;
    let mut states = HashMap::new();
    for (k, v) in &map {
        if let Some(name) = k.strip_prefix(STATE_KEY) {
            states.insert(name.to_string(), v.to_vec1::<u8>()?);
        }
    }
    Ok((step, states))
}
