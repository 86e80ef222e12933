//! The cross-entropy loss in one pass each way.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{f32_slice, kernels, CandleResult, PARALLEL_FROM};

/// The mean cross-entropy of `logits` (`[rows, classes]`) against class indices `target`
/// (`[rows]`, any integer dtype): `mean_i(logsumexp(logits_i) − logits_i[target_i])`, as
/// [`candle_nn::loss::cross_entropy`] computes it, in one pass forward and one backward on the
/// CPU in `f32`. Other devices and dtypes use candle's composed version. A target outside
/// `0..classes` is an error.
pub fn cross_entropy(logits: &Tensor, target: &Tensor) -> CandleResult<Tensor> {
    if !logits.device().is_cpu() || logits.dtype() != DType::F32 || logits.rank() != 2 {
        return candle_nn::loss::cross_entropy(logits, target);
    }
    let target = target.contiguous()?;
    let op = CrossEntropy {
        keep: logits.track_op(),
        probs: std::sync::Mutex::new(None),
    };
    logits.contiguous()?.apply_op2(&target, op)
}

/// The class indices of `s` as `usize`, each checked against `classes`.
fn classes_of(s: &CpuStorage, l: &Layout, classes: usize, what: &str) -> CandleResult<Vec<usize>> {
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{what}: needs contiguous targets")
    };
    let out: Vec<i64> = match s {
        CpuStorage::U8(v) => v[a..b].iter().map(|&x| i64::from(x)).collect(),
        CpuStorage::U32(v) => v[a..b].iter().map(|&x| i64::from(x)).collect(),
        CpuStorage::I64(v) => v[a..b].to_vec(),
        _ => candle_core::bail!("{what}: targets must be u8, u32 or i64 class indices"),
    };
    out.into_iter()
        .map(|x| {
            usize::try_from(x)
                .ok()
                .filter(|&c| c < classes)
                .ok_or_else(|| {
                    candle_core::Error::Msg(format!("{what}: target {x} is outside 0..{classes}"))
                })
        })
        .collect()
}

/// `(rows, classes)` of a rank-2 layout, and the targets checked against it.
pub(super) fn shapes(
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
    what: &str,
) -> CandleResult<(usize, usize, Vec<usize>)> {
    let (rows, classes) = l1.shape().dims2()?;
    if l2.shape().dims() != [rows] {
        candle_core::bail!(
            "{what}: {rows} rows of logits but targets of shape {:?}",
            l2.shape().dims()
        )
    }
    let target = classes_of(s2, l2, classes, what)?;
    Ok((rows, classes, target))
}

/// The losses of `rows` rows of `x` (`classes` wide) into `losses`, and their softmax
/// probabilities into `probs` when given (else through a scratch row).
fn rows_forward(
    x: &[f32],
    classes: usize,
    target: &[usize],
    losses: &mut [f32],
    probs: Option<&mut [f32]>,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { kernels::ce_rows_avx2(x, classes, target, losses, probs) };
        return;
    }
    kernels::ce_rows(x, classes, target, losses, probs)
}

/// The mean cross-entropy, keeping the softmax probabilities for the backward pass when the
/// logits are tracked.
struct CrossEntropy {
    keep: bool,
    probs: std::sync::Mutex<Option<Tensor>>,
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy"
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
        let mut losses = vec![0f32; rows];
        let mut probs = if self.keep {
            vec![0f32; x.len()]
        } else {
            Vec::new()
        };
        // Rows per task: about PARALLEL_FROM / 4 elements each (none without classes).
        if let Some(per) = (PARALLEL_FROM / 4).checked_div(classes) {
            let per = per.max(1);
            if rows * classes >= PARALLEL_FROM {
                let xs = x.par_chunks(per * classes).zip(target.par_chunks(per));
                if self.keep {
                    xs.zip(losses.par_chunks_mut(per))
                        .zip(probs.par_chunks_mut(per * classes))
                        .for_each(|(((x, t), l), p)| rows_forward(x, classes, t, l, Some(p)));
                } else {
                    xs.zip(losses.par_chunks_mut(per))
                        .for_each(|((x, t), l)| rows_forward(x, classes, t, l, None));
                }
            } else {
                let p = self.keep.then_some(&mut probs[..]);
                rows_forward(x, classes, &target, &mut losses, p);
            }
        }
        // Summed in order, in f64: the same bits at every thread count.
        let total: f64 = losses.iter().map(|&l| f64::from(l)).sum();
        let mean = (total / rows as f64) as f32;
        if self.keep {
            let p = Tensor::from_vec(probs, (rows, classes), &candle_core::Device::Cpu)?;
            *self
                .probs
                .lock()
                .map_err(|_| candle_core::Error::Msg("cross-entropy: poisoned".into()))? = Some(p);
        }
        Ok((CpuStorage::F32(vec![mean]), Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        target: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>)> {
        let scale = grad.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let kept = self
            .probs
            .lock()
            .map_err(|_| candle_core::Error::Msg("cross-entropy: poisoned".into()))?
            .clone();
        let probs = match kept {
            Some(p) => p,
            None => candle_nn::ops::softmax_last_dim(logits)?,
        };
        let g = probs.apply_op2_no_bwd(target, &CrossEntropyGrad { scale })?;
        Ok((Some(g), None))
    }
}

/// `scale · (p − onehot(target)) / rows` from the probabilities `p`: the gradient of
/// [`CrossEntropy`].
struct CrossEntropyGrad {
    scale: f32,
}

impl CustomOp2 for CrossEntropyGrad {
    fn name(&self) -> &'static str {
        "cross-entropy-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let p = f32_slice(s1, l1, self.name())?;
        let (rows, classes, target) = shapes(l1, s2, l2, self.name())?;
        let k = self.scale / rows.max(1) as f32;
        let mut out: Vec<f32> = p.iter().map(|&v| v * k).collect();
        if classes > 0 {
            for (row, &y) in out.chunks_exact_mut(classes).zip(&target) {
                row[y] -= k;
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::max_diff;
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn cross_entropy_equals_the_composed_loss_and_gradient() {
        let dev = Device::Cpu;
        // Small (one thread) and large (rows over the pool) shapes; targets of each dtype.
        for (rows, classes) in [(7usize, 5usize), (1, 1), (600, 113)] {
            let x = Tensor::randn(0f32, 3.0, (rows, classes), &dev).unwrap();
            let x = Var::from_tensor(&x).unwrap();
            let ys: Vec<u32> = (0..rows).map(|i| ((i * 7) % classes) as u32).collect();
            for target in [
                Tensor::new(ys.as_slice(), &dev).unwrap(),
                Tensor::new(ys.as_slice(), &dev)
                    .unwrap()
                    .to_dtype(DType::I64)
                    .unwrap(),
            ] {
                let fused = cross_entropy(x.as_tensor(), &target).unwrap();
                let composed = candle_nn::loss::cross_entropy(x.as_tensor(), &target).unwrap();
                assert!(max_diff(&fused, &composed) < 1e-5, "{rows}x{classes}");
                // A scale on the loss reaches the gradient.
                let gf = (fused * 2.5).unwrap().backward().unwrap();
                let gc = (composed * 2.5).unwrap().backward().unwrap();
                let d = max_diff(gf.get(&x).unwrap(), gc.get(&x).unwrap());
                assert!(d < 1e-6, "{rows}x{classes}: gradient differs by {d}");
            }
        }
    }

    #[test]
    fn exp_is_within_two_units_in_the_last_place_and_keeps_nan_and_underflow() {
        let mut worst = 0f32;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let (a, b) = (kernels::exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert_eq!(kernels::exp(0.0), 1.0);
        assert_eq!(kernels::exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(kernels::exp(-100.0), 0.0);
        assert!(kernels::exp(f32::NAN).is_nan());
    }

    #[test]
    fn cross_entropy_is_nan_when_a_logit_is_and_equal_untracked() {
        let dev = Device::Cpu;
        let y = Tensor::new(&[1u32, 0], &dev).unwrap();
        let x = Tensor::new(&[[0.0f32, 1.0, f32::NAN], [1.0, 2.0, 3.0]], &dev).unwrap();
        assert!(cross_entropy(&x, &y)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            .is_nan());
        // Untracked logits (evaluation) keep no probabilities and give the same value.
        let x = Tensor::new(&[[0.0f32, 1.0, 2.0], [1.0, 2.0, 3.0]], &dev).unwrap();
        let v = Var::from_tensor(&x).unwrap();
        let a = cross_entropy(&x, &y).unwrap().to_scalar::<f32>().unwrap();
        let b = cross_entropy(v.as_tensor(), &y)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn cross_entropy_refuses_a_target_out_of_range_and_a_wrong_shape() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3), DType::F32, &dev).unwrap();
        let err = cross_entropy(&x, &Tensor::new(&[0u32, 3], &dev).unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("target 3 is outside 0..3"),
            "{err}"
        );
        let err = cross_entropy(&x, &Tensor::new(&[0u32, 1, 2], &dev).unwrap()).unwrap_err();
        assert!(err.to_string().contains("2 rows of logits"), "{err}");
    }
}
