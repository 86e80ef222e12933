//! The [`Optimizer`] kind.

use candle_core::backprop::GradStore;
use candle_core::Tensor;

use crate::error::Result;

/// Updates a fixed set of parameters from their gradients.
///
/// The factory receives the parameters as `(name, Var)` pairs in a stable order and keeps them;
/// [`Optimizer::step`] updates them in place with `Var::set`. The host owns the learning-rate
/// schedule and passes its current factor as `lr_scale` (1.0 for a constant schedule); the
/// optimizer multiplies its own `lr` parameter by it.
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
