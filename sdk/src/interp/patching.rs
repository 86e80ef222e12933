//! Activation patching (causal tracing; Meng et al., 2022; Heimersheim and Nanda, 2024): run a
//! clean and a corrupted prompt, put the clean run's activation at one hook point (optionally one
//! position) into the corrupted run, and measure how much of the clean behaviour comes back.

use candle_core::{Device, Tensor};

use super::block_hooks;
use crate::error::{PluginError, Result};
use crate::{Hooks, Model};

/// What to patch and how to measure it.
#[derive(Debug, Clone)]
pub struct PatchSpec {
    /// The hook name within each block, e.g. `hook_resid_pre`, `attn.hook_z`, `hook_mlp_out`.
    pub hook: String,
    /// Patch each position separately (a row per layer and position) instead of the whole
    /// activation.
    pub per_position: bool,
    /// The metric is `logit[answer] - logit[wrong]` at the last position.
    pub answer: u32,
    /// See `answer`.
    pub wrong: u32,
}

/// One patched run.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRow {
    /// The block patched.
    pub layer: usize,
    /// The position patched; `None` for the whole activation.
    pub position: Option<usize>,
    /// The logit difference with the patch.
    pub patched: f32,
    /// The clean run's logit difference.
    pub clean: f32,
    /// The corrupted run's.
    pub corrupted: f32,
    /// `(patched - corrupted) / (clean - corrupted)`: 1 = fully restored, 0 = no effect (NaN when
    /// clean and corrupted agree).
    pub restored: f32,
}

/// The last position's `logit[a] - logit[b]` of a model output (`[1, classes]` or
/// `[1, positions, vocab]`).
fn logit_diff(out: &Tensor, a: u32, b: u32) -> Result<f32> {
    let row = match out.rank() {
        2 => out.squeeze(0)?,
        3 => {
            let t = out.dim(1)?;
            out.narrow(1, t - 1, 1)?.squeeze(1)?.squeeze(0)?
        }
        _ => {
            return Err(PluginError::invalid(format!(
                "patching needs [1, classes] or [1, positions, vocab] logits, not {:?}",
                out.dims()
            )))
        }
    };
    let v = row.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?;
    let get = |t: u32| {
        v.get(t as usize).copied().ok_or_else(|| {
            PluginError::invalid(format!(
                "token {t} is beyond the model's {} outputs",
                v.len()
            ))
        })
    };
    Ok(get(a)? - get(b)?)
}

/// Patches `spec.hook` of every block from the `clean` run into the `corrupted` run (two
/// prompts of equal token length) and reports the logit difference of each patched run.
pub fn activation_patching(
    model: &dyn Model,
    clean: &[u32],
    corrupted: &[u32],
    spec: &PatchSpec,
    device: &Device,
) -> Result<Vec<PatchRow>> {
    if clean.len() != corrupted.len() || clean.is_empty() {
        return Err(PluginError::invalid(format!(
            "the clean and corrupted prompts must have the same number of tokens (they have {} and {})",
            clean.len(),
            corrupted.len()
        )));
    }
    let layers = block_hooks(model, &spec.hook)?;
    let n = clean.len();
    let clean_in = Tensor::from_vec(clean.to_vec(), (1, n), device)?;
    let corrupt_in = Tensor::from_vec(corrupted.to_vec(), (1, n), device)?;
    let mut record = Hooks::capture(layers.iter().map(|(_, h)| h.clone()));
    let clean_diff = logit_diff(
        &model.forward(&clean_in, &mut record)?,
        spec.answer,
        spec.wrong,
    )?;
    let corrupt_diff = logit_diff(
        &model.forward(&corrupt_in, &mut Hooks::none())?,
        spec.answer,
        spec.wrong,
    )?;
    let mut rows = Vec::new();
    for (layer, name) in &layers {
        let Some(source) = record.cached(name).cloned() else {
            return Err(PluginError::invalid(format!(
                "hook point `{name}` did not fire"
            )));
        };
        let positions: Vec<Option<usize>> = if spec.per_position {
            (0..n).map(Some).collect()
        } else {
            vec![None]
        };
        for position in positions {
            let mut hooks = Hooks::none();
            match position {
                None => {
                    hooks.replace(name.clone(), source.clone());
                }
                Some(p) => {
                    let source = source.clone();
                    hooks.intervene(name.clone(), move |x| patch_position(x, &source, p));
                }
            }
            let patched = logit_diff(
                &model.forward(&corrupt_in, &mut hooks)?,
                spec.answer,
                spec.wrong,
            )?;
            rows.push(PatchRow {
                layer: *layer,
                position,
                patched,
                clean: clean_diff,
                corrupted: corrupt_diff,
                restored: (patched - corrupt_diff) / (clean_diff - corrupt_diff),
            });
        }
    }
    Ok(rows)
}

/// `x` with position `p` (the axis before the last) taken from `source`.
fn patch_position(x: &Tensor, source: &Tensor, p: usize) -> Result<Tensor> {
    let dims = x.dims();
    if dims.len() < 3 || source.dims() != dims {
        return Err(PluginError::invalid(format!(
            "cannot patch one position of an activation of shape {dims:?} from {:?}",
            source.dims()
        )));
    }
    let axis = dims.len() - 2;
    let n = dims[axis];
    let mut parts = Vec::new();
    if p > 0 {
        parts.push(x.narrow(axis, 0, p)?);
    }
    parts.push(source.narrow(axis, p, 1)?);
    if p + 1 < n {
        parts.push(x.narrow(axis, p + 1, n - p - 1)?);
    }
    Ok(Tensor::cat(&parts, axis)?)
}
