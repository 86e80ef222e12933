//! Fused CPU operations for the models' hot blocks, each with its own backward pass and each
//! giving the same bits, value and gradient, as the composition of candle operations it
//! replaces (tests in each file compare them). Written from candle's basic operations these
//! blocks were several passes over the largest tensors of a step, each allocating, plus a
//! full-size `cat` with zeros in the backward of every `narrow`: together over a quarter of the
//! study-6 transformer's step (profiled with `perf` on `assay bench grokking`). On other devices
//! and dtypes each falls back to the composition.
//!
//! They use the SDK as any plugin can: a `CustomOp` over `f32` CPU storage, candle's thread pool
//! from `assay_sdk::rayon`.

mod bias;
mod column_sums;
mod embedding_sum;
mod layer_norm;
mod token_rows;

pub(crate) use bias::{add_bias, add_bias_relu, add_bias_residual};
pub(crate) use embedding_sum::{embedding_sum, sum_positions};
pub(crate) use layer_norm::layer_norm;
pub(crate) use token_rows::token_rows;

use assay_sdk::candle::{CpuStorage, Layout};
use assay_sdk::prelude::*;
use assay_sdk::rayon::prelude::*;
use column_sums::column_sums;

pub(crate) type CandleResult<T> = std::result::Result<T, assay_sdk::candle::Error>;

/// Elements from which a pass spreads over the thread pool: below it, waking the pool costs
/// more than the pass. (At 2¹⁵ the tickets MLP's embedding sum and its gradient, 44,000 and
/// 87,000 values, went to the pool, and the step ran 1,210 steps/s with two threads against
/// 1,650 without.)
pub(crate) const PARALLEL_FROM: usize = 1 << 17;

/// The `f32` values of a contiguous CPU tensor's storage.
pub(crate) fn contiguous<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> CandleResult<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        return Err(assay_sdk::candle::Error::Msg(format!("{what}: f32 only")));
    };
    let (a, b) = l.contiguous_offsets().ok_or_else(|| {
        assay_sdk::candle::Error::Msg(format!("{what}: needs a contiguous tensor"))
    })?;
    Ok(&v[a..b])
}

/// A vector of `n` values written in place, without zero-filling it first: `fill(start, out)`
/// writes every element of `out`, the elements `start..start + out.len()`, in chunks of `chunk`
/// elements (whole rows) spread over the pool when `n` is large.
pub(crate) fn filled(n: usize, chunk: usize, fill: impl Fn(usize, &mut [Slot]) + Sync) -> Vec<f32> {
    let mut out = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_FROM && chunk < n {
        spare
            .par_chunks_mut(chunk.max(1))
            .enumerate()
            .for_each(|(i, c)| fill(i * chunk, c));
    } else {
        fill(0, spare);
    }
    // SAFETY: every caller's `fill` writes each element of the chunk it is given (whole rows,
    // each row element by element), and the chunks cover `0..n`.
    unsafe { out.set_len(n) };
    out
}

/// An element of a vector being [`filled`].
pub(crate) type Slot = std::mem::MaybeUninit<f32>;

/// Rows per parallel chunk for rows of `d` values: about a quarter of [`PARALLEL_FROM`].
pub(crate) fn chunk_rows(d: usize) -> usize {
    (PARALLEL_FROM / 4 / d.max(1)).max(1) * d.max(1)
}

/// Whether the fused CPU path applies to all of `ts`.
fn fusable(ts: &[&Tensor]) -> bool {
    ts.iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

/// The gradient of a bias added to every row of `grad` (`[..., d]`): `onesᵀ · grad`, the product
/// the composed `ones(n, 1) · b` made, so that its bits are those of the composition. On the
/// CPU the product is computed as gemm computes it ([`column_sums`]).
fn bias_grad(grad: &Tensor, d: usize) -> CandleResult<Tensor> {
    let n = grad.elem_count() / d.max(1);
    if d >= 2 && fusable(&[grad]) {
        let grad = grad.contiguous()?;
        let (storage, layout) = grad.storage_and_layout();
        if let assay_sdk::candle::Storage::Cpu(cpu) = &*storage {
            let sums = column_sums(contiguous(cpu, layout, "bias gradient")?, d);
            return Tensor::from_vec(sums, d, grad.device());
        }
    }
    let ones = Tensor::ones((n, 1), grad.dtype(), grad.device())?;
    ones.t()?.matmul(&grad.reshape((n, d))?)?.reshape(d)
}

/// Row gradients summed into a zero table of `table_rows` rows in row order, as candle's
/// `index_add` sums them (so they round the same): `out[index(r)] += grad[source(r)]` for `r` in
/// `0..rows`. Large passes split the columns over the pool, which keeps each element's order.
fn scatter_rows(
    table_rows: usize,
    grad: &[f32],
    d: usize,
    rows: usize,
    index: impl Fn(usize) -> usize + Sync,
    source: impl Fn(usize) -> usize + Sync,
) -> Vec<f32> {
    // Columns lo..hi of the table, as a [table_rows, hi - lo] block.
    let block = |lo: usize, hi: usize| {
        let w = hi - lo;
        let mut part = vec![0f32; table_rows * w];
        for r in 0..rows {
            let (i, s) = (index(r), source(r));
            let dst = &mut part[i * w..(i + 1) * w];
            for (o, &g) in dst.iter_mut().zip(&grad[s * d + lo..s * d + hi]) {
                *o += g;
            }
        }
        part
    };
    let threads = assay_sdk::rayon::current_num_threads();
    if rows * d < PARALLEL_FROM || threads < 2 || d < 32 {
        return block(0, d);
    }
    // Column blocks of whole 16-lane vectors, one per thread.
    let width = d.div_ceil(threads).div_ceil(16) * 16;
    let bounds: Vec<(usize, usize)> = (0..d)
        .step_by(width)
        .map(|lo| (lo, (lo + width).min(d)))
        .collect();
    let parts: Vec<Vec<f32>> = bounds.par_iter().map(|&(lo, hi)| block(lo, hi)).collect();
    let mut out = vec![0f32; table_rows * d];
    for (&(lo, hi), part) in bounds.iter().zip(&parts) {
        let w = hi - lo;
        for (row, src) in out.chunks_mut(d).zip(part.chunks(w)) {
            row[lo..hi].copy_from_slice(src);
        }
    }
    out
}

/// The ids of `ids` as `usize`, each checked against `bound` (the table's rows).
fn ids_of(ids: &Tensor, bound: usize, what: &str) -> CandleResult<Vec<u32>> {
    let v = ids.flatten_all()?.to_dtype(DType::U32)?.to_vec1::<u32>()?;
    if let Some(bad) = v.iter().find(|&&i| i as usize >= bound) {
        return Err(assay_sdk::candle::Error::Msg(format!(
            "{what}: id {bad} is outside the table's {bound} rows"
        )));
    }
    Ok(v)
}

/// A tensor's values as bits (for the tests: the fused operations equal their compositions
/// exactly).
#[cfg(test)]
pub(crate) fn bits(t: &Tensor) -> Vec<u32> {
    let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    v.iter().map(|x| x.to_bits()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_sdk::candle::Device;

    #[test]
    fn bias_gradients_are_the_product_with_ones_bit_for_bit() {
        let dev = Device::Cpu;
        // One and two rows (gemm's dot-product path), few and many columns, below and above
        // the parallel threshold; zeros of both signs among the values.
        for (n, d) in [
            (1, 5),
            (2, 3),
            (3, 2),
            (7, 64),
            (2053, 64),
            (4096, 512),
            (300, 1000),
        ] {
            let mut g = Tensor::randn(0f32, 1.0, (n, d), &dev)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            g[0] = -0.0;
            if n > 1 {
                g[d] = -0.0;
                g[1] = 0.0;
                g[d + 1] = -0.0;
            }
            let g = Tensor::from_vec(g, (n, d), &dev).unwrap();
            let ones = Tensor::ones((n, 1), DType::F32, &dev).unwrap();
            let product = ones.t().unwrap().matmul(&g).unwrap().reshape(d).unwrap();
            let sums = bias_grad(&g, d).unwrap();
            assert_eq!(bits(&sums), bits(&product), "{n} x {d}");
        }
    }
}
