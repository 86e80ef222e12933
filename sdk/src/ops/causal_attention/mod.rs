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

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::row_sums::{self, LANES};
use super::{cpu_slice, exp_in_place, f32_slice, grads3, poisoned, CandleResult, PARALLEL_FROM};

#[cfg(target_arch = "x86_64")]
mod avx512;

const BACKWARD: &str = "causal attention backward";

/// Up to this many positions [`causal_attention_by_position`] gives the composed computation's
/// bits exactly: gemm sums up to 512 terms in one pass, so skipping the masked terms changes no
/// sum. Longer sequences are computed correctly but may round differently.
pub const CAUSAL_ATTENTION_EXACT_KEYS: usize = 512;

/// Each problem's probabilities: on the gemm path `t × t` values, written up to each block's
/// end (zeros where masked there), what lies beyond a block's end never written nor read; on
/// the AVX-512 path its key-major regions (`avx512`), with 15 values to spare for alignment.
type Probs = Vec<std::mem::MaybeUninit<f32>>;

/// Query rows per block.
const BLOCK: usize = 64;

/// The fewest rows of the last block: a shorter remainder joins the block before it, so that
/// no product is small enough for gemm to take its dot-product or matrix-vector path, which
/// sums in another order.
const MIN_BLOCK: usize = 32;

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
    let op = CausalAttention {
        shape: Shape4 { batch, t, heads, d },
        wide: t >= WIDE_FROM && wide_path(d),
        scale: scale as f32,
        keep: q.track_op() || k.track_op() || v.track_op(),
        probs: Mutex::new(None),
    };
    q.contiguous()?
        .apply_op3(&k.contiguous()?, &v.contiguous()?, op)
}

#[derive(Debug, Clone, Copy)]
struct Shape4 {
    batch: usize,
    t: usize,
    heads: usize,
    d: usize,
}

impl Shape4 {
    /// (batch, head) problems.
    fn problems(self) -> usize {
        self.batch * self.heads
    }

    /// Where problem `u`'s first row starts in a `[batch, t, heads, d]` tensor.
    fn base(self, u: usize) -> usize {
        (u / self.heads) * self.t * self.heads * self.d + (u % self.heads) * self.d
    }

    /// The distance between consecutive positions of one head.
    fn row_stride(self) -> isize {
        (self.heads * self.d) as isize
    }

    fn len(self) -> usize {
        self.batch * self.t * self.heads * self.d
    }

    /// Whether the problems are worth spreading over the pool.
    fn parallel(self) -> bool {
        self.problems() > 1 && self.problems() * self.t * self.t * self.d >= PARALLEL_FROM
    }
}

/// Blocks of query (or key) rows `[r0, r1)` covering `0..t`.
fn blocks(t: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut r0 = 0;
    std::iter::from_fn(move || {
        if r0 >= t {
            return None;
        }
        let r1 = if t - r0 < BLOCK + MIN_BLOCK {
            t
        } else {
            r0 + BLOCK
        };
        let block = (r0, r1);
        r0 = r1;
        Some(block)
    })
}

/// A strided matrix: element `(i, j)` at `ptr + i · rs + j · cs`.
#[derive(Clone, Copy)]
struct Mat {
    ptr: *const f32,
    rs: isize,
    cs: isize,
}

impl Mat {
    /// The same matrix from row `r`.
    fn rows_from(self, r: usize) -> Mat {
        Mat {
            ptr: self.ptr.wrapping_offset(r as isize * self.rs),
            ..self
        }
    }
}

/// `dst = lhs · rhs` (`m × k` times `k × n`, `dst` row-major with row stride `dst_rs`) on this
/// thread. Each element is gemm's one multiply-add chain over `k` in order (for `k ≤ 512`).
///
/// # Safety
/// The matrices must be in bounds for their shapes and `dst` must not overlap the inputs.
unsafe fn product(m: usize, n: usize, k: usize, dst: *mut f32, dst_rs: isize, lhs: Mat, rhs: Mat) {
    gemm::gemm(
        m,
        n,
        k,
        dst,
        1,
        dst_rs,
        false,
        lhs.ptr,
        lhs.cs,
        lhs.rs,
        rhs.ptr,
        rhs.cs,
        rhs.rs,
        0.0,
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    )
}

/// A pointer shared by the problems, each of which writes its own elements.
#[derive(Clone, Copy)]
struct Out(*mut f32);
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

/// `softmax(scale · x)` in place on `LANES` consecutive rows of a block (rows `i..` of a
/// problem, each up to the block's end), row `i + r` seeing its first `i + r + 1` scores, zeros
/// after: what the composed operations give each row, to the bit (sums in the same order,
/// maxima in any).
fn softmax_rows(mut rows: [&mut [f32]; LANES], i: usize, scale: f32) {
    let shared = i + 1;
    let mut m = [f32::NEG_INFINITY; LANES];
    for (r, row) in rows.iter_mut().enumerate() {
        let n = i + r + 1;
        m[r] = row[..n].iter().fold(m[r], |a, &v| a.max(v)) * scale;
        row[..n].iter_mut().for_each(|x| *x = *x * scale - m[r]);
        exp_in_place(&mut row[..n]);
    }
    let mut sum = row_sums::sums(std::array::from_fn(|r| &rows[r][..shared]), 0.0);
    for (r, row) in rows.iter_mut().enumerate() {
        let n = i + r + 1;
        for &e in row[shared..n].iter() {
            sum[r] += e;
        }
        let inv = 1.0 / sum[r];
        row[..n].iter_mut().for_each(|v| *v *= inv);
        row[n..].fill(0.0);
    }
}

/// `softmax(scale · row[..n])` in place, zeros after it: what the composed operations give a
/// row whose first `n` scores are visible.
fn softmax_row(row: &mut [f32], n: usize, scale: f32) {
    let m = row[..n].iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v)) * scale;
    row[..n].iter_mut().for_each(|x| *x = *x * scale - m);
    exp_in_place(&mut row[..n]);
    let mut sum = 0f32;
    for &e in row[..n].iter() {
        sum += e;
    }
    let inv = 1.0 / sum;
    row[..n].iter_mut().for_each(|v| *v *= inv);
    row[n..].fill(0.0);
}

/// The softmax's gradient in place on `LANES` rows of a block (`g`, the probabilities'
/// gradient up to the block's end; `y` the probabilities): `scale · y ⊙ (g − Σ y ⊙ g)`, each
/// row's sum in order, as the composed operations sum it.
fn softmax_grad_rows(y: [&[f32]; LANES], mut g: [&mut [f32]; LANES], scale: f32) {
    // From `Iterator::sum`'s start, which the composed gradient used.
    let dot = row_sums::dots(y, std::array::from_fn(|r| &*g[r]), -0.0);
    for (r, g) in g.iter_mut().enumerate() {
        softmax_grad_from_dot(y[r], g, dot[r], scale);
    }
}

/// `g ← scale · y ⊙ (g − dot)`.
fn softmax_grad_from_dot(y: &[f32], g: &mut [f32], dot: f32, scale: f32) {
    for (gi, &yi) in g.iter_mut().zip(y) {
        *gi = scale * yi * (*gi - dot);
    }
}

/// [`softmax_grad_rows`] for one row.
fn softmax_grad_row(y: &[f32], g: &mut [f32], scale: f32) {
    let dot: f32 = y.iter().zip(g.iter()).map(|(a, b)| a * b).sum();
    softmax_grad_from_dot(y, g, dot, scale);
}

/// Output `z` (by position) and the probabilities `[problem, t, t]` (see [`Probs`]).
fn forward(s: Shape4, scale: f32, q: &[f32], k: &[f32], v: &[f32]) -> (Vec<f32>, Probs) {
    let (t, d, rs) = (s.t, s.d, s.row_stride());
    let mut z: Vec<f32> = Vec::with_capacity(s.len());
    let mut p: Probs = Vec::with_capacity(s.problems() * t * t);
    // SAFETY: `MaybeUninit<f32>` needs no initialisation.
    unsafe { p.set_len(s.problems() * t * t) };
    let (zp, pp) = (Out(z.as_mut_ptr()), Out(p.as_mut_ptr().cast::<f32>()));
    each_problem(s, 0, |u, _| {
        let base = s.base(u);
        let qm = Mat {
            ptr: q[base..].as_ptr(),
            rs,
            cs: 1,
        };
        // Kᵀ: element (c, j) is key j's component c.
        let kt = Mat {
            ptr: k[base..].as_ptr(),
            rs: 1,
            cs: rs,
        };
        let vm = Mat {
            ptr: v[base..].as_ptr(),
            rs,
            cs: 1,
        };
        let (zp, pp) = (zp, pp);
        // SAFETY: problem `u` writes its own `t × t` probabilities and its own head's columns
        // of `z`; every product is within the `[batch, t, heads, d]` inputs (rows below `t`,
        // `d` columns from `base`) and the problem's probabilities.
        unsafe {
            let pu = pp.0.add(u * t * t);
            for (r0, r1) in blocks(t) {
                product(
                    r1 - r0,
                    r1,
                    d,
                    pu.add(r0 * t),
                    t as isize,
                    qm.rows_from(r0),
                    kt,
                );
                // Row `i` up to the block's end, which the product just wrote.
                let row = |i: usize| std::slice::from_raw_parts_mut(pu.add(i * t), r1);
                let mut i = r0;
                while i + LANES <= r1 {
                    softmax_rows(std::array::from_fn(|r| row(i + r)), i, scale);
                    i += LANES;
                }
                for i in i..r1 {
                    softmax_row(row(i), i + 1, scale);
                }
                let probs = Mat {
                    ptr: pu.add(r0 * t),
                    rs: t as isize,
                    cs: 1,
                };
                product(
                    r1 - r0,
                    d,
                    r1,
                    zp.0.add(base).offset(r0 as isize * rs),
                    rs,
                    probs,
                    vm,
                );
            }
        }
    });
    // SAFETY: the problems wrote every element of `z`, each its head's columns of all `t` rows.
    unsafe { z.set_len(s.len()) };
    (z, p)
}

/// The gradients of `q`, `k` and `v` from the output's `dz`, all by position.
fn backward(
    s: Shape4,
    scale: f32,
    (q, k, v): (&[f32], &[f32], &[f32]),
    p: &Probs,
    dz: &[f32],
) -> [Vec<f32>; 3] {
    let (t, d, rs) = (s.t, s.d, s.row_stride());
    let mut grads: [Vec<f32>; 3] = std::array::from_fn(|_| Vec::with_capacity(s.len()));
    let [dq, dk, dv] = grads.each_mut().map(|g| Out(g.as_mut_ptr()));
    each_problem(s, t * t, |u, ds| {
        let base = s.base(u);
        let at = |x: &[f32], rs: isize, cs: isize| Mat {
            ptr: x[base..].as_ptr(),
            rs,
            cs,
        };
        let (qm, km, dzm) = (at(q, rs, 1), at(k, rs, 1), at(dz, rs, 1));
        let vt = at(v, 1, rs);
        let pu = p[u * t * t..].as_ptr().cast::<f32>();
        let (dq, dk, dv) = (dq, dk, dv);
        // The scores' gradient, `t × t`, written block by block before it is read.
        let dsp = ds.as_mut_ptr();
        // SAFETY: as in `forward`: in-bounds products, problem `u` writes its own head's
        // columns of the three gradients, and its scratch rows up to each block's end before
        // reading them (the key blocks read rows at or below their own, within those ends).
        unsafe {
            for (r0, r1) in blocks(t) {
                // The probabilities' gradient dz vᵀ, then the softmax's, in place.
                product(
                    r1 - r0,
                    r1,
                    d,
                    dsp.add(r0 * t),
                    t as isize,
                    dzm.rows_from(r0),
                    vt,
                );
                // Row `i` of the probabilities and of the gradient, up to the block's end.
                let y = |i: usize| std::slice::from_raw_parts(pu.add(i * t), r1);
                let g = |i: usize| std::slice::from_raw_parts_mut(dsp.add(i * t), r1);
                let mut i = r0;
                while i + LANES <= r1 {
                    let (ys, gs) = (
                        std::array::from_fn(|r| y(i + r)),
                        std::array::from_fn(|r| g(i + r)),
                    );
                    softmax_grad_rows(ys, gs, scale);
                    i += LANES;
                }
                for i in i..r1 {
                    softmax_grad_row(y(i), g(i), scale);
                }
                let rows = Mat {
                    ptr: dsp.add(r0 * t),
                    rs: t as isize,
                    cs: 1,
                };
                product(
                    r1 - r0,
                    d,
                    r1,
                    dq.0.add(base).offset(r0 as isize * rs),
                    rs,
                    rows,
                    km,
                );
            }
            for (c0, c1) in blocks(t) {
                // Keys c0..c1 are seen by queries c0.. only: the transposed columns from row c0.
                let cols = |x: *const f32| Mat {
                    ptr: x.add(c0 * t + c0),
                    rs: 1,
                    cs: t as isize,
                };
                let at_key = |x: *mut f32| x.add(base).offset(c0 as isize * rs);
                let n = t - c0;
                product(c1 - c0, d, n, at_key(dv.0), rs, cols(pu), dzm.rows_from(c0));
                product(c1 - c0, d, n, at_key(dk.0), rs, cols(dsp), qm.rows_from(c0));
            }
        }
    });
    for g in &mut grads {
        // SAFETY: every problem wrote its head's columns of all `t` rows of each gradient.
        unsafe { g.set_len(s.len()) };
    }
    grads
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
    fn forward(&self, q: &[f32], k: &[f32], v: &[f32]) -> (Vec<f32>, Probs) {
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            return avx512::forward_all(self.shape, self.scale, q, k, v);
        }
        forward(self.shape, self.scale, q, k, v)
    }

    fn backward(&self, qkv: (&[f32], &[f32], &[f32]), p: &Probs, dz: &[f32]) -> [Vec<f32>; 3] {
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            return avx512::backward_all(self.shape, self.scale, qkv, p, dz);
        }
        backward(self.shape, self.scale, qkv, p, dz)
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
        let (q, k, v) = (
            f32_slice(s1, l1, name)?,
            f32_slice(s2, l2, name)?,
            f32_slice(s3, l3, name)?,
        );
        let (z, p) = self.forward(q, k, v);
        if self.keep {
            *self
                .probs
                .lock()
                .map_err(|_| poisoned("causal attention"))? = Some(p);
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
            .map_err(|_| poisoned("causal attention"))?
            .take();
        let p = match kept {
            Some(p) => p,
            None => self.forward(qs, ks, vs).1,
        };
        let [dq, dk, dv] = self.backward((qs, ks, vs), &p, dzs);
        grads3([dq, dk, dv], [q, k, v])
    }
}

#[cfg(test)]
mod tests {
    use super::super::max_diff;
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn blocks_cover_the_rows_and_none_is_short() {
        for t in [1, 17, 31, 64, 95, 96, 97, 256, 270, 300] {
            let b: Vec<_> = blocks(t).collect();
            assert_eq!(b.first().map(|x| x.0), Some(0));
            assert_eq!(b.last().map(|x| x.1), Some(t));
            assert!(b.windows(2).all(|w| w[0].1 == w[1].0), "{t}: {b:?}");
            assert!(
                b.iter().all(|&(r0, r1)| r1 - r0 >= MIN_BLOCK.min(t)),
                "{t}: {b:?}"
            );
        }
    }

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

    /// The AVX-512 kernels against the gemm path, values and gradients bit for bit, where the
    /// machine has AVX-512F (elsewhere only the gemm path exists).
    #[test]
    fn the_wide_kernels_give_the_gemm_paths_bits() {
        if !wide_path(32) {
            // No AVX-512F here (or a C library whose `expf` the wide exponential does not
            // match): only the gemm path exists.
            return;
        }
        assert!(!wide_path(8) && !wide_path(40) && !wide_path(80));
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
            let s = Shape4 {
                batch: b,
                t,
                heads,
                d,
            };
            let r = || {
                Tensor::randn(0f32, 1.0, (b, t, heads, d), &dev)
                    .and_then(|x| x.flatten_all()?.to_vec1::<f32>())
                    .unwrap()
            };
            let (q, k, v, dz) = (r(), r(), r(), r());
            let op = |wide| CausalAttention {
                shape: s,
                wide,
                scale: 0.17,
                keep: true,
                probs: Mutex::new(None),
            };
            let (narrow, wide) = (op(false), op(true));
            let (z0, p0) = narrow.forward(&q, &k, &v);
            let (z1, p1) = wide.forward(&q, &k, &v);
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&z0), bits(&z1), "{b} {t} {heads} {d}: output");
            let g0 = narrow.backward((&q, &k, &v), &p0, &dz);
            let g1 = wide.backward((&q, &k, &v), &p1, &dz);
            for (name, (a, c)) in ["q", "k", "v"].iter().zip(g0.iter().zip(&g1)) {
                assert_eq!(bits(a), bits(c), "{b} {t} {heads} {d}: gradient of {name}");
            }
        }
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
