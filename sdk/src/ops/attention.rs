//! Attention's core, `softmax(scale · q kᵀ + causal mask) v`, for short sequences.
//!
//! Through matrix products a `[batch, heads, t, d]` attention is `batch · heads` separate tiny
//! products forward and four times that backward: study 6's decoder (3 positions, 4 heads,
//! 3,830 examples) made 92,000 calls into gemm per step, each mostly overhead, on one thread.
//! Here each (batch, head) problem is a few dot products and row updates, forward and
//! backward, spread over the thread pool. For long sequences matrix products win: callers
//! choose (the built-in `transformer`, with `fused_attention = true`, uses this up to
//! [`FUSED_ATTENTION_MAX_KEYS`] keys and for one new token after a cache).

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use super::kernels::{self, Attend};
use super::{cpu_slice, f32_slice, grads3, poisoned, CandleResult, PARALLEL_FROM};

const BACKWARD: &str = "attention backward";

/// The longest key sequence for which the built-in `transformer` (with `fused_attention`) uses
/// [`attention`] rather than matrix products.
pub const FUSED_ATTENTION_MAX_KEYS: usize = 16;

/// `softmax(scale · q kᵀ + mask) v` over the last two axes: `q` is `[.., tq, d]`, `k` and `v`
/// are `[.., t, d]` with the same leading axes, and the queries are the last `tq` of the `t`
/// positions (`tq = t` for a whole sequence, `tq = 1` for the last position only, or the new
/// tokens after a key/value cache). With `causal`, query `i` sees keys `0..=t − tq + i`. One
/// pass each way on the CPU in `f32`, with its own backward; other devices and dtypes use the
/// composed operations.
///
/// ```
/// use assay_sdk::candle::{Device, Tensor, D};
/// use assay_sdk::ops::attention;
///
/// let dev = Device::Cpu;
/// let (q, k, v) = (
///     Tensor::randn(0f32, 1.0, (2, 4, 3, 8), &dev)?,
///     Tensor::randn(0f32, 1.0, (2, 4, 3, 8), &dev)?,
///     Tensor::randn(0f32, 1.0, (2, 4, 3, 8), &dev)?,
/// );
/// let z = attention(&q, &k, &v, 0.5, true)?;
/// assert_eq!(z.dims(), &[2, 4, 3, 8]);
/// // The first query sees only the first key: its output is the first value.
/// let first = (z.narrow(2, 0, 1)? - v.narrow(2, 0, 1)?)?.abs()?.flatten_all()?.max(D::Minus1)?;
/// assert!(first.to_scalar::<f32>()? < 1e-6);
/// # Ok::<(), assay_sdk::candle::Error>(())
/// ```
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    causal: bool,
) -> CandleResult<Tensor> {
    check(q, k, v, q.rank().saturating_sub(2))?;
    let (tq, d) = (q.dim(D::Minus2)?, q.dim(D::Minus1)?);
    let t = k.dim(D::Minus2)?;
    if !fusable(&[q, k, v]) {
        return composed(q, k, v, scale, causal);
    }
    let a = Attend {
        tq,
        t,
        heads: 1,
        d,
        scale: scale as f32,
        causal,
    };
    apply(a, q, k, v)
}

/// [`attention`] on tensors laid out as the projections make them, before heads are split
/// off: `q` is `[batch, tq, heads, d]`, `k` and `v` `[batch, t, heads, d]`, and so is the
/// result (`[batch, tq, heads, d]`, which reshapes to `[batch, tq, heads · d]` without a
/// copy). This spares the transposes to `[batch, heads, t, d]` and back, and their
/// gradients, four copies of every activation each way.
pub fn attention_by_position(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    causal: bool,
) -> CandleResult<Tensor> {
    let (_, tq, heads, d) = q.dims4()?;
    check(q, k, v, 1)?;
    let t = k.dim(1)?;
    if !fusable(&[q, k, v]) {
        let z = composed(
            &q.transpose(1, 2)?,
            &k.transpose(1, 2)?,
            &v.transpose(1, 2)?,
            scale,
            causal,
        )?;
        return z.transpose(1, 2)?.contiguous();
    }
    let a = Attend {
        tq,
        t,
        heads,
        d,
        scale: scale as f32,
        causal,
    };
    apply(a, q, k, v)
}

/// Keys and values of one shape, the same leading `lead` axes as the queries, the same width,
/// and no more queries than keys.
fn check(q: &Tensor, k: &Tensor, v: &Tensor, lead: usize) -> CandleResult<()> {
    let fits = q.rank() >= 2
        && q.rank() == k.rank()
        && k.dims() == v.dims()
        && k.dims()[..lead] == q.dims()[..lead]
        && k.dims()[lead + 1..] == q.dims()[lead + 1..]
        && q.dims()[lead] <= k.dims()[lead];
    if !fits {
        candle_core::bail!(
            "attention: queries {:?}, keys {:?} and values {:?} do not fit together",
            q.dims(),
            k.dims(),
            v.dims()
        )
    }
    Ok(())
}

fn fusable(xs: &[&Tensor]) -> bool {
    xs.iter()
        .all(|x| x.device().is_cpu() && x.dtype() == DType::F32)
}

fn apply(a: Attend, q: &Tensor, k: &Tensor, v: &Tensor) -> CandleResult<Tensor> {
    let op = Attention {
        shape: a,
        keep: q.track_op() || k.track_op() || v.track_op(),
        probs: std::sync::Mutex::new(None),
    };
    q.contiguous()?
        .apply_op3(&k.contiguous()?, &v.contiguous()?, op)
}

/// The same function from candle's operations (the reference the fused one is tested against).
pub(crate) fn composed(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    causal: bool,
) -> CandleResult<Tensor> {
    let (q, k, v) = (&q.contiguous()?, &k.contiguous()?, &v.contiguous()?);
    let scores = (q.matmul(&k.t()?)? * scale)?;
    let scores = if causal {
        let (tq, t) = (q.dim(D::Minus2)?, k.dim(D::Minus2)?);
        let mask: Vec<f32> = (0..tq * t)
            .map(|x| {
                if x % t > t - tq + x / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, (tq, t), q.device())?.to_dtype(q.dtype())?;
        scores.broadcast_add(&mask)?
    } else {
        scores
    };
    candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(v)
}

struct Attention {
    shape: Attend,
    keep: bool,
    probs: std::sync::Mutex<Option<Vec<f32>>>,
}

/// Batch elements per task, so that each has about `PARALLEL_FROM / 4` multiply-adds, and
/// whether to use the pool at all.
fn split(a: Attend, batches: usize) -> (usize, bool) {
    let work = (a.heads * a.tq * a.t * a.d).max(1);
    (
        (PARALLEL_FROM / 4 / work).max(1),
        batches * work >= PARALLEL_FROM,
    )
}

fn forward(a: Attend, q: &[f32], k: &[f32], v: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (sq, sk, sp) = a.sizes();
    let batches = q.len() / sq.max(1);
    let mut z = vec![0f32; q.len()];
    let mut p = vec![0f32; batches * sp];
    let run = |q: &[f32], k: &[f32], v: &[f32], z: &mut [f32], p: &mut [f32]| {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { kernels::attend_avx2(a, q, k, v, z, p) };
            return;
        }
        kernels::attend(a, q, k, v, z, p)
    };
    let (per, parallel) = split(a, batches);
    let (nq, nk, np) = (per * sq, per * sk, per * sp);
    if parallel {
        z.par_chunks_mut(nq)
            .zip(p.par_chunks_mut(np))
            .zip(q.par_chunks(nq).zip(k.par_chunks(nk)).zip(v.par_chunks(nk)))
            .for_each(|((z, p), ((q, k), v))| run(q, k, v, z, p));
    } else {
        run(q, k, v, &mut z, &mut p);
    }
    (z, p)
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let name = self.name();
        let (q, k, v) = (
            f32_slice(s1, l1, name)?,
            f32_slice(s2, l2, name)?,
            f32_slice(s3, l3, name)?,
        );
        let (z, p) = forward(self.shape, q, k, v);
        if self.keep {
            *self.probs.lock().map_err(|_| poisoned("attention"))? = Some(p);
        }
        Ok((CpuStorage::F32(z), l1.shape().clone()))
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let a = self.shape;
        let dz = grad.to_dtype(DType::F32)?.contiguous()?;
        let (gq, gk, gv, gz) = (
            q.storage_and_layout(),
            k.storage_and_layout(),
            v.storage_and_layout(),
            dz.storage_and_layout(),
        );
        let (qs, ks, vs, dzs) = (
            cpu_slice(&gq.0, gq.1, BACKWARD)?,
            cpu_slice(&gk.0, gk.1, BACKWARD)?,
            cpu_slice(&gv.0, gv.1, BACKWARD)?,
            cpu_slice(&gz.0, gz.1, BACKWARD)?,
        );
        let kept = self
            .probs
            .lock()
            .map_err(|_| poisoned("attention"))?
            .clone();
        let p = match kept {
            Some(p) => p,
            None => forward(a, qs, ks, vs).1,
        };
        let (sq, sk, sp) = a.sizes();
        let batches = qs.len() / sq.max(1);
        let (mut dq, mut dk, mut dv) = (
            vec![0f32; qs.len()],
            vec![0f32; ks.len()],
            vec![0f32; vs.len()],
        );
        let run = |q: &[f32],
                   k: &[f32],
                   v: &[f32],
                   p: &[f32],
                   dz: &[f32],
                   (dq, dk, dv): (&mut [f32], &mut [f32], &mut [f32])| {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { kernels::attend_backward_avx2(a, q, k, v, p, dz, dq, dk, dv) };
                return;
            }
            kernels::attend_backward(a, q, k, v, p, dz, dq, dk, dv)
        };
        let (per, parallel) = split(a, batches);
        let (nq, nk, np) = (per * sq, per * sk, per * sp);
        if parallel {
            dq.par_chunks_mut(nq)
                .zip(dk.par_chunks_mut(nk))
                .zip(dv.par_chunks_mut(nk))
                .zip(qs.par_chunks(nq).zip(dzs.par_chunks(nq)))
                .zip(
                    ks.par_chunks(nk)
                        .zip(vs.par_chunks(nk))
                        .zip(p.par_chunks(np)),
                )
                .for_each(|((((dq, dk), dv), (q, dz)), ((k, v), p))| {
                    run(q, k, v, p, dz, (dq, dk, dv))
                });
        } else {
            run(qs, ks, vs, &p, dzs, (&mut dq, &mut dk, &mut dv));
        }
        grads3([dq, dk, dv], [q, k, v])
    }
}

#[cfg(test)]
mod tests {
    use super::super::max_diff;
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn attention_equals_the_composed_operations_value_and_gradients() {
        let dev = Device::Cpu;
        // (batch·heads, tq, t, d, causal): whole sequences, the last query only, new tokens
        // after a cache, a width that is not a multiple of eight, and enough problems to use
        // the pool.
        for (b, tq, t, d, causal) in [
            (3, 3, 3, 8, true),
            (3, 1, 3, 32, true),
            (2, 2, 5, 5, true),
            (2, 4, 4, 12, false),
            (700, 3, 3, 32, true),
        ] {
            let r = |n| Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, 2, n, d), &dev).unwrap());
            let (q, k, v) = (r(tq).unwrap(), r(t).unwrap(), r(t).unwrap());
            let w = Tensor::randn(0f32, 1.0, (b, 2, tq, d), &dev).unwrap();
            let fused =
                attention(q.as_tensor(), k.as_tensor(), v.as_tensor(), 0.3, causal).unwrap();
            let plain = composed(q.as_tensor(), k.as_tensor(), v.as_tensor(), 0.3, causal).unwrap();
            assert!(max_diff(&fused, &plain) < 1e-5, "{b} {tq} {t} {d}");
            let gf = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
            for x in [&q, &k, &v] {
                let d = max_diff(gf.get(x).unwrap(), gp.get(x).unwrap());
                assert!(d < 1e-4, "{b} {tq} {t}: gradient differs by {d}");
            }
        }
    }

    #[test]
    fn attention_by_position_equals_attention_on_transposed_heads() {
        let dev = Device::Cpu;
        for (b, tq, t, heads, d) in [(3, 3, 3, 4, 8), (2, 1, 5, 2, 7), (300, 3, 3, 4, 32)] {
            let r =
                |n| Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, n, heads, d), &dev).unwrap());
            let (q, k, v) = (r(tq).unwrap(), r(t).unwrap(), r(t).unwrap());
            let w = Tensor::randn(0f32, 1.0, (b, tq, heads, d), &dev).unwrap();
            let by_pos =
                attention_by_position(q.as_tensor(), k.as_tensor(), v.as_tensor(), 0.4, true)
                    .unwrap();
            let tr = |x: &Var| x.as_tensor().transpose(1, 2).unwrap();
            let plain = composed(&tr(&q), &tr(&k), &tr(&v), 0.4, true)
                .unwrap()
                .transpose(1, 2)
                .unwrap();
            assert!(max_diff(&by_pos, &plain) < 1e-5, "{b} {tq} {t}");
            let gf = (by_pos * &w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
            for x in [&q, &k, &v] {
                let d = max_diff(gf.get(x).unwrap(), gp.get(x).unwrap());
                assert!(d < 1e-4, "{b} {tq} {t}: gradient differs by {d}");
            }
        }
    }

    #[test]
    fn attention_refuses_shapes_that_do_not_fit() {
        let dev = Device::Cpu;
        let x = |s: &[usize]| Tensor::zeros(s, DType::F32, &dev).unwrap();
        let err = attention(&x(&[2, 4, 8]), &x(&[2, 3, 8]), &x(&[2, 3, 8]), 1.0, true).unwrap_err();
        assert!(err.to_string().contains("do not fit"), "{err}");
        let err = attention(&x(&[2, 1, 8]), &x(&[2, 3, 8]), &x(&[2, 3, 4]), 1.0, true).unwrap_err();
        assert!(err.to_string().contains("do not fit"), "{err}");
    }
}
