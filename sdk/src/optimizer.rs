//! The [`Optimizer`] kind.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::error::Result;

/// What a parameter is, for optimizers that treat kinds of parameters differently (weight decay
/// on matrices only, as nanoGPT does). The model says ([`crate::Model::parameter_role`]); by
/// default the role follows the parameter's rank and name ([`Role::infer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, crate::Choice)]
pub enum Role {
    /// A matrix (or higher-rank tensor) of a linear map.
    Weight,
    /// A bias vector.
    Bias,
    /// The gain (or shift) of a normalisation layer.
    Norm,
    /// An embedding table (tokens or positions).
    Embedding,
    /// Anything else.
    Other,
}

impl Role {
    /// The role a parameter most likely has, from its name and rank: rank ≥ 2 is a weight (an
    /// embedding when the name says so: `embed`, `W_E`, `W_pos`, `pos`); rank ≤ 1 is a bias
    /// when the name's last part is `b`, `bias` or starts with `b_`, a norm gain when the name
    /// mentions `ln`, `norm`, `gain` or `scale`, and other otherwise.
    pub fn infer(name: &str, rank: usize) -> Role {
        let last = name.rsplit(['.', '/']).next().unwrap_or(name);
        let lower = name.to_ascii_lowercase();
        if rank >= 2 {
            if lower.contains("embed") || last == "W_E" || last == "W_pos" || last == "pos" {
                Role::Embedding
            } else {
                Role::Weight
            }
        } else if last == "b" || last.starts_with("b_") || last.contains("bias") {
            Role::Bias
        } else if ["ln", "norm", "gain", "scale"]
            .iter()
            .any(|k| lower.contains(k))
        {
            Role::Norm
        } else {
            Role::Other
        }
    }
}

/// A parameter handed to an optimizer: its stable name, the variable to update, and what the
/// host knows about it.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Stable name (checkpoints and optimizer state use it).
    pub name: String,
    /// The variable, updated in place with `Var::set`.
    pub var: Var,
    /// What the parameter is.
    pub role: Role,
    /// Factor on the optimizer's weight decay for this parameter: 1 unless the spec's
    /// `[optimizer] no_decay` names its role, then 0. Optimizers with weight decay multiply by it.
    pub weight_decay_scale: f64,
}

impl Parameter {
    /// A parameter with the inferred role and full weight decay (what tests and tools use).
    pub fn new(name: impl Into<String>, var: Var) -> Parameter {
        let name = name.into();
        let role = Role::infer(&name, var.rank());
        Parameter {
            name,
            var,
            role,
            weight_decay_scale: 1.0,
        }
    }

    /// The variable's rank.
    pub fn rank(&self) -> usize {
        self.var.rank()
    }
}

/// Named optimizer state, keyed by a state name and a parameter name (`"m.blocks.0.w"`):
/// what [`Optimizer::state`] returns and [`Optimizer::load_state`] reads.
#[derive(Debug, Clone, Default)]
pub struct NamedState(Vec<(String, Tensor)>);

impl NamedState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key` of parameter `param` (`param` empty for state that belongs to no parameter,
    /// such as a step count).
    pub fn put(&mut self, key: &str, param: &str, tensor: Tensor) {
        let name = if param.is_empty() {
            key.to_string()
        } else {
            format!("{key}.{param}")
        };
        self.0.push((name, tensor));
    }

    /// The list [`Optimizer::state`] returns.
    pub fn into_vec(self) -> Vec<(String, Tensor)> {
        self.0
    }

    /// `key` of `param` in a state list, with an error naming what is missing.
    pub fn get<'a>(state: &'a [(String, Tensor)], key: &str, param: &str) -> Result<&'a Tensor> {
        if param.is_empty() {
            find_state(state, key)
        } else {
            find_state(state, &format!("{key}.{param}"))
        }
    }
}

/// Updates a fixed set of parameters from their gradients.
///
/// The factory receives the parameters ([`Parameter`]: name, variable, role and weight-decay
/// factor) in a stable order and keeps them; [`Optimizer::step`] updates them in place with
/// `Var::set`. The host owns the learning-rate
/// schedule and passes its current factor as `lr_scale` (1.0 for a constant schedule); the
/// optimizer multiplies its own `lr` parameter by it.
///
/// Gradients are attached to the step's autograd graph: detach them (`g.detach()`) before they
/// enter any state kept across steps, or every step's graph stays in memory.
///
/// Everything the optimizer remembers between steps (moments, step count, ...) must come out of
/// [`Optimizer::state`] as named tensors and go back in through [`Optimizer::load_state`] so
/// that a resumed run continues exactly where the checkpoint left it.
///
/// # Example: sign descent with momentum
///
/// (From `sdk/examples/optimizer.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/optimizer.rs"), "```")]
pub trait Optimizer: Send {
    /// Applies one update from `grads`. Parameters without a gradient are left alone.
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()>;

    /// Everything the optimizer remembers, as named tensors (for checkpoints).
    fn state(&self) -> Result<Vec<(String, Tensor)>>;

    /// Restores what [`Optimizer::state`] returned.
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

/// Finds `name` in a state list, with an error naming the missing entry.
pub fn find_state<'a>(state: &'a [(String, Tensor)], name: &str) -> Result<&'a Tensor> {
    state
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| crate::PluginError::invalid(format!("optimizer state has no `{name}`")))
}

/// Runs `update(theta, grad)` on the values of a CPU `f32` variable, in place, and on its
/// gradient: the fused update loop of an optimizer, without copying the weights out and back
/// (which a `to_vec1` + [`Var::set`] pair does, twice per parameter per step). Returns
/// `Ok(false)`, calling nothing, when the variable is not a contiguous `f32` tensor on the CPU;
/// the caller then uses tensor operations. The gradient is converted to `f32` and made
/// contiguous if it is not already.
///
/// ```
/// use assay_sdk::candle::{Device, Tensor, Var};
/// use assay_sdk::optimizer::update_in_place;
///
/// let w = Var::new(&[1.0f32, 2.0, 3.0], &Device::Cpu)?;
/// let g = Tensor::new(&[0.5f32, 0.5, 0.5], &Device::Cpu)?;
/// let done = update_in_place(&w, &g, |theta, grad| {
///     for (t, g) in theta.iter_mut().zip(grad) {
///         *t -= 0.1 * g;
///     }
/// })?;
/// assert!(done);
/// assert_eq!(w.as_tensor().to_vec1::<f32>()?, [0.95, 1.95, 2.95]);
/// # Ok::<(), assay_sdk::PluginError>(())
/// ```
pub fn update_in_place<F: FnMut(&mut [f32], &[f32])>(
    var: &Var,
    grad: &Tensor,
    update: F,
) -> Result<bool> {
    use candle_core::{DType, InplaceOp2};
    let t = var.as_tensor();
    if !t.device().is_cpu() || t.dtype() != DType::F32 || !t.is_contiguous() {
        return Ok(false);
    }
    if grad.elem_count() != t.elem_count() {
        return Err(crate::PluginError::invalid(format!(
            "a gradient of {} values for a parameter of {}",
            grad.elem_count(),
            t.elem_count()
        )));
    }
    let grad = grad.to_dtype(DType::F32)?.contiguous()?;

    struct Update<F>(std::cell::RefCell<F>);
    impl<F: FnMut(&mut [f32], &[f32])> InplaceOp2 for Update<F> {
        fn name(&self) -> &'static str {
            "optimizer-update"
        }
        fn cpu_fwd(
            &self,
            s1: &mut candle_core::CpuStorage,
            l1: &candle_core::Layout,
            s2: &candle_core::CpuStorage,
            l2: &candle_core::Layout,
        ) -> candle_core::Result<()> {
            use candle_core::CpuStorage::F32;
            let (F32(theta), F32(grad)) = (s1, s2) else {
                candle_core::bail!("optimizer-update: f32 only")
            };
            let (Some((a, b)), Some((c, d))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
            else {
                candle_core::bail!("optimizer-update: contiguous tensors only")
            };
            (self.0.borrow_mut())(&mut theta[a..b], &grad[c..d]);
            Ok(())
        }
    }
    t.inplace_op2(&grad, &Update(std::cell::RefCell::new(update)))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_rank_and_name() {
        assert_eq!(Role::infer("blocks.0.mlp.W_in", 2), Role::Weight);
        assert_eq!(Role::infer("embed.W_E", 2), Role::Embedding);
        assert_eq!(Role::infer("pos_embed.W_pos", 2), Role::Embedding);
        assert_eq!(Role::infer("blocks.0.mlp.b_in", 1), Role::Bias);
        assert_eq!(Role::infer("layers.1.bias", 1), Role::Bias);
        assert_eq!(Role::infer("blocks.0.ln1.w", 1), Role::Norm);
        assert_eq!(Role::infer("final_norm.weight", 1), Role::Norm);
        assert_eq!(Role::infer("theta", 1), Role::Other);
    }

    #[test]
    fn named_state_round_trips() {
        let t = Tensor::new(&[1.0f32], &candle_core::Device::Cpu).unwrap();
        let mut s = NamedState::new();
        s.put("m", "w", t.clone());
        s.put("t", "", t);
        let v = s.into_vec();
        assert_eq!(v[0].0, "m.w");
        assert!(NamedState::get(&v, "m", "w").is_ok());
        assert!(NamedState::get(&v, "t", "").is_ok());
        let err = NamedState::get(&v, "v", "w").unwrap_err().to_string();
        assert!(err.contains("v.w"), "{err}");
    }
}
