//! The causal attention's AVX-512 path: one (batch, head) problem at a time with register-tiled
//! kernels of its own instead of gemm, and the scores kept key-major, so that each softmax
//! row's maximum, sum and dot product are vertical operations on sixteen rows at once.
//!
//! Why the bits stay gemm's: gemm computes every element of a product (up to 512 terms) as one
//! chain of fused multiply-adds over the inner index in order, starting from zero, and stores
//! it multiplied by one. Each kernel here computes each element as that chain, with the
//! operands in the same roles; only which elements share registers differs. The softmax and
//! its gradient do each row's operations in the composed computation's order (sums in order of
//! the key, products rounded before they are added). Chains may include or leave out terms
//! whose probability is a masked zero, which add nothing: a tile reads only what its rows see.
//!
//! Layout per problem: a region of blocks of query rows (see `layout`); block `r0..r1` holds,
//! for each key `j < r1`, its rows' probabilities (and, backward, score gradients) side by
//! side in 64 lanes, masked keys zero. A last block of fewer than 64 rows leaves its other
//! lanes unwritten: every access there is masked to the block's rows. Key `j` is read back
//! from the blocks of its own block on, which all hold it. The region is 64-byte aligned, so
//! every vector load is one cache line.
//!
//! The blocks end every 64 rows, where the gemm path joins a remainder shorter than 32 rows to
//! the block before it, so a chain here may stop before (or, for the keys' gradients, start
//! after) masked-zero terms that gemm's includes. With finite values those terms change nothing,
//! except that a sum which underflowed to `-0` can come out `+0` (and an infinity times a masked
//! zero, a NaN gemm would spread, is skipped): the same kind of exception as the gemm path's
//! own against the composed computation.

use std::arch::x86_64::*;

use super::super::exp::exp16;
use super::{each_problem, Out, Probs, Shape4};

mod products;

use products::{key_major, row_major, Causal, Run};

/// Lanes of a vector.
const L: usize = 16;

/// Query rows per block: four vectors.
pub(super) const ROWS: usize = 4 * L;

/// Whether the path serves a head width `d` on this machine (AVX-512F, and the sixteen-lane
/// `exp` agreeing with `f32::exp`, which checks the feature too).
pub(super) fn serves(d: usize) -> bool {
    d.is_multiple_of(L) && (1..=4).contains(&(d / L)) && super::super::exp::wide_path_agrees()
}

/// One problem's operands: rows of `d` values `rs` apart, from the problem's first position;
/// the output and its gradient have rows `zs` apart.
#[derive(Clone, Copy)]
pub(super) struct Heads {
    pub q: *const f32,
    pub k: *const f32,
    pub v: *const f32,
    pub rs: usize,
    pub zs: usize,
    pub d: usize,
}

/// The blocks of query rows `(r0, r1)`.
fn blocks(t: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..t).step_by(ROWS).map(move |r0| (r0, (r0 + ROWS).min(t)))
}

/// Lanes `0..n` set.
fn first(n: usize) -> __mmask16 {
    if n >= L {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// The store masks of a block of `m` rows' four vectors.
fn row_masks(m: usize) -> [__mmask16; 4] {
    std::array::from_fn(|g| first(m.saturating_sub(g * L)))
}

/// Which of the sixteen rows `i0..` see key `j` (`j ≤ i`).
fn seeing(j: usize, i0: usize) -> __mmask16 {
    if j <= i0 {
        0xffff
    } else if j - i0 < L {
        (0xffffu32 << (j - i0)) as __mmask16
    } else {
        0
    }
}

/// `xt[c · ROWS + r] = x[(r0 + r) · rs + c]` for the block's `m` rows, zeros after.
///
/// # Safety
/// `x` must hold rows `r0..r0 + m` of `d` values; `xt` at least `d · ROWS` values.
unsafe fn pack_transposed(x: *const f32, rs: usize, r0: usize, m: usize, d: usize, xt: &mut [f32]) {
    for c in 0..d {
        let col = &mut xt[c * ROWS..(c + 1) * ROWS];
        for (r, o) in col.iter_mut().enumerate() {
            *o = if r < m {
                *x.add((r0 + r) * rs + c)
            } else {
                0.0
            };
        }
    }
}

/// `softmax(scale · scores)` in place on a block's key-major scores (`p[j · stride + r]` for keys
/// `0..n`, rows `r0 + r`, `m` of them), masked keys zero: each row's maximum, then
/// `exp(s · scale − max · scale)` and their sum in order of the key, then each times `1 / sum`,
/// as the composed operations compute a row.
#[target_feature(enable = "avx512f")]
unsafe fn softmax_block(p: *mut f32, stride: usize, r0: usize, m: usize, n: usize, scale: f32) {
    let scale_v = _mm512_set1_ps(scale);
    let groups = m.div_ceil(L);
    // Each row's maximum, the groups of sixteen rows side by side (four independent chains,
    // each row's still over its keys in order; a key a row does not see leaves its lane).
    let mut maxima = [_mm512_set1_ps(f32::NEG_INFINITY); 4];
    for j in 0..n.min(r0 + m) {
        for (g, max) in maxima.iter_mut().enumerate().take(groups) {
            // Only the lanes that see the key are read: [`key_major`] may not have computed
            // the others.
            let k = seeing(j, r0 + g * L);
            let v = _mm512_maskz_loadu_ps(first(m - g * L) & k, p.add(j * stride + g * L));
            // `max(v, max)` keeps `max` where `v` is NaN, as `f32::max` skips NaN.
            *max = _mm512_mask_max_ps(*max, k, v, *max);
        }
    }
    for (g, &max) in maxima.iter().enumerate().take(groups) {
        let i0 = r0 + g * L;
        let col = |j: usize| p.add(j * stride + g * L);
        // The block's rows in this vector: only they are read and written.
        let rows = first(m - g * L);
        let load = |j: usize| _mm512_maskz_loadu_ps(rows, col(j));
        let seen = n.min(i0 + L);
        let shift = _mm512_mul_ps(max, scale_v);
        let mut sum = _mm512_setzero_ps();
        for j in 0..seen {
            let k = seeing(j, i0);
            let x = _mm512_sub_ps(_mm512_mul_ps(load(j), scale_v), shift);
            let e = exp16(_mm512_maskz_mov_ps(k, x));
            sum = _mm512_mask_add_ps(sum, k, sum, e);
            _mm512_mask_storeu_ps(col(j), rows, e);
        }
        let inv = _mm512_div_ps(_mm512_set1_ps(1.0), sum);
        for j in 0..n {
            let e = if j < seen {
                load(j)
            } else {
                _mm512_setzero_ps()
            };
            _mm512_mask_storeu_ps(col(j), rows, _mm512_maskz_mul_ps(seeing(j, i0), e, inv));
        }
    }
}

/// The softmax's gradient in place on a block's key-major probabilities' gradient `g` (keys
/// `0..n`, rows `r0 + r`, `m` of them), `y` the probabilities: `(scale · y) ⊙ (g − Σ_j y ⊙ g)`,
/// each row's sum in order of the key from `-0`, each product rounded before it is added. A
/// group of sixteen rows is read up to its last visible key only (beyond, [`key_major`] may not
/// have computed it) and gets zeros after it, where its probabilities are zeros.
#[target_feature(enable = "avx512f")]
unsafe fn softmax_grad_block(
    y: *const f32,
    g: *mut f32,
    stride: usize,
    (r0, m, n): (usize, usize, usize),
    scale: f32,
) {
    let scale_v = _mm512_set1_ps(scale);
    let groups = m.div_ceil(L);
    let at = |j: usize, grp: usize| j * stride + grp * L;
    // The keys each group sees.
    let seen: [usize; 4] = std::array::from_fn(|grp| n.min(r0 + grp * L + L));
    // Each row's `Σ_j y ⊙ g`, the groups of sixteen rows side by side (four independent
    // chains, each row's still in order of the key).
    let mut dots = [_mm512_set1_ps(-0.0); 4];
    for j in 0..seen[groups - 1] {
        for (grp, dot) in dots.iter_mut().enumerate().take(groups) {
            if j >= seen[grp] {
                continue;
            }
            let rows = first(m - grp * L);
            let (yv, gv) = (
                _mm512_maskz_loadu_ps(rows, y.add(at(j, grp))),
                _mm512_maskz_loadu_ps(rows, g.add(at(j, grp))),
            );
            *dot = _mm512_add_ps(*dot, _mm512_mul_ps(yv, gv));
        }
    }
    for (grp, &dot) in dots.iter().enumerate().take(groups) {
        let at = |j: usize| at(j, grp);
        let rows = first(m - grp * L);
        let (yj, gj) = (
            |j: usize| _mm512_maskz_loadu_ps(rows, y.add(at(j))),
            |j: usize| _mm512_maskz_loadu_ps(rows, g.add(at(j))),
        );
        for j in 0..seen[grp] {
            let out = _mm512_mul_ps(_mm512_mul_ps(scale_v, yj(j)), _mm512_sub_ps(gj(j), dot));
            _mm512_mask_storeu_ps(g.add(at(j)), rows, out);
        }
        for j in seen[grp]..n {
            _mm512_mask_storeu_ps(g.add(at(j)), rows, _mm512_setzero_ps());
        }
    }
}

/// A problem's region: its blocks of query rows `(r0, r1)`, where each block's key-major values
/// start, and the region's size. Block `r0..r1` holds keys `0..r1` of its rows, [`ROWS`] values
/// per key (whole vectors, so that every vector of an aligned region is aligned).
struct Layout {
    blocks: Vec<(usize, usize)>,
    starts: Vec<usize>,
    size: usize,
}

impl Layout {
    fn new(t: usize) -> Layout {
        let blocks: Vec<(usize, usize)> = blocks(t).collect();
        let mut starts = Vec::with_capacity(blocks.len());
        let mut size = 0;
        for &(_, r1) in &blocks {
            starts.push(size);
            size += r1 * ROWS;
        }
        Layout {
            blocks,
            starts,
            size,
        }
    }

    /// Each block of `region` as a run of its rows (for reading a key's values across blocks).
    fn runs(&self, region: *const f32) -> Vec<Run> {
        self.blocks
            .iter()
            .zip(&self.starts)
            .map(|(&(r0, r1), &start)| Run {
                p: region.wrapping_add(start),
                j0: r0,
                j1: r1,
            })
            .collect()
    }

    /// The blocks with where each starts.
    fn each(&self) -> impl Iterator<Item = ((usize, usize), usize)> + '_ {
        self.blocks.iter().copied().zip(self.starts.iter().copied())
    }
}

/// `x yᵀ` for a block of query rows `r0..r1` of `x` and keys `0..r1` of `y` (rows of `d` values,
/// each its given distance apart), into the block's key-major region `block`: the scores
/// `q kᵀ`, or the probabilities' gradient `dz vᵀ`. `xt` is scratch of `d · ROWS` values.
///
/// # Safety
/// The CPU must have AVX-512F; `x` must hold the block's rows, `y` rows `0..r1`, and `block`
/// room for keys `0..r1`.
#[target_feature(enable = "avx512f")]
unsafe fn key_major_block(
    (x, xs): (*const f32, usize),
    (y, rs): (*const f32, usize),
    d: usize,
    (r0, r1): (usize, usize),
    block: *mut f32,
    xt: &mut [f32],
) {
    let m = r1 - r0;
    pack_transposed(x, xs, r0, m, d, xt);
    key_major(xt, y, rs, d, (r0, r1), block, ROWS, row_masks(m));
}

/// `out = p y` for a block of query rows `r0..r1` whose key-major values `p` (probabilities or
/// score gradients) start at `block`: the output `p v`, or the queries' gradient `ds k`.
///
/// # Safety
/// The CPU must have AVX-512F; `block` must hold the block's values for keys `0..r1`, `y` rows
/// `0..r1` of `d` values, and `out` room for the block's rows.
#[target_feature(enable = "avx512f")]
unsafe fn block_times(
    (block, r0, r1): (*const f32, usize, usize),
    y: (*const f32, usize),
    d: usize,
    out: (*mut f32, usize),
) {
    let run = Run {
        p: block,
        j0: 0,
        j1: r1,
    };
    let rows = r1 - r0;
    row_major(&[run], (0, 1, ROWS), Causal::Queries(r0), rows, y, d, out);
}

/// One problem forward: its output rows into `z` (`zs` apart) and its probabilities into the
/// region `pt` (laid out as `lay`); `xt` is scratch of `d · ROWS` values.
///
/// # Safety
/// The CPU must have AVX-512F and [`serves`] `h.d`; the operands must hold `t` rows, `z` too,
/// and `pt` the region's values.
#[target_feature(enable = "avx512f")]
unsafe fn forward(h: Heads, lay: &Layout, scale: f32, z: *mut f32, pt: *mut f32, xt: &mut [f32]) {
    let Heads { q, k, v, rs, zs, d } = h;
    for ((r0, r1), start) in lay.each() {
        let block = pt.add(start);
        key_major_block((q, rs), (k, rs), d, (r0, r1), block, xt);
        softmax_block(block, ROWS, r0, r1 - r0, r1, scale);
        block_times((block, r0, r1), (v, rs), d, (z.add(r0 * zs), zs));
    }
}

/// One problem backward from the output's gradient `dz`: the gradients of `q`, `k` and `v`
/// (rows `rs` apart, as the operands') from the kept probabilities `pt`; `ds` is scratch of the
/// region's size, `xt` of `d · ROWS`.
///
/// # Safety
/// As [`forward`]; `pt` must be what it wrote for these operands.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn backward(
    h: Heads,
    lay: &Layout,
    scale: f32,
    pt: *const f32,
    dz: *const f32,
    [dq, dk, dv]: [*mut f32; 3],
    ds: *mut f32,
    xt: &mut [f32],
) {
    let Heads { q, k, v, rs, zs, d } = h;
    for ((r0, r1), start) in lay.each() {
        let block = ds.add(start);
        key_major_block((dz, zs), (v, rs), d, (r0, r1), block, xt);
        softmax_grad_block(pt.add(start), block, ROWS, (r0, r1 - r0, r1), scale);
        block_times((block, r0, r1), (k, rs), d, (dq.add(r0 * rs), rs));
    }
    // Keys of a block are seen from the block's first row on: the runs of the blocks from
    // there, each read at these keys' values.
    let (p_runs, ds_runs) = (lay.runs(pt), lay.runs(ds));
    for (kb, &(c0, c1)) in lay.blocks.iter().enumerate() {
        let (keys, at) = (c1 - c0, (c0 * ROWS, ROWS, 1));
        let causal = Causal::Keys(c0);
        let (dv, dk) = ((dv.add(c0 * rs), rs), (dk.add(c0 * rs), rs));
        row_major(&p_runs[kb..], at, causal, keys, (dz, zs), d, dv);
        row_major(&ds_runs[kb..], at, causal, keys, (q, rs), d, dk);
    }
}

/// The first 64-byte-aligned value of `v` (which has 15 values to spare for it), from the
/// address itself (`align_offset` may decline to answer).
fn aligned(v: *mut f32) -> *mut f32 {
    let bytes = (64 - (v as usize & 63)) & 63;
    v.wrapping_add(bytes / std::mem::size_of::<f32>())
}

/// The whole operation forward on the AVX-512 path: the output by position and every
/// problem's key-major probabilities.
pub(super) fn forward_all(s: Shape4, scale: f32, qkv: [&[f32]; 3]) -> (Vec<f32>, Probs) {
    let lay = Layout::new(s.t);
    let region = lay.size;
    let mut z: Vec<f32> = Vec::with_capacity(s.len());
    let mut p: Probs = Vec::with_capacity(s.problems() * region + 15);
    // SAFETY: `MaybeUninit<f32>` needs no initialisation.
    unsafe { p.set_len(s.problems() * region + 15) };
    let (zp, pp) = (
        Out(z.as_mut_ptr()),
        Out(aligned(p.as_mut_ptr().cast::<f32>())),
    );
    each_problem(s, s.d * ROWS, |u, xt| {
        let (zp, pp) = (zp, pp);
        // SAFETY: the caller chose this path after `serves(d)` on a CPU with AVX-512F; problem
        // `u` reads its head's columns of `t` rows and writes its own head's columns of `z`
        // and its own region of probabilities (`u · region` on).
        unsafe {
            forward(
                heads(s, u, qkv),
                &lay,
                scale,
                zp.0.add(s.base(u)),
                pp.0.add(u * region),
                xt,
            )
        }
    });
    // SAFETY: every problem wrote its head's columns of all `t` rows.
    unsafe { z.set_len(s.len()) };
    (z, p)
}

/// The gradients of `q`, `k` and `v` on the AVX-512 path, from [`forward_all`]'s probabilities,
/// written through `grads` in the operands' layout.
///
/// # Safety
/// Each of `grads` must have room for every problem's rows where its operand has them.
pub(super) unsafe fn backward_all(
    s: Shape4,
    scale: f32,
    qkv: [&[f32]; 3],
    p: &Probs,
    dz: &[f32],
    grads: [Out; 3],
) {
    let lay = Layout::new(s.t);
    let region = lay.size;
    each_problem(s, region + 15 + s.d * ROWS, |u, scratch| {
        // `forward_all`'s allocation, aligned the same way.
        let pt = aligned(p.as_ptr().cast::<f32>().cast_mut()).cast_const();
        let base = s.in_base(u);
        let (ds, xt) = scratch.split_at_mut(region + 15);
        // SAFETY: as in `forward_all`; `p` holds what it wrote for these operands, and each
        // problem writes its own head's columns of the three gradients.
        unsafe {
            backward(
                heads(s, u, qkv),
                &lay,
                scale,
                pt.add(u * region),
                dz[s.base(u)..].as_ptr(),
                grads.map(|o| o.0.add(base)),
                aligned(ds.as_mut_ptr()),
                xt,
            )
        }
    });
}

/// Problem `u`'s operands.
fn heads(s: Shape4, u: usize, [q, k, v]: [&[f32]; 3]) -> Heads {
    let base = s.in_base(u);
    Heads {
        q: q[base..].as_ptr(),
        k: k[base..].as_ptr(),
        v: v[base..].as_ptr(),
        rs: s.in_stride() as usize,
        zs: s.out_stride() as usize,
        d: s.d,
    }
}
