//! The AVX-512 path's register-tiled products: key-major (a block's scores and their gradient,
//! sixteen query rows per vector) and row-major (outputs and the operands' gradients, from
//! key-major matrices), each element one chain of multiply-adds over its inner index in order.

use std::arch::x86_64::*;

use super::{L, ROWS};

/// Keys per tile of the key-major products.
const KEYS: usize = 6;

/// Key-major products of a block: `dst[j · stride + r] = Σ_c xt[c][r] · y[j][c]` (one chain over `c`
/// in order, `xt`'s value first in each multiply-add) for keys `0..n` and the block's rows
/// (stores masked by `masks`). Scores are `q kᵀ`; the probabilities' gradient `dz vᵀ`.
///
/// The block's rows are queries `r0..`: a group of sixteen rows that sees none of a tile's
/// keys (its last query before the tile's first key) is not computed, and its lanes there are
/// left as they were. Only the diagonal's tiles skip groups; the softmax and its gradient read
/// each group up to its last visible key only, and write the zeros beyond.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn key_major(
    xt: &[f32],
    y: *const f32,
    rs: usize,
    d: usize,
    (r0, n): (usize, usize),
    dst: *mut f32,
    stride: usize,
    masks: [__mmask16; 4],
) {
    // The first group of rows that sees key `j`.
    let group = |j: usize| j.saturating_sub(r0) / L;
    macro_rules! tile {
        ($n:expr, $j:expr) => {{
            let j = $j;
            let at = (xt, y.add(j * rs), rs, d, dst.add(j * stride), stride, masks);
            match group(j) {
                0 => key_major_tile::<$n, 0>(at),
                1 => key_major_tile::<$n, 1>(at),
                2 => key_major_tile::<$n, 2>(at),
                _ => key_major_tile::<$n, 3>(at),
            }
        }};
    }
    let mut j = 0;
    while j + KEYS <= n {
        tile!(KEYS, j);
        j += KEYS;
    }
    while j < n {
        tile!(1, j);
        j += 1;
    }
}

/// [`key_major`] for `N` keys, the groups of rows from `G0` on.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn key_major_tile<const N: usize, const G0: usize>(
    (xt, y, rs, d, dst, stride, masks): (
        &[f32],
        *const f32,
        usize,
        usize,
        *mut f32,
        usize,
        [__mmask16; 4],
    ),
) {
    let mut acc = [[_mm512_setzero_ps(); 4]; N];
    let xt = xt.as_ptr();
    for c in 0..d {
        let x: [__m512; 4] = std::array::from_fn(|g| {
            if g >= G0 {
                _mm512_loadu_ps(xt.add(c * ROWS + g * L))
            } else {
                _mm512_setzero_ps()
            }
        });
        for (jj, acc) in acc.iter_mut().enumerate() {
            let b = _mm512_set1_ps(*y.add(jj * rs + c));
            for g in G0..4 {
                acc[g] = _mm512_fmadd_ps(x[g], b, acc[g]);
            }
        }
    }
    for (jj, acc) in acc.iter().enumerate() {
        for g in G0..4 {
            _mm512_mask_storeu_ps(dst.add(jj * stride + g * L), masks[g], acc[g]);
        }
    }
}

/// A run of the inner index `j0..j1` of a key-major matrix: element `(r, j)` at
/// `p + first + r · p_row + (j − j0) · p_col` (`first`, `p_row` and `p_col` given with it).
#[derive(Clone, Copy)]
pub(super) struct Run {
    pub p: *const f32,
    pub j0: usize,
    pub j1: usize,
}

/// Which part of a row's chain can be non-zero, from the causal mask: a tile of rows reads
/// only the inner indices `j` its rows see.
#[derive(Clone, Copy)]
pub(super) enum Causal {
    /// The rows are queries from this one, `j` keys: query `i` sees keys `j ≤ i`.
    Queries(usize),
    /// The rows are keys from this one, `j` queries: key `c` is seen by queries `j ≥ c`.
    Keys(usize),
}

impl Causal {
    /// The inner indices `[start, end)` that a tile of `rows` rows from row `r` reads.
    fn bounds(self, r: usize, rows: usize) -> (usize, usize) {
        match self {
            Causal::Queries(first) => (0, first + r + rows),
            Causal::Keys(first) => (first + r, usize::MAX),
        }
    }
}

/// Row-major products from a key-major matrix: `out[r] = Σ_j p(r, j) · y[j]` for `rows` rows
/// (one chain over `j` through the runs in order, `p`'s value first), `d` values each, `y`'s
/// and `out`'s rows each their given distance apart. The output `p v`, the queries' gradient `ds k`; with `p` read along a key
/// (`p` transposed, its runs one per block of rows), the keys' and values' gradients.
///
/// Each tile of rows reads only the `j` that `causal` lets its rows see: the terms left out
/// multiply masked zeros, so each chain is the full one less terms that add nothing (see the
/// module's notes on zeros' signs).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn row_major(
    runs: &[Run],
    (first, p_row, p_col): (usize, usize, usize),
    causal: Causal,
    rows: usize,
    (y, rs): (*const f32, usize),
    d: usize,
    (out, out_rs): (*mut f32, usize),
) {
    macro_rules! tiles {
        ($dv:literal, $big:literal) => {{
            let mut r = 0;
            let tile = |r: usize| (first + r * p_row, out.add(r * out_rs), out_rs);
            while r + $big <= rows {
                let b = causal.bounds(r, $big);
                row_major_tile::<$dv, $big>(runs, tile(r), (p_row, p_col), b, y, rs);
                r += $big;
            }
            while r + 4 <= rows {
                let b = causal.bounds(r, 4);
                row_major_tile::<$dv, 4>(runs, tile(r), (p_row, p_col), b, y, rs);
                r += 4;
            }
            while r < rows {
                let b = causal.bounds(r, 1);
                row_major_tile::<$dv, 1>(runs, tile(r), (p_row, p_col), b, y, rs);
                r += 1;
            }
        }};
    }
    match d / L {
        1 => tiles!(1, 12),
        2 => tiles!(2, 12),
        3 => tiles!(3, 8),
        _ => tiles!(4, 6),
    }
}

/// [`row_major`] for `R` rows of `DV` vectors, from `from` values into each run, into `out`
/// (rows `out_rs` apart), over the inner indices `start..end` of the runs.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn row_major_tile<const DV: usize, const R: usize>(
    runs: &[Run],
    (from, out, out_rs): (usize, *mut f32, usize),
    (p_row, p_col): (usize, usize),
    (start, end): (usize, usize),
    y: *const f32,
    rs: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); DV]; R];
    for run in runs {
        let (j0, j1) = (run.j0.max(start), run.j1.min(end));
        if j0 >= j1 {
            continue;
        }
        let mut pj = run.p.add(from + (j0 - run.j0) * p_col);
        for j in j0..j1 {
            let yv: [__m512; DV] = std::array::from_fn(|c| _mm512_loadu_ps(y.add(j * rs + c * L)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let b = _mm512_set1_ps(*pj.add(r * p_row));
                for (a, y) in acc.iter_mut().zip(yv) {
                    *a = _mm512_fmadd_ps(b, y, *a);
                }
            }
            pj = pj.add(p_col);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (c, a) in acc.iter().enumerate() {
            _mm512_storeu_ps(out.add(r * out_rs + c * L), *a);
        }
    }
}
