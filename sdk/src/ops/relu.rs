//! ReLU with a one-pass backward.
//!
//! candle's ReLU backward is four passes over the activation (zeros, comparison, conversion,
//! product), each allocating; the MLP activations (`[examples, d_mlp]`) are among the largest
//! tensors of a small decoder's step. Gradients follow candle's rule: they pass where the input
//! is `>= 0`.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{f32_slice, CandleResult, PARALLEL_FROM};

/// `max(x, 0)` elementwise, with its own backward on the CPU in `f32`; other devices and
/// dtypes use candle's.
///
/// ```
/// use assay_sdk::candle::{Device, Tensor, Var};
/// let x = Var::new(&[-1.0f32, 0.0, 2.0], &Device::Cpu)?;
/// let y = assay_sdk::ops::relu(x.as_tensor())?;
/// assert_eq!(y.to_vec1::<f32>()?, [0.0, 0.0, 2.0]);
/// let g = y.sum_all()?.backward()?;
/// assert_eq!(g.get(&x).unwrap().to_vec1::<f32>()?, [0.0, 1.0, 1.0]);
/// # Ok::<(), assay_sdk::candle::Error>(())
/// ```
pub fn relu(x: &Tensor) -> CandleResult<Tensor> {
    if !x.device().is_cpu() || x.dtype() != DType::F32 {
        return x.relu();
    }
    x.contiguous()?.apply_op1(Relu)
}

struct Relu;

/// `f` over `a` and `b` (of `a`'s length) into a new vector, chunk by chunk, spread over the
/// pool for large inputs. `f` writes every element of the chunk it is given (zipped with its
/// chunks of `a` and `b`, of the same length), so the vector is not zero-filled first: a pass as
/// large as the activation.
fn map_chunks(
    a: &[f32],
    b: &[f32],
    f: impl Fn(&mut [MaybeUninit<f32>], &[f32], &[f32]) + Sync,
) -> Vec<f32> {
    const CHUNK: usize = PARALLEL_FROM / 4;
    assert_eq!(a.len(), b.len(), "map_chunks: inputs of different lengths");
    let mut out = Vec::with_capacity(a.len());
    let spare = &mut out.spare_capacity_mut()[..a.len()];
    if a.len() >= PARALLEL_FROM {
        spare
            .par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
            .for_each(|(o, (a, b))| f(o, a, b));
    } else {
        f(spare, a, b)
    }
    // SAFETY: `f` wrote every element (see above); `a` has `a.len()` of them.
    unsafe { out.set_len(a.len()) };
    out
}

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        let out = map_chunks(x, x, |o, x, _| {
            for (o, &x) in o.iter_mut().zip(x) {
                o.write(if x > 0.0 { x } else { 0.0 });
            }
        });
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> CandleResult<Option<Tensor>> {
        let grad = grad.to_dtype(DType::F32)?.contiguous()?;
        Ok(Some(x.apply_op2_no_bwd(&grad, &ReluGrad)?))
    }
}

/// `grad` where `x >= 0`, else 0.
struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "relu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CandleResult<(CpuStorage, Shape)> {
        let (x, g) = (
            f32_slice(s1, l1, self.name())?,
            f32_slice(s2, l2, self.name())?,
        );
        if x.len() != g.len() {
            candle_core::bail!("relu-grad: {} inputs, {} gradients", x.len(), g.len())
        }
        let out = map_chunks(x, g, |o, x, g| {
            for ((o, &x), &g) in o.iter_mut().zip(x).zip(g) {
                o.write(if x >= 0.0 { g } else { 0.0 });
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn relu_equals_candles_value_and_gradient() {
        let dev = Device::Cpu;
        for n in [5usize, 70_000] {
            let mut x = Tensor::randn(0f32, 1.0, n, &dev)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            x[0] = 0.0; // the boundary, where candle passes the gradient
            let x = Var::new(x.as_slice(), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, n, &dev).unwrap();
            let fused = relu(x.as_tensor()).unwrap();
            let plain = x.as_tensor().relu().unwrap();
            assert_eq!(
                fused.to_vec1::<f32>().unwrap(),
                plain.to_vec1::<f32>().unwrap()
            );
            let gf = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
            assert_eq!(
                gf.get(&x).unwrap().to_vec1::<f32>().unwrap(),
                gp.get(&x).unwrap().to_vec1::<f32>().unwrap()
            );
        }
    }
}
