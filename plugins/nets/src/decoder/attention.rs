//! The decoder's causal self-attention: projections (from the block's input or, for a first
//! block without a norm, from the projected vocabulary table), rotary positions, grouped
//! key/value heads, the key/value cache, and the hook points between them.

use assay_sdk::ops::{CAUSAL_ATTENTION_EXACT_KEYS, FUSED_ATTENTION_MAX_KEYS};
use assay_sdk::prelude::*;
use assay_sdk::KvCache;

use super::{Block, Decoder, Positions};
use crate::linear::Linear;
use crate::softmax::{masked_scores, scaled_softmax};

/// Which positions a pass computes: from `p0` (the cache's position before the pass), and
/// whether only the last position's query is needed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub p0: usize,
    pub last_only: bool,
}

/// Where a block's queries, keys and values are projected from.
pub(super) enum Source<'a> {
    /// The block's (normalised) input, `[batch, pos, d]`.
    Resid(&'a Tensor),
    /// The token ids `[batch, pos]` of a first block that reads the embeddings unnormalised.
    Tokens(&'a Tensor),
}

impl Decoder {
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
                let ids = ids.narrow(1, from, n)?.contiguous()?;
                let bias = lin.b.as_ref().map(|b| b.as_tensor());
                if let Positions::Learned(pos) = &self.positions {
                    let p = pos
                        .as_tensor()
                        .narrow(0, from, n)?
                        .matmul(lin.w.as_tensor())?;
                    return crate::fused::token_rows(&table, &p, bias, &ids);
                }
                let y = table
                    .embedding(&ids.flatten_all()?)?
                    .reshape((batch, n, ()))?;
                Ok(match bias {
                    Some(b) => crate::fused::add_bias(&y, b)?,
                    None => y,
                })
            }
        }
    }

    /// Rotates `x` (`[batch, heads, t, d_head]`) for positions `p0..p0 + t` (rotary positions
    /// only; otherwise `x` as it is).
    fn rotate(&self, x: Tensor, p0: usize) -> Result<Tensor> {
        let Positions::Rotary { cos, sin } = &self.positions else {
            return Ok(x);
        };
        let t = x.dim(2)?;
        if p0 + t > cos.dim(0)? {
            return Err(PluginError::invalid(format!(
                "position {} is beyond the model's {} positions",
                p0 + t,
                cos.dim(0)?
            )));
        }
        let cos = cos.narrow(0, p0, t)?;
        let sin = sin.narrow(0, p0, t)?;
        let half = self.d_head / 2;
        let x1 = x.narrow(D::Minus1, 0, half)?;
        let x2 = x.narrow(D::Minus1, half, half)?;
        let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
        Ok((x.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?)?)
    }

    /// Repeats each key/value head for the query heads that share it.
    fn expand_kv(&self, x: Tensor) -> Result<Tensor> {
        let rep = self.heads / self.kv_heads;
        if rep == 1 {
            return Ok(x);
        }
        let (b, kv, t, d) = x.dims4()?;
        Ok(x.unsqueeze(2)?
            .broadcast_as((b, kv, rep, t, d))?
            .contiguous()?
            .reshape((b, kv * rep, t, d))?)
    }

    /// Causal self-attention of block `i` over `src` at the positions of `window`, continuing
    /// `cache` when given (`window.p0` is its position before this pass: block 0 moves it). With
    /// `window.last_only`, only the last position's query is computed (it attends to every position,
    /// so no mask is needed). The result is the heads' outputs side by side, `[batch, queries,
    /// heads · d_head]`, before the output projection (the caller applies it with the residual
    /// addition).
    pub(super) fn attention(
        &self,
        i: usize,
        b: &Block,
        src: &Source<'_>,
        window: Window,
        cache: Option<&mut KvCache>,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        let Window { p0, last_only } = window;
        let (batch, t) = match src {
            Source::Resid(x) => (x.dim(0)?, x.dim(1)?),
            Source::Tokens(ids) => ids.dims2()?,
        };
        let from = if last_only { t - 1 } else { 0 };
        let tq = t - from;
        let scale = 1.0 / (self.d_head as f64).sqrt();
        let by_position = |y: Tensor, heads: usize| -> Result<Tensor> {
            let n = y.dim(1)?;
            Ok(y.reshape((batch, n, heads, self.d_head))?)
        };
        let plain =
            !matches!(self.positions, Positions::Rotary { .. }) && self.kv_heads == self.heads;
        if self.fused_attention
            && plain
            && cache.is_none()
            && !hooks.is_active()
            && t <= FUSED_ATTENTION_MAX_KEYS
        {
            // Short sequences: the fused attention (one pass each way) on the projections as
            // they come, instead of batch · heads tiny matrix products on transposed copies.
            let z = assay_sdk::ops::attention_by_position(
                &by_position(self.project(&b.q, src, from)?, self.heads)?,
                &by_position(self.project(&b.k, src, 0)?, self.heads)?,
                &by_position(self.project(&b.v, src, 0)?, self.heads)?,
                scale,
                true,
            )?;
            return Ok(z.reshape((batch, tq, self.heads * self.d_head))?);
        }
        if plain
            && cache.is_none()
            && !hooks.is_active()
            && !last_only
            && t > FUSED_ATTENTION_MAX_KEYS
            && t <= CAUSAL_ATTENTION_EXACT_KEYS
        {
            // Longer sequences: blocked causal attention on the projections as they come, which
            // skips the masked products and the transposes. It gives the composed path's values
            // (below) to the bit, so it needs no `fused_attention`. With `fused_qkv`, from the
            // block's input, the three projections are one product whose output the attention
            // reads in place: the same values, but the input's gradient is then one product too
            // instead of three and their sum, which rounds differently.
            if let (true, Source::Resid(x)) = (self.fused_qkv, src) {
                if let Some(qkv) = Linear::side_by_side(&[&b.q, &b.k, &b.v], x)? {
                    let z = assay_sdk::ops::causal_attention_packed(&qkv, self.heads, scale)?;
                    return Ok(z);
                }
            }
            let z = assay_sdk::ops::causal_attention_by_position(
                &by_position(self.project(&b.q, src, 0)?, self.heads)?,
                &by_position(self.project(&b.k, src, 0)?, self.heads)?,
                &by_position(self.project(&b.v, src, 0)?, self.heads)?,
                scale,
            )?;
            return Ok(z.reshape((batch, t, self.heads * self.d_head))?);
        }
        let split = |y: Tensor, heads: usize| -> Result<Tensor> {
            Ok(by_position(y, heads)?.transpose(1, 2)?.contiguous()?)
        };
        let q = self.rotate(
            split(self.project(&b.q, src, from)?, self.heads)?,
            p0 + from,
        )?;
        let q = hooks.point(&b.names.q, q)?;
        let k = self.rotate(split(self.project(&b.k, src, 0)?, self.kv_heads)?, p0)?;
        let k = hooks.point(&b.names.k, k)?;
        let v = hooks.point(
            &b.names.v,
            split(self.project(&b.v, src, 0)?, self.kv_heads)?,
        )?;
        let cached = cache.is_some();
        let (k, v) = match cache {
            Some(c) => c.append(i, k, v)?,
            None => (k, v),
        };
        let (k, v) = (self.expand_kv(k)?, self.expand_kv(v)?);
        let z = if hooks.is_active() {
            let scores = masked_scores(&q.matmul(&k.t()?)?, scale)?;
            let scores = hooks.point(&b.names.scores, scores)?;
            // candle's fused softmax_last_dim has no backward; this one is built from basic ops.
            let pattern = hooks.point(
                &b.names.pattern,
                assay_sdk::nn::ops::softmax(&scores, D::Minus1)?,
            )?;
            pattern.matmul(&v)?
        } else if self.fused_attention
            && cached
            && (tq == 1 || k.dim(2)? <= FUSED_ATTENTION_MAX_KEYS)
        {
            // One new token, or a short sequence: the fused attention.
            assay_sdk::ops::attention(&q, &k, &v, scale, true)?
        } else {
            // The last query (last_only) sees every key: the causal rule gives that too.
            scaled_softmax(&q.matmul(&k.t()?)?, scale, true)?.matmul(&v)?
        };
        let z = hooks.point(&b.names.z, z)?;
        let z = z
            .transpose(1, 2)?
            .reshape((batch, tq, self.heads * self.d_head))?;
        Ok(z)
    }
}
