//! The transformer's building blocks, shared with `llama` and `hf`: normalisation, hook and
//! parameter names, blocks, activations.

use assay_sdk::prelude::*;

use crate::linear::{per_row, Linear};

pub(crate) struct Norm {
    pub w: Var,
    pub b: Var,
}

impl Norm {
    pub fn new(d: usize, dev: &Device) -> Result<Norm> {
        Ok(Norm {
            w: Var::from_tensor(&Tensor::ones(d, DType::F32, dev)?)?,
            b: Var::from_tensor(&Tensor::zeros(d, DType::F32, dev)?)?,
        })
    }

    /// LayerNorm over the last dimension, from basic ops (candle's fused kernel has no backward).
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + 1e-5)?.sqrt()?)?;
        let scaled = normed.mul(&per_row(self.w.as_tensor(), &normed)?)?;
        Ok((&scaled + per_row(self.b.as_tensor(), &scaled)?)?)
    }
}

pub(crate) struct Names {
    pub resid_pre: String,
    pub q: String,
    pub k: String,
    pub v: String,
    pub scores: String,
    pub pattern: String,
    pub z: String,
    pub attn_out: String,
    pub resid_mid: String,
    pub mlp_pre: String,
    pub mlp_post: String,
    pub mlp_out: String,
    pub resid_post: String,
}

impl Names {
    pub fn new(i: usize) -> Names {
        let b = |s: &str| hook_names::block(i, s);
        Names {
            resid_pre: b("hook_resid_pre"),
            q: b("attn.hook_q"),
            k: b("attn.hook_k"),
            v: b("attn.hook_v"),
            scores: b("attn.hook_attn_scores"),
            pattern: b("attn.hook_pattern"),
            z: b("attn.hook_z"),
            attn_out: b("hook_attn_out"),
            resid_mid: b("hook_resid_mid"),
            mlp_pre: b("mlp.hook_pre"),
            mlp_post: b("mlp.hook_post"),
            mlp_out: b("hook_mlp_out"),
            resid_post: b("hook_resid_post"),
        }
    }

    pub fn all(&self) -> Vec<String> {
        [
            &self.resid_pre,
            &self.q,
            &self.k,
            &self.v,
            &self.scores,
            &self.pattern,
            &self.z,
            &self.attn_out,
            &self.resid_mid,
            &self.mlp_pre,
            &self.mlp_post,
            &self.mlp_out,
            &self.resid_post,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

pub(crate) struct Block {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub w_in: Linear,
    pub w_out: Linear,
    pub ln1: Option<Norm>,
    pub ln2: Option<Norm>,
    pub names: Names,
}

/// `table` (`[n, d]`, one row per position) repeated for each of `batch` examples, as
/// `[batch, n, d]`. A gather rather than a broadcast: the backward pass of a broadcast over the
/// batch sums along the leading axis, which candle does with a slow strided loop.
pub(crate) fn rows_per_example(table: &Tensor, batch: usize) -> Result<Tensor> {
    let (n, d) = table.dims2()?;
    let ids: Vec<u32> = (0..batch).flat_map(|_| 0..n as u32).collect();
    let ids = Tensor::from_vec(ids, batch * n, table.device())?;
    Ok(table.embedding(&ids)?.reshape((batch, n, d))?)
}

/// The MLP's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub(crate) enum Act {
    Relu,
    /// Exact GELU (erf).
    Gelu,
    /// GELU's tanh approximation (GPT-2's `gelu_new`).
    GeluTanh,
}

impl Act {
    pub(crate) fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Act::Relu => assay_sdk::ops::relu(x)?,
            Act::Gelu => x.gelu_erf()?,
            Act::GeluTanh => x.gelu()?,
        })
    }
}
