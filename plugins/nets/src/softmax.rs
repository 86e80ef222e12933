//! Attention's `softmax(scale · scores + causal mask)` as one fused CPU operation with its own
//! backward pass. Written from basic tensor operations it took seven passes over the largest
//! tensor of a decoder (`[batch, heads, queries, keys]`) forward and a dozen backward, each
//! allocating its result; this takes one pass each way. Rows are the last axis; query `i` of `t`
//! (over `s` keys, the first `s − t` of which are cached) sees keys `0..=s − t + i` when causal.
//! Other devices use the composed operations.

use assay_sdk::candle::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape};
use assay_sdk::prelude::*;

use crate::fused::{chunk_rows, contiguous, filled, CandleResult, Slot};

/// `softmax(scale · x)` over the last axis, with the causal mask when `causal`.
pub(crate) struct ScaledSoftmax {
    pub scale: f32,
    pub causal: bool,
}

fn visible(causal: bool, row: usize, t: usize, s: usize) -> usize {
    if causal {
        s - t + (row % t) + 1
    } else {
        s
    }
}

impl CustomOp1 for ScaledSoftmax {
    fn name(&self) -> &'static str {
        "scaled-causal-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let x = contiguous(storage, layout, self.name())?;
        let dims = layout.shape().dims();
        let s = dims[dims.len() - 1];
        let t = if dims.len() >= 2 {
            dims[dims.len() - 2]
        } else {
            1
        };
        let row = |r: usize, o: &mut [Slot], row: &[f32]| {
            let n = visible(self.causal, r, t, s);
            let m = row[..n].iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v)) * self.scale;
            for (oi, &v) in o[..n].iter_mut().zip(&row[..n]) {
                oi.write(v * self.scale - m);
            }
            o[n..].iter_mut().for_each(|oi| {
                oi.write(0.0);
            });
            // SAFETY: the first `n` elements were written just above.
            let o = unsafe { std::slice::from_raw_parts_mut(o.as_mut_ptr().cast::<f32>(), n) };
            // `f32::exp` of each, bit for bit, several at a time.
            assay_sdk::ops::exp_in_place(o);
            let mut sum = 0f32;
            for &e in o.iter() {
                sum += e;
            }
            let inv = 1.0 / sum;
            o.iter_mut().for_each(|v| *v *= inv);
        };
        // Each chunk is whole rows; small tensors (one generated token) stay on this thread.
        let out = filled(x.len(), chunk_rows(s), |start, out| {
            for (k, (o, xr)) in out.chunks_mut(s).zip(x[start..].chunks(s)).enumerate() {
                row(start / s + k, o, xr);
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> CandleResult<Option<Tensor>> {
        let grad = grad.contiguous()?;
        Ok(Some(res.apply_op2_no_bwd(
            &grad,
            &SoftmaxGrad { scale: self.scale },
        )?))
    }
}

/// `scale · y ⊙ (g − Σ g ⊙ y)` per row: the gradient of [`ScaledSoftmax`] from its output `y`.
struct SoftmaxGrad {
    scale: f32,
}

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "scaled-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let y = contiguous(s1, l1, self.name())?;
        let g = contiguous(s2, l2, self.name())?;
        let dims = l1.shape().dims();
        let s = dims[dims.len() - 1];
        let out = filled(y.len(), chunk_rows(s), |start, out| {
            let rows = out
                .chunks_mut(s)
                .zip(y[start..].chunks(s).zip(g[start..].chunks(s)));
            for (o, (yr, gr)) in rows {
                let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
                for ((oi, &yi), &gi) in o.iter_mut().zip(yr).zip(gr) {
                    oi.write(self.scale * yi * (gi - dot));
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `scale · scores` with the causal mask added (`-inf` where a query may not look): what
/// `hook_attn_scores` shows, and the composed path's input to softmax.
pub(crate) fn masked_scores(scores: &Tensor, scale: f64) -> Result<Tensor> {
    let dims = scores.dims();
    let (t, s) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let x = (scores * scale)?;
    let mask: Vec<f32> = (0..t * s)
        .map(|i| {
            if i % s >= visible(true, i / s, t, s) {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        })
        .collect();
    Ok(x.broadcast_add(&Tensor::from_vec(mask, (t, s), scores.device())?)?)
}

/// `softmax(scale · scores + causal mask)` over the last axis.
pub(crate) fn scaled_softmax(scores: &Tensor, scale: f64, causal: bool) -> Result<Tensor> {
    if scores.device().is_cpu() && scores.dtype() == DType::F32 {
        return Ok(scores.contiguous()?.apply_op1(ScaledSoftmax {
            scale: scale as f32,
            causal,
        })?);
    }
    let x = if causal {
        masked_scores(scores, scale)?
    } else {
        (scores * scale)?
    };
    Ok(assay_sdk::nn::ops::softmax(&x, D::Minus1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_composed_softmax_and_its_gradient() {
        let mut rng = init::rng(3, "softmax");
        for (t, s) in [(5, 5), (3, 7), (1, 4)] {
            let x = Var::from_tensor(
                &init::normal(&mut rng, &[2, 3, t, s], 0.0, 2.0, &Device::Cpu).unwrap(),
            )
            .unwrap();
            let w = init::normal(&mut rng, &[2, 3, t, s], 0.0, 1.0, &Device::Cpu).unwrap();
            let fused = scaled_softmax(x.as_tensor(), 0.7, true).unwrap();
            // The composed version.
            let composed =
                assay_sdk::nn::ops::softmax(&masked_scores(x.as_tensor(), 0.7).unwrap(), D::Minus1)
                    .unwrap();
            let diff = |a: &Tensor, b: &Tensor| {
                (a - b)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            };
            assert!(diff(&fused, &composed) < 1e-6);
            let gf = fused
                .mul(&w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gc = composed
                .mul(&w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            assert!(
                diff(gf.get(&x).unwrap(), gc.get(&x).unwrap()) < 1e-5,
                "{t}x{s}"
            );
        }
    }

    /// The SDK's blocked causal attention, which the decoder uses for longer sequences, against
    /// the path it replaced there (heads transposed out, candle's products, this softmax):
    /// the same bits, value and gradients.
    #[test]
    fn causal_attention_is_the_composed_path_bit_for_bit() {
        let dev = Device::Cpu;
        let mut rng = init::rng(5, "causal");
        // One block, a remainder joined to the last block, several blocks.
        for (b, t, h, d) in [(2, 40, 2, 8), (1, 150, 3, 16), (2, 256, 2, 32)] {
            let r = |rng: &mut init::Rng| {
                Var::from_tensor(&init::normal(rng, &[b, t, h, d], 0.0, 1.0, &dev).unwrap())
                    .unwrap()
            };
            let (q, k, v) = (r(&mut rng), r(&mut rng), r(&mut rng));
            let w = init::normal(&mut rng, &[b, t, h, d], 0.0, 1.0, &dev).unwrap();
            let scale = 1.0 / (d as f64).sqrt();
            let fused = assay_sdk::ops::causal_attention_by_position(
                q.as_tensor(),
                k.as_tensor(),
                v.as_tensor(),
                scale,
            )
            .unwrap();
            let heads = |x: &Var| x.as_tensor().transpose(1, 2).unwrap().contiguous().unwrap();
            let (qh, kh, vh) = (heads(&q), heads(&k), heads(&v));
            let composed = scaled_softmax(&qh.matmul(&kh.t().unwrap()).unwrap(), scale, true)
                .unwrap()
                .matmul(&vh)
                .unwrap()
                .transpose(1, 2)
                .unwrap();
            let bits = crate::fused::bits;
            assert_eq!(bits(&fused), bits(&composed), "{b} {t} {h} {d}");
            let gf = fused
                .mul(&w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gc = composed
                .mul(&w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for x in [&q, &k, &v] {
                assert_eq!(
                    bits(gf.get(x).unwrap()),
                    bits(gc.get(x).unwrap()),
                    "{b} {t} {h} {d}"
                );
            }
        }
    }
}
