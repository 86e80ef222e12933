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
