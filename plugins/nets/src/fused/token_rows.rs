//! The rows `table[ids] + positions (+ b)`: a gathered table row per token plus its position's
//! row (and a bias), in one pass.
//!
//! It replaces `table.embedding(ids) + rows_per_example(positions) (+ ones · b)`, the decoder's
//! token embeddings with learned positions and the first block's projections from the
//! projected vocabulary table: three or four passes over the rows forward, each allocating, and
//! as many backward. Gradients are summed in the order candle's `index_add` sums them, so they
//! have the composition's bits.

use assay_sdk::candle::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape};
use assay_sdk::prelude::*;

use super::{
    bias_grad, chunk_rows, contiguous, filled, fusable, ids_of, scatter_rows, CandleResult,
};
use crate::rows::{per_row, rows_per_example};

/// `table[ids[b, j]] + positions[j]` (`+ bias`) for `ids` `[batch, n]`, `table` `[vocab, d]`,
/// `positions` `[n, d]` and `bias` `[d]`: `[batch, n, d]`. The additions are in that order.
pub(crate) fn token_rows(
    table: &Tensor,
    positions: &Tensor,
    bias: Option<&Tensor>,
    ids: &Tensor,
) -> Result<Tensor> {
    let (batch, n) = ids.dims2()?;
    let (vocab, d) = table.dims2()?;
    if positions.dims() != [n, d] || bias.is_some_and(|b| b.dims() != [d]) {
        return Err(PluginError::invalid(format!(
            "token-rows: positions {:?} and bias {:?} for {n} positions of a [{vocab}, {d}] table",
            positions.dims(),
            bias.map(|b| b.dims().to_vec())
        )));
    }
    let mut all = vec![table, positions];
    all.extend(bias);
    if !fusable(&all) {
        return composed(table, positions, bias, ids);
    }
    let op = TokenRows {
        ids: ids_of(ids, vocab, "token-rows")?,
        batch,
        n,
    };
    let (table, positions) = (table.contiguous()?, positions.contiguous()?);
    Ok(match bias {
        Some(b) => table.apply_op3(&positions, &b.contiguous()?, op)?,
        None => table.apply_op2(&positions, op)?,
    })
}

/// The composition `token_rows` replaces (other devices and dtypes; and the tests' reference).
fn composed(
    table: &Tensor,
    positions: &Tensor,
    bias: Option<&Tensor>,
    ids: &Tensor,
) -> Result<Tensor> {
    let (batch, n) = ids.dims2()?;
    let rows = table
        .embedding(&ids.flatten_all()?)?
        .reshape((batch, n, ()))?;
    let y = (rows + rows_per_example(positions, batch, 0..n)?)?;
    Ok(match bias {
        Some(b) => (&y + per_row(b, &y)?)?,
        None => y,
    })
}

struct TokenRows {
    /// `[batch · n]`, each below the table's rows.
    ids: Vec<u32>,
    batch: usize,
    n: usize,
}

impl TokenRows {
    /// The rows, from the storages of the table, the positions and the bias.
    fn forward(
        &self,
        (s1, l1): (&CpuStorage, &Layout),
        (s2, l2): (&CpuStorage, &Layout),
        bias: Option<(&CpuStorage, &Layout)>,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let d = l1.shape().dims().last().copied().unwrap_or(1);
        let table = contiguous(s1, l1, "token-rows")?;
        let positions = contiguous(s2, l2, "token-rows")?;
        let bias = bias
            .map(|(s, l)| contiguous(s, l, "token-rows"))
            .transpose()?;
        let out = filled(self.ids.len() * d, chunk_rows(d), |start, out| {
            for (k, o) in out.chunks_mut(d).enumerate() {
                let r = start / d + k;
                let t = &table[self.ids[r] as usize * d..][..d];
                let p = &positions[(r % self.n) * d..][..d];
                match bias {
                    Some(b) => {
                        for (((o, &t), &p), &b) in o.iter_mut().zip(t).zip(p).zip(b) {
                            o.write((t + p) + b);
                        }
                    }
                    None => {
                        for ((o, &t), &p) in o.iter_mut().zip(t).zip(p) {
                            o.write(t + p);
                        }
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((self.batch, self.n, d))))
    }

    /// The table's and the positions' gradients, `[vocab, d]` and `[n, d]`.
    fn grads(&self, table: &Tensor, grad: &Tensor) -> CandleResult<(Tensor, Tensor)> {
        let (vocab, d) = table.dims2()?;
        let grad = grad.contiguous()?;
        let both = grad.apply_op1_no_bwd(&TokenRowsGrad {
            ids: &self.ids,
            vocab,
            n: self.n,
            d,
        })?;
        Ok((both.narrow(0, 0, vocab)?, both.narrow(0, vocab, self.n)?))
    }
}

impl CustomOp2 for TokenRows {
    fn name(&self) -> &'static str {
        "token-rows"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        self.forward((s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        table: &Tensor,
        _positions: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>)> {
        let (gt, gp) = self.grads(table, grad)?;
        Ok((Some(gt), Some(gp)))
    }
}

impl CustomOp3 for TokenRows {
    fn name(&self) -> &'static str {
        "token-rows"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        self.forward((s1, l1), (s2, l2), Some((s3, l3)))
    }

    fn bwd(
        &self,
        table: &Tensor,
        _positions: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (gt, gp) = self.grads(table, grad)?;
        Ok((
            Some(gt),
            Some(gp),
            Some(bias_grad(grad, bias.elem_count())?),
        ))
    }
}

/// The gradients of [`TokenRows`]' table and positions, stacked: `[vocab + n, d]`.
struct TokenRowsGrad<'a> {
    ids: &'a [u32],
    vocab: usize,
    n: usize,
    d: usize,
}

impl assay_sdk::candle::CustomOp1 for TokenRowsGrad<'_> {
    fn name(&self) -> &'static str {
        "token-rows-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let g = contiguous(s, l, self.name())?;
        let (d, rows) = (self.d, self.ids.len());
        if g.len() != rows * d {
            return Err(assay_sdk::candle::Error::Msg(format!(
                "token-rows-grad: {} gradient values for {rows} rows of {d}",
                g.len()
            )));
        }
        let mut out = scatter_rows(self.vocab, g, d, rows, |r| self.ids[r] as usize, |r| r);
        out.extend(scatter_rows(self.n, g, d, rows, |r| r % self.n, |r| r));
        Ok((CpuStorage::F32(out), Shape::from((self.vocab + self.n, d))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::bits;
    use super::*;
    use assay_sdk::candle::{Device, Var};

    #[test]
    fn value_and_gradients_are_the_compositions_bit_for_bit() {
        let dev = Device::Cpu;
        // Small (one thread), and large enough to split the columns over the pool.
        for (batch, n, vocab, d) in [(5usize, 3usize, 7usize, 6usize), (900, 3, 40, 64)] {
            let table = Var::randn(0f32, 1.0, (vocab, d), &dev).unwrap();
            let positions = Var::randn(0f32, 1.0, (n, d), &dev).unwrap();
            let bias = Var::randn(0f32, 1.0, d, &dev).unwrap();
            let ids: Vec<u32> = (0..batch * n)
                .map(|i| ((i * 7 + i / 3) % vocab) as u32)
                .collect();
            let ids = Tensor::from_vec(ids, (batch, n), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (batch, n, d), &dev).unwrap();
            for with_bias in [false, true] {
                let b = with_bias.then_some(bias.as_tensor());
                let fused = token_rows(table.as_tensor(), positions.as_tensor(), b, &ids).unwrap();
                let plain = composed(table.as_tensor(), positions.as_tensor(), b, &ids).unwrap();
                assert_eq!(bits(&fused), bits(&plain));
                let gf = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
                let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
                let vars: &[&Var] = if with_bias {
                    &[&table, &positions, &bias]
                } else {
                    &[&table, &positions]
                };
                for v in vars {
                    assert_eq!(bits(gf.get(v).unwrap()), bits(gp.get(v).unwrap()));
                }
            }
        }
    }

    #[test]
    fn ids_outside_the_table_and_bad_shapes_are_errors() {
        let dev = Device::Cpu;
        let table = Tensor::zeros((4, 2), DType::F32, &dev).unwrap();
        let positions = Tensor::zeros((2, 2), DType::F32, &dev).unwrap();
        let ids = Tensor::new(&[[0u32, 4]], &dev).unwrap();
        let err = token_rows(&table, &positions, None, &ids).unwrap_err();
        assert!(err.to_string().contains("id 4 is outside"), "{err}");
        let ids = Tensor::new(&[[0u32, 1, 2]], &dev).unwrap();
        let err = token_rows(&table, &positions, None, &ids).unwrap_err();
        assert!(err.to_string().contains("3 positions"), "{err}");
    }
}
