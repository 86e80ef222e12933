//! LayerNorm's normalisation and scale, `(x − mean) / sqrt(var + eps) · w`, in one pass each
//! way (the bias is [`add_bias`](super::add_bias) after it).
//!
//! The composition it replaces (`Norm::forward`: a mean, a broadcast subtraction, a square, a
//! second mean, an epsilon, a square root, a broadcast division and a product with the weights
//! repeated per row) was eight passes over the activation forward and about fifteen backward,
//! each allocating: a LayerNorm decoder's largest cost after the matrix products. This computes
//! every node of that graph, forward and backward, with the same operations in the same order
//! (row sums by candle's own summation kernel), so values and gradients keep their bits.
//!
//! One subtlety is the order in which `x`'s gradient is summed. In the composition `x` receives
//! two gradients, from the subtraction and then from the mean, each added to what `x` already
//! has (the residual stream's gradient, which arrives first). The operation therefore takes `x`
//! twice and returns the two gradients separately, one per argument, and candle adds them in
//! that order.

use std::sync::Mutex;

use assay_sdk::candle::cpu::kernels::VecOps;
use assay_sdk::candle::{CpuStorage, CustomOp3, Layout, Shape, Storage};
use assay_sdk::prelude::*;
use assay_sdk::rayon::prelude::*;

use super::{
    bias_grad, chunk_rows, contiguous, filled, fusable, CandleResult, Slot, PARALLEL_FROM,
};
use crate::rows::per_row;

/// `(x − mean(x)) / sqrt(var(x) + eps) · w (+ b)` over the last axis of `x`: LayerNorm, its
/// bias (when given) added in the same pass with [`add_bias`](super::add_bias)'s bits.
pub(crate) fn layer_norm(x: &Tensor, w: &Tensor, b: Option<&Tensor>, eps: f64) -> Result<Tensor> {
    let d = w.elem_count();
    if x.dims().last() != Some(&d) || b.is_some_and(|b| b.elem_count() != d) {
        return Err(PluginError::invalid(format!(
            "layer norm: {d} weights{} for rows of shape {:?}",
            b.map(|b| format!(" and {} biases", b.elem_count()))
                .unwrap_or_default(),
            x.dims()
        )));
    }
    if !fusable(&[x, w]) || b.is_some_and(|b| !fusable(&[b])) || d == 0 {
        let scaled = composed(x, w, eps)?;
        return match b {
            Some(b) => super::add_bias(&scaled, b),
            None => Ok(scaled),
        };
    }
    let x = x.contiguous()?;
    let op = LayerNormScale {
        eps,
        d,
        bias: b.is_some(),
        rows: Mutex::new(None),
    };
    // The weights, and the bias after them: one argument (a custom operation takes three, and
    // `x` is two of them).
    let params = match b {
        Some(b) => Tensor::cat(&[w.flatten_all()?, b.flatten_all()?], 0)?,
        None => w.flatten_all()?,
    };
    Ok(x.apply_op3(&x, &params, op)?)
}

/// The composition (the reference the fused operation is tested against, and the path on other
/// devices).
pub(crate) fn composed(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    let normed = centred.broadcast_div(&(var + eps)?.sqrt()?)?;
    Ok(normed.mul(&per_row(w, &normed)?)?)
}

struct LayerNormScale {
    eps: f64,
    d: usize,
    /// Whether the third argument holds the bias after the weights.
    bias: bool,
    /// Each row's (mean, sqrt(var + eps)), kept from the forward pass.
    rows: Mutex<Option<Vec<(f32, f32)>>>,
}

/// candle's sum of a row (its reduction kernel, so that the sum rounds as candle's does).
fn row_sum(xs: &[f32]) -> f32 {
    let mut s = 0f32;
    // SAFETY: `xs` is a valid slice of `xs.len()` values and `s` a valid destination.
    unsafe { <f32 as VecOps>::vec_reduce_sum(xs.as_ptr(), &mut s, xs.len()) };
    s
}

impl LayerNormScale {
    /// `1 / d` and `eps` as candle's `affine` applies them to `f32` values.
    fn constants(&self) -> (f32, f32) {
        ((1f64 / self.d as f64) as f32, self.eps as f32)
    }

    /// One row's (mean, sqrt(var + eps)), with `sq` as scratch: the composition's nodes.
    fn stats(&self, x: &[f32], sq: &mut [f32]) -> (f32, f32) {
        let (inv_d, eps) = self.constants();
        let mean = row_sum(x) * inv_d + 0.0;
        for (s, &v) in sq.iter_mut().zip(x) {
            let c = v - mean;
            *s = c * c;
        }
        let var = row_sum(sq) * inv_d + 0.0;
        (mean, (var * 1.0 + eps).sqrt())
    }

    fn all_stats(&self, x: &[f32]) -> Vec<(f32, f32)> {
        let d = self.d;
        let per = (chunk_rows(d) / d).max(1);
        let run = |rows: &[f32]| {
            let mut sq = vec![0f32; d];
            rows.chunks(d)
                .map(|r| self.stats(r, &mut sq))
                .collect::<Vec<_>>()
        };
        if x.len() >= PARALLEL_FROM {
            x.par_chunks(per * d).flat_map_iter(run).collect()
        } else {
            run(x)
        }
    }
}

impl CustomOp3 for LayerNormScale {
    fn name(&self) -> &'static str {
        "layer-norm-scale"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        _l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let x = contiguous(s1, l1, self.name())?;
        let params = contiguous(s3, l3, self.name())?;
        let d = self.d;
        let (w, b) = params.split_at(d);
        let stats = self.all_stats(x);
        let out = filled(x.len(), chunk_rows(d), |start, out| {
            let rows = out.chunks_mut(d).zip(x[start..].chunks(d));
            for (i, (o, x)) in rows.enumerate() {
                let (mean, den) = stats[start / d + i];
                if self.bias {
                    for (((o, &v), &w), &b) in o.iter_mut().zip(x).zip(w).zip(b) {
                        o.write((v - mean) / den * w + b);
                    }
                } else {
                    for ((o, &v), &w) in o.iter_mut().zip(x).zip(w) {
                        o.write((v - mean) / den * w);
                    }
                }
            }
        });
        *self.rows.lock().map_err(|_| poisoned())? = Some(stats);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _again: &Tensor,
        params: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = self.d;
        let (inv_d, _) = self.constants();
        let g = grad.contiguous()?;
        let (xs, ws, gs) = (
            x.storage_and_layout(),
            params.storage_and_layout(),
            g.storage_and_layout(),
        );
        let (xv, wv, gv) = (
            cpu(&xs.0, xs.1, self.name())?,
            cpu(&ws.0, ws.1, self.name())?,
            cpu(&gs.0, gs.1, self.name())?,
        );
        let wv = &wv[..d];
        let kept = self.rows.lock().map_err(|_| poisoned())?.take();
        let stats = match kept {
            Some(s) => s,
            None => self.all_stats(xv),
        };
        let n = xv.len() / d;
        // Per row: the gradient through the subtraction (the centred values' gradient), the
        // weights' per-element gradient `g · normed`, and the mean's gradient.
        // Written row by row without zero-filling them first (a serial pass as large as `x`).
        let mut centred_grad: Vec<f32> = Vec::with_capacity(xv.len());
        let mut scaled_grad: Vec<f32> = Vec::with_capacity(xv.len());
        let mut mean_grad = vec![0f32; n];
        let row = |i: usize, gc: &mut [Slot], gw: &mut [Slot], gm: &mut f32, tmp: &mut [f32]| {
            let (x, g) = (&xv[i * d..(i + 1) * d], &gv[i * d..(i + 1) * d]);
            let (mean, den) = stats[i];
            // The division's gradients: `g_n / den` to the centred values (kept in `gc`) and
            // `0 − g_n · c / den²` to the broadcast denominator (in `tmp`).
            for j in 0..d {
                let c = x[j] - mean;
                gw[j].write(g[j] * (c / den));
                let gn = g[j] * wv[j];
                gc[j].write(gn / den);
                tmp[j] = 0.0 - gn * c / (den * den);
            }
            // SAFETY: every element of the row was written just above.
            let gc = unsafe { &mut *(gc as *mut [Slot] as *mut [f32]) };
            // Through the broadcast, the square root and the two affine maps to the variance's
            // sum, then back through its broadcast and the square.
            let g_den = 0.0 + row_sum(tmp);
            let g_var = ((g_den / den) * 0.5 + 0.0) * 1.0 + 0.0;
            let g_sum = g_var * inv_d + 0.0;
            for j in 0..d {
                let c = x[j] - mean;
                gc[j] += (c * g_sum) * 2.0 + 0.0;
                tmp[j] = 0.0 - gc[j];
            }
            // The subtraction's other side: the mean, its broadcast and its affine map.
            *gm = (0.0 + row_sum(tmp)) * inv_d + 0.0;
        };
        let per = (chunk_rows(d) / d).max(1);
        let chunk = |k: usize, (gc, (gw, gm)): (&mut [Slot], (&mut [Slot], &mut [f32]))| {
            let mut tmp = vec![0f32; d];
            for (r, ((gc, gw), gm)) in gc
                .chunks_mut(d)
                .zip(gw.chunks_mut(d))
                .zip(gm.iter_mut())
                .enumerate()
            {
                row(k * per + r, gc, gw, gm, &mut tmp);
            }
        };
        let len = xv.len();
        let (gc, gw) = (
            &mut centred_grad.spare_capacity_mut()[..len],
            &mut scaled_grad.spare_capacity_mut()[..len],
        );
        if len >= PARALLEL_FROM {
            gc.par_chunks_mut(per * d)
                .zip(
                    gw.par_chunks_mut(per * d)
                        .zip(mean_grad.par_chunks_mut(per)),
                )
                .enumerate()
                .for_each(|(k, parts)| chunk(k, parts));
        } else {
            chunk(0, (gc, (gw, &mut mean_grad)));
        }
        // SAFETY: the rows cover `0..len` and each wrote every element of both gradients.
        unsafe {
            centred_grad.set_len(len);
            scaled_grad.set_len(len);
        }
        let dev = x.device();
        let mut row_shape = x.dims().to_vec();
        if let Some(last) = row_shape.last_mut() {
            *last = 1;
        }
        let scaled_grad = Tensor::from_vec(scaled_grad, x.shape(), dev)?;
        // The weights' `onesᵀ · (g ⊙ normed)`, and the bias's `onesᵀ · g` as `add_bias` has it:
        // each sum runs on one thread (`column_sums`), so the two run side by side.
        let (weights_grad, bias_grad) = assay_sdk::rayon::join(
            || bias_grad(&scaled_grad, d),
            || self.bias.then(|| bias_grad(grad, d)).transpose(),
        );
        let params_grad = match bias_grad? {
            Some(b) => Tensor::cat(&[weights_grad?, b], 0)?,
            None => weights_grad?,
        };
        Ok((
            Some(Tensor::from_vec(centred_grad, x.shape(), dev)?),
            Some(Tensor::from_vec(mean_grad, row_shape, dev)?.broadcast_as(x.shape())?),
            Some(params_grad),
        ))
    }
}

/// The values of a contiguous CPU tensor's storage (a backward pass gets whole tensors).
fn cpu<'a>(s: &'a Storage, l: &Layout, what: &str) -> CandleResult<&'a [f32]> {
    match s {
        Storage::Cpu(c) => contiguous(c, l, what),
        _ => Err(assay_sdk::candle::Error::Msg(format!(
            "{what}: CPU tensors only"
        ))),
    }
}

fn poisoned() -> assay_sdk::candle::Error {
    assay_sdk::candle::Error::Msg(
        "layer norm: a thread panicked while holding its row statistics".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::bits;
    use super::*;
    use assay_sdk::candle::{Device, Var};

    #[test]
    fn value_and_gradients_are_the_compositions_bit_for_bit() {
        let dev = Device::Cpu;
        let mut rng = init::rng(11, "layer-norm");
        // Below and above the parallel threshold, rows not a multiple of the vector length.
        for (b, t, d) in [(2usize, 3usize, 5usize), (4, 300, 128), (3, 7, 37)] {
            let x = Var::from_tensor(&init::normal(&mut rng, &[b, t, d], 0.5, 2.0, &dev).unwrap())
                .unwrap();
            let w =
                Var::from_tensor(&init::normal(&mut rng, &[d], 1.0, 0.3, &dev).unwrap()).unwrap();
            let up = init::normal(&mut rng, &[b, t, d], 0.0, 1.0, &dev).unwrap();
            let down = init::normal(&mut rng, &[b, t, d], 0.0, 1.0, &dev).unwrap();
            // As in a block: the residual stream goes on past the norm and both reach the loss.
            let loss = |normed: Tensor| {
                (normed.mul(&up).unwrap() + x.as_tensor().mul(&down).unwrap())
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            let bias =
                Var::from_tensor(&init::normal(&mut rng, &[d], 0.0, 0.3, &dev).unwrap()).unwrap();
            // Without and with the bias (against the composition and then `add_bias`).
            for with_bias in [false, true] {
                let bt = with_bias.then(|| bias.as_tensor());
                let fused = layer_norm(x.as_tensor(), w.as_tensor(), bt, 1e-5).unwrap();
                let mut plain = composed(x.as_tensor(), w.as_tensor(), 1e-5).unwrap();
                if let Some(bt) = bt {
                    plain = super::super::add_bias(&plain, bt).unwrap();
                }
                assert_eq!(bits(&fused), bits(&plain), "{b} {t} {d} {with_bias}");
                let gf = loss(fused).backward().unwrap();
                let gp = loss(plain).backward().unwrap();
                let vars: &[&Var] = if with_bias {
                    &[&x, &w, &bias]
                } else {
                    &[&x, &w]
                };
                for v in vars {
                    assert_eq!(
                        bits(gf.get(v).unwrap()),
                        bits(gp.get(v).unwrap()),
                        "{b} {t} {d} {with_bias}"
                    );
                }
            }
        }
    }

    #[test]
    fn weights_of_the_wrong_length_are_an_error() {
        let x = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let w = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let err = layer_norm(&x, &w, None, 1e-5).unwrap_err().to_string();
        assert!(err.contains("4 weights"), "{err}");
    }
}
