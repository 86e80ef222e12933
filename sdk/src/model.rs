//! The [`Model`] kind.

use candle_core::{Tensor, Var};

use crate::error::Result;
use crate::hooks::Hooks;

/// A differentiable function with named parameters and named hook points.
///
/// Parameters are `Var`s created by the factory (use [`crate::init`] with
/// [`crate::BuildContext::rng`] so that a seed fixes them); their names are stable, because
/// checkpoints and pruning masks refer to them. The host computes the loss from the output
/// according to the dataset's [`crate::Objective`].
///
/// # Example: a linear classifier with one hook point
///
/// ```
/// use assay_sdk::prelude::*;
///
/// struct Linear { w: Var, b: Var }
///
/// impl Model for Linear {
///     fn forward(&self, x: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
///         let logits = x.matmul(self.w.as_tensor())?.broadcast_add(self.b.as_tensor())?;
///         hooks.point(hook_names::LOGITS, logits)
///     }
///     fn parameters(&self) -> Vec<(String, Var)> {
///         vec![("w".into(), self.w.clone()), ("b".into(), self.b.clone())]
///     }
///     fn hook_points(&self) -> Vec<String> { vec![hook_names::LOGITS.into()] }
/// }
///
/// fn register(r: &mut dyn Registrar) {
///     r.add(Component::model("linear", "0.1.0", |_p, cx| {
///         let inputs = cx.data.input_shape.iter().product::<usize>();
///         let outputs = cx.data.objective.outputs();
///         let mut rng = cx.build.rng("linear");
///         let w = init::kaiming_uniform(&mut rng, inputs, &[inputs, outputs], &cx.build.device)?;
///         let b = Tensor::zeros(outputs, DType::F32, &cx.build.device)?;
///         Ok(Box::new(Linear { w: Var::from_tensor(&w)?, b: Var::from_tensor(&b)? }))
///     })
///     .summary("logistic regression"));
/// }
///
/// let mut found = Vec::new();
/// register(&mut found);
/// let Factory::Model(make) = &found[0].factory else { unreachable!() };
/// let cx = ModelContext {
///     build: BuildContext { seed: 0, device: Device::Cpu },
///     data: DataInfo::features(vec![4], Objective::Classification { classes: 3 }),
/// };
/// let model = make(&found[0].resolve(&[])?, &cx)?;
/// let out = model.forward(&Tensor::ones((2, 4), DType::F32, &Device::Cpu)?, &mut Hooks::none())?;
/// assert_eq!(out.dims(), &[2, 3]);
/// # Ok::<(), assay_sdk::PluginError>(())
/// ```
pub trait Model: Send {
    /// Computes the output for a batch, passing activations through `hooks` at every hook point.
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor>;

    /// Trainable parameters with stable names, in a stable order.
    fn parameters(&self) -> Vec<(String, Var)>;

    /// The hook points [`Model::forward`] passes, by name.
    fn hook_points(&self) -> Vec<String> {
        Vec::new()
    }

    /// Switches between training and evaluation behaviour (dropout). The host calls it before
    /// training steps and evaluations; models without such behaviour ignore it.
    fn set_training(&mut self, _training: bool) {}
}
