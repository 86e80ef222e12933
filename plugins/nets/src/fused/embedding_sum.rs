//! `Σ_i table[ids[b, i]]`: the summed embeddings of each example's tokens (an embedding bag), in
//! one pass.
//!
//! It replaces gathering every token's row and adding the positions one `narrow` at a time,
//! whose backward wrote, for every position, a tensor as large as all the rows (candle's
//! `narrow` backward concatenates the gradient with zeros) and added them up. The sums are
//! in position order and the table's gradient is summed in candle's `index_add` order, so
//! value and gradient have the composition's bits.

use assay_sdk::candle::{CpuStorage, CustomOp1, Layout, Shape};
use assay_sdk::prelude::*;

use super::{chunk_rows, contiguous, filled, fusable, ids_of, scatter_rows, CandleResult};

/// `Σ_i table[ids[b, i]]` over the positions `i` of `ids` (`[batch, t]`), added in order:
/// `[batch, d]`.
pub(crate) fn embedding_sum(table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    let (batch, t) = ids.dims2()?;
    let (vocab, _) = table.dims2()?;
    if t == 0 {
        return Err(PluginError::invalid(
            "embedding-sum: examples without tokens",
        ));
    }
    if !fusable(&[table]) {
        return composed(table, ids);
    }
    let op = EmbeddingSum {
        ids: ids_of(ids, vocab, "embedding-sum")?,
        batch,
        t,
    };
    Ok(table.contiguous()?.apply_op1(op)?)
}

/// The composition `embedding_sum` replaces.
fn composed(table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    let (batch, t) = ids.dims2()?;
    let rows = table
        .embedding(&ids.flatten_all()?)?
        .reshape((batch, t, ()))?;
    sum_positions(&rows)
}

/// Sums `rows` (`[batch, t, d]`) over positions, one add per position in order (candle's
/// reduction over a middle axis is strided and was a fifth of the tickets MLP's step): the
/// MLP's hooked path, which must show each token's embedding, and this operation's reference.
pub(crate) fn sum_positions(rows: &Tensor) -> Result<Tensor> {
    let t = rows.dim(1)?;
    let mut acc = rows.narrow(1, 0, 1)?.squeeze(1)?;
    for i in 1..t {
        acc = (acc + rows.narrow(1, i, 1)?.squeeze(1)?)?;
    }
    Ok(acc)
}

struct EmbeddingSum {
    /// `[batch · t]`, each below the table's rows.
    ids: Vec<u32>,
    batch: usize,
    t: usize,
}

impl CustomOp1 for EmbeddingSum {
    fn name(&self) -> &'static str {
        "embedding-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let table = contiguous(s, l, self.name())?;
        let d = l.shape().dims().last().copied().unwrap_or(1);
        let row = |b: usize, i: usize| &table[self.ids[b * self.t + i] as usize * d..][..d];
        let out = filled(self.batch * d, chunk_rows(d), |start, out| {
            for (k, o) in out.chunks_mut(d).enumerate() {
                let b = start / d + k;
                // The running sum lives in the output: the first row, then each next one added.
                for (o, &v) in o.iter_mut().zip(row(b, 0)) {
                    o.write(v);
                }
                for i in 1..self.t {
                    for (o, &v) in o.iter_mut().zip(row(b, i)) {
                        // SAFETY: written just above.
                        let acc = unsafe { o.assume_init_mut() };
                        *acc += v;
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((self.batch, d))))
    }

    fn bwd(&self, table: &Tensor, _res: &Tensor, grad: &Tensor) -> CandleResult<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let (vocab, d) = table.dims2()?;
        Ok(Some(grad.apply_op1_no_bwd(&EmbeddingSumGrad {
            ids: &self.ids,
            t: self.t,
            vocab,
            d,
        })?))
    }
}

/// The table's gradient: each example's gradient row added at each of its tokens, in order.
struct EmbeddingSumGrad<'a> {
    ids: &'a [u32],
    t: usize,
    vocab: usize,
    d: usize,
}

impl CustomOp1 for EmbeddingSumGrad<'_> {
    fn name(&self) -> &'static str {
        "embedding-sum-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let g = contiguous(s, l, self.name())?;
        let (d, rows) = (self.d, self.ids.len());
        if g.len() * self.t != rows * d {
            return Err(assay_sdk::candle::Error::Msg(format!(
                "embedding-sum-grad: {} gradient values for {rows} tokens of {d}",
                g.len()
            )));
        }
        let t = self.t;
        let out = scatter_rows(self.vocab, g, d, rows, |r| self.ids[r] as usize, |r| r / t);
        Ok((CpuStorage::F32(out), Shape::from((self.vocab, d))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::bits;
    use super::*;
    use assay_sdk::candle::{Device, Var};

    #[test]
    fn value_and_gradient_are_the_compositions_bit_for_bit() {
        let dev = Device::Cpu;
        for (batch, t, vocab, d) in [
            (6usize, 1usize, 5usize, 3usize),
            (7, 2, 9, 5),
            (2000, 2, 67, 48),
        ] {
            let table = Var::randn(0f32, 1.0, (vocab, d), &dev).unwrap();
            let ids: Vec<u32> = (0..batch * t)
                .map(|i| ((i * 5 + i / 7) % vocab) as u32)
                .collect();
            let ids = Tensor::from_vec(ids, (batch, t), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (batch, d), &dev).unwrap();
            let fused = embedding_sum(table.as_tensor(), &ids).unwrap();
            let plain = composed(table.as_tensor(), &ids).unwrap();
            assert_eq!(bits(&fused), bits(&plain));
            let gf = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
            assert_eq!(bits(gf.get(&table).unwrap()), bits(gp.get(&table).unwrap()));
        }
    }
}
