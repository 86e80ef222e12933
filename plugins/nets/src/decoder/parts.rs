//! The decoder's building blocks: normalisation, hook names, blocks, activations.

use assay_sdk::prelude::*;

use crate::linear::Linear;
use crate::rows::per_row;

/// LayerNorm (with a bias) or RMSNorm (without), over the last dimension.
pub(crate) struct Norm {
    pub w: Var,
    /// LayerNorm's shift; `None` for RMSNorm.
    pub b: Option<Var>,
    pub eps: f64,
}

impl Norm {
    /// A fresh LayerNorm (weights 1, bias 0, epsilon 1e-5).
    pub fn layer(d: usize, dev: &Device) -> Result<Norm> {
        Ok(Norm {
            w: Var::from_tensor(&Tensor::ones(d, DType::F32, dev)?)?,
            b: Some(Var::from_tensor(&Tensor::zeros(d, DType::F32, dev)?)?),
            eps: 1e-5,
        })
    }

    /// A fresh RMSNorm (weights 1).
    pub fn rms(d: usize, eps: f64, dev: &Device) -> Result<Norm> {
        Ok(Norm {
            w: Var::from_tensor(&Tensor::ones(d, DType::F32, dev)?)?,
            b: None,
            eps,
        })
    }

    /// From given weights (`b` `Some` for LayerNorm).
    pub fn from_tensors(w: Tensor, b: Option<Tensor>, eps: f64) -> Result<Norm> {
        Ok(Norm {
            w: Var::from_tensor(&w)?,
            b: b.map(|b| Var::from_tensor(&b)).transpose()?,
            eps,
        })
    }

    /// The norm: LayerNorm as one fused operation with its own backward (the same bits as the
    /// basic ops it replaces), RMSNorm from basic ops (candle's fused kernels have no backward).
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.b {
            Some(b) => {
                crate::fused::layer_norm(x, self.w.as_tensor(), Some(b.as_tensor()), self.eps)
            }
            None => {
                let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
                let normed = x.broadcast_div(&(ms + self.eps)?.sqrt()?)?;
                Ok(normed.mul(&per_row(self.w.as_tensor(), &normed)?)?)
            }
        }
    }

    /// Appends `prefix.w` (and `prefix.b`).
    pub(crate) fn push(&self, prefix: &str, out: &mut Vec<(String, Var)>) {
        out.push((format!("{prefix}.w"), self.w.clone()));
        if let Some(b) = &self.b {
            out.push((format!("{prefix}.b"), b.clone()));
        }
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

/// One decoder block: attention and an MLP, each behind an optional norm. A gated MLP
/// (SwiGLU) computes `W_out(act(W_gate x) · W_in x)`; a plain one `W_out(act(W_in x))`.
pub(crate) struct Block {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub gate: Option<Linear>,
    pub w_in: Linear,
    pub w_out: Linear,
    pub ln1: Option<Norm>,
    pub ln2: Option<Norm>,
    pub names: Names,
}

impl Block {
    /// The linear map named by a LoRA target (`W_Q`, `W_K`, `W_V`, `W_O`, `W_gate`, `W_in`,
    /// `W_out`).
    pub(crate) fn linear_mut(&mut self, target: &str) -> Option<&mut Linear> {
        Some(match target {
            "W_Q" => &mut self.q,
            "W_K" => &mut self.k,
            "W_V" => &mut self.v,
            "W_O" => &mut self.o,
            "W_gate" => self.gate.as_mut()?,
            "W_in" => &mut self.w_in,
            "W_out" => &mut self.w_out,
            _ => return None,
        })
    }
}

/// The MLP's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub(crate) enum Act {
    Relu,
    /// Exact GELU (erf).
    Gelu,
    /// GELU's tanh approximation (GPT-2's `gelu_new`).
    GeluTanh,
    /// SiLU (`x · sigmoid(x)`), the gate of SwiGLU.
    Silu,
}

impl Act {
    pub(crate) fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Act::Relu => assay_sdk::ops::relu(x)?,
            Act::Gelu => x.gelu_erf()?,
            Act::GeluTanh => x.gelu()?,
            Act::Silu => assay_sdk::nn::ops::silu(x)?,
        })
    }
}
