//! The linear map shared by the decoders: `x W (+ b)`, input-major weights, with an optional
//! LoRA adapter (Hu et al., 2021): `x W + (α / r) · x A B`, A `[in, r]` Kaiming-uniform and B
//! `[r, out]` zero, so that a fresh adapter leaves the output unchanged.

use assay_sdk::prelude::*;

/// Named variables, in a stable order.
pub(crate) type Named = Vec<(String, Var)>;

/// The `lora_targets` parameter, checked against the projections a model has.
pub(crate) fn lora_targets(p: &Params, known: &[&str]) -> Result<Vec<String>> {
    let targets = p.str_list("lora_targets")?;
    if targets.is_empty() {
        return Err(PluginError::param(
            "lora_targets",
            "name at least one projection",
        ));
    }
    if let Some(t) = targets.iter().find(|t| !known.contains(&t.as_str())) {
        return Err(PluginError::param(
            "lora_targets",
            format!("unknown projection `{t}`; known: {}", known.join(", ")),
        ));
    }
    Ok(targets)
}

/// Splits a model's weights and adapters into (trained, frozen): with adapters, only they train
/// and the weights become buffers.
pub(crate) fn trained_and_frozen((base, adapters): (Named, Named)) -> (Named, Named) {
    if adapters.is_empty() {
        (base, Vec::new())
    } else {
        (adapters, base)
    }
}

/// A low-rank adapter.
pub(crate) struct Lora {
    pub a: Var,
    pub b: Var,
    pub scale: f64,
}

pub(crate) struct Linear {
    pub w: Var,
    pub b: Option<Var>,
    pub lora: Option<Lora>,
}

impl Linear {
    /// Weights `~ N(0, std)`, bias zero.
    pub fn new(
        rng: &mut init::Rng,
        shape: (usize, usize),
        std: f32,
        bias: bool,
        dev: &Device,
    ) -> Result<Linear> {
        let w = Var::from_tensor(&init::normal(rng, &[shape.0, shape.1], 0.0, std, dev)?)?;
        let b = if bias {
            Some(Var::from_tensor(&Tensor::zeros(shape.1, DType::F32, dev)?)?)
        } else {
            None
        };
        Ok(Linear { w, b, lora: None })
    }

    /// From given tensors (`w` input-major `[in, out]`).
    pub fn from_tensors(w: Tensor, b: Option<Tensor>) -> Result<Linear> {
        Ok(Linear {
            w: Var::from_tensor(&w)?,
            b: b.map(|b| Var::from_tensor(&b)).transpose()?,
            lora: None,
        })
    }

    /// Adds a rank-`r` adapter scaled by `alpha / r`.
    pub fn add_lora(&mut self, rng: &mut init::Rng, r: usize, alpha: f64) -> Result<()> {
        let (d_in, d_out) = self.w.dims2()?;
        let dev = self.w.device().clone();
        let a = init::kaiming_uniform(rng, d_in, &[d_in, r], &dev)?;
        self.lora = Some(Lora {
            a: Var::from_tensor(&a)?,
            b: Var::from_tensor(&Tensor::zeros((r, d_out), DType::F32, &dev)?)?,
            scale: alpha / r as f64,
        });
        Ok(())
    }

    /// `x W (+ b)` over the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.product(x)?;
        Ok(match &self.b {
            Some(b) => crate::fused::add_bias(&y, b.as_tensor())?,
            None => y,
        })
    }

    /// `x W` (plus the adapter's term) over the last dimension, without the bias. The leading
    /// dimensions are folded into one matrix product: a broadcast batched matmul would make the
    /// backward pass materialise one copy of the weight gradient per example before summing them.
    fn product(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let d_in = dims[dims.len() - 1];
        let rows = x.elem_count() / d_in.max(1);
        let mut out_dims = dims.to_vec();
        if let Some(last) = out_dims.last_mut() {
            *last = self.w.dims()[1];
        }
        let flat = x.reshape((rows, d_in))?;
        let mut y = flat.matmul(self.w.as_tensor())?;
        if let Some(l) = &self.lora {
            let delta = flat.matmul(l.a.as_tensor())?.matmul(l.b.as_tensor())?;
            y = (y + (delta * l.scale)?)?;
        }
        Ok(y.reshape(out_dims)?)
    }

    /// `relu(x W + b)`: with a bias, the bias and the ReLU in one pass (the same bits as
    /// [`Linear::forward`] then the SDK's ReLU).
    pub fn forward_relu(&self, x: &Tensor) -> Result<Tensor> {
        match &self.b {
            Some(b) => crate::fused::add_bias_relu(&self.product(x)?, b.as_tensor()),
            None => Ok(assay_sdk::ops::relu(&self.product(x)?)?),
        }
    }

    /// `resid + (x W + b)`: with a bias, the bias and the residual addition in one pass (the same
    /// bits as adding [`Linear::forward`] to `resid`).
    pub fn forward_residual(&self, x: &Tensor, resid: &Tensor) -> Result<Tensor> {
        match &self.b {
            Some(b) => crate::fused::add_bias_residual(resid, &self.product(x)?, b.as_tensor()),
            None => Ok((resid + self.product(x)?)?),
        }
    }

    /// Appends `prefix.w_name` (and the bias) to `out`, and the adapter's `prefix.lora_A` and
    /// `prefix.lora_B` to `adapters`.
    pub fn push(
        &self,
        prefix: &str,
        w: &str,
        b: &str,
        out: &mut Vec<(String, Var)>,
        adapters: &mut Vec<(String, Var)>,
    ) {
        out.push((format!("{prefix}.{w}"), self.w.clone()));
        if let Some(bias) = &self.b {
            out.push((format!("{prefix}.{b}"), bias.clone()));
        }
        if let Some(l) = &self.lora {
            adapters.push((format!("{prefix}.{w}.lora_A"), l.a.clone()));
            adapters.push((format!("{prefix}.{w}.lora_B"), l.b.clone()));
        }
    }
}
