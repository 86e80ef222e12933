//! Rows repeated for every example: a bias or a scale for every row of an activation, and the
//! position rows for every example of a batch. Both are gathers or products rather than
//! broadcasts, whose backward pass would be candle's slow strided sum over the leading axes.

use assay_sdk::prelude::*;

/// `v` (`[d]`, a parameter) repeated for every row of `like` (`[..., d]`), made as a product
/// `ones(n, 1) · v(1, d)`: its gradient is then one matrix product, where a broadcast's would be
/// a sum over the leading axes, which candle does with a slow strided loop (a tenth of a small
/// language model's step in LayerNorm and bias gradients).
pub(crate) fn per_row(v: &Tensor, like: &Tensor) -> Result<Tensor> {
    let d = v.elem_count();
    let n = like.elem_count() / d.max(1);
    let ones = Tensor::ones((n, 1), v.dtype(), v.device())?;
    Ok(ones.matmul(&v.reshape((1, d))?)?.reshape(like.dims())?)
}

/// Rows `rows` of `table` (`[n, d]`, one row per position) repeated for each of `batch`
/// examples, as `[batch, rows.len(), d]`. A gather rather than a broadcast: the backward pass of
/// a broadcast over the batch sums along the leading axis, which candle does with a slow strided
/// loop.
pub(crate) fn rows_per_example(
    table: &Tensor,
    batch: usize,
    rows: std::ops::Range<usize>,
) -> Result<Tensor> {
    let d = table.dim(1)?;
    let ids: Vec<u32> = (0..batch)
        .flat_map(|_| rows.clone().map(|r| r as u32))
        .collect();
    let ids = Tensor::from_vec(ids, batch * rows.len(), table.device())?;
    Ok(table.embedding(&ids)?.reshape((batch, rows.len(), d))?)
}
