//! `f32::exp` over a slice, several lanes at a time, with the same bits.
//!
//! candle's exponential (and so its softmax and cross-entropy) calls `f32::exp`, which on
//! Linux is glibc's `expf`; on x86-64 with FMA glibc runs its FMA build of that function. Its
//! algorithm (Szabolcs Nagy's, in glibc since 2.28) is a handful of `f64` operations: a
//! reduction `x · 32/ln 2 = k + r`, a 32-entry table of `2^(i/32)`, a cubic in `r`, a product
//! and one rounding to `f32`. Done in the same order with the same fused multiply-adds, four
//! `f64` lanes at a time give the same bits as the scalar calls, at a fraction of their cost
//! (one call per element was a tenth of the tickets MLP's step).
//!
//! With AVX-512F the same operations run on eight `f64` lanes, sixteen values per call
//! ([`exp16`], which the causal attention's softmax uses on its registers).
//!
//! Lanes that leave the main path (`|x| ≥ 88`, infinities, NaN) are computed by `f32::exp`
//! itself. On first use the vector path is checked against `f32::exp` on a spread of inputs,
//! and it is used only if every one agrees (another C library, or a machine without AVX2 and
//! FMA, keeps the scalar calls), so results never depend on which path ran.

// The table, the constants and the probes serve the x86-64 vector path only.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use std::sync::OnceLock;

/// `2^(i/32)` as `f64` bits, minus `i << 47` (the exponent the index adds back).
const TABLE: [u64; 32] = [
    0x3ff0000000000000,
    0x3fefd9b0d3158574,
    0x3fefb5586cf9890f,
    0x3fef9301d0125b51,
    0x3fef72b83c7d517b,
    0x3fef54873168b9aa,
    0x3fef387a6e756238,
    0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715,
    0x3feef1a7373aa9cb,
    0x3feedea64c123422,
    0x3feece086061892d,
    0x3feebfdad5362a27,
    0x3feeb42b569d4f82,
    0x3feeab07dd485429,
    0x3feea47eb03a5585,
    0x3feea09e667f3bcd,
    0x3fee9f75e8ec5f74,
    0x3feea11473eb0187,
    0x3feea589994cce13,
    0x3feeace5422aa0db,
    0x3feeb737b0cdc5e5,
    0x3feec49182a3f090,
    0x3feed503b23e255d,
    0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47,
    0x3fef199bdd85529c,
    0x3fef3720dcef9069,
    0x3fef5818dcfba487,
    0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da,
    0x3fefd0765b6e4540,
];
/// `32 / ln 2`.
const INV_LN2_N: u64 = 0x40471547652b82fe;
/// The cubic's coefficients for `r` scaled by 1/32: `r³`, `r²` and `r`.
const C0: u64 = 0x3ebc6af84b912394;
const C1: u64 = 0x3f2ebfce50fac4f3;
const C2: u64 = 0x3f962e42ff0c52d6;
/// `1.5 · 2⁵²`: adding it rounds to an integer held in the low bits.
const SHIFT: u64 = 0x4338000000000000;
/// The top 12 bits of `|x|` from which `expf` leaves its main path (`88.0f32`).
const SPECIAL_TOP: u32 = 0x42b;

/// Replaces every element of `xs` by its exponential, bit for bit what `f32::exp` gives.
///
/// ```
/// let mut xs = [0.0f32, 1.0, -3.5, 100.0, f32::NEG_INFINITY];
/// let expected: Vec<f32> = xs.iter().map(|x| x.exp()).collect();
/// assay_sdk::ops::exp_in_place(&mut xs);
/// assert_eq!(xs.to_vec(), expected);
/// ```
pub fn exp_in_place(xs: &mut [f32]) {
    if wide_path_agrees() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `wide_path_agrees` is true only where AVX-512F is available.
        unsafe {
            exp_avx512(xs)
        };
    } else if vector_path_agrees() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `vector_path_agrees` is true only where AVX2 and FMA are available.
        unsafe {
            exp_avx2(xs)
        };
    } else {
        xs.iter_mut().for_each(|x| *x = x.exp());
    }
}

/// Whether this machine has the vector path and it agrees with `f32::exp` (checked once).
fn vector_path_agrees() -> bool {
    static AGREES: OnceLock<bool> = OnceLock::new();
    *AGREES.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            let mut xs = probes();
            let expected: Vec<u32> = xs.iter().map(|x| x.exp().to_bits()).collect();
            // SAFETY: AVX2 and FMA were just detected.
            unsafe { exp_avx2(&mut xs) };
            return xs.iter().map(|x| x.to_bits()).eq(expected);
        }
        false
    })
}

/// Whether this machine has the sixteen-lane path (AVX-512F) and it agrees with `f32::exp`
/// (checked once, on the same inputs as the four-lane path).
pub(crate) fn wide_path_agrees() -> bool {
    static AGREES: OnceLock<bool> = OnceLock::new();
    *AGREES.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") {
            let mut xs = probes();
            let expected: Vec<u32> = xs.iter().map(|x| x.exp().to_bits()).collect();
            // SAFETY: AVX-512F was just detected.
            unsafe { exp_avx512(&mut xs) };
            return xs.iter().map(|x| x.to_bits()).eq(expected);
        }
        false
    })
}

/// Inputs the vector path is checked on: every 16,411th `f32` bit pattern below the overflow
/// threshold in magnitude (about 136,000, both signs), and the edges of the main path.
fn probes() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..0x42c0_0000u32)
        .step_by(16411)
        .flat_map(|b| [f32::from_bits(b), -f32::from_bits(b)])
        .collect();
    xs.extend([
        87.99999, 88.0, 88.72283, 88.72284, -87.99999, -88.0, -103.97, -104.0,
    ]);
    xs
}

/// Four lanes at a time in `f64`, as glibc's FMA build of `expf` computes each.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_avx2(xs: &mut [f32]) {
    use std::arch::x86_64::*;
    let inv = _mm256_set1_pd(f64::from_bits(INV_LN2_N));
    let shift = _mm256_set1_pd(f64::from_bits(SHIFT));
    let (c0, c1, c2) = (
        _mm256_set1_pd(f64::from_bits(C0)),
        _mm256_set1_pd(f64::from_bits(C1)),
        _mm256_set1_pd(f64::from_bits(C2)),
    );
    let one = _mm256_set1_pd(1.0);
    let low5 = _mm256_set1_epi64x(31);
    let last_regular = _mm_set1_epi32(SPECIAL_TOP as i32 - 1);
    let mut chunks = xs.chunks_exact_mut(4);
    for c in &mut chunks {
        let x = _mm_loadu_ps(c.as_ptr());
        let top = _mm_and_si128(
            _mm_srli_epi32::<20>(_mm_castps_si128(x)),
            _mm_set1_epi32(0x7ff),
        );
        if _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(top, last_regular))) != 0 {
            c.iter_mut().for_each(|x| *x = x.exp());
            continue;
        }
        let xd = _mm256_cvtps_pd(x);
        // k: x · 32/ln 2 rounded to an integer, kept in the low bits of kd.
        let kd = _mm256_fmadd_pd(inv, xd, shift);
        let ki = _mm256_castpd_si256(kd);
        let kd = _mm256_sub_pd(kd, shift);
        let r = _mm256_fmsub_pd(inv, xd, kd);
        // s = 2^(k/32): the table entry for k mod 32, the exponent raised by k / 32.
        let t = _mm256_i64gather_epi64::<8>(TABLE.as_ptr().cast(), _mm256_and_si256(ki, low5));
        let s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64::<47>(ki)));
        let z = _mm256_fmadd_pd(r, c0, c1);
        let r2 = _mm256_mul_pd(r, r);
        let y = _mm256_fmadd_pd(r, c2, one);
        let y = _mm256_mul_pd(_mm256_fmadd_pd(z, r2, y), s);
        _mm_storeu_ps(c.as_mut_ptr(), _mm256_cvtpd_ps(y));
    }
    chunks
        .into_remainder()
        .iter_mut()
        .for_each(|x| *x = x.exp());
}

/// [`exp16`] over a slice, sixteen values at a time.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn exp_avx512(xs: &mut [f32]) {
    use std::arch::x86_64::*;
    let mut chunks = xs.chunks_exact_mut(16);
    for c in &mut chunks {
        _mm512_storeu_ps(c.as_mut_ptr(), exp16(_mm512_loadu_ps(c.as_ptr())));
    }
    chunks
        .into_remainder()
        .iter_mut()
        .for_each(|x| *x = x.exp());
}

/// The exponential of sixteen lanes, as two halves of eight `f64` lanes computed as glibc's FMA
/// build of `expf` computes each (the four-lane path's operations, twice as wide); lanes off
/// the main path (`|x| ≥ 88`, infinities, NaN) by `f32::exp`. Callers must check
/// [`wide_path_agrees`] before relying on its bits.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn exp16(x: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    let top = _mm512_and_si512(
        _mm512_srli_epi32::<20>(_mm512_castps_si512(x)),
        _mm512_set1_epi32(0x7ff),
    );
    let special = _mm512_cmpgt_epi32_mask(top, _mm512_set1_epi32(SPECIAL_TOP as i32 - 1));
    let lo = exp8(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    let hi = exp8(_mm512_cvtps_pd(_mm256_castpd_ps(
        _mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x)),
    )));
    let y = _mm512_castpd_ps(_mm512_insertf64x4::<1>(
        _mm512_castps_pd(_mm512_castps256_ps512(lo)),
        _mm256_castps_pd(hi),
    ));
    if special == 0 {
        return y;
    }
    off_main_path(x, y, special)
}

/// [`exp16`]'s lanes off the main path, by `f32::exp` (out of line: rare, and its buffers would
/// otherwise cost the main path registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[cold]
#[inline(never)]
unsafe fn off_main_path(
    x: std::arch::x86_64::__m512,
    y: std::arch::x86_64::__m512,
    special: u16,
) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    let (mut xs, mut ys) = ([0f32; 16], [0f32; 16]);
    _mm512_storeu_ps(xs.as_mut_ptr(), x);
    _mm512_storeu_ps(ys.as_mut_ptr(), y);
    for (l, (y, x)) in ys.iter_mut().zip(xs).enumerate() {
        if special & (1 << l) != 0 {
            *y = x.exp();
        }
    }
    _mm512_loadu_ps(ys.as_ptr())
}

/// Eight lanes of [`exp16`]'s main path, in `f64`, rounded to `f32`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn exp8(xd: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let inv = _mm512_set1_pd(f64::from_bits(INV_LN2_N));
    let shift = _mm512_set1_pd(f64::from_bits(SHIFT));
    // k: x · 32/ln 2 rounded to an integer, kept in the low bits of kd.
    let kd = _mm512_fmadd_pd(inv, xd, shift);
    let ki = _mm512_castpd_si512(kd);
    let kd = _mm512_sub_pd(kd, shift);
    let r = _mm512_fmsub_pd(inv, xd, kd);
    // s = 2^(k/32): the table entry for k mod 32, the exponent raised by k / 32.
    // The table is four vectors: two two-vector permutes pick entries `k mod 16` of each half,
    // bit 4 chooses between them (a gather does the same, several times slower).
    let part = |i: usize| _mm512_loadu_si512(TABLE[8 * i..].as_ptr().cast());
    let low = _mm512_permutex2var_epi64(part(0), ki, part(1));
    let high = _mm512_permutex2var_epi64(part(2), ki, part(3));
    let t = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(ki, _mm512_set1_epi64(16)), low, high);
    let s = _mm512_castsi512_pd(_mm512_add_epi64(t, _mm512_slli_epi64::<47>(ki)));
    let c = |bits: u64| _mm512_set1_pd(f64::from_bits(bits));
    let z = _mm512_fmadd_pd(r, c(C0), c(C1));
    let r2 = _mm512_mul_pd(r, r);
    let y = _mm512_fmadd_pd(r, c(C2), _mm512_set1_pd(1.0));
    _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_fmadd_pd(z, r2, y), s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(xs: &[f32]) {
        let mut got = xs.to_vec();
        exp_in_place(&mut got);
        for (x, g) in xs.iter().zip(&got) {
            assert_eq!(
                g.to_bits(),
                x.exp().to_bits(),
                "exp({x:e}): {g:e} against {:e}",
                x.exp()
            );
        }
    }

    #[test]
    fn every_257th_float_and_the_special_values_match_f32_exp() {
        // Both signs, every 257th bit pattern: about 16.7 million inputs, the subnormal,
        // underflowing, overflowing and NaN ranges included.
        let all: Vec<u32> = (0..=u32::MAX).step_by(257).collect();
        for bits in all.chunks(1 << 20) {
            check(&bits.iter().map(|&b| f32::from_bits(b)).collect::<Vec<_>>());
        }
        check(&[
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
        ]);
        // Lengths that leave a remainder.
        check(&[1.5, -2.25, 3.0]);
    }

    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    fn the_vector_paths_are_used_where_glibc_runs_on_avx2_and_fma() {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            assert!(vector_path_agrees());
        }
        if is_x86_feature_detected!("avx512f") {
            assert!(wide_path_agrees());
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn both_vector_paths_give_the_same_bits_on_every_257th_float() {
        if !(is_x86_feature_detected!("avx512f") && vector_path_agrees()) {
            return;
        }
        let all: Vec<f32> = (0..=u32::MAX).step_by(257).map(f32::from_bits).collect();
        for xs in all.chunks(1 << 20) {
            let (mut a, mut b) = (xs.to_vec(), xs.to_vec());
            // SAFETY: AVX-512F was just detected; AVX2 and FMA by `vector_path_agrees`.
            unsafe {
                exp_avx2(&mut a);
                exp_avx512(&mut b);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b));
        }
    }

    /// Every `f32` from -104 (where the result underflows to 0) to 89 (where it overflows):
    /// about 2.2 billion inputs, a minute or so: `cd sdk && cargo test --lib exp -- --ignored`.
    #[test]
    #[ignore]
    fn every_float_in_the_range_that_matters_matches_f32_exp() {
        let hi = 89f32.to_bits();
        let lo = (-104f32).to_bits();
        let chunk = 1 << 24;
        let positive = (0..=hi)
            .step_by(chunk)
            .map(|s| (s, (s + chunk as u32 - 1).min(hi)));
        let negative = (0x8000_0000..=lo)
            .step_by(chunk)
            .map(|s| (s, (s + chunk as u32 - 1).min(lo)));
        for (a, b) in positive.chain(negative) {
            let xs: Vec<f32> = (a..=b).map(f32::from_bits).collect();
            check(&xs);
        }
    }
}
