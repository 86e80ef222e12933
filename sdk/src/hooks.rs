//! Hook points: named activations that probes read and may replace.
//!
//! Names follow TransformerLens so that analysis code reads like the paper:
//!
//! | name | where |
//! | --- | --- |
//! | `hook_embed`, `hook_pos_embed` | token and position embeddings |
//! | `blocks.{i}.hook_resid_pre`, `blocks.{i}.hook_resid_mid`, `blocks.{i}.hook_resid_post` | residual stream of block `i` |
//! | `blocks.{i}.attn.hook_q`, `.hook_k`, `.hook_v`, `.hook_attn_scores`, `.hook_pattern`, `.hook_z` | attention |
//! | `blocks.{i}.mlp.hook_pre`, `blocks.{i}.mlp.hook_post` | MLP before and after the activation |
//! | `ln_final.hook_normalized` | final norm |
//! | `hook_logits` | the model's output |
//!
//! A model with plain layers (an MLP) uses `blocks.{i}.mlp.hook_pre` / `hook_post` for its hidden
//! layers. [`names`] builds these strings.
//!
//! Interventions are declared, never silent: [`Hooks::applied`] lists every hook point at which an
//! intervention replaced an activation, and the host records it.

use std::collections::{BTreeMap, BTreeSet};

use candle_core::Tensor;

use crate::error::Result;

/// A function that replaces the activation at a hook point.
pub type Intervention = Box<dyn Fn(&Tensor) -> Result<Tensor> + Send>;

/// What a model's forward pass records and changes. Pass [`Hooks::none`] for plain training;
/// models check [`Hooks::is_active`] before building hook names, so an inactive set costs nothing.
///
/// ```
/// use assay_sdk::prelude::*;
/// let x = Tensor::new(&[1.0f32, -2.0], &Device::Cpu)?;
/// let mut hooks = Hooks::capture(["blocks.0.mlp.hook_post"]);
/// hooks.intervene("blocks.0.mlp.hook_post", |t| Ok(t.zeros_like()?));
/// // inside a model's forward:
/// let y = hooks.point("blocks.0.mlp.hook_post", x.relu()?)?;
/// assert_eq!(y.to_vec1::<f32>()?, vec![0.0, 0.0]);
/// assert_eq!(hooks.cached("blocks.0.mlp.hook_post").unwrap().to_vec1::<f32>()?, vec![0.0, 0.0]);
/// assert_eq!(hooks.applied(), ["blocks.0.mlp.hook_post"]);
/// # Ok::<(), assay_sdk::PluginError>(())
/// ```
#[derive(Default)]
pub struct Hooks {
    capture_all: bool,
    capture: BTreeSet<String>,
    interventions: BTreeMap<String, Intervention>,
    cache: BTreeMap<String, Tensor>,
    applied: Vec<String>,
}

impl Hooks {
    /// Records nothing and changes nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Records the activations at the given hook points.
    pub fn capture<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Hooks {
            capture: names.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Records every hook point the model passes.
    pub fn capture_all() -> Self {
        Hooks {
            capture_all: true,
            ..Self::default()
        }
    }

    /// Replaces the activation at `name` with `f(activation)`. What is cached is the replaced
    /// value, so downstream probes see what the model saw.
    pub fn intervene(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(&Tensor) -> Result<Tensor> + Send + 'static,
    ) -> &mut Self {
        self.interventions.insert(name.into(), Box::new(f));
        self
    }

    /// Whether anything is recorded or replaced; models may skip building hook names when not.
    pub fn is_active(&self) -> bool {
        self.capture_all || !self.capture.is_empty() || !self.interventions.is_empty()
    }

    /// Called by models at each hook point: applies an intervention if one is set for `name`,
    /// records the result if asked to, and returns the (possibly replaced) activation.
    pub fn point(&mut self, name: &str, activation: Tensor) -> Result<Tensor> {
        if !self.is_active() {
            return Ok(activation);
        }
        let out = match self.interventions.get(name) {
            Some(f) => {
                self.applied.push(name.to_string());
                f(&activation)?
            }
            None => activation,
        };
        if self.capture_all || self.capture.contains(name) {
            self.cache.insert(name.to_string(), out.clone());
        }
        Ok(out)
    }

    /// The recorded activation at `name`.
    pub fn cached(&self, name: &str) -> Option<&Tensor> {
        self.cache.get(name)
    }

    /// Every recorded activation by name.
    pub fn cache(&self) -> &BTreeMap<String, Tensor> {
        &self.cache
    }

    /// Hook points at which an intervention replaced the activation, in call order.
    pub fn applied(&self) -> &[String] {
        &self.applied
    }
}

/// Builders for the standard hook names.
pub mod names {
    /// `blocks.{layer}.{suffix}`, e.g. `block(0, "mlp.hook_post")`.
    pub fn block(layer: usize, suffix: &str) -> String {
        format!("blocks.{layer}.{suffix}")
    }
    /// Token embedding.
    pub const EMBED: &str = "hook_embed";
    /// Position embedding.
    pub const POS_EMBED: &str = "hook_pos_embed";
    /// The model's output.
    pub const LOGITS: &str = "hook_logits";
}
