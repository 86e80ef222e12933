//! A decoder-only transformer, as in the grokking studies (Nanda et al.; Furuta et al.): token
//! and optional learned position embeddings, `n_layers` blocks of causal multi-head attention and
//! an MLP, optional LayerNorm and biases, and an unembedding read at the **last position** (the
//! classification setup of modular arithmetic) or, for a next-token dataset, at every position
//! (`[batch, pos, vocab]` logits: a GPT-2-style language model with `layer_norm = true` and
//! `activation = "gelu"`).
//!
//! Initialisation (the grokking code's): `W_E ~ N(0, 1/√vocab)`, `W_pos`, attention and MLP
//! weights `~ N(0, 1/√d_model)`, `W_U ~ N(0, 1/√d_model)`, biases 0, LayerNorm weights 1.
//!
//! Parameters (TransformerLens names; matrices stored input-major): `embed.W_E [vocab, d]`,
//! `pos_embed.W_pos [n_ctx, d]`, `blocks.{i}.attn.W_Q|W_K|W_V [d, heads·d_head]`,
//! `blocks.{i}.attn.W_O [heads·d_head, d]`, `blocks.{i}.mlp.W_in [d, d_mlp]`,
//! `blocks.{i}.mlp.W_out [d_mlp, d]`, `unembed.W_U [d, classes]`, with `b_*` biases and
//! `ln1`, `ln2`, `ln_final` `w`/`b` when enabled.
//!
//! Hook points: `hook_embed`, `hook_pos_embed`, and per block `blocks.{i}.hook_resid_pre`,
//! `attn.hook_q`, `attn.hook_k`, `attn.hook_v` (`[batch, heads, pos, d_head]`),
//! `attn.hook_attn_scores`, `attn.hook_pattern` (`[batch, heads, query, key]`), `attn.hook_z`,
//! `hook_attn_out`, `hook_resid_mid`, `mlp.hook_pre`, `mlp.hook_post`, `hook_mlp_out`,
//! `hook_resid_post`; then `ln_final.hook_normalized` and `hook_logits`.

use assay_sdk::ops::FUSED_ATTENTION_MAX_KEYS;
use assay_sdk::prelude::*;
use assay_sdk::KvCache;

use crate::linear::{lora_targets, per_row, trained_and_frozen, Linear, Named};

mod component;
mod parts;
#[cfg(test)]
mod tests;

use crate::softmax::{masked_scores, scaled_softmax};
pub(crate) use component::register;
pub(crate) use parts::{rows_per_example, Act, Block, Names, Norm};

/// Where a block's queries, keys and values are projected from.
enum Source<'a> {
    /// The block's (normalised) input, `[batch, pos, d]`.
    Resid(&'a Tensor),
    /// The token ids `[batch, pos]` of a first block that reads the embeddings unnormalised.
    Tokens(&'a Tensor),
}

pub(crate) struct Transformer {
    pub embed: Var,
    pub pos: Option<Var>,
    pub blocks: Vec<Block>,
    pub ln_final: Option<Norm>,
    pub unembed: Linear,
    pub heads: usize,
    pub d_head: usize,
    pub act: Act,
    /// Dropout on the embeddings and on each attention and MLP output.
    pub dropout: f64,
    /// Keep dropout on when not training (Monte Carlo dropout).
    pub mc_dropout: bool,
    /// Use `assay_sdk::ops::attention_by_position` / `attention` where it pays (short sequences,
    /// one new token): the same function, rounded differently from the matrix-product path.
    pub fused_attention: bool,
    pub training: bool,
    pub dropout_rng: std::sync::Mutex<init::Rng>,
    /// Logits at every position (next-token training) instead of the last only.
    pub all_positions: bool,
}

impl Transformer {
    /// Adds rank-`rank` LoRA adapters to the named projections (`W_Q`, `W_K`, `W_V`, `W_O`,
    /// `W_in`, `W_out`; checked by [`lora_targets`]) of every block; the base weights then stop
    /// training.
    fn add_lora(
        &mut self,
        targets: &[String],
        rank: usize,
        alpha: f64,
        rng: &mut init::Rng,
    ) -> Result<()> {
        for b in &mut self.blocks {
            for t in targets {
                let lin = match t.as_str() {
                    "W_Q" => &mut b.q,
                    "W_K" => &mut b.k,
                    "W_V" => &mut b.v,
                    "W_O" => &mut b.o,
                    "W_in" => &mut b.w_in,
                    _ => &mut b.w_out,
                };
                lin.add_lora(rng, rank, alpha)?;
            }
        }
        Ok(())
    }

    /// Inverted dropout with the model's own seeded generator (candle's would not be seeded),
    /// when training or with Monte Carlo dropout on.
    fn drop(&self, x: Tensor) -> Result<Tensor> {
        if self.dropout <= 0.0 || !(self.training || self.mc_dropout) {
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

    /// Every weight by name, and the LoRA adapters' (trained instead when there are any).
    pub(crate) fn weights(&self) -> (Named, Named) {
        let mut ad = Vec::new();
        let mut out = vec![("embed.W_E".to_string(), self.embed.clone())];
        if let Some(p) = &self.pos {
            out.push(("pos_embed.W_pos".to_string(), p.clone()));
        }
        for (i, b) in self.blocks.iter().enumerate() {
            let pre = format!("blocks.{i}");
            if let Some(n) = &b.ln1 {
                out.push((format!("{pre}.ln1.w"), n.w.clone()));
                out.push((format!("{pre}.ln1.b"), n.b.clone()));
            }
            b.q.push(&format!("{pre}.attn"), "W_Q", "b_Q", &mut out, &mut ad);
            b.k.push(&format!("{pre}.attn"), "W_K", "b_K", &mut out, &mut ad);
            b.v.push(&format!("{pre}.attn"), "W_V", "b_V", &mut out, &mut ad);
            b.o.push(&format!("{pre}.attn"), "W_O", "b_O", &mut out, &mut ad);
            if let Some(n) = &b.ln2 {
                out.push((format!("{pre}.ln2.w"), n.w.clone()));
                out.push((format!("{pre}.ln2.b"), n.b.clone()));
            }
            b.w_in
                .push(&format!("{pre}.mlp"), "W_in", "b_in", &mut out, &mut ad);
            b.w_out
                .push(&format!("{pre}.mlp"), "W_out", "b_out", &mut out, &mut ad);
        }
        if let Some(n) = &self.ln_final {
            out.push(("ln_final.w".to_string(), n.w.clone()));
            out.push(("ln_final.b".to_string(), n.b.clone()));
        }
        self.unembed
            .push("unembed", "W_U", "b_U", &mut out, &mut ad);
        (out, ad)
    }

    /// Causal self-attention of `x` (`[batch, pos, d]`). With `last_only`, only the last
    /// position's query is computed (it attends to every position, so no mask is needed) and the
    /// result is `[batch, 1, d]`.
    /// `lin` applied to the block's input at positions `from..t` of `src`: `[batch, n, out]`.
    fn project(&self, lin: &Linear, src: &Source<'_>, from: usize) -> Result<Tensor> {
        match src {
            Source::Resid(x) => {
                let t = x.dim(1)?;
                lin.forward(&x.narrow(1, from, t - from)?)
            }
            Source::Tokens(ids) => {
                // (E[tok] + P[pos]) W = (E W)[tok] + (P W)[pos]: project the vocabulary table
                // once instead of every token of the batch.
                let (batch, t) = ids.dims2()?;
                let n = t - from;
                let table = self.embed.as_tensor().matmul(lin.w.as_tensor())?;
                let ids = ids.narrow(1, from, n)?.contiguous()?.flatten_all()?;
                let mut y = table.embedding(&ids)?.reshape((batch, n, ()))?;
                if let Some(pos) = &self.pos {
                    let p = pos
                        .as_tensor()
                        .narrow(0, from, n)?
                        .matmul(lin.w.as_tensor())?;
                    y = (y + rows_per_example(&p, batch)?)?;
                }
                Ok(match &lin.b {
                    Some(b) => (&y + per_row(b.as_tensor(), &y)?)?,
                    None => y,
                })
            }
        }
    }

    fn attention(
        &self,
        b: &Block,
        src: &Source<'_>,
        hooks: &mut Hooks,
        last_only: bool,
    ) -> Result<Tensor> {
        let (batch, t) = match src {
            Source::Resid(x) => (x.dim(0)?, x.dim(1)?),
            Source::Tokens(ids) => ids.dims2()?,
        };
        let from = if last_only { t - 1 } else { 0 };
        let tq = t - from;
        let scale = 1.0 / (self.d_head as f64).sqrt();
        let by_position = |y: Tensor| -> Result<Tensor> {
            let n = y.dim(1)?;
            Ok(y.reshape((batch, n, self.heads, self.d_head))?)
        };
        if self.fused_attention && !hooks.is_active() && t <= FUSED_ATTENTION_MAX_KEYS {
            // Short sequences: the fused attention (one pass each way) on the projections as
            // they come, instead of batch · heads tiny matrix products on transposed copies.
            let z = assay_sdk::ops::attention_by_position(
                &by_position(self.project(&b.q, src, from)?)?,
                &by_position(self.project(&b.k, src, 0)?)?,
                &by_position(self.project(&b.v, src, 0)?)?,
                scale,
                true,
            )?;
            return b
                .o
                .forward(&z.reshape((batch, tq, self.heads * self.d_head))?);
        }
        let split =
            |y: Tensor| -> Result<Tensor> { Ok(by_position(y)?.transpose(1, 2)?.contiguous()?) };
        let q = hooks.point(&b.names.q, split(self.project(&b.q, src, from)?)?)?;
        let k = hooks.point(&b.names.k, split(self.project(&b.k, src, 0)?)?)?;
        let v = hooks.point(&b.names.v, split(self.project(&b.v, src, 0)?)?)?;
        let pattern = if hooks.is_active() {
            let scores = masked_scores(&q.matmul(&k.t()?)?, scale)?;
            let scores = hooks.point(&b.names.scores, scores)?;
            // candle's fused softmax_last_dim has no backward; this one is built from basic ops.
            hooks.point(
                &b.names.pattern,
                assay_sdk::nn::ops::softmax(&scores, D::Minus1)?,
            )?
        } else {
            // The last query (last_only) sees every key: the causal rule gives that too.
            scaled_softmax(&q.matmul(&k.t()?)?, scale, true)?
        };
        let z = hooks.point(&b.names.z, pattern.matmul(&v)?)?;
        let z = z
            .transpose(1, 2)?
            .reshape((batch, tq, self.heads * self.d_head))?;
        b.o.forward(&z)
    }
}

impl Model for Transformer {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        let (batch, t) = input.dims2()?;
        let d = self.embed.dims()[1];
        let mut x = hooks.point(
            hook_names::EMBED,
            self.embed
                .as_tensor()
                .embedding(&input.flatten_all()?)?
                .reshape((batch, t, d))?,
        )?;
        if let Some(pos) = &self.pos {
            if t > pos.dims()[0] {
                return Err(PluginError::invalid(format!(
                    "sequence of {t} tokens, but n_ctx is {}",
                    pos.dims()[0]
                )));
            }
            let p = hooks.point(hook_names::POS_EMBED, pos.as_tensor().narrow(0, 0, t)?)?;
            x = (x + rows_per_example(&p, batch)?)?;
        }
        let dropping = self.dropout > 0.0 && (self.training || self.mc_dropout);
        x = self.drop(x)?;
        // Only the last position reaches the logits, so when nothing watches the activations
        // the last block computes its query, MLP and residual at that position alone: the same
        // logits for a third of the work at three positions.
        let n_blocks = self.blocks.len();
        for (i, b) in self.blocks.iter().enumerate() {
            let last_only = !self.all_positions && !hooks.is_active() && i + 1 == n_blocks && t > 1;
            x = hooks.point(&b.names.resid_pre, x)?;
            let a_in = match &b.ln1 {
                Some(n) => n.forward(&x)?,
                None => x.clone(),
            };
            // Block 0 without LayerNorm reads the embeddings directly: when nothing watches,
            // its projections come from the projected vocabulary table.
            let src = if i == 0 && b.ln1.is_none() && !hooks.is_active() && !dropping {
                Source::Tokens(input)
            } else {
                Source::Resid(&a_in)
            };
            let attn = self.attention(b, &src, hooks, last_only)?;
            let attn = hooks.point(&b.names.attn_out, self.drop(attn)?)?;
            if last_only {
                x = x.narrow(1, t - 1, 1)?;
            }
            x = hooks.point(&b.names.resid_mid, (x + attn)?)?;
            let m_in = match &b.ln2 {
                Some(n) => n.forward(&x)?,
                None => x.clone(),
            };
            let pre = hooks.point(&b.names.mlp_pre, b.w_in.forward(&m_in)?)?;
            let post = hooks.point(&b.names.mlp_post, self.act.apply(&pre)?)?;
            let out = hooks.point(&b.names.mlp_out, self.drop(b.w_out.forward(&post)?)?)?;
            x = hooks.point(&b.names.resid_post, (x + out)?)?;
        }
        if let Some(n) = &self.ln_final {
            x = hooks.point("ln_final.hook_normalized", n.forward(&x)?)?;
        }
        if self.all_positions {
            return hooks.point(hook_names::LOGITS, self.unembed.forward(&x)?);
        }
        let last = x.narrow(1, x.dim(1)? - 1, 1)?.squeeze(1)?;
        hooks.point(hook_names::LOGITS, self.unembed.forward(&last)?)
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
        if self.pos.is_some() {
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

impl Generative for Transformer {
    fn context_length(&self) -> Option<usize> {
        self.pos.as_ref().map(|p| p.dims()[0])
    }

    fn forward_cached(&self, input: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let (batch, n) = input.dims2()?;
        let p0 = cache.position();
        let d = self.embed.dims()[1];
        let mut x = self
            .embed
            .as_tensor()
            .embedding(&input.flatten_all()?)?
            .reshape((batch, n, d))?;
        if let Some(pos) = &self.pos {
            if p0 + n > pos.dims()[0] {
                return Err(PluginError::invalid(format!(
                    "position {} is beyond n_ctx = {}",
                    p0 + n,
                    pos.dims()[0]
                )));
            }
            x = (x + rows_per_example(&pos.as_tensor().narrow(0, p0, n)?, batch)?)?;
        }
        x = self.drop(x)?;
        let split = |y: Tensor| -> Result<Tensor> {
            Ok(y.reshape((batch, n, self.heads, self.d_head))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let scale = 1.0 / (self.d_head as f64).sqrt();
        for (i, b) in self.blocks.iter().enumerate() {
            let a_in = match &b.ln1 {
                Some(norm) => norm.forward(&x)?,
                None => x.clone(),
            };
            let q = split(b.q.forward(&a_in)?)?;
            let (k, v) =
                cache.append(i, split(b.k.forward(&a_in)?)?, split(b.v.forward(&a_in)?)?)?;
            // One new token, or a short sequence: the fused attention.
            let z = if self.fused_attention && (n == 1 || k.dim(2)? <= FUSED_ATTENTION_MAX_KEYS) {
                assay_sdk::ops::attention(&q, &k, &v, scale, true)?
            } else {
                scaled_softmax(&q.matmul(&k.t()?)?, scale, true)?.matmul(&v)?
            };
            let z = z
                .transpose(1, 2)?
                .reshape((batch, n, self.heads * self.d_head))?;
            x = (x + self.drop(b.o.forward(&z)?)?)?;
            let m_in = match &b.ln2 {
                Some(norm) => norm.forward(&x)?,
                None => x.clone(),
            };
            let pre = b.w_in.forward(&m_in)?;
            let post = self.act.apply(&pre)?;
            x = (x + self.drop(b.w_out.forward(&post)?)?)?;
        }
        if let Some(norm) = &self.ln_final {
            x = norm.forward(&x)?;
        }
        self.unembed.forward(&x)
    }
}
