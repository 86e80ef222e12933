//! `onesᵀ · grad`, the gradient of a bias added to every row, summed as gemm sums that product
//! (a matrix-vector product over the rows): each column's sum starts from its first row's value
//! and adds the next rows' in order.
//!
//! Large sums split their columns over the pool, one block of whole sixteen-lane vectors per
//! thread, so each column is still one chain over the rows in order. The ReLU's gradient
//! (`bias.rs`) continues its first run's sums over the other runs' rows with [`add_rows`]. On
//! CPUs with AVX-512 the sums of up to 128 columns stay in registers over all rows (sixteen
//! lanes per register, one addition per lane as in the scalar loop, so the same bits).
//!
//! History, for whoever splits them again: split by columns with candle's loop, loading,
//! adding and storing four lanes per row, the sums were slower than on one thread (each thread
//! read part of every row, half of them from the other core's cache), so they ran on the
//! calling thread; with the register sums the split by columns is back: with AdamW's update
//! split as well, within the noise of `assay bench lm --threads 2` (+0.5 %, A/B), but no longer
//! a stretch on one thread during which the pool's other threads wait.

use super::PARALLEL_FROM;
use assay_sdk::rayon::prelude::*;

/// Column sums of `grad`, rows of `d` values: `out[j] = ((grad[0][j] + grad[1][j]) + ...)`.
pub(super) fn column_sums(grad: &[f32], d: usize) -> Vec<f32> {
    if grad.len() < d || d == 0 {
        return vec![0.0; d];
    }
    let mut sums = grad[..d].to_vec();
    add_rows(&mut sums, &grad[d..]);
    sums
}

/// Adds the rows of `rows` (rows of `sums.len()` values; a remainder past the last whole row
/// is ignored) to `sums`, one row after another. Large sums split their columns over the pool
/// (whole vectors of sixteen each), which keeps each column's order.
pub(super) fn add_rows(sums: &mut [f32], rows: &[f32]) {
    let d = sums.len();
    if d == 0 || rows.len() < d {
        return;
    }
    let threads = assay_sdk::rayon::current_num_threads();
    if threads > 1 && rows.len() >= PARALLEL_FROM && d >= 32 {
        let width = d.div_ceil(threads).div_ceil(16) * 16;
        sums.par_chunks_mut(width)
            .enumerate()
            .for_each(|(i, part)| add_columns(part, rows, d, i * width));
        return;
    }
    add_columns(sums, rows, d, 0);
}

/// [`add_rows`] for the columns `lo..lo + sums.len()` of rows of `d` values.
fn add_columns(sums: &mut [f32], rows: &[f32], d: usize, lo: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F; `rows` holds at least one whole row of `d` values, and
        // the columns lie within a row.
        unsafe { avx512::add_columns(sums, rows, d, lo) };
        return;
    }
    for row in rows.chunks_exact(d) {
        sums.iter_mut().zip(&row[lo..]).for_each(|(s, &g)| *s += g);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Columns summed per sweep over the rows: eight registers of sixteen.
    const SWEEP: usize = 128;

    /// [`super::add_columns`], in sweeps of up to [`SWEEP`] columns.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; `rows.len() >= d > 0` and `lo + sums.len() <= d`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_columns(sums: &mut [f32], rows: &[f32], d: usize, first: usize) {
        let n = sums.len();
        let mut lo = 0;
        while lo < n {
            let width = (n - lo).min(SWEEP);
            let sweep = Sweep {
                rows: rows.as_ptr().add(first + lo),
                d,
                count: rows.len() / d,
                width,
                sums: sums.as_mut_ptr().add(lo),
            };
            match width.div_ceil(16) {
                1 => sweep.run::<1>(),
                2 => sweep.run::<2>(),
                3 => sweep.run::<3>(),
                4 => sweep.run::<4>(),
                5 => sweep.run::<5>(),
                6 => sweep.run::<6>(),
                7 => sweep.run::<7>(),
                _ => sweep.run::<8>(),
            }
            lo += width;
        }
    }

    /// `width` columns of `count` rows `d` apart (`rows` at the first row's first of them),
    /// added to the `width` sums at `sums`.
    struct Sweep {
        rows: *const f32,
        d: usize,
        count: usize,
        width: usize,
        sums: *mut f32,
    }

    impl Sweep {
        /// The sums in `V` registers (`16 (V - 1) < width <= 16 V`; the last one masked).
        #[target_feature(enable = "avx512f")]
        unsafe fn run<const V: usize>(&self) {
            let masks: [__mmask16; V] = std::array::from_fn(|v| {
                let left = self.width - 16 * v;
                if left >= 16 {
                    0xffff
                } else {
                    (1u16 << left) - 1
                }
            });
            let mut sums: [__m512; V] =
                std::array::from_fn(|v| _mm512_maskz_loadu_ps(masks[v], self.sums.add(16 * v)));
            for r in 0..self.count {
                let row = self.rows.add(r * self.d);
                for v in 0..V {
                    let g = _mm512_maskz_loadu_ps(masks[v], row.add(16 * v));
                    sums[v] = _mm512_add_ps(sums[v], g);
                }
            }
            for v in 0..V {
                _mm512_mask_storeu_ps(self.sums.add(16 * v), masks[v], sums[v]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::column_sums;

    /// Both paths (the AVX-512 one where the CPU has it) against the plain loop, with zeros of
    /// both signs, infinities and a NaN among the values, at widths around the sweep's.
    #[test]
    fn column_sums_add_each_column_in_row_order() {
        // On a pool of three threads, so that the sizes above the threshold split their
        // columns on any machine (the default pool has one thread on one core).
        let pool = assay_sdk::rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for (n, d) in [
            (1, 3),
            (2, 17),
            (5, 16),
            (9, 128),
            (300, 129),
            (64, 385),
            (3, 1000),
            // Above the parallel threshold: the columns split over the pool.
            (1100, 129),
            (520, 385),
        ] {
            let mut g: Vec<f32> = (0..n * d)
                .map(|i| ((i * 7919 % 1013) as f32 - 506.0) * 1.37e-3)
                .collect();
            g[0] = -0.0;
            if n > 1 {
                g[d] = -0.0;
                g[1] = 0.0;
                g[d + 1] = -0.0;
                g[d + 2] = f32::INFINITY;
                g[2] = f32::NEG_INFINITY;
            }
            g[n * d - 1] = f32::NAN;
            let mut want = g[..d].to_vec();
            for row in g.chunks_exact(d).skip(1) {
                for (s, &x) in want.iter_mut().zip(row) {
                    *s += x;
                }
            }
            let got = pool.install(|| column_sums(&g, d));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{n} x {d}");
        }
    }
}
