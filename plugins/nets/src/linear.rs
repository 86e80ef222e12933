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
        let y = rows_times(x, self.w.as_tensor())?;
        match &self.lora {
            Some(l) => {
                let delta = rows_times(&rows_times(x, l.a.as_tensor())?, l.b.as_tensor())?;
                Ok((y + (delta * l.scale)?)?)
            }
            None => Ok(y),
        }
    }

    /// `x [W₁ | W₂ | …] (+ [b₁ | b₂ | …])`: maps of the same input as one product, their outputs
    /// side by side over the last dimension (as a model that projects queries, keys and values
    /// together). The values are the maps' own to the bit (each output is the same chain of
    /// multiply-adds); the input's gradient is one product over all outputs instead of a sum of
    /// one per map, so it rounds differently. `None` when a map has an adapter or only some
    /// have a bias.
    pub fn side_by_side(maps: &[&Linear], x: &Tensor) -> Result<Option<Tensor>> {
        let with_bias = maps.iter().filter(|m| m.b.is_some()).count();
        let mixed = with_bias != 0 && with_bias != maps.len();
        if maps.is_empty() || mixed || maps.iter().any(|m| m.lora.is_some()) {
            return Ok(None);
        }
        let ws: Vec<&Tensor> = maps.iter().map(|m| m.w.as_tensor()).collect();
        let y = rows_times(x, &Tensor::cat(&ws, 1)?)?;
        let biases: Vec<&Tensor> = maps
            .iter()
            .filter_map(|m| m.b.as_ref())
            .map(|b| b.as_tensor())
            .collect();
        Ok(Some(if biases.is_empty() {
            y
        } else {
            crate::fused::add_bias(&y, &Tensor::cat(&biases, 0)?)?
        }))
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

/// `x w` over the last dimension of `x`, its leading dimensions folded into one matrix product.
fn rows_times(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims();
    let d_in = dims[dims.len() - 1];
    let rows = x.elem_count() / d_in.max(1);
    let mut out_dims = dims.to_vec();
    if let Some(last) = out_dims.last_mut() {
        *last = w.dims()[1];
    }
    Ok(x.reshape((rows, d_in))?.matmul(w)?.reshape(out_dims)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(t: &Tensor) -> Vec<u32> {
        let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Side by side, three maps give their own values and their weights' and biases' gradients
    /// to the bit; the input's gradient, one product instead of a sum of three, agrees closely.
    /// Small maps, and the decoder benchmark's (2,048 rows of 128 features: the weight gradients'
    /// products run over several of gemm's depth blocks, split over the pool).
    #[test]
    fn maps_side_by_side_equal_the_maps_apart() {
        for (rows, d_in, d_out) in [(100, 24, 20), (2048, 128, 128)] {
            side_by_side_case(rows, d_in, d_out);
        }
    }

    fn side_by_side_case(rows: usize, d_in: usize, d_out: usize) {
        let dev = Device::Cpu;
        let mut rng = init::rng(3, "side-by-side");
        let maps: Vec<Linear> = (0..3)
            .map(|_| {
                let mut l = Linear::new(&mut rng, (d_in, d_out), 0.3, true, &dev).unwrap();
                let b = init::normal(&mut rng, &[d_out], 0.0, 1.0, &dev).unwrap();
                l.b = Some(Var::from_tensor(&b).unwrap());
                l
            })
            .collect();
        let x = init::normal(&mut rng, &[2, rows / 2, d_in], 0.0, 1.0, &dev).unwrap();
        let x = Var::from_tensor(&x).unwrap();
        let w = init::normal(&mut rng, &[2, rows / 2, 3 * d_out], 0.0, 1.0, &dev).unwrap();
        let refs: Vec<&Linear> = maps.iter().collect();
        let joined = Linear::side_by_side(&refs, x.as_tensor()).unwrap().unwrap();
        let apart: Vec<Tensor> = maps
            .iter()
            .map(|m| m.forward(x.as_tensor()).unwrap())
            .collect();
        let apart = Tensor::cat(&apart, 2).unwrap();
        assert_eq!(bits(&joined), bits(&apart), "{rows} x {d_in}");
        let loss = |y: Tensor| (y * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let (g1, g2) = (loss(joined), loss(apart));
        for m in &maps {
            for v in [&m.w, m.b.as_ref().unwrap()] {
                let (a, b) = (g1.get(v).unwrap(), g2.get(v).unwrap());
                assert_eq!(bits(a), bits(b), "{rows} x {d_in}");
            }
        }
        let (a, b) = (g1.get(&x).unwrap(), g2.get(&x).unwrap());
        let diff = (a - b).unwrap().abs().unwrap().max_keepdim(2).unwrap();
        let scale = b.abs().unwrap().max_keepdim(2).unwrap();
        let rel = (diff / scale).unwrap().flatten_all().unwrap();
        let rel = rel.max(0).unwrap().to_scalar::<f32>().unwrap();
        assert!(rel < 1e-5, "{rows} x {d_in}: {rel}");
    }

    #[test]
    fn an_adapter_or_a_missing_bias_keeps_the_maps_apart() {
        let dev = Device::Cpu;
        let mut rng = init::rng(4, "side-by-side");
        let x = Tensor::zeros((3, 8), DType::F32, &dev).unwrap();
        let with = Linear::new(&mut rng, (8, 4), 0.3, true, &dev).unwrap();
        let without = Linear::new(&mut rng, (8, 4), 0.3, false, &dev).unwrap();
        assert!(Linear::side_by_side(&[&with, &without], &x)
            .unwrap()
            .is_none());
        let mut adapted = Linear::new(&mut rng, (8, 4), 0.3, true, &dev).unwrap();
        adapted.add_lora(&mut rng, 2, 4.0).unwrap();
        assert!(Linear::side_by_side(&[&with, &adapted], &x)
            .unwrap()
            .is_none());
        let both = Linear::side_by_side(&[&without, &without], &x).unwrap();
        assert_eq!(both.unwrap().dims(), &[3, 8]);
    }
}
