//! `onesᵀ · grad`, the gradient of a bias added to every row, summed as gemm sums that product
//! (a matrix-vector product over the rows): each column's sum starts from its first row's value
//! and adds the next rows' in order.
//!
//! The sums run on the calling thread. Split by columns over the pool, as they once were, each
//! thread read part of every row, rows the previous operation had left in the other core's
//! cache: `assay bench lm --threads 2` trained 3 % faster with the sums on one thread. The
//! ReLU's gradient (`bias.rs`) continues its first run's sums over the other runs' rows with
//! [`add_rows`]. On CPUs with AVX-512 the sums of up to 128 columns stay in registers over all
//! rows (sixteen lanes per register, one addition per lane as in the scalar loop, so the same
//! bits), instead of being loaded, added and stored four lanes at a time for every row.

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
/// is ignored) to `sums`, one row after another.
pub(super) fn add_rows(sums: &mut [f32], rows: &[f32]) {
    let d = sums.len();
    if d == 0 || rows.len() < d {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F; `rows` holds at least one whole row of `d` values.
        unsafe { avx512::add_rows(sums, rows) };
        return;
    }
    for row in rows.chunks_exact(d) {
        sums.iter_mut().zip(row).for_each(|(s, &g)| *s += g);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Columns summed per sweep over the rows: eight registers of sixteen.
    const SWEEP: usize = 128;

    /// [`super::add_rows`], in sweeps of up to [`SWEEP`] columns.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; `rows.len() >= sums.len() > 0`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_rows(sums: &mut [f32], rows: &[f32]) {
        let d = sums.len();
        let mut lo = 0;
        while lo < d {
            let width = (d - lo).min(SWEEP);
            let sweep = Sweep {
                rows: rows.as_ptr().add(lo),
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
        for (n, d) in [
            (1, 3),
            (2, 17),
            (5, 16),
            (9, 128),
            (300, 129),
            (64, 385),
            (3, 1000),
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
            let got = column_sums(&g, d);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{n} x {d}");
        }
    }
}
