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
//! Interventions ([`Intervention`]: replacement, zero and mean ablation, unit overwriting, head
//! ablation) are declared, never silent: [`Hooks::applied`] lists every hook point at which an
//! intervention replaced an activation, and the host records it.

use std::collections::{BTreeMap, BTreeSet};

use candle_core::Tensor;

use crate::error::Result;

mod intervention;

pub use intervention::{glob_match, select, Intervention, MapFn};

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
///
/// Interventions by kind ([`Intervention`]): replace with a tensor, zero or mean ablation,
/// overwrite chosen units at every or chosen positions, zero whole heads:
///
/// ```
/// use assay_sdk::prelude::*;
/// let x = Tensor::new(&[[[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]], &Device::Cpu)?; // [1, 2 positions, 3 units]
/// let mut hooks = Hooks::none();
/// hooks.overwrite_units("blocks.0.hook_resid_post", vec![2], vec![9.0], Some(vec![1]));
/// hooks.check(&["blocks.0.hook_resid_post".to_string()])?; // names checked before a forward
/// let y = hooks.point("blocks.0.hook_resid_post", x)?;
/// assert_eq!(y.to_vec3::<f32>()?, vec![vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 9.0]]]);
/// # Ok::<(), assay_sdk::PluginError>(())
/// ```
#[derive(Default)]
pub struct Hooks {
    capture_all: bool,
    capture: BTreeSet<String>,
    interventions: BTreeMap<String, Intervention>,
    cache: BTreeMap<String, Tensor>,
    applied: Vec<String>,
    offset: usize,
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

    /// Also records the activation at `name`.
    pub fn also_capture(&mut self, name: impl Into<String>) -> &mut Self {
        self.capture.insert(name.into());
        self
    }

    /// Sets the intervention at `name` (replacing any earlier one there). What is cached is the
    /// replaced value, so downstream probes see what the model saw.
    pub fn set(&mut self, name: impl Into<String>, intervention: Intervention) -> &mut Self {
        self.interventions.insert(name.into(), intervention);
        self
    }

    /// Replaces the activation at `name` with `f(activation)`, which must keep its shape.
    pub fn intervene(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(&Tensor) -> Result<Tensor> + Send + 'static,
    ) -> &mut Self {
        self.set(name, Intervention::Map(Box::new(f)))
    }

    /// Replaces the activation at `name` with `value` (its shape, or its shape without the
    /// batch axis).
    pub fn replace(&mut self, name: impl Into<String>, value: Tensor) -> &mut Self {
        self.set(name, Intervention::Replace(value))
    }

    /// Zero ablation at `name`.
    pub fn zero_ablate(&mut self, name: impl Into<String>) -> &mut Self {
        self.set(name, Intervention::Zero)
    }

    /// Mean ablation at `name`: each unit's mean over the batch and positions at hand, or the
    /// given means (see [`Intervention::Mean`]).
    pub fn mean_ablate(&mut self, name: impl Into<String>, means: Option<Tensor>) -> &mut Self {
        self.set(name, Intervention::Mean(means))
    }

    /// Overwrites `units` (last axis) at `name` with `values`, at every position or at the given
    /// absolute ones.
    pub fn overwrite_units(
        &mut self,
        name: impl Into<String>,
        units: Vec<usize>,
        values: Vec<f32>,
        positions: Option<Vec<usize>>,
    ) -> &mut Self {
        self.set(
            name,
            Intervention::Units {
                units,
                values,
                positions,
            },
        )
    }

    /// Zeroes the given heads (axis 1) at an attention hook point.
    pub fn zero_heads(&mut self, name: impl Into<String>, heads: Vec<usize>) -> &mut Self {
        self.set(name, Intervention::ZeroHeads(heads))
    }

    /// Checks every captured and intervened name against a model's hook points
    /// ([`crate::Model::hook_points`]): an unknown name is an error naming it and the closest
    /// known one. Call it before a forward pass; `point` itself cannot know what a model lacks.
    pub fn check(&self, known: &[String]) -> Result<()> {
        for name in self.capture.iter().chain(self.interventions.keys()) {
            if !known.iter().any(|k| k == name) {
                return Err(intervention::unknown_hook(name, known));
            }
        }
        Ok(())
    }

    /// Whether anything is recorded or replaced; models may skip building hook names when not.
    pub fn is_active(&self) -> bool {
        self.capture_all || !self.capture.is_empty() || !self.interventions.is_empty()
    }

    /// Whether any intervention is set.
    pub fn intervenes(&self) -> bool {
        !self.interventions.is_empty()
    }

    /// Called by a model before a forward pass that continues a sequence from a cache: the
    /// absolute position of the first position it computes (0 otherwise). Interventions at
    /// chosen positions use it.
    pub fn set_position_offset(&mut self, offset: usize) {
        self.offset = offset;
    }

    /// Called by models at each hook point: applies an intervention if one is set for `name`,
    /// records the result if asked to, and returns the (possibly replaced) activation. A
    /// replacement of the wrong shape is an error naming the hook point and both shapes.
    pub fn point(&mut self, name: &str, activation: Tensor) -> Result<Tensor> {
        if !self.is_active() {
            return Ok(activation);
        }
        let out = match self.interventions.get(name) {
            Some(i) => {
                let out = i.apply(name, &activation, self.offset)?;
                self.applied.push(name.to_string());
                out
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

    /// Takes the recorded activations out, leaving the cache empty (for streaming batch by
    /// batch).
    pub fn take_cache(&mut self) -> BTreeMap<String, Tensor> {
        std::mem::take(&mut self.cache)
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
