//! candle's cross-entropy, bit for bit, in one pass each way.
//!
//! [`candle_nn::loss::cross_entropy`] is `log_softmax` (maximum, subtraction, exponential, row
//! sum, logarithm, subtraction, with their broadcasts) followed by `nll` (gather, sum, scale):
//! a dozen operations forward and about twenty backward, each a pass over the logits with an
//! allocation of its own. [`cross_entropy_exact`] performs the same floating-point operations
//! on the same operands in the same order, and so returns the same bits, value and gradient:
//! candle's row sums are replicated (on CPUs with AVX2, four accumulators of eight lanes over
//! blocks of 32, reduced pairwise, then the tail in order), and so is the gradient that candle
//! sends back through the row maximum (mathematically zero, numerically not). It does so in
//! one pass forward and one backward.
//!
//! [`super::cross_entropy`] is faster still (a vectorised exponential) but rounds differently,
//! and over thousands of full-batch steps a last-bit difference moves when a run groks; this one
//! changes nothing in a run's results, so the host trains with it.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cross_entropy::shapes;
use super::{f32_slice, CandleResult, PARALLEL_FROM};

/// The mean cross-entropy of `logits` (`[rows, classes]`) against class indices `target`
/// (`[rows]`, u8, u32 or i64), with exactly the value and gradient bits of
/// [`candle_nn::loss::cross_entropy`], in one pass each way on the CPU in `f32` (see the
/// module's documentation). On other devices, dtypes and CPU architectures (where candle's
/// row sum is not replicated here) it is candle's composed function itself.
///
/// ```
/// use assay_sdk::candle::{Device, Tensor, Var};
/// use assay_sdk::ops::cross_entropy_exact;
///
/// let logits = Var::new(&[[2.0f32, 0.5, -1.0], [0.0, 0.0, 3.0]], &Device::Cpu)?;
/// let target = Tensor::new(&[0u32, 2], &Device::Cpu)?;
/// let loss = cross_entropy_exact(logits.as_tensor(), &target)?;
/// let composed = assay_sdk::nn::loss::cross_entropy(logits.as_tensor(), &target)?;
/// assert_eq!(loss.to_scalar::<f32>()?.to_bits(), composed.to_scalar::<f32>()?.to_bits());
/// let (a, b) = (loss.backward()?, composed.backward()?);
/// assert_eq!(
///     a.get(&logits).unwrap().to_vec2::<f32>()?,
///     b.get(&logits).unwrap().to_vec2::<f32>()?
/// );
/// # Ok::<(), assay_sdk::candle::Error>(())
/// ```
pub fn cross_entropy_exact(logits: &Tensor, target: &Tensor) -> CandleResult<Tensor> {
    let replicated = cfg!(any(target_arch = "x86", target_arch = "x86_64"));
    let usable = replicated
        && logits.device().is_cpu()
        && logits.dtype() == DType::F32
        && logits.rank() == 2
        && logits.elem_count() > 0
        && target.dims() == [logits.dims()[0]];
    if !usable {
        // Also gives candle's own errors for shapes it refuses.
        return candle_nn::loss::cross_entropy(logits, target);
    }
    let target = target.contiguous()?;
    let op = ExactCrossEntropy {
        keep: logits.track_op(),
        saved: Mutex::new(None),
    };
    logits.contiguous()?.apply_op2(&target, op)
}

/// What candle's `vec_sum` (its row sum for `f32`) computes on this CPU.
fn candle_sum(xs: &[f32]) -> f32 {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // Four 8-lane accumulators over blocks of 32.
        let blocks = xs.len() & !31;
        let mut acc = [[0f32; 8]; 4];
        for block in xs[..blocks].chunks_exact(32) {
            for (j, lanes) in acc.iter_mut().enumerate() {
                for (l, a) in lanes.iter_mut().enumerate() {
                    *a += block[j * 8 + l];
                }
            }
        }
        // Reduced as candle's `vec_reduce`: (a0 + a1) + (a2 + a3) lane by lane, the two
        // 128-bit halves added, then two horizontal adds.
        let mut x = [0f32; 8];
        for (l, v) in x.iter_mut().enumerate() {
            *v = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
        }
        let t0 = [x[0] + x[4], x[1] + x[5], x[2] + x[6], x[3] + x[7]];
        let mut sum = (t0[0] + t0[1]) + (t0[2] + t0[3]);
        for &v in &xs[blocks..] {
            sum += v;
        }
        return sum;
    }
    let mut sum = 0f32;
    for &v in xs {
        sum += v;
    }
    sum
}

/// candle's `f32` affine map `v * mul + add` with `mul` from `f64`, as `nll` scales the sum.
fn scale_of(rows: usize) -> f32 {
    (-1f64 / rows as f64) as f32
}

/// One row forward: its maximum (as candle's reduction picks it), the exponentials of the
/// shifted logits into `e`, their sum, and the row's log-probability of `target`.
fn row_forward(x: &[f32], target: usize, e: &mut [f32]) -> (f32, f32, f32) {
    let mut max = x[0];
    for &v in x {
        if max < v {
            max = v;
        }
    }
    for (e, &v) in e.iter_mut().zip(x) {
        *e = v - max;
    }
    super::exp_in_place(e);
    let sum = candle_sum(e);
    let picked = (x[target] - max) - sum.ln();
    (max, sum, picked)
}

/// One row backward into `out`, given the gradient `g` that the gather hands the target's
/// log-probability, following candle's backward rules node by node (each `0.0 + v` or
/// `0.0 - v` is a gradient added into, or subtracted from, a zero-filled one).
#[allow(clippy::too_many_arguments)]
fn row_backward(
    x: &[f32],
    e: &[f32],
    max: f32,
    sum: f32,
    target: usize,
    g: f32,
    scratch: &mut [f32],
    out: &mut [f32],
) {
    // The broadcast of log(sum) gets the row sum of `0 - G`, G zero but at the target.
    let r = 0.0 - g;
    let log_sum_grad = 0.0 + if r == 0.0 { 0.0 } else { r };
    let sum_grad = log_sum_grad / sum;
    // The shifted logits: G from the subtraction, plus the exponential's `grad * exp`.
    for (j, (o, &e)) in out.iter_mut().zip(e).enumerate() {
        let from_gather = if j == target { g } else { 0.0 };
        *o = from_gather + sum_grad * e;
    }
    // The broadcast maximum gets the row sum of `0 - grad`; the maximum passes it to the
    // logits equal to it.
    for (s, &o) in scratch.iter_mut().zip(out.iter()) {
        *s = 0.0 - o;
    }
    let max_grad = 0.0 + candle_sum(scratch);
    for (o, &v) in out.iter_mut().zip(x) {
        let mask = if max == v { 1f32 } else { 0f32 };
        *o += mask * max_grad;
    }
}

/// Per row: maximum and sum of exponentials; and every exponential.
#[derive(Clone)]
struct Saved {
    max: Vec<f32>,
    sum: Vec<f32>,
    exp: Tensor,
}

struct ExactCrossEntropy {
    keep: bool,
    saved: Mutex<Option<Saved>>,
}

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("exact cross-entropy: poisoned".into())
}

/// Rows per task so that each holds about `PARALLEL_FROM / 4` logits, and whether to use the
/// pool at all (rows are independent, so the split changes no bit).
fn split(rows: usize, classes: usize) -> (usize, bool) {
    (
        (PARALLEL_FROM / 4 / classes.max(1)).max(1),
        rows * classes >= PARALLEL_FROM,
    )
}

impl CustomOp2 for ExactCrossEntropy {
    fn name(&self) -> &'static str {
        "exact-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let (rows, classes, target) = shapes(l1, s2, l2, self.name())?;
        let (mut max, mut sum, mut picked) = (vec![0f32; rows], vec![0f32; rows], vec![0f32; rows]);
        let mut exp = vec![0f32; x.len()];
        let run =
            |x: &[f32], t: &[usize], e: &mut [f32], m: &mut [f32], s: &mut [f32], p: &mut [f32]| {
                for (i, &t) in t.iter().enumerate() {
                    let row = i * classes..(i + 1) * classes;
                    (m[i], s[i], p[i]) = row_forward(&x[row.clone()], t, &mut e[row]);
                }
            };
        let (per, parallel) = split(rows, classes);
        if parallel {
            x.par_chunks(per * classes)
                .zip(target.par_chunks(per))
                .zip(exp.par_chunks_mut(per * classes))
                .zip(max.par_chunks_mut(per))
                .zip(sum.par_chunks_mut(per).zip(picked.par_chunks_mut(per)))
                .for_each(|((((x, t), e), m), (s, p))| run(x, t, e, m, s, p));
        } else {
            run(x, &target, &mut exp, &mut max, &mut sum, &mut picked);
        }
        // `gather(...).sum_all()` is candle's row sum over the picked column, then the affine
        // scale `v * (-1 / rows) + 0`.
        let loss = candle_sum(&picked) * scale_of(rows) + 0.0;
        if self.keep {
            let exp = Tensor::from_vec(exp, (rows, classes), &candle_core::Device::Cpu)?;
            *self.saved.lock().map_err(|_| poisoned())? = Some(Saved { max, sum, exp });
        }
        Ok((CpuStorage::F32(vec![loss]), Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        target: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>)> {
        // Kept whenever the logits are tracked, which is when candle calls this; cloned, not
        // taken, so that a second backward over the same graph works too.
        let saved = self.saved.lock().map_err(|_| poisoned())?.clone();
        let Some(saved) = saved else {
            candle_core::bail!("{}: backward without a tracked forward", self.name())
        };
        let grad = grad.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let op = ExactCrossEntropyGrad { saved, grad };
        let g = logits.apply_op2_no_bwd(target, &op)?;
        Ok((Some(g), None))
    }
}

/// The gradient of [`ExactCrossEntropy`] from its saved rows and the loss's gradient.
struct ExactCrossEntropyGrad {
    saved: Saved,
    grad: f32,
}

impl CustomOp2 for ExactCrossEntropyGrad {
    fn name(&self) -> &'static str {
        "exact-cross-entropy-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let (rows, classes, target) = shapes(l1, s2, l2, self.name())?;
        let (e_storage, e_layout) = self.saved.exp.storage_and_layout();
        let candle_core::Storage::Cpu(e_storage) = &*e_storage else {
            candle_core::bail!("{}: saved exponentials are not on the CPU", self.name())
        };
        let exp = f32_slice(e_storage, e_layout, self.name())?;
        // The affine's backward scales the incoming gradient; the sum's broadcasts it; the
        // gather's adds it into zeros at the target.
        let g = 0.0 + (self.grad * scale_of(rows) + 0.0);
        let (max, sum) = (&self.saved.max, &self.saved.sum);
        let mut out = vec![0f32; x.len()];
        let run = |first: usize, x: &[f32], t: &[usize], e: &[f32], out: &mut [f32]| {
            let mut scratch = vec![0f32; classes];
            for (i, &t) in t.iter().enumerate() {
                let row = i * classes..(i + 1) * classes;
                let r = first + i;
                row_backward(
                    &x[row.clone()],
                    &e[row.clone()],
                    max[r],
                    sum[r],
                    t,
                    g,
                    &mut scratch,
                    &mut out[row],
                );
            }
        };
        let (per, parallel) = split(rows, classes);
        if parallel {
            x.par_chunks(per * classes)
                .zip(target.par_chunks(per))
                .zip(exp.par_chunks(per * classes))
                .zip(out.par_chunks_mut(per * classes))
                .enumerate()
                .for_each(|(k, (((x, t), e), o))| run(k * per, x, t, e, o));
        } else {
            run(0, x, &target, exp, &mut out);
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    /// Value and gradient (with the loss scaled by `scale`) of both, as bits.
    fn both(x: &Tensor, target: &Tensor, scale: f64) -> [(Vec<u32>, Vec<u32>); 2] {
        let v = Var::from_tensor(x).unwrap();
        let run = |f: &dyn Fn(&Tensor, &Tensor) -> CandleResult<Tensor>| {
            let loss = f(v.as_tensor(), target).unwrap();
            let g = (&loss * scale).unwrap().backward().unwrap();
            (bits(&loss), bits(g.get(&v).unwrap()))
        };
        [
            run(&cross_entropy_exact),
            run(&|a, b| candle_nn::loss::cross_entropy(a, b)),
        ]
    }

    #[test]
    fn value_and_gradient_are_candles_bit_for_bit() {
        let dev = Device::Cpu;
        // Row widths below, at and around the 32-wide blocks of candle's sum; row counts below
        // and above the pool threshold.
        for (rows, classes) in [
            (1usize, 1usize),
            (3, 5),
            (7, 31),
            (5, 32),
            (9, 33),
            (911, 67),
            (40, 113),
            (700, 113),
            (3, 1000),
        ] {
            let x = Tensor::randn(0f32, 4.0, (rows, classes), &dev).unwrap();
            let ys: Vec<u32> = (0..rows).map(|i| ((i * 7 + 3) % classes) as u32).collect();
            for target in [
                Tensor::new(ys.as_slice(), &dev).unwrap(),
                Tensor::new(ys.as_slice(), &dev)
                    .unwrap()
                    .to_dtype(DType::I64)
                    .unwrap(),
            ] {
                for scale in [1.0, 2.5, -0.3] {
                    let [exact, composed] = both(&x, &target, scale);
                    assert_eq!(exact.0, composed.0, "{rows}x{classes}: loss");
                    assert_eq!(exact.1, composed.1, "{rows}x{classes}: gradient");
                }
            }
        }
    }

    #[test]
    fn ties_at_the_maximum_large_logits_and_nan_match_too() {
        let dev = Device::Cpu;
        let x = Tensor::new(
            &[
                [3.0f32, 3.0, 1.0, 3.0],
                [0.0, -0.0, 0.0, -1.0],
                [80.0, -80.0, 79.5, 0.0],
                [1e30, -1e30, 0.0, 5.0],
                [f32::NAN, 1.0, 2.0, 3.0],
            ],
            &dev,
        )
        .unwrap();
        let target = Tensor::new(&[0u32, 1, 2, 3, 2], &dev).unwrap();
        let [exact, composed] = both(&x, &target, 1.0);
        assert_eq!(exact.0, composed.0);
        assert_eq!(exact.1, composed.1);
    }

    #[test]
    fn a_training_step_through_a_product_gets_the_same_weight_gradient() {
        let dev = Device::Cpu;
        let a = Tensor::randn(0f32, 1.0, (300, 48), &dev).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 0.3, (48, 67), &dev).unwrap()).unwrap();
        let y: Vec<u32> = (0..300).map(|i| (i % 67) as u32).collect();
        let y = Tensor::new(y.as_slice(), &dev).unwrap();
        let grad_of = |f: &dyn Fn(&Tensor, &Tensor) -> CandleResult<Tensor>| {
            let logits = a.matmul(w.as_tensor()).unwrap();
            let g = f(&logits, &y).unwrap().backward().unwrap();
            bits(g.get(&w).unwrap())
        };
        assert_eq!(
            grad_of(&cross_entropy_exact),
            grad_of(&|a, b| candle_nn::loss::cross_entropy(a, b))
        );
    }

    #[test]
    fn untracked_logits_give_the_same_value_and_bad_targets_an_error() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0.5f32, 1.0, -2.0], [1.0, 2.0, 3.0]], &dev).unwrap();
        let y = Tensor::new(&[2u32, 0], &dev).unwrap();
        let a = cross_entropy_exact(&x, &y)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let b = candle_nn::loss::cross_entropy(&x, &y)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        let bad = Tensor::new(&[3u32, 0], &dev).unwrap();
        let err = cross_entropy_exact(&x, &bad).unwrap_err().to_string();
        assert!(err.contains("target 3 is outside 0..3"), "{err}");
    }
}
