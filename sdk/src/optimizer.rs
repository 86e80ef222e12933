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
/// ```
/// use assay_sdk::prelude::*;
///
/// struct SignMomentum { params: Vec<(String, Var)>, buf: Vec<Tensor>, lr: f64, beta: f64 }
///
/// impl Optimizer for SignMomentum {
///     fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
///         for ((_, var), buf) in self.params.iter().zip(self.buf.iter_mut()) {
///             let Some(g) = grads.get(var) else { continue };
///             *buf = ((&*buf * self.beta)? + (g * (1.0 - self.beta))?)?;
///             var.set(&(var.as_tensor() - (buf.sign()? * (self.lr * lr_scale))?)?)?;
///         }
///         Ok(())
///     }
///     fn state(&self) -> Result<Vec<(String, Tensor)>> {
///         Ok(self.params.iter().zip(&self.buf).map(|((n, _), b)| (format!("buf.{n}"), b.clone())).collect())
///     }
///     fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
///         for ((name, _), buf) in self.params.iter().zip(self.buf.iter_mut()) {
///             *buf = assay_sdk::optimizer::find_state(state, &format!("buf.{name}"))?.clone();
///         }
///         Ok(())
///     }
/// }
///
/// fn register(r: &mut dyn Registrar) {
///     r.add(Component::optimizer("sign_momentum", "0.1.0", |p, params| {
///         let buf = params.iter().map(|(_, v)| v.zeros_like()).collect::<candle::Result<_>>()?;
///         Ok(Box::new(SignMomentum { params, buf, lr: p.f64("lr")?, beta: p.f64("beta")? }))
///     })
///     .summary("sign of an exponential moving average of gradients")
///     .param(Param::float("lr", 1e-3, "step size").min(0.0))
///     .param(Param::float("beta", 0.9, "momentum").range(0.0, 1.0)));
/// }
///
/// // Two steps on f(w) = sum(w^2):
/// let mut found = Vec::new();
/// register(&mut found);
/// let Factory::Optimizer(make) = &found[0].factory else { unreachable!() };
/// let w = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
/// let mut opt = make(&found[0].resolve(&[("lr", Value::Float(0.5))])?, vec![("w".into(), w.clone())])?;
/// for _ in 0..2 {
///     let grads = w.as_tensor().sqr()?.sum_all()?.backward()?;
///     opt.step(&grads, 1.0)?;
/// }
/// assert_eq!(w.as_tensor().to_vec1::<f32>()?, vec![0.0, -1.0]);
/// # Ok::<(), assay_sdk::PluginError>(())
/// ```
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
