//! Causal self-attention over long sequences, `softmax(scale · q kᵀ + causal mask) v`, on
//! tensors laid out by position (`[batch, t, heads, d]`, as the projections make them).
//!
//! Composed from candle's operations, a decoder's attention copies `q`, `k` and `v` into
//! `[batch, heads, t, d]`, multiplies whole `t × t` score matrices although the causal mask
//! throws half of each away, makes a softmax pass and a mask over all of it, and copies the
//! result back, with as many copies and products again backward. Here each (batch, head)
//! problem is cut into blocks of query rows: a block's scores, probabilities and gradients are
//! computed only up to its last visible key, with gemm reading the heads in place by stride,
//! and the softmax and its gradient run on the block while it is in cache. The products that
//! would only add masked zeros are skipped: three eighths of attention's multiply-adds at 256
//! positions.
//!
//! Up to [`CAUSAL_ATTENTION_EXACT_KEYS`] positions every value and gradient is bit for bit the
//! composed computation's (matrix products by candle, a softmax that exponentiates each
//! visible score once): each element is the same sequence of multiply-adds in gemm, only
//! without the terms that multiply a masked zero, and adding those changed nothing.
//!
//! On a CPU with AVX-512F (heads of 16 to 64 values in whole vectors, 17 positions or more) the
//! products are register-tiled kernels of this module's own instead of gemm calls, and the
//! scores are kept key-major so that the softmax works on sixteen rows per vector (`avx512`);
//! up to [`CAUSAL_ATTENTION_EXACT_KEYS`] positions each element is still gemm's chain of
//! multiply-adds, so the bits are the same (a test checks them against the gemm path; the
//! exceptions, zeros' signs after an underflow and NaN from an infinity times a masked zero,
//! are in `avx512`'s notes).

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp1, CustomOp3, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{cpu_slice, exp_in_place, f32_slice, grads3, poisoned, CandleResult, PARALLEL_FROM};

#[cfg(target_arch = "x86_64")]
mod avx512;
mod gemm_path;

const BACKWARD: &str = "causal attention backward";

/// Up to this many positions [`causal_attention_by_position`] gives the composed computation's
/// bits exactly: gemm sums up to 512 terms in one pass, so skipping the masked terms changes no
/// sum. Longer sequences are computed correctly but may round differently.
pub const CAUSAL_ATTENTION_EXACT_KEYS: usize = 512;

/// Each problem's probabilities: on the gemm path `t × t` values, written up to each block's
/// end (zeros where masked there), what lies beyond a block's end never written nor read; on
/// the AVX-512 path its key-major regions (`avx512`), with 15 values to spare for alignment.
type Probs = Vec<std::mem::MaybeUninit<f32>>;

/// `softmax(scale · q kᵀ + causal mask) v` per head, where `q`, `k` and `v` are
/// `[batch, t, heads, d]` (query `i` sees keys `0..=i`); the result has the same layout and
/// reshapes to `[batch, t, heads · d]` without a copy. One pass each way on the CPU in `f32`
/// with its own backward; other devices and dtypes use the composed operations.
///
/// For a few positions, [`attention_by_position`](super::attention_by_position) is faster;
/// this is for long sequences, where the matrix products dominate.
///
/// ```
/// use assay_sdk::candle::{Device, Tensor, D};
/// use assay_sdk::ops::causal_attention_by_position;
///
/// let dev = Device::Cpu;
/// let r = || Tensor::randn(0f32, 1.0, (2, 100, 4, 8), &dev);
/// let (q, k, v) = (r()?, r()?, r()?);
/// let z = causal_attention_by_position(&q, &k, &v, 0.35)?;
/// assert_eq!(z.dims(), &[2, 100, 4, 8]);
/// // The first position sees only itself: its output is its value.
/// let first = (z.narrow(1, 0, 1)? - v.narrow(1, 0, 1)?)?.abs()?.flatten_all()?.max(D::Minus1)?;
/// assert!(first.to_scalar::<f32>()? < 1e-6);
/// # Ok::<(), assay_sdk::candle::Error>(())
/// ```
pub fn causal_attention_by_position(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
) -> CandleResult<Tensor> {
    let (batch, t, heads, d) = q.dims4()?;
    if k.dims() != q.dims() || v.dims() != q.dims() {
        candle_core::bail!(
            "causal attention: queries {:?}, keys {:?} and values {:?} do not fit together",
            q.dims(),
            k.dims(),
            v.dims()
        )
    }
    let fusable = [q, k, v]
        .iter()
        .all(|x| x.device().is_cpu() && x.dtype() == DType::F32);
    if !fusable || t == 0 || d == 0 {
        let tr = |x: &Tensor| x.transpose(1, 2);
        let z = super::attention::composed(&tr(q)?, &tr(k)?, &tr(v)?, scale, true)?;
        return z.transpose(1, 2)?.contiguous();
    }
    let shape = Shape4 {
        batch,
        t,
        heads,
        d,
        rs_in: heads * d,
    };
    let keep = q.track_op() || k.track_op() || v.track_op();
    q.contiguous()?.apply_op3(
        &k.contiguous()?,
        &v.contiguous()?,
        CausalAttention::new(shape, scale, keep),
    )
}

/// [`causal_attention_by_position`] on one tensor `[batch, t, 3 · heads · d]` that holds each
/// position's queries, keys and values side by side (each `heads · d`, head by head), as one
/// linear map of width `3 · heads · d` makes them; the result is `[batch, t, heads · d]`. The
/// kernels read the three in place and write their gradients into one tensor of the input's
/// shape, so a model that projects `q`, `k` and `v` together needs no split and no concatenation
/// of gradients. Values and gradients have the same bits as [`causal_attention_by_position`]
/// on the three parts.
///
/// ```
/// use assay_sdk::candle::{Device, Tensor, D};
/// use assay_sdk::ops::{causal_attention_by_position, causal_attention_packed};
///
/// let dev = Device::Cpu;
/// let qkv = Tensor::randn(0f32, 1.0, (2, 40, 3 * 4 * 8), &dev)?;
/// let z = causal_attention_packed(&qkv, 4, 0.35)?;
/// assert_eq!(z.dims(), &[2, 40, 32]);
/// let part = |i: usize| qkv.narrow(2, i * 32, 32)?.reshape((2, 40, 4, 8));
/// let apart = causal_attention_by_position(&part(0)?, &part(1)?, &part(2)?, 0.35)?;
/// let diff = (z - apart.reshape((2, 40, 32))?)?.abs()?.flatten_all()?.max(D::Minus1)?;
/// assert_eq!(diff.to_scalar::<f32>()?, 0.0);
/// # Ok::<(), assay_sdk::candle::Error>(())
/// ```
pub fn causal_attention_packed(qkv: &Tensor, heads: usize, scale: f64) -> CandleResult<Tensor> {
    let (batch, t, width) = qkv.dims3()?;
    if heads == 0 || width % (3 * heads) != 0 {
        candle_core::bail!(
            "causal attention: {width} values per position are not queries, keys and values of {heads} heads"
        )
    }
    let d = width / (3 * heads);
    if !(qkv.device().is_cpu() && qkv.dtype() == DType::F32) || t == 0 || d == 0 {
        let part = |i: usize| {
            qkv.narrow(2, i * heads * d, heads * d)?
                .reshape((batch, t, heads, d))
        };
        let z = causal_attention_by_position(&part(0)?, &part(1)?, &part(2)?, scale)?;
        return z.reshape((batch, t, heads * d));
    }
    let shape = Shape4 {
        batch,
        t,
        heads,
        d,
        rs_in: width,
    };
    qkv.contiguous()?
        .apply_op1(Packed(CausalAttention::new(shape, scale, qkv.track_op())))
}

#[derive(Debug, Clone, Copy)]
struct Shape4 {
    batch: usize,
    t: usize,
    heads: usize,
    d: usize,
    /// The distance between consecutive positions of the queries, keys and values (and their
    /// gradients): `heads · d` apart, `3 · heads · d` packed.
    rs_in: usize,
}

impl Shape4 {
    /// (batch, head) problems.
    fn problems(self) -> usize {
        self.batch * self.heads
    }

    /// Where problem `u`'s first row starts in the output (`[batch, t, heads, d]`).
    fn base(self, u: usize) -> usize {
        (u / self.heads) * self.t * self.heads * self.d + (u % self.heads) * self.d
    }

    /// Where problem `u`'s first row starts in the queries (and, from their own first value,
    /// the keys and values).
    fn in_base(self, u: usize) -> usize {
        (u / self.heads) * self.t * self.rs_in + (u % self.heads) * self.d
    }

    /// The distance between consecutive positions of one head in the output.
    fn out_stride(self) -> isize {
        (self.heads * self.d) as isize
    }

    /// The distance between consecutive positions of one head in the inputs.
    fn in_stride(self) -> isize {
        self.rs_in as isize
    }

    /// Values of the output.
    fn len(self) -> usize {
        self.batch * self.t * self.heads * self.d
    }

    /// Values of each input tensor: three in one when packed.
    fn in_len(self) -> usize {
        self.batch * self.t * self.rs_in
    }

    /// The queries, keys and values of a packed tensor.
    fn parts(self, x: &[f32]) -> [&[f32]; 3] {
        let hd = self.heads * self.d;
        [x, &x[hd..], &x[2 * hd..]]
    }

    /// Whether the problems are worth spreading over the pool.
    fn parallel(self) -> bool {
        self.problems() > 1 && self.problems() * self.t * self.t * self.d >= PARALLEL_FROM
    }
}

/// A pointer shared by the problems, each of which writes its own elements.
#[derive(Clone, Copy)]
struct Out(*mut f32);

impl Out {
    fn add(self, n: usize) -> Out {
        Out(self.0.wrapping_add(n))
    }
}
// SAFETY: the problems write disjoint elements (their own head's columns, their own part of
// the probabilities), and the buffer outlives the parallel loop.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// Runs `f(u, scratch)` for every problem, over the pool when it is worth it; `scratch` holds
/// `scratch` values (zeros at first, then what the problem before on this thread left).
/// Spread over the pool, each thread takes one run of consecutive problems (they are all the
/// same size) with one scratch buffer: rayon's `for_each_init` made a buffer for every piece it
/// split the range into, each a fresh allocation the size of a problem's scores.
fn each_problem(s: Shape4, scratch: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let init = || vec![0f32; scratch];
    if s.parallel() {
        let n = s.problems();
        let per = n.div_ceil(rayon::current_num_threads().max(1));
        (0..n.div_ceil(per)).into_par_iter().for_each(|part| {
            let mut buf = init();
            (part * per..((part + 1) * per).min(n)).for_each(|u| f(u, &mut buf));
        });
    } else {
        let mut buf = init();
        (0..s.problems()).for_each(|u| f(u, &mut buf));
    }
}

struct CausalAttention {
    shape: Shape4,
    /// Whether the AVX-512 kernels compute it (their probabilities are laid out key-major).
    wide: bool,
    scale: f32,
    /// Whether to keep the probabilities for the backward pass.
    keep: bool,
    probs: Mutex<Option<Probs>>,
}

impl CausalAttention {
    fn new(shape: Shape4, scale: f64, keep: bool) -> CausalAttention {
        CausalAttention {
            shape,
            wide: shape.t >= WIDE_FROM && wide_path(shape.d),
            scale: scale as f32,
            keep,
            probs: Mutex::new(None),
        }
    }

    fn forward(&self, qkv: [&[f32]; 3]) -> (Vec<f32>, Probs) {
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            return avx512::forward_all(self.shape, self.scale, qkv);
        }
        gemm_path::forward(self.shape, self.scale, qkv)
    }

    /// The output and, when the backward pass will want them, the probabilities kept.
    fn forward_keeping(&self, qkv: [&[f32]; 3]) -> CandleResult<Vec<f32>> {
        let (z, p) = self.forward(qkv);
        if self.keep {
            *self
                .probs
                .lock()
                .map_err(|_| poisoned("causal attention"))? = Some(p);
        }
        Ok(z)
    }

    /// The gradients of the inputs from the output's `dz`, written through `grads` in the
    /// inputs' layout, from the kept probabilities (computed again if none were kept).
    ///
    /// # Safety
    /// Each of `grads` must have room for every problem's rows where its input has them.
    unsafe fn backward(&self, qkv: [&[f32]; 3], dz: &[f32], grads: [Out; 3]) -> CandleResult<()> {
        let kept = self
            .probs
            .lock()
            .map_err(|_| poisoned("causal attention"))?
            .take();
        let p = match kept {
            Some(p) => p,
            None => self.forward(qkv).1,
        };
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            avx512::backward_all(self.shape, self.scale, qkv, &p, dz, grads);
            return Ok(());
        }
        gemm_path::backward(self.shape, self.scale, qkv, &p, dz, grads);
        Ok(())
    }

    /// The gradients of three separate inputs.
    fn gradients_apart(&self, qkv: [&[f32]; 3], dz: &[f32]) -> CandleResult<[Vec<f32>; 3]> {
        let n = self.shape.in_len();
        let mut grads: [Vec<f32>; 3] = std::array::from_fn(|_| Vec::with_capacity(n));
        // SAFETY: each gradient has room for its input's values; the backward pass writes
        // every one of them (each problem its head's columns of all `t` rows) before `set_len`.
        unsafe {
            self.backward(qkv, dz, grads.each_mut().map(|g| Out(g.as_mut_ptr())))?;
            for g in &mut grads {
                g.set_len(n);
            }
        }
        Ok(grads)
    }

    /// The gradient of one packed input (its queries', keys' and values' parts side by side).
    fn gradient_packed(&self, qkv: [&[f32]; 3], dz: &[f32]) -> CandleResult<Vec<f32>> {
        let n = self.shape.in_len();
        let hd = self.shape.heads * self.shape.d;
        let mut g: Vec<f32> = Vec::with_capacity(n);
        let at = Out(g.as_mut_ptr());
        // SAFETY: `g` has room for the input's values; the backward pass writes every one of
        // them (each problem its head's columns of the queries', keys' and values' parts of
        // all `t` rows) before `set_len`.
        unsafe {
            self.backward(qkv, dz, [at, at.add(hd), at.add(2 * hd)])?;
            g.set_len(n);
        }
        Ok(g)
    }
}

/// The fewest positions the AVX-512 kernels take: below, gemm computes the composed scores of
/// `t · t ≤ 256` elements as dot products, which sum in another order (and for one or two
/// positions gives a zero the other sign).
const WIDE_FROM: usize = 17;

/// Whether the AVX-512 kernels serve heads of width `d` on this machine.
fn wide_path(d: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return avx512::serves(d);
    #[cfg(not(target_arch = "x86_64"))]
    return {
        let _ = d;
        false
    };
}

impl CustomOp3 for CausalAttention {
    fn name(&self) -> &'static str {
        "causal-attention"
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
        let qkv = [
            f32_slice(s1, l1, name)?,
            f32_slice(s2, l2, name)?,
            f32_slice(s3, l3, name)?,
        ];
        let z = self.forward_keeping(qkv)?;
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
        let dz = grad.to_dtype(DType::F32)?.contiguous()?;
        let (gq, gk, gv, gz) = (
            q.storage_and_layout(),
            k.storage_and_layout(),
            v.storage_and_layout(),
            dz.storage_and_layout(),
        );
        let qkv = [
            cpu_slice(&gq.0, gq.1, BACKWARD)?,
            cpu_slice(&gk.0, gk.1, BACKWARD)?,
            cpu_slice(&gv.0, gv.1, BACKWARD)?,
        ];
        let dzs = cpu_slice(&gz.0, gz.1, BACKWARD)?;
        grads3(self.gradients_apart(qkv, dzs)?, [q, k, v])
    }
}

/// [`CausalAttention`] on one tensor of queries, keys and values side by side.
struct Packed(CausalAttention);

impl CustomOp1 for Packed {
    fn name(&self) -> &'static str {
        "causal-attention-packed"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        let sh = self.0.shape;
        let z = self.0.forward_keeping(sh.parts(x))?;
        Ok((
            CpuStorage::F32(z),
            Shape::from((sh.batch, sh.t, sh.heads * sh.d)),
        ))
    }

    fn bwd(&self, qkv: &Tensor, _res: &Tensor, grad: &Tensor) -> CandleResult<Option<Tensor>> {
        let dz = grad.to_dtype(DType::F32)?.contiguous()?;
        let (gx, gz) = (qkv.storage_and_layout(), dz.storage_and_layout());
        let x = cpu_slice(&gx.0, gx.1, BACKWARD)?;
        let dzs = cpu_slice(&gz.0, gz.1, BACKWARD)?;
        let g = self.0.gradient_packed(self.0.shape.parts(x), dzs)?;
        Ok(Some(Tensor::from_vec(g, qkv.shape(), qkv.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::max_diff;
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn causal_attention_equals_the_composed_operations_value_and_gradients() {
        let dev = Device::Cpu;
        // One block, several with a long remainder, a remainder joined to the block before
        // it, and a width that is not a multiple of the vector length.
        for (b, t, heads, d) in [
            (2, 20, 3, 8),
            (2, 130, 2, 16),
            (1, 100, 2, 5),
            (3, 64, 4, 32),
        ] {
            let r = || Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, t, heads, d), &dev)?);
            let (q, k, v) = (r().unwrap(), r().unwrap(), r().unwrap());
            let w = Tensor::randn(0f32, 1.0, (b, t, heads, d), &dev).unwrap();
            let fused =
                causal_attention_by_position(q.as_tensor(), k.as_tensor(), v.as_tensor(), 0.3)
                    .unwrap();
            let tr = |x: &Var| x.as_tensor().transpose(1, 2).unwrap();
            let plain = super::super::attention::composed(&tr(&q), &tr(&k), &tr(&v), 0.3, true)
                .unwrap()
                .transpose(1, 2)
                .unwrap();
            assert!(max_diff(&fused, &plain) < 1e-5, "{b} {t} {heads} {d}");
            let gf = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
            for x in [&q, &k, &v] {
                let diff = max_diff(gf.get(x).unwrap(), gp.get(x).unwrap());
                assert!(
                    diff < 1e-4,
                    "{b} {t} {heads} {d}: gradient differs by {diff}"
                );
            }
        }
    }

    /// The AVX-512 kernels against the gemm path, and each on packed operands against the same
    /// operands apart: values and gradients bit for bit (where the machine has AVX-512F;
    /// elsewhere the gemm path, packed and apart).
    #[test]
    fn the_paths_give_the_same_bits_packed_or_apart() {
        let wide = wide_path(32);
        if wide {
            assert!(!wide_path(8) && !wide_path(40) && !wide_path(80));
        }
        let dev = Device::Cpu;
        // Partial row vectors and blocks, a block boundary, every supported width.
        for (b, t, heads, d) in [
            (1, WIDE_FROM, 1, 16),
            (2, 20, 3, 16),
            (1, 100, 2, 48),
            (2, 130, 2, 32),
            (1, 200, 1, 64),
            (1, 256, 2, 32),
        ] {
            let hd = heads * d;
            let r = || {
                Tensor::randn(0f32, 1.0, (b, t, hd), &dev)
                    .and_then(|x| x.flatten_all()?.to_vec1::<f32>())
                    .unwrap()
            };
            let (q, k, v, dz) = (r(), r(), r(), r());
            // The same operands packed: each position's queries, keys and values side by side.
            let rows = |x: &[f32], i: usize| x[i * hd..(i + 1) * hd].to_vec();
            let x: Vec<f32> = (0..b * t)
                .flat_map(|i| [rows(&q, i), rows(&k, i), rows(&v, i)].concat())
                .collect();
            let part = |g: &[f32], p: usize| -> Vec<f32> {
                (0..b * t)
                    .flat_map(|i| g[i * 3 * hd + p * hd..][..hd].to_vec())
                    .collect()
            };
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let mut first = None;
            for (wide, packed) in [(false, false), (false, true), (wide, false), (wide, true)] {
                let s = Shape4 {
                    batch: b,
                    t,
                    heads,
                    d,
                    rs_in: if packed { 3 * hd } else { hd },
                };
                let mut op = CausalAttention::new(s, 0.17, true);
                op.wide = wide;
                let parts = if packed {
                    s.parts(&x)
                } else {
                    [&q[..], &k[..], &v[..]]
                };
                let z = op.forward_keeping(parts).unwrap();
                let grads = if packed {
                    let g = op.gradient_packed(parts, &dz).unwrap();
                    [part(&g, 0), part(&g, 1), part(&g, 2)]
                } else {
                    op.gradients_apart(parts, &dz).unwrap()
                };
                let got = (bits(&z), grads.map(|g| bits(&g)));
                match &first {
                    None => first = Some(got),
                    Some(f) => assert!(
                        f == &got,
                        "{b} {t} {heads} {d}: wide {wide}, packed {packed} differ"
                    ),
                }
            }
        }
    }

    #[test]
    fn packed_attention_refuses_a_width_that_is_not_three_parts() {
        let x = Tensor::zeros((1, 4, 20), DType::F32, &Device::Cpu).unwrap();
        let err = causal_attention_packed(&x, 3, 1.0).unwrap_err();
        assert!(err.to_string().contains("20 values per position"), "{err}");
    }

    #[test]
    fn causal_attention_refuses_shapes_that_do_not_fit() {
        let dev = Device::Cpu;
        let x = |s: &[usize]| Tensor::zeros(s, DType::F32, &dev).unwrap();
        let (a, b) = (x(&[1, 4, 2, 8]), x(&[1, 5, 2, 8]));
        let err = causal_attention_by_position(&a, &b, &b, 1.0).unwrap_err();
        assert!(err.to_string().contains("do not fit"), "{err}");
    }
}
