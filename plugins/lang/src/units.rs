//! Units: the output channels of every Linear layer of a hooked decoder except the unembedding,
//! read at the hook points that carry them (the notes' definition, after the paper's code):
//!
//! | kind | hook point | shape | unit |
//! | --- | --- | --- | --- |
//! | `q`, `k`, `v` | `blocks.{i}.attn.hook_q` / `hook_k` / `hook_v` | `[batch, heads, pos, d_head]` | `head · d_head + i` |
//! | `o` | `blocks.{i}.hook_attn_out` | `[batch, pos, d_model]` | channel |
//! | `fc1` | `blocks.{i}.mlp.hook_pre` (before the activation; a gated MLP's gate) | `[batch, pos, d_mlp]` | channel |
//! | `fc2` | `blocks.{i}.hook_mlp_out` | `[batch, pos, d_model]` | channel |
//!
//! Units are numbered globally: hook points by layer and then in the order of the table, units
//! within a hook point by their index. Which hook points exist and how wide they are is read
//! off the model ([`Units::discover`]: its hook list and one forward pass), so the same code
//! serves the `transformer`, `llama` and `hf` decoders (with grouped-query attention, `k` and
//! `v` have fewer heads than `q`). Caveats: the `llama` decoder's `hook_q`/`hook_k` follow the
//! rotary embedding, and its MLP's `up` projection has no hook point, so its units are q, k,
//! v (rotated), o, gate and down.

use std::collections::BTreeMap;

use assay_sdk::prelude::*;

/// What a hook point's units are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnitKind {
    /// Attention queries.
    Q,
    /// Attention keys.
    K,
    /// Attention values.
    V,
    /// The attention output projection.
    O,
    /// The MLP's first layer before the activation.
    Fc1,
    /// The MLP's second layer.
    Fc2,
}

impl UnitKind {
    /// Every kind, in unit order.
    pub const ALL: [UnitKind; 6] = [
        UnitKind::Q,
        UnitKind::K,
        UnitKind::V,
        UnitKind::O,
        UnitKind::Fc1,
        UnitKind::Fc2,
    ];

    /// `q`, `k`, `v`, `o`, `fc1`, `fc2`.
    pub fn name(self) -> &'static str {
        match self {
            UnitKind::Q => "q",
            UnitKind::K => "k",
            UnitKind::V => "v",
            UnitKind::O => "o",
            UnitKind::Fc1 => "fc1",
            UnitKind::Fc2 => "fc2",
        }
    }

    /// The hook point's name after `blocks.{i}.`.
    pub fn suffix(self) -> &'static str {
        match self {
            UnitKind::Q => "attn.hook_q",
            UnitKind::K => "attn.hook_k",
            UnitKind::V => "attn.hook_v",
            UnitKind::O => "hook_attn_out",
            UnitKind::Fc1 => "mlp.hook_pre",
            UnitKind::Fc2 => "hook_mlp_out",
        }
    }
}

/// One hook point's units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitHook {
    /// The hook point.
    pub name: String,
    /// Its block.
    pub layer: usize,
    /// What its units are.
    pub kind: UnitKind,
    /// Number of units.
    pub width: usize,
    /// `(heads, d_head)` for a `[batch, heads, pos, d_head]` hook point; `None` when the units
    /// are the last axis of `[batch, pos, units]`.
    pub heads: Option<(usize, usize)>,
    /// The global number of its first unit.
    pub offset: usize,
}

/// Every unit of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    /// The hook points, in unit order.
    pub hooks: Vec<UnitHook>,
    /// Number of units.
    pub total: usize,
}

/// Where one global unit lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitRef<'a> {
    /// Its hook point.
    pub hook: &'a UnitHook,
    /// Its index within the hook point.
    pub index: usize,
}

impl Units {
    /// Reads the unit hook points of `model` off its hook list and their widths off one forward
    /// pass of two tokens (id 0). A model without any is an error.
    pub fn discover(model: &dyn Model, device: &Device) -> Result<Units> {
        let known = model.hook_points();
        let mut found: Vec<(usize, UnitKind, String)> = Vec::new();
        for name in &known {
            let Some(rest) = name.strip_prefix("blocks.") else {
                continue;
            };
            let Some((layer, suffix)) = rest.split_once('.') else {
                continue;
            };
            let Ok(layer) = layer.parse::<usize>() else {
                continue;
            };
            if let Some(kind) = UnitKind::ALL.into_iter().find(|k| k.suffix() == suffix) {
                found.push((layer, kind, name.clone()));
            }
        }
        if found.is_empty() {
            return Err(PluginError::invalid(format!(
                "the model has no unit hook points (blocks.{{i}}.attn.hook_q, hook_attn_out, mlp.hook_pre, hook_mlp_out, ...); its hook points: {}",
                known.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        found.sort();
        let mut hooks = Hooks::capture(found.iter().map(|f| f.2.clone()));
        let probe = Tensor::zeros((1, 2), DType::U32, device)?;
        model.forward(&probe, &mut hooks)?;
        let mut out = Vec::new();
        let mut offset = 0;
        for (layer, kind, name) in found {
            let t = hooks.cached(&name).ok_or_else(|| {
                PluginError::invalid(format!(
                    "hook point `{name}` is listed but did not fire in a forward pass"
                ))
            })?;
            let (width, heads) = match t.dims() {
                [_, h, _, d] => (h * d, Some((*h, *d))),
                [_, _, w] => (*w, None),
                other => {
                    return Err(PluginError::invalid(format!(
                        "hook point `{name}` has shape {other:?}; units need [batch, pos, units] or [batch, heads, pos, d_head]"
                    )))
                }
            };
            out.push(UnitHook {
                name,
                layer,
                kind,
                width,
                heads,
                offset,
            });
            offset += width;
        }
        Ok(Units {
            hooks: out,
            total: offset,
        })
    }

    /// The hook point and index of global unit `unit` (`None` beyond the last).
    pub fn locate(&self, unit: usize) -> Option<UnitRef<'_>> {
        let i = self.hooks.partition_point(|h| h.offset <= unit);
        let hook = self.hooks.get(i.checked_sub(1)?)?;
        (unit < hook.offset + hook.width).then_some(UnitRef {
            hook,
            index: unit - hook.offset,
        })
    }

    /// The hook point names, in unit order.
    pub fn names(&self) -> Vec<String> {
        self.hooks.iter().map(|h| h.name.clone()).collect()
    }

    /// Number of blocks that have units.
    pub fn layers(&self) -> usize {
        self.hooks.iter().map(|h| h.layer + 1).max().unwrap_or(0)
    }

    /// Each example's responses, `[batch][unit]`: every unit's activation averaged over the
    /// positions `from..` of the captured activations `cache` (one entry per hook point).
    pub fn mean_pooled(
        &self,
        cache: &BTreeMap<String, Tensor>,
        from: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let mut rows: Vec<Vec<f32>> = Vec::new();
        for h in &self.hooks {
            let t = cache.get(&h.name).ok_or_else(|| {
                PluginError::invalid(format!("no activation captured at `{}`", h.name))
            })?;
            let pos_axis = if h.heads.is_some() { 2 } else { 1 };
            let n = t.dim(pos_axis)?;
            if from >= n {
                return Err(PluginError::invalid(format!(
                    "`{}` has {n} positions; pooling starts at {from}",
                    h.name
                )));
            }
            let pooled = t
                .narrow(pos_axis, from, n - from)?
                .to_dtype(DType::F32)?
                .mean(pos_axis)?;
            let batch = pooled.dim(0)?;
            let flat = pooled.reshape((batch, h.width))?.to_vec2::<f32>()?;
            if rows.is_empty() {
                rows = vec![Vec::with_capacity(self.total); batch];
            }
            for (row, part) in rows.iter_mut().zip(flat) {
                row.extend(part);
            }
        }
        Ok(rows)
    }
}
