//! The gemm path of the causal attention: each block of query rows as gemm products on the
//! heads read in place by stride, with the softmax and its gradient on the block in between.

use super::super::row_sums::{self, LANES};
use super::{each_problem, exp_in_place, Out, Probs, Shape4};

/// Query rows per block.
pub(super) const BLOCK: usize = 64;

/// The fewest rows of the last block: a shorter remainder joins the block before it, so that
/// no product is small enough for gemm to take its dot-product or matrix-vector path, which
/// sums in another order.
pub(super) const MIN_BLOCK: usize = 32;

/// Blocks of query (or key) rows `[r0, r1)` covering `0..t`.
pub(super) fn blocks(t: usize) -> impl Iterator<Item = (usize, usize)> {
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

/// Output `z` (by position) and the probabilities `[problem, t, t]` (see [`Probs`]), from the
/// queries, keys and values (rows `s.in_stride()` apart from each problem's `s.in_base(u)`).
pub(super) fn forward(s: Shape4, scale: f32, [q, k, v]: [&[f32]; 3]) -> (Vec<f32>, Probs) {
    let (t, d, rs, zs) = (s.t, s.d, s.in_stride(), s.out_stride());
    let mut z: Vec<f32> = Vec::with_capacity(s.len());
    let mut p: Probs = Vec::with_capacity(s.problems() * t * t);
    // SAFETY: `MaybeUninit<f32>` needs no initialisation.
    unsafe { p.set_len(s.problems() * t * t) };
    let (zp, pp) = (Out(z.as_mut_ptr()), Out(p.as_mut_ptr().cast::<f32>()));
    each_problem(s, 0, |u, _| {
        let (base, out) = (s.in_base(u), s.base(u));
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
        // of `z`; every product is within the inputs (rows below `t`, `d` columns from `base`)
        // and the problem's probabilities.
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
                    zp.0.add(out).offset(r0 as isize * zs),
                    zs,
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

/// The gradients of `q`, `k` and `v` from the output's `dz`, written through `grads` in the
/// inputs' layout.
///
/// # Safety
/// Each of `grads` must have room for every problem's rows where its input has them.
pub(super) unsafe fn backward(
    s: Shape4,
    scale: f32,
    [q, k, v]: [&[f32]; 3],
    p: &Probs,
    dz: &[f32],
    grads: [Out; 3],
) {
    let (t, d, rs, zs) = (s.t, s.d, s.in_stride(), s.out_stride());
    let [dq, dk, dv] = grads;
    each_problem(s, t * t, |u, ds| {
        let (base, out) = (s.in_base(u), s.base(u));
        let at = |x: &[f32], rs: isize, cs: isize| Mat {
            ptr: x[base..].as_ptr(),
            rs,
            cs,
        };
        let (qm, km) = (at(q, rs, 1), at(k, rs, 1));
        let dzm = Mat {
            ptr: dz[out..].as_ptr(),
            rs: zs,
            cs: 1,
        };
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
