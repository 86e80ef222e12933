//! One hooked decoder behind the `transformer`, `llama` and `hf` models. What tells them apart is
//! configuration, not code: the norm ([`Norm`]: LayerNorm, RMSNorm or none), positions
//! ([`Positions`]: learned, rotary or none), a gated MLP (SwiGLU) or a plain one, key/value heads
//! (grouped-query attention), biases (in each [`Linear`]) and a tied or separate unembedding. So
//! every hook point, and every intervention at it, is written once, and the hook list
//! ([`Decoder::hook_points`]) follows from the configuration.
//!
//! Hook points (TransformerLens names): `hook_embed`, `hook_pos_embed` (learned positions),
//! per block `blocks.{i}.hook_resid_pre`, `attn.hook_q`, `attn.hook_k`, `attn.hook_v`
//! (`[batch, heads, pos, d_head]`, after rotation; keys and values per key/value head),
//! `attn.hook_attn_scores`, `attn.hook_pattern` (`[batch, heads, query, key]`), `attn.hook_z`,
//! `hook_attn_out`, `hook_resid_mid`, `mlp.hook_pre` (the gate for a gated MLP), `mlp.hook_post`,
//! `hook_mlp_out`, `hook_resid_post`; then `ln_final.hook_normalized` (with a final norm) and
//! `hook_logits`. They fire in the plain forward pass and in the cached one used for generation
//! (there for the new positions only).
//!
//! The fast paths (last position only, the projected vocabulary table, fused attention) run only
//! when no hook is active; a hooked pass with no intervention gives the same logits (tested).

use std::sync::Mutex;

use assay_sdk::prelude::*;
use assay_sdk::KvCache;

use crate::linear::{trained_and_frozen, Linear, Named};

mod attention;
mod parts;

pub(crate) use parts::{Act, Block, Names, Norm};

/// How positions enter the model.
pub(crate) enum Positions {
    /// None: attention alone orders the tokens (the grokking models without `pos_embed`).
    None,
    /// A learned table `W_pos` `[n_ctx, d]` added to the embeddings.
    Learned(Var),
    /// Rotary embeddings: `[max_positions, d_head]` cosines and sines of the angles ("rotate
    /// half", the HF Llama convention), applied to queries and keys.
    Rotary { cos: Tensor, sin: Tensor },
}

/// Rotation tables for positions `0..max`.
pub(crate) fn rope_tables(
    max: usize,
    d_head: usize,
    theta: f64,
    dev: &Device,
) -> Result<(Tensor, Tensor)> {
    let half = d_head / 2;
    let mut cos = Vec::with_capacity(max * d_head);
    let mut sin = Vec::with_capacity(max * d_head);
    for p in 0..max {
        let angles: Vec<f64> = (0..half)
            .map(|i| p as f64 / theta.powf(2.0 * i as f64 / d_head as f64))
            .collect();
        for _ in 0..2 {
            cos.extend(angles.iter().map(|a| a.cos() as f32));
            sin.extend(angles.iter().map(|a| a.sin() as f32));
        }
    }
    Ok((
        Tensor::from_vec(cos, (max, d_head), dev)?,
        Tensor::from_vec(sin, (max, d_head), dev)?,
    ))
}

pub(crate) struct Decoder {
    pub embed: Var,
    pub positions: Positions,
    pub blocks: Vec<Block>,
    pub ln_final: Option<Norm>,
    /// `None`: tied to the embedding (logits `x · W_Eᵀ`).
    pub unembed: Option<Linear>,
    pub heads: usize,
    /// Key/value heads, each shared by `heads / kv_heads` query heads.
    pub kv_heads: usize,
    pub d_head: usize,
    /// The MLP's activation (of the gate, for a gated MLP).
    pub act: Act,
    /// Dropout on the embeddings and on each attention and MLP output.
    pub dropout: f64,
    /// Keep dropout on when not training (Monte Carlo dropout).
    pub mc_dropout: bool,
    /// Use `assay_sdk::ops::attention_by_position` / `attention` where it pays (short sequences,
    /// one new token): the same function, rounded differently from the matrix-product path.
    pub fused_attention: bool,
    /// From 17 positions, project queries, keys and values as one product into
    /// `assay_sdk::ops::causal_attention_packed`: the same values, the block input's gradient
    /// rounded differently.
    pub fused_qkv: bool,
    pub training: bool,
    pub dropout_rng: Mutex<init::Rng>,
    /// Logits at every position (next-token training) instead of the last only.
    pub all_positions: bool,
}

impl Decoder {
    /// Adds rank-`rank` LoRA adapters to the named projections of every block (names checked by
    /// [`crate::linear::lora_targets`]); the base weights then stop training.
    pub(crate) fn add_lora(
        &mut self,
        targets: &[String],
        rank: usize,
        alpha: f64,
        rng: &mut init::Rng,
    ) -> Result<()> {
        for b in &mut self.blocks {
            for t in targets {
                let lin = b.linear_mut(t).ok_or_else(|| {
                    PluginError::param("lora_targets", format!("this model has no `{t}`"))
                })?;
                lin.add_lora(rng, rank, alpha)?;
            }
        }
        Ok(())
    }

    /// Inverted dropout with the model's own seeded generator (candle's would not be seeded),
    /// when training or with Monte Carlo dropout on.
    fn drop(&self, x: Tensor) -> Result<Tensor> {
        if !self.dropping() {
            return Ok(x);
        }
        let keep = 1.0 - self.dropout;
        let mask = {
            let mut rng = self
                .dropout_rng
                .lock()
                .map_err(|_| PluginError::invalid("dropout generator poisoned"))?;
            init::uniform(&mut rng, x.dims(), 0.0, 1.0, x.device())?
        };
        let mask = (mask.ge(self.dropout)?.to_dtype(x.dtype())? / keep)?;
        Ok(x.mul(&mask)?)
    }

    fn dropping(&self) -> bool {
        self.dropout > 0.0 && (self.training || self.mc_dropout)
    }

    /// Every weight by name, and the LoRA adapters' (trained instead when there are any).
    pub(crate) fn weights(&self) -> (Named, Named) {
        let mut ad = Vec::new();
        let mut out = vec![("embed.W_E".to_string(), self.embed.clone())];
        if let Positions::Learned(p) = &self.positions {
            out.push(("pos_embed.W_pos".to_string(), p.clone()));
        }
        for (i, b) in self.blocks.iter().enumerate() {
            let pre = format!("blocks.{i}");
            if let Some(n) = &b.ln1 {
                n.push(&format!("{pre}.ln1"), &mut out);
            }
            let attn = format!("{pre}.attn");
            b.q.push(&attn, "W_Q", "b_Q", &mut out, &mut ad);
            b.k.push(&attn, "W_K", "b_K", &mut out, &mut ad);
            b.v.push(&attn, "W_V", "b_V", &mut out, &mut ad);
            b.o.push(&attn, "W_O", "b_O", &mut out, &mut ad);
            if let Some(n) = &b.ln2 {
                n.push(&format!("{pre}.ln2"), &mut out);
            }
            let mlp = format!("{pre}.mlp");
            if let Some(g) = &b.gate {
                g.push(&mlp, "W_gate", "b_gate", &mut out, &mut ad);
            }
            b.w_in.push(&mlp, "W_in", "b_in", &mut out, &mut ad);
            b.w_out.push(&mlp, "W_out", "b_out", &mut out, &mut ad);
        }
        if let Some(n) = &self.ln_final {
            n.push("ln_final", &mut out);
        }
        if let Some(u) = &self.unembed {
            u.push("unembed", "W_U", "b_U", &mut out, &mut ad);
        }
        (out, ad)
    }

    /// The unembedding of `x` (`[..., d]`, already through the final norm).
    fn unembed(&self, x: &Tensor) -> Result<Tensor> {
        match &self.unembed {
            Some(u) => u.forward(x),
            None => {
                let dims = x.dims().to_vec();
                let d = dims[dims.len() - 1];
                let rows = x.elem_count() / d.max(1);
                let mut out = dims.clone();
                if let Some(last) = out.last_mut() {
                    *last = self.embed.dim(0)?;
                }
                Ok(x.reshape((rows, d))?
                    .matmul(&self.embed.as_tensor().t()?)?
                    .reshape(out)?)
            }
        }
    }

    /// The output of `x` through the final norm (if any) and the unembedding.
    fn head(&self, x: &Tensor) -> Result<Tensor> {
        match &self.ln_final {
            Some(n) => self.unembed(&n.forward(x)?),
            None => self.unembed(x),
        }
    }

    /// Logits at every position (`all`) or at the last, for `input`'s positions after those
    /// `cache` holds (when given; its keys and values are extended).
    fn run(
        &self,
        input: &Tensor,
        mut cache: Option<&mut KvCache>,
        hooks: &mut Hooks,
        all: bool,
    ) -> Result<Tensor> {
        let (batch, t) = input.dims2()?;
        let p0 = cache.as_ref().map_or(0, |c| c.position());
        let n_blocks = self.blocks.len();
        let watched = hooks.is_active();
        let cached = cache.is_some();
        // Only the last position reaches the logits of a classifier, so when nothing watches the
        // activations the last block computes its query, MLP and residual at that position
        // alone: the same logits for a third of the work at three positions.
        let last_only_at = |i: usize| !cached && !all && !watched && i + 1 == n_blocks && t > 1;
        // Block 0 without a norm reads the embeddings directly: when nothing watches, its
        // projections come from the projected vocabulary table.
        let tokens_at = |i: usize, b: &Block| {
            !cached && i == 0 && b.ln1.is_none() && !watched && !self.dropping()
        };
        // A single such block needs the residual stream at the last position only. (Its rows
        // are gathered from the tables as before, the others skipped: candle sums an
        // embedding's gradient into the table's, and the skipped rows' gradients were zeros.)
        let residual_last = n_blocks == 1 && last_only_at(0) && tokens_at(0, &self.blocks[0]);
        let rows = if residual_last { t - 1..t } else { 0..t };
        let ids = input.narrow(1, rows.start, rows.len())?;
        let d = self.embed.dims()[1];
        let mut x = hooks.point(
            hook_names::EMBED,
            self.embed
                .as_tensor()
                .embedding(&ids.flatten_all()?)?
                .reshape((batch, rows.len(), d))?,
        )?;
        if let Positions::Learned(pos) = &self.positions {
            let n_ctx = pos.dims()[0];
            if p0 + t > n_ctx {
                return Err(PluginError::invalid(format!(
                    "sequence of {} tokens, but n_ctx is {n_ctx}",
                    p0 + t
                )));
            }
            let p = hooks.point(hook_names::POS_EMBED, pos.as_tensor().narrow(0, p0, t)?)?;
            x = (x + crate::rows::rows_per_example(&p, batch, rows)?)?;
        }
        x = self.drop(x)?;
        for (i, b) in self.blocks.iter().enumerate() {
            let last_only = last_only_at(i);
            x = hooks.point(&b.names.resid_pre, x)?;
            let a_in = match &b.ln1 {
                Some(n) => n.forward(&x)?,
                None => x.clone(),
            };
            let src = if tokens_at(i, b) {
                attention::Source::Tokens(input)
            } else {
                attention::Source::Resid(&a_in)
            };
            let z = self.attention(
                i,
                b,
                &src,
                attention::Window { p0, last_only },
                cache.as_deref_mut(),
                hooks,
            )?;
            if last_only && x.dim(1)? > 1 {
                x = x.narrow(1, t - 1, 1)?;
            }
            // Nothing watches the attention's output and no dropout: its bias and the residual
            // addition in one pass.
            let plain = !hooks.is_active() && !self.dropping();
            x = if plain {
                b.o.forward_residual(&z, &x)?
            } else {
                let attn = hooks.point(&b.names.attn_out, self.drop(b.o.forward(&z)?)?)?;
                hooks.point(&b.names.resid_mid, (x + attn)?)?
            };
            let m_in = match &b.ln2 {
                Some(n) => n.forward(&x)?,
                None => x.clone(),
            };
            let post = match &b.gate {
                Some(gate) => {
                    let pre = hooks.point(&b.names.mlp_pre, gate.forward(&m_in)?)?;
                    let up = b.w_in.forward(&m_in)?;
                    hooks.point(&b.names.mlp_post, (self.act.apply(&pre)? * up)?)?
                }
                // Nothing watches the pre-activation: the bias and the ReLU in one pass.
                None if self.act == Act::Relu && !hooks.is_active() => {
                    b.w_in.forward_relu(&m_in)?
                }
                None => {
                    let pre = hooks.point(&b.names.mlp_pre, b.w_in.forward(&m_in)?)?;
                    hooks.point(&b.names.mlp_post, self.act.apply(&pre)?)?
                }
            };
            x = if plain {
                b.w_out.forward_residual(&post, &x)?
            } else {
                let out = hooks.point(&b.names.mlp_out, self.drop(b.w_out.forward(&post)?)?)?;
                hooks.point(&b.names.resid_post, (x + out)?)?
            };
        }
        if let Some(n) = &self.ln_final {
            x = hooks.point("ln_final.hook_normalized", n.forward(&x)?)?;
        }
        if all {
            return hooks.point(hook_names::LOGITS, self.unembed(&x)?);
        }
        let last = x.narrow(1, x.dim(1)? - 1, 1)?.squeeze(1)?;
        hooks.point(hook_names::LOGITS, self.unembed(&last)?)
    }
}

impl Model for Decoder {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        self.run(input, None, hooks, self.all_positions)
    }

    fn parameters(&self) -> Vec<(String, Var)> {
        trained_and_frozen(self.weights()).0
    }

    fn buffers(&self) -> Vec<(String, Var)> {
        trained_and_frozen(self.weights()).1
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn hook_points(&self) -> Vec<String> {
        let mut out = vec![hook_names::EMBED.to_string()];
        if matches!(self.positions, Positions::Learned(_)) {
            out.push(hook_names::POS_EMBED.to_string());
        }
        for b in &self.blocks {
            out.extend(b.names.all());
        }
        if self.ln_final.is_some() {
            out.push("ln_final.hook_normalized".to_string());
        }
        out.push(hook_names::LOGITS.to_string());
        out
    }

    fn generative(&self) -> Option<&dyn Generative> {
        Some(self)
    }
}

impl Generative for Decoder {
    fn context_length(&self) -> Option<usize> {
        match &self.positions {
            Positions::None => None,
            Positions::Learned(p) => Some(p.dims()[0]),
            Positions::Rotary { cos, .. } => Some(cos.dims()[0]),
        }
    }

    fn forward_cached(&self, input: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        self.run(input, Some(cache), &mut Hooks::none(), true)
    }

    fn forward_cached_with_hooks(
        &self,
        input: &Tensor,
        cache: &mut KvCache,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        hooks.set_position_offset(cache.position());
        let out = self.run(input, Some(cache), hooks, true);
        hooks.set_position_offset(0);
        out
    }

    fn readout(&self, resid: &Tensor) -> Result<Tensor> {
        self.head(resid)
    }
}
