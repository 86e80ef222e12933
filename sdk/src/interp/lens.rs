//! The logit lens (nostalgebraist, 2020): read each layer's residual stream through the model's
//! own final norm and unembedding, `softmax(W_U · LN_final(h_l))`, and see what the model
//! "would say" after that layer.

use candle_core::{DType, Device, Tensor, D};

use super::block_hooks;
use crate::error::{PluginError, Result};
use crate::{Hooks, Model};

/// Whether a row is one of the layer's top-k tokens or a requested target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LensRowKind {
    /// Among the `top_k` most probable tokens.
    Top,
    /// A target token asked for (reported whatever its rank).
    Target,
}

/// One token's rank and probability at one layer and position.
#[derive(Debug, Clone, PartialEq)]
pub struct LensRow {
    /// The block whose output (`blocks.{layer}.hook_resid_post`) is read.
    pub layer: usize,
    /// The position in the prompt (0 = first token).
    pub position: usize,
    /// Top-k entry or target.
    pub kind: LensRowKind,
    /// The token id.
    pub token: u32,
    /// 1 = the most probable token.
    pub rank: usize,
    /// Its probability.
    pub prob: f32,
}

/// The logit lens of `ids` (one prompt): for every block `l` and every position in
/// `positions` (all when empty), the `top_k` tokens of `softmax(readout(h_l))` and the rank and
/// probability of each of `targets`. The last block's lens is the model's own output.
pub fn logit_lens(
    model: &dyn Model,
    ids: &[u32],
    positions: &[usize],
    targets: &[u32],
    top_k: usize,
    device: &Device,
) -> Result<Vec<LensRow>> {
    let Some(generative) = model.generative() else {
        return Err(PluginError::invalid(
            "the logit lens needs a language model (Model::generative)",
        ));
    };
    if ids.is_empty() {
        return Err(PluginError::invalid(
            "the logit lens needs a non-empty prompt",
        ));
    }
    if let Some(p) = positions.iter().find(|&&p| p >= ids.len()) {
        return Err(PluginError::invalid(format!(
            "position {p} is beyond the prompt's {} tokens",
            ids.len()
        )));
    }
    let layers = block_hooks(model, "hook_resid_post")?;
    let mut hooks = Hooks::capture(layers.iter().map(|(_, n)| n.clone()));
    let input = Tensor::from_vec(ids.to_vec(), (1, ids.len()), device)?;
    model.forward(&input, &mut hooks)?;
    let positions: Vec<usize> = if positions.is_empty() {
        (0..ids.len()).collect()
    } else {
        positions.to_vec()
    };
    let mut rows = Vec::new();
    for (layer, name) in &layers {
        let Some(h) = hooks.cached(name) else {
            return Err(PluginError::invalid(format!(
                "hook point `{name}` did not fire"
            )));
        };
        let logits = generative.readout(h)?.to_dtype(DType::F32)?;
        let probs = crate::nn::ops::softmax(&logits, D::Minus1)?.squeeze(0)?;
        let probs = probs.to_vec2::<f32>()?;
        let vocab = probs.first().map_or(0, Vec::len);
        if let Some(t) = targets.iter().find(|&&t| t as usize >= vocab) {
            return Err(PluginError::invalid(format!(
                "target token {t} is beyond the model's {vocab} outputs"
            )));
        }
        for &p in &positions {
            let row = &probs[p];
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            for (r, &tok) in order.iter().take(top_k).enumerate() {
                rows.push(LensRow {
                    layer: *layer,
                    position: p,
                    kind: LensRowKind::Top,
                    token: tok as u32,
                    rank: r + 1,
                    prob: row[tok],
                });
            }
            for &t in targets {
                let pt = row[t as usize];
                // Ties are broken by id, as in the top-k order.
                let rank = 1 + row
                    .iter()
                    .enumerate()
                    .filter(|&(i, &q)| q > pt || (q == pt && i < t as usize))
                    .count();
                rows.push(LensRow {
                    layer: *layer,
                    position: p,
                    kind: LensRowKind::Target,
                    token: t,
                    rank,
                    prob: pt,
                });
            }
        }
    }
    Ok(rows)
}
