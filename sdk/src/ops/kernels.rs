//! The vectorised loops of the fused operations. Each entry point is compiled twice: for any
//! x86-64 (SSE2) and, chosen at run time, for AVX2 (`*_avx2`). The arithmetic is the same in
//! both (no FMA contraction), so both give the same bits.

/// `exp(x)` to about one unit in the last place (Cephes' polynomial on a range reduction
/// by ln 2), branch-free so that loops over it vectorise; 0 below −87 (where `f32` would be
/// subnormal) and NaN for NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let c = x.clamp(-87.0, 88.0);
    let t = c * LOG2E + ROUND;
    let n = t - ROUND;
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = c - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let y = y * f32::from_bits(((ni + 127) << 23) as u32);
    let y = if x < -87.0 { 0.0 } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

const LANES: usize = 8;

#[inline(always)]
pub(crate) fn max(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let m = acc.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
    tail.iter().fold(m, |a, &v| a.max(v))
}

/// `out_j = exp(row_j − m)`, returning their sum. Two loops: a plain map, which the loop
/// vectoriser takes whole, and a sum in eight lanes.
#[inline(always)]
pub(crate) fn exp_shifted(row: &[f32], m: f32, out: &mut [f32]) -> f32 {
    for (o, &v) in out.iter_mut().zip(row) {
        *o = exp(v - m);
    }
    sum(out)
}

/// `Σ x_i`, in eight lanes.
#[inline(always)]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

#[inline(always)]
pub(crate) fn ce_rows(
    x: &[f32],
    classes: usize,
    target: &[usize],
    losses: &mut [f32],
    mut probs: Option<&mut [f32]>,
) {
    let mut scratch = if probs.is_none() {
        vec![0f32; classes]
    } else {
        Vec::new()
    };
    for (i, ((row, &y), loss)) in x
        .chunks_exact(classes)
        .zip(target)
        .zip(losses.iter_mut())
        .enumerate()
    {
        let out = match probs.as_deref_mut() {
            Some(p) => &mut p[i * classes..(i + 1) * classes],
            None => &mut scratch[..],
        };
        let m = max(row);
        let sum = exp_shifted(row, m, out);
        *loss = m + sum.ln() - row[y];
        let inv = 1.0 / sum;
        out.iter_mut().for_each(|p| *p *= inv);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn ce_rows_avx2(
    x: &[f32],
    classes: usize,
    target: &[usize],
    losses: &mut [f32],
    probs: Option<&mut [f32]>,
) {
    ce_rows(x, classes, target, losses, probs)
}

/// `Σ a_i b_i`, in eight lanes.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (&x, &y) in ta.iter().zip(tb) {
        sum += x * y;
    }
    sum
}

/// `y += a · x`.
#[inline(always)]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The shape of a batch of attention problems. Tensors are `[batch, position, heads, d]`
/// (`heads = 1` for `[batch · heads, position, d]`): `tq` queries over `t` keys; the queries
/// are the last `tq` positions, and with `causal` query `i` sees keys `0..t − tq + i + 1`.
/// Probabilities are `[batch, heads, tq, t]`.
#[derive(Clone, Copy)]
pub(crate) struct Attend {
    pub tq: usize,
    pub t: usize,
    pub heads: usize,
    pub d: usize,
    pub scale: f32,
    pub causal: bool,
}

impl Attend {
    #[inline(always)]
    pub(crate) fn visible(&self, i: usize) -> usize {
        if self.causal {
            self.t - self.tq + i + 1
        } else {
            self.t
        }
    }

    /// Elements of one batch element's queries, keys and probabilities.
    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
        let (h, d) = (self.heads, self.d);
        (self.tq * h * d, self.t * h * d, h * self.tq * self.t)
    }

    /// Offset of query (or output) row `i` and key (or value) row `j` of head `h` of batch
    /// element `b`.
    #[inline(always)]
    fn q_row(&self, b: usize, h: usize, i: usize) -> usize {
        ((b * self.tq + i) * self.heads + h) * self.d
    }

    #[inline(always)]
    fn k_row(&self, b: usize, h: usize, j: usize) -> usize {
        ((b * self.t + j) * self.heads + h) * self.d
    }
}

/// Forward over consecutive batch elements: `z = softmax(scale · q kᵀ) v` and the
/// probabilities `p` (zero where masked). `z` and `p` must be zero on entry.
#[inline(always)]
pub(crate) fn attend(a: Attend, q: &[f32], k: &[f32], v: &[f32], z: &mut [f32], p: &mut [f32]) {
    let (tq, t, d) = (a.tq, a.t, a.d);
    let batches = q.len() / a.sizes().0.max(1);
    for b in 0..batches {
        for h in 0..a.heads {
            for i in 0..tq {
                let at = a.q_row(b, h, i);
                let qi = &q[at..at + d];
                let pr = ((b * a.heads + h) * tq + i) * t;
                let pi = &mut p[pr..pr + t];
                let n = a.visible(i);
                for (j, s) in pi[..n].iter_mut().enumerate() {
                    let kj = a.k_row(b, h, j);
                    *s = a.scale * dot(qi, &k[kj..kj + d]);
                }
                let m = max(&pi[..n]);
                for s in pi[..n].iter_mut() {
                    *s = exp(*s - m);
                }
                let inv = 1.0 / sum(&pi[..n]);
                pi[..n].iter_mut().for_each(|s| *s *= inv);
                let zi = &mut z[at..at + d];
                for (j, &pj) in pi[..n].iter().enumerate() {
                    let vj = a.k_row(b, h, j);
                    axpy(zi, pj, &v[vj..vj + d]);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn attend_avx2(
    a: Attend,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    z: &mut [f32],
    p: &mut [f32],
) {
    attend(a, q, k, v, z, p)
}

/// The gradients `dq`, `dk`, `dv` of consecutive batch elements from `dz` and the forward's
/// probabilities `p`. The gradients must be zero on entry.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn attend_backward(
    a: Attend,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    p: &[f32],
    dz: &[f32],
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    let (tq, t, d) = (a.tq, a.t, a.d);
    let batches = q.len() / a.sizes().0.max(1);
    let mut ds = vec![0f32; t];
    for b in 0..batches {
        for h in 0..a.heads {
            for i in 0..tq {
                let at = a.q_row(b, h, i);
                let (qi, dzi) = (&q[at..at + d], &dz[at..at + d]);
                let pr = ((b * a.heads + h) * tq + i) * t;
                let pi = &p[pr..pr + t];
                let n = a.visible(i);
                // dp_j = dz_i · v_j; ds_j = p_j (dp_j − Σ p dp); dv_j += p_j dz_i.
                let mut c = 0f32;
                for j in 0..n {
                    let r = a.k_row(b, h, j);
                    let dp = dot(dzi, &v[r..r + d]);
                    ds[j] = dp;
                    c += pi[j] * dp;
                    axpy(&mut dv[r..r + d], pi[j], dzi);
                }
                for j in 0..n {
                    let r = a.k_row(b, h, j);
                    let s = a.scale * pi[j] * (ds[j] - c);
                    axpy(&mut dq[at..at + d], s, &k[r..r + d]);
                    axpy(&mut dk[r..r + d], s, qi);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn attend_backward_avx2(
    a: Attend,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    p: &[f32],
    dz: &[f32],
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    attend_backward(a, q, k, v, p, dz, dq, dk, dv)
}
