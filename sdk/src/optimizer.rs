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

/// The same update rule on plain `f32` vectors in host memory, for problems so small that tensor
/// dispatch would dominate the step (the online convex counterexamples of Adam's analysis run
/// 10⁵ steps on one scalar). Hosts use it for online problems (see [`crate::environment`]); an
/// optimizer offers it through [`crate::Component::host_optimizer`]. It must compute exactly what
/// [`Optimizer::step`] computes, in the same order, so both agree to rounding.
pub trait HostOptimizer: Send {
    /// Applies one update to `theta` from `grad` (same length).
    fn step(&mut self, theta: &mut [f32], grad: &[f32], lr_scale: f64) -> Result<()>;
}

/// Builds a [`HostOptimizer`] for `dim` parameters.
#[derive(Clone)]
pub struct HostOptimizerFactory(
    #[allow(clippy::type_complexity)]
    pub  std::sync::Arc<
        dyn Fn(&crate::Params, usize) -> Result<Box<dyn HostOptimizer>> + Send + Sync,
    >,
);

impl std::fmt::Debug for HostOptimizerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostOptimizerFactory")
    }
}

/// Finds `name` in a state list, with an error naming the missing entry.
pub fn find_state<'a>(state: &'a [(String, Tensor)], name: &str) -> Result<&'a Tensor> {
    state
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| crate::PluginError::invalid(format!("optimizer state has no `{name}`")))
}
