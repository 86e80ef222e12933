//! `y + b` for a bias `b` (`[d]`) on every row of `y` (`[..., d]`), in one pass.
//!
//! The composition it replaces, `y + ones(n, 1) · b`, wrote the repeated bias as a tensor as
//! large as `y` and then added the two; its backward, `onesᵀ · grad`, is kept (a broadcast's
//! would be candle's strided sum over the rows).

use assay_sdk::candle::{CpuStorage, CustomOp2, Layout, Shape};
use assay_sdk::prelude::*;

use super::{bias_grad, chunk_rows, contiguous, filled, fusable, CandleResult};
use crate::rows::per_row;

/// `y + b` on every row of `y`, with the gradient `onesᵀ · grad` for `b`.
pub(crate) fn add_bias(y: &Tensor, b: &Tensor) -> Result<Tensor> {
    let d = b.elem_count();
    if y.dims().last() != Some(&d) {
        return Err(PluginError::invalid(format!(
            "add-bias: a bias of {d} values for rows of shape {:?}",
            y.dims()
        )));
    }
    if !fusable(&[y, b]) {
        return Ok((y + per_row(b, y)?)?);
    }
    Ok(y.contiguous()?.apply_op2(&b.contiguous()?, AddBias)?)
}

struct AddBias;

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let y = contiguous(s1, l1, self.name())?;
        let b = contiguous(s2, l2, self.name())?;
        let d = b.len().max(1);
        let out = filled(y.len(), chunk_rows(d), |start, out| {
            for (o, y) in out.chunks_mut(d).zip(y[start..].chunks(d)) {
                for ((o, &y), &b) in o.iter_mut().zip(y).zip(b) {
                    o.write(y + b);
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _y: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(grad.clone()), Some(bias_grad(grad, b.elem_count())?)))
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
        // Below and above the parallel threshold, rows not a multiple of the chunk.
        for (n, d) in [(7usize, 5usize), (2053, 64)] {
            let y = Var::randn(0f32, 1.0, (n, d), &dev).unwrap();
            let b = Var::randn(0f32, 1.0, d, &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (n, d), &dev).unwrap();
            let fused = add_bias(y.as_tensor(), b.as_tensor()).unwrap();
            let plain = (y.as_tensor() + per_row(b.as_tensor(), y.as_tensor()).unwrap()).unwrap();
            assert_eq!(bits(&fused), bits(&plain));
            let gf = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
            for v in [&y, &b] {
                assert_eq!(bits(gf.get(v).unwrap()), bits(gp.get(v).unwrap()));
            }
        }
    }

    #[test]
    fn a_bias_of_the_wrong_length_is_an_error() {
        let y = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let err = add_bias(&y, &b).unwrap_err().to_string();
        assert!(err.contains("4 values"), "{err}");
    }
}
