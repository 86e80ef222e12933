//! The [`Model`] kind.

use candle_core::{Tensor, Var};

use crate::error::Result;
use crate::hooks::Hooks;
use crate::text::KvCache;

/// A differentiable function with named parameters and named hook points.
///
/// Parameters are `Var`s created by the factory (use [`crate::init`] with
/// [`crate::BuildContext::rng`] so that a seed fixes them); their names are stable, because
/// checkpoints and pruning masks refer to them. The host computes the loss from the output
/// according to the dataset's [`crate::Objective`].
///
/// # Example: a linear classifier with one hook point
///
/// (From `sdk/examples/model.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/model.rs"), "```")]
pub trait Model: Send {
    /// Computes the output for a batch, passing activations through `hooks` at every hook point.
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor>;

    /// Trainable parameters with stable names, in a stable order.
    fn parameters(&self) -> Vec<(String, Var)>;

    /// State saved with checkpoints and restored by `[init]`, but not trained: the frozen base
    /// weights of a model fine-tuned through adapters (LoRA). Empty by default.
    fn buffers(&self) -> Vec<(String, Var)> {
        Vec::new()
    }

    /// What the parameter `name` is, for optimizers that treat kinds of parameters differently
    /// (see [`crate::optimizer::Role`]). The default infers it from the name and rank.
    fn parameter_role(&self, name: &str, var: &Var) -> crate::optimizer::Role {
        crate::optimizer::Role::infer(name, var.rank())
    }

    /// The hook points [`Model::forward`] passes, by name.
    fn hook_points(&self) -> Vec<String> {
        Vec::new()
    }

    /// Switches between training and evaluation behaviour (dropout). The host calls it before
    /// training steps and evaluations; models without such behaviour ignore it.
    fn set_training(&mut self, _training: bool) {}

    /// The generation extension of a language model (see [`Generative`]); `None` (the
    /// default) for models that are not. Language models return `Some(self)`.
    fn generative(&self) -> Option<&dyn Generative> {
        None
    }
}

/// What a language model adds to [`Model`] for text generation: the tokenizer it comes with,
/// its context length, and a forward pass that continues a sequence from a [`KvCache`] instead
/// of recomputing it. [`crate::generate()`], [`crate::LocalTextModel`] and `assay generate` use
/// it when [`Model::generative`] offers it, and recompute the whole sequence otherwise.
pub trait Generative {
    /// A tokenizer that comes with the model (a Hugging Face checkpoint's), if any.
    fn tokenizer(&self) -> Option<std::sync::Arc<dyn crate::text::Tokenizer>> {
        None
    }

    /// The longest sequence the model takes (learned positions), if it has a limit.
    fn context_length(&self) -> Option<usize> {
        None
    }

    /// The logits (`[batch, new, vocab]`) of `input`'s new positions (`[batch, new]`),
    /// continuing the sequence whose keys and values `cache` holds (its
    /// [`position`](KvCache::position) is where the new positions start) and appending theirs
    /// with [`KvCache::append`].
    fn forward_cached(&self, input: &Tensor, cache: &mut KvCache) -> Result<Tensor>;

    /// The model's head applied to a residual-stream activation (`[..., d_model]`): the final
    /// norm, if the model has one, and the unembedding, giving `[..., vocab]`. The logit lens
    /// reads every layer through it; applied to the last block's `hook_resid_post` it gives the
    /// model's own logits. The default: not available.
    fn readout(&self, _resid: &Tensor) -> Result<Tensor> {
        Err(crate::PluginError::invalid(
            "this model does not expose its final norm and unembedding (Generative::readout)",
        ))
    }

    /// [`Generative::forward_cached`] passing the new positions' activations through `hooks`
    /// (interventions at chosen positions count positions from the sequence's start). The
    /// default serves models without hooks: it refuses active hooks rather than ignore them.
    fn forward_cached_with_hooks(
        &self,
        input: &Tensor,
        cache: &mut KvCache,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        if hooks.is_active() {
            return Err(crate::PluginError::invalid(
                "this model has no hook points in its cached forward pass",
            ));
        }
        self.forward_cached(input, cache)
    }
}
