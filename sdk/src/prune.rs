//! The [`Pruner`] kind and the [`Mask`] it leads to.
//!
//! A pruner only *scores* parameter entries (higher = more worth keeping). The host turns the
//! scores into a [`Mask`] that keeps a fraction `keep` of all scored entries globally
//! ([`Mask::keep_top`]), stores it with the run, and either holds it during training or uses it
//! for a norm-matched dense control. The parameters a pruner sees are the model's weight
//! matrices (every parameter of rank ≥ 2); vectors such as biases and LayerNorm gains are never
//! pruned.

use candle_core::{DType, Device, Tensor, Var};

use crate::error::{PluginError, Result};

/// Scores the entries of a model's weight matrices; the host keeps the highest-scoring ones.
///
/// A pruner may change parameter values while it works (SynFlow replaces them by their absolute
/// values) but must restore them before it returns. It returns one score tensor per parameter of
/// [`PruneContext::parameters`], with the same name and shape, in any float dtype.
///
/// # Example: keep the entries farthest from the matrix mean
///
/// (From `sdk/examples/pruner.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/pruner.rs"), "```")]
pub trait Pruner: Send {
    /// One score tensor per parameter in `cx.parameters`.
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>>;
}

/// What a pruner may use.
pub struct PruneContext<'a> {
    /// The weight matrices to score, by the model's stable names. Setting a `Var` changes the
    /// model.
    pub parameters: Vec<(String, Var)>,
    /// The model's output on one training batch for the current parameter values, tracked for
    /// autograd (call `.backward()` on something computed from it).
    pub output: &'a mut dyn FnMut() -> Result<Tensor>,
    /// The training loss of an output of [`PruneContext::output`] (mean cross-entropy for
    /// classification, mean squared error for regression).
    pub loss: &'a dyn Fn(&Tensor) -> Result<Tensor>,
    /// The fraction of entries the host will keep (iterative pruners prune towards it in rounds).
    pub keep: f64,
    /// A generator seeded from the run seed and the pruner's name.
    pub rng: crate::init::Rng,
    /// Where the parameters live.
    pub device: Device,
}

/// A 0/1 mask per weight matrix: which entries a pruned model keeps.
#[derive(Debug, Clone)]
pub struct Mask {
    /// `(parameter name, mask)`; masks are `f32` tensors of the parameter's shape.
    pub entries: Vec<(String, Tensor)>,
}

impl Mask {
    /// Keeps exactly `round(keep · N)` of the `N` scored entries: those with the highest scores,
    /// taken globally over every tensor (ties go to the entry that comes first, in parameter order
    /// then row-major order). NaN scores count as the lowest.
    pub fn keep_top(scores: &[(String, Tensor)], keep: f64) -> Result<Mask> {
        if !(0.0..=1.0).contains(&keep) {
            return Err(PluginError::invalid(format!(
                "keep must lie in [0, 1], found {keep}"
            )));
        }
        let mut flat: Vec<f64> = Vec::new();
        let mut shapes = Vec::new();
        for (name, s) in scores {
            let v = s.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
            shapes.push((name.clone(), s.dims().to_vec(), s.device().clone(), v.len()));
            flat.extend(
                v.into_iter()
                    .map(|x| if x.is_nan() { f64::NEG_INFINITY } else { x }),
            );
        }
        let n = flat.len();
        let k = ((keep * n as f64).round() as usize).min(n);
        let mut order: Vec<usize> = (0..n).collect();
        // Descending score, ascending position among equals: a total, deterministic order.
        order.sort_by(|&a, &b| flat[b].total_cmp(&flat[a]).then(a.cmp(&b)));
        let mut bits = vec![0f32; n];
        for &i in &order[..k] {
            bits[i] = 1.0;
        }
        let mut entries = Vec::with_capacity(shapes.len());
        let mut offset = 0;
        for (name, dims, device, len) in shapes {
            let t = Tensor::from_slice(&bits[offset..offset + len], dims.as_slice(), &device)?;
            entries.push((name, t));
            offset += len;
        }
        Ok(Mask { entries })
    }

    /// The mask of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Entries kept.
    pub fn kept(&self) -> Result<usize> {
        let mut total = 0.0f64;
        for (_, t) in &self.entries {
            total += t.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        }
        Ok(total.round() as usize)
    }

    /// Entries covered.
    pub fn total(&self) -> usize {
        self.entries.iter().map(|(_, t)| t.elem_count()).sum()
    }

    /// Fraction of entries kept.
    pub fn density(&self) -> Result<f64> {
        let total = self.total();
        Ok(if total == 0 {
            1.0
        } else {
            self.kept()? as f64 / total as f64
        })
    }

    /// Sets every masked parameter to `θ ⊙ M` in place. Parameters without a mask are left alone;
    /// a mask whose shape differs from its parameter's is an error naming it.
    pub fn apply(&self, parameters: &[(String, Var)]) -> Result<()> {
        for (name, var) in parameters {
            let Some(m) = self.get(name) else { continue };
            if m.dims() != var.dims() {
                return Err(PluginError::invalid(format!(
                    "mask of `{name}` has shape {:?} but the parameter has {:?}",
                    m.dims(),
                    var.dims()
                )));
            }
            let m = m.to_device(var.device())?.to_dtype(var.dtype())?;
            var.set(&var.as_tensor().mul(&m)?)?;
        }
        Ok(())
    }
}

/// The L1 (`p = 1`) or L2 (`p = 2`) norm of all the given tensors together, computed in `f64`;
/// with a mask, of `θ ⊙ M` (tensors without a mask entry count whole).
pub fn norm(tensors: &[(String, Tensor)], p: u32, mask: Option<&Mask>) -> Result<f64> {
    let mut acc = 0.0f64;
    for (name, t) in tensors {
        let mut t = t.to_dtype(DType::F64)?;
        if let Some(m) = mask.and_then(|m| m.get(name)) {
            t = t.mul(&m.to_device(t.device())?.to_dtype(DType::F64)?)?;
        }
        acc += match p {
            1 => t.abs()?.sum_all()?.to_scalar::<f64>()?,
            2 => t.sqr()?.sum_all()?.to_scalar::<f64>()?,
            _ => {
                return Err(PluginError::invalid(format!(
                    "norm p must be 1 or 2, found {p}"
                )))
            }
        };
    }
    Ok(if p == 2 { acc.sqrt() } else { acc })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_top_keeps_exactly_the_rounded_count() {
        let s = Tensor::new(&[[3f32, 1.0, 2.0], [2.0, 2.0, 0.0]], &Device::Cpu).unwrap();
        let m = Mask::keep_top(&[("w".into(), s)], 0.5).unwrap();
        assert_eq!(m.kept().unwrap(), 3);
        // 3 is kept, then the first two 2s in row-major order.
        let bits = m.get("w").unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(bits, vec![vec![1.0, 0.0, 1.0], vec![1.0, 0.0, 0.0]]);
    }
}
