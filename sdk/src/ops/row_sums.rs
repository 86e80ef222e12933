//! Sums of sixteen rows at once, each summed in order: what a plain loop `s += x[j]` gives
//! each row, to the bit, but with the sums in the lanes of two vectors. Eight columns at a time
//! are loaded from each eight rows and transposed, so that each vector addition adds the next
//! column to eight rows' sums; the two vectors' additions overlap. The attention softmax sums
//! its rows this way: a scalar loop over a few rows waits on each addition's latency and runs
//! out of registers.

/// Rows summed together.
pub(crate) const LANES: usize = 16;

/// `init + Σ_j rows[r][j]` for each row, in order of `j`; the rows have one length.
pub(crate) fn sums(rows: [&[f32]; LANES], init: f32) -> [f32; LANES] {
    let w = rows[0].len();
    let rows = rows.map(|r| &r[..w]);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); the rows have `w` values each.
        return unsafe { avx2::sums(rows, None, w, init) };
    }
    let mut s = [init; LANES];
    for j in 0..w {
        for (s, row) in s.iter_mut().zip(rows) {
            *s += row[j];
        }
    }
    s
}

/// `init + Σ_j a[r][j] · b[r][j]` for each row, in order of `j` (each product rounded, then
/// added); the rows have one length.
pub(crate) fn dots(a: [&[f32]; LANES], b: [&[f32]; LANES], init: f32) -> [f32; LANES] {
    let w = a[0].len();
    let (a, b) = (a.map(|r| &r[..w]), b.map(|r| &r[..w]));
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); the rows have `w` values each.
        return unsafe { avx2::sums(a, Some(b), w, init) };
    }
    let mut s = [init; LANES];
    for j in 0..w {
        for (r, s) in s.iter_mut().enumerate() {
            *s += a[r][j] * b[r][j];
        }
    }
    s
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::LANES;

    /// Eight vectors of eight, transposed: lane `r` of output `c` is lane `c` of input `r`.
    #[inline(always)]
    unsafe fn transpose(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }

    /// The sums (of `a`, or of `a · b`), eight columns at a time, then the rest in order.
    ///
    /// # Safety
    /// AVX2 must be available and every row must hold `w` values.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sums(
        a: [&[f32]; LANES],
        b: Option<[&[f32]; LANES]>,
        w: usize,
        init: f32,
    ) -> [f32; LANES] {
        let mut acc = [_mm256_set1_ps(init); 2];
        let mut j = 0;
        // Columns j..j + 8 of rows `half · 8 ..`, one vector per row.
        let load = |half: usize, j: usize| -> [__m256; 8] {
            std::array::from_fn(|r| {
                let r = half * 8 + r;
                let x = _mm256_loadu_ps(a[r].as_ptr().add(j));
                match b {
                    Some(b) => _mm256_mul_ps(x, _mm256_loadu_ps(b[r].as_ptr().add(j))),
                    None => x,
                }
            })
        };
        while j + 8 <= w {
            let (lo, hi) = (transpose(load(0, j)), transpose(load(1, j)));
            for (l, h) in lo.into_iter().zip(hi) {
                acc[0] = _mm256_add_ps(acc[0], l);
                acc[1] = _mm256_add_ps(acc[1], h);
            }
            j += 8;
        }
        let mut s = [0f32; LANES];
        _mm256_storeu_ps(s.as_mut_ptr(), acc[0]);
        _mm256_storeu_ps(s.as_mut_ptr().add(8), acc[1]);
        for j in j..w {
            for (r, s) in s.iter_mut().enumerate() {
                *s += match b {
                    Some(b) => a[r][j] * b[r][j],
                    None => a[r][j],
                };
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_dots_are_the_plain_loops_bit_for_bit() {
        let mut x = 0.3f32;
        let mut next = || {
            x = (x * 3.7 + 0.11).fract();
            (x - 0.5) * 1e3f32.powf(x)
        };
        for w in [0usize, 3, 8, 19, 64, 257] {
            let a: Vec<Vec<f32>> = (0..LANES)
                .map(|_| (0..w).map(|_| next()).collect())
                .collect();
            let b: Vec<Vec<f32>> = (0..LANES)
                .map(|_| (0..w).map(|_| next()).collect())
                .collect();
            let (ar, br) = (
                std::array::from_fn(|r| a[r].as_slice()),
                std::array::from_fn(|r| b[r].as_slice()),
            );
            let (s, d) = (sums(ar, 0.0), dots(ar, br, -0.0));
            for r in 0..LANES {
                let mut plain = 0f32;
                for &v in &a[r] {
                    plain += v;
                }
                assert_eq!(s[r].to_bits(), plain.to_bits(), "sum {w} {r}");
                let plain: f32 = a[r].iter().zip(&b[r]).map(|(x, y)| x * y).sum();
                assert_eq!(d[r].to_bits(), plain.to_bits(), "dot {w} {r}");
            }
        }
    }
}
