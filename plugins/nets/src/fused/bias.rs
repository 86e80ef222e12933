//! `y + b` for a bias `b` (`[d]`) on every row of `y` (`[..., d]`), in one pass.
//!
//! The composition it replaces, `y + ones(n, 1) · b`, wrote the repeated bias as a tensor as
//! large as `y` and then added the two; its backward, `onesᵀ · grad`, is kept (a broadcast's
//! would be candle's strided sum over the rows).

use assay_sdk::candle::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape};
use assay_sdk::prelude::*;

use super::column_sums::add_rows;
use super::{
    bias_grad, chunk_rows, contiguous, filled, fusable, CandleResult, Slot, PARALLEL_FROM,
};
use crate::rows::per_row;
use assay_sdk::rayon::prelude::*;

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

/// `f(a, y, b)` for every element of `y`'s rows, `a` the element at the same place of a second
/// tensor of `y`'s size and `b` the bias value of its column, in one pass (spread over the pool
/// when large).
fn map_rows(a: &[f32], y: &[f32], b: &[f32], f: impl Fn(f32, f32, f32) -> f32 + Sync) -> Vec<f32> {
    let d = b.len().max(1);
    filled(y.len(), chunk_rows(d), |start, out| {
        let rows = out
            .chunks_mut(d)
            .zip(a[start..].chunks(d).zip(y[start..].chunks(d)));
        for (o, (a, y)) in rows {
            for (((o, &a), &y), &b) in o.iter_mut().zip(a).zip(y).zip(b) {
                o.write(f(a, y, b));
            }
        }
    })
}

/// The values of a three-argument operation's contiguous `f32` storages.
fn storages3<'a>(what: &str, args: [(&'a CpuStorage, &Layout); 3]) -> CandleResult<[&'a [f32]; 3]> {
    let [a, b, c] = args.map(|(s, l)| contiguous(s, l, what));
    Ok([a?, b?, c?])
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
        let out = map_rows(y, y, b, |_, y, b| y + b);
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

/// `relu(y + b)` on every row of `y`: [`add_bias`] then the SDK's `relu`, in one pass each way
/// and with their bits. The gradient passes where `y + b >= 0` (recomputed from `y` and `b`,
/// the same sums), as the SDK's ReLU passes it.
pub(crate) fn add_bias_relu(y: &Tensor, b: &Tensor) -> Result<Tensor> {
    let d = b.elem_count();
    if d == 0 || y.dims().last() != Some(&d) || !fusable(&[y, b]) {
        return Ok(assay_sdk::ops::relu(&add_bias(y, b)?)?);
    }
    Ok(y.contiguous()?.apply_op2(&b.contiguous()?, AddBiasRelu)?)
}

struct AddBiasRelu;

impl CustomOp2 for AddBiasRelu {
    fn name(&self) -> &'static str {
        "add-bias-relu"
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
        let out = map_rows(y, y, b, |_, y, b| {
            let z = y + b;
            if z > 0.0 {
                z
            } else {
                0.0
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        y: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        // One pass: the passed gradient's rows, then its column sums (the bias's gradient).
        let d = b.elem_count();
        let n = y.elem_count() / d.max(1);
        let both = y.apply_op3_no_bwd(b, &grad, &BiasReluGrad)?;
        let gz = both.narrow(0, 0, n)?.reshape(y.shape())?;
        // A one-value bias: gemm sums a single column another way (`bias_grad` keeps its product).
        let gb = if d < 2 {
            bias_grad(&gz, d)?
        } else {
            both.narrow(0, n, 1)?.reshape(d)?
        };
        Ok((Some(gz), Some(gb)))
    }
}

/// `grad` where `y + b >= 0`, else 0, as `[n + 1, d]`: its `n` rows, then their column sums
/// as [`bias_grad`] sums them (from the first row, in row order).
///
/// Large passes split the rows into one run per thread, so that each thread reads whole rows,
/// mostly rows its own part of the previous operation wrote (a product split by rows, as the
/// patched matmul splits the one before this pass, leaves a run of rows in each thread's cache;
/// rayon does not promise which thread takes which run). The first run keeps the column sums as
/// it goes, and the other runs' rows are then added to them in order (the columns split over
/// the pool, `column_sums::add_rows`). (Split by columns
/// instead, each thread read part of every row, half of them from the other core's cache: the
/// pass took twice the CPU time at two threads as at one.)
struct BiasReluGrad;

impl CustomOp3 for BiasReluGrad {
    fn name(&self) -> &'static str {
        "add-bias-relu-grad"
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
        let [y, b, g] = storages3(self.name(), [(s1, l1), (s2, l2), (s3, l3)])?;
        let d = b.len();
        if d == 0 || y.len() % d != 0 || g.len() != y.len() {
            return Err(assay_sdk::candle::Error::Msg(format!(
                "{}: rows of {} and {} values for a bias of {d}",
                self.name(),
                y.len(),
                g.len()
            )));
        }
        let n = y.len() / d;
        let mut out: Vec<f32> = Vec::with_capacity((n + 1) * d);
        let (rows, last) = out.spare_capacity_mut()[..(n + 1) * d].split_at_mut(n * d);
        let threads = if n * d >= PARALLEL_FROM {
            assay_sdk::rayon::current_num_threads()
        } else {
            1
        };
        let per = n.div_ceil(threads).max(1) * d;
        // The first run keeps the sums; the others only write their rows.
        let (first, others) = rows.split_at_mut(per.min(n * d));
        let (mut sums, ()) = assay_sdk::rayon::join(
            || relu_grad_rows::<true>([y, g, b], first),
            || {
                others.par_chunks_mut(per).enumerate().for_each(|(i, out)| {
                    let at = (i + 1) * per;
                    let (y, g) = (&y[at..at + out.len()], &g[at..at + out.len()]);
                    relu_grad_rows::<false>([y, g, b], out);
                })
            },
        );
        if n * d > per {
            // SAFETY: every run wrote each element of its rows (`relu_grad_rows`).
            let rest = unsafe { &*(&rows[per..] as *const [Slot] as *const [f32]) };
            add_rows(&mut sums, rest);
        }
        for (o, s) in last.iter_mut().zip(sums) {
            o.write(s);
        }
        // SAFETY: the runs cover the n rows, and the sums the last one.
        unsafe { out.set_len((n + 1) * d) };
        Ok((CpuStorage::F32(out), Shape::from((n + 1, d))))
    }
}

/// [`BiasReluGrad`] on a run of rows of `y` and `g` (the bias `b` gives the row length), written
/// to `out`; with `SUM`, their column sums too, each from the run's first row in row order.
fn relu_grad_rows<const SUM: bool>([y, g, b]: [&[f32]; 3], out: &mut [Slot]) -> Vec<f32> {
    let d = b.len();
    let mut sums = vec![0f32; if SUM { d } else { 0 }];
    let rows = out.chunks_mut(d).zip(y.chunks(d)).zip(g.chunks(d));
    for (r, ((o, y), g)) in rows.enumerate() {
        for (j, (((o, &y), &g), &b)) in o.iter_mut().zip(y).zip(g).zip(b).enumerate() {
            let v = if y + b >= 0.0 { g } else { 0.0 };
            o.write(v);
            if SUM {
                sums[j] = if r == 0 { v } else { sums[j] + v };
            }
        }
    }
    sums
}

/// `r + (y + b)`: a residual stream `r` plus a linear map's product `y` and its bias `b`, in one
/// pass each way with the bits of [`add_bias`] and then candle's addition (the gradient goes to
/// `r` and `y` unchanged, and `onesᵀ · grad` to `b`).
pub(crate) fn add_bias_residual(r: &Tensor, y: &Tensor, b: &Tensor) -> Result<Tensor> {
    let d = b.elem_count();
    if y.dims().last() != Some(&d) || r.dims() != y.dims() || !fusable(&[r, y, b]) {
        return Ok((r + add_bias(y, b)?)?);
    }
    Ok(r.contiguous()?
        .apply_op3(&y.contiguous()?, &b.contiguous()?, AddBiasResidual)?)
}

struct AddBiasResidual;

impl CustomOp3 for AddBiasResidual {
    fn name(&self) -> &'static str {
        "add-bias-residual"
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
        let [r, y, b] = storages3(self.name(), [(s1, l1), (s2, l2), (s3, l3)])?;
        let out = map_rows(r, y, b, |r, y, b| r + (y + b));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _r: &Tensor,
        _y: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> CandleResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        Ok((
            Some(grad.clone()),
            Some(grad.clone()),
            Some(bias_grad(grad, b.elem_count())?),
        ))
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
    fn bias_then_relu_is_the_two_operations_bit_for_bit() {
        let dev = Device::Cpu;
        // A one-value bias too (its gradient is gemm's product, summed another way); widths
        // that split over the pool into uneven runs of rows, and a bias of 385 values.
        for (n, d) in [
            (7usize, 5usize),
            (2053, 64),
            (300, 1),
            (1031, 200),
            (40, 385),
        ] {
            let mut yv = Tensor::randn(0f32, 1.0, (n, d), &dev)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let bv = Tensor::randn(0f32, 1.0, d, &dev)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            // The boundary, where the gradient passes: y + b exactly zero.
            yv[1] = -bv[1 % d];
            let y = Var::from_tensor(&Tensor::from_vec(yv, (n, d), &dev).unwrap()).unwrap();
            let b = Var::from_tensor(&Tensor::from_vec(bv, d, &dev).unwrap()).unwrap();
            let w = Tensor::randn(0f32, 1.0, (n, d), &dev).unwrap();
            let fused = add_bias_relu(y.as_tensor(), b.as_tensor()).unwrap();
            let plain =
                assay_sdk::ops::relu(&add_bias(y.as_tensor(), b.as_tensor()).unwrap()).unwrap();
            assert_eq!(bits(&fused), bits(&plain));
            let gf = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let gp = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
            for v in [&y, &b] {
                assert_eq!(bits(gf.get(v).unwrap()), bits(gp.get(v).unwrap()));
            }
        }
    }

    #[test]
    fn residual_plus_bias_is_the_two_additions_bit_for_bit() {
        let dev = Device::Cpu;
        for (n, d) in [(7usize, 5usize), (2053, 64)] {
            let r = Var::randn(0f32, 1.0, (n, d), &dev).unwrap();
            let y = Var::randn(0f32, 1.0, (n, d), &dev).unwrap();
            let b = Var::randn(0f32, 1.0, d, &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (n, d), &dev).unwrap();
            // The stream also goes on by another path, as into the next block's norm.
            let loss = |out: Tensor| {
                ((out * &w).unwrap() + r.as_tensor().sqr().unwrap())
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            let fused = add_bias_residual(r.as_tensor(), y.as_tensor(), b.as_tensor()).unwrap();
            let plain = (r.as_tensor() + add_bias(y.as_tensor(), b.as_tensor()).unwrap()).unwrap();
            assert_eq!(bits(&fused), bits(&plain));
            let gf = loss(fused).backward().unwrap();
            let gp = loss(plain).backward().unwrap();
            for v in [&r, &y, &b] {
                assert_eq!(bits(gf.get(v).unwrap()), bits(gp.get(v).unwrap()));
            }
        }
    }

    #[test]
    fn an_empty_bias_on_empty_rows_is_empty() {
        let y = Tensor::zeros((3, 0), DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros(0, DType::F32, &Device::Cpu).unwrap();
        assert_eq!(add_bias_relu(&y, &b).unwrap().dims(), &[3, 0]);
    }

    #[test]
    fn a_bias_of_the_wrong_length_is_an_error() {
        let y = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let err = add_bias(&y, &b).unwrap_err().to_string();
        assert!(err.contains("4 values"), "{err}");
    }
}
