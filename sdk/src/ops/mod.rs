//! Fused CPU operations with their own backward pass, for the hot spots of training steps.
//!
//! Composed from candle's basic operations, a cross-entropy loss is a dozen passes over the
//! logits forward and backward (maximum, subtraction, exponential, sum, logarithm, gather,
//! each with broadcasts and each allocating), which dominated the step of small models. The
//! operations here compute the same function in one pass each way; on other devices and other
//! precisions they fall back to the composed operations, so they can be used everywhere.
//! Each is tested equal, value and gradient, to the composed computation.
//!
//! ```
//! use assay_sdk::candle::{Device, Tensor, Var};
//! use assay_sdk::ops::cross_entropy;
//!
//! let logits = Var::new(&[[2.0f32, 0.5, -1.0], [0.0, 0.0, 3.0]], &Device::Cpu)?;
//! let target = Tensor::new(&[0u32, 2], &Device::Cpu)?;
//! let loss = cross_entropy(logits.as_tensor(), &target)?;
//! let composed = assay_sdk::nn::loss::cross_entropy(logits.as_tensor(), &target)?;
//! let (a, b) = (loss.to_scalar::<f32>()?, composed.to_scalar::<f32>()?);
//! assert!((a - b).abs() < 1e-6);
//! let grads = loss.backward()?;
//! assert_eq!(grads.get(&logits).unwrap().dims(), &[2, 3]);
//! # Ok::<(), assay_sdk::candle::Error>(())
//! ```

mod attention;
mod causal_attention;
mod cross_entropy;
mod exact_cross_entropy;
mod exp;
mod kernels;
mod relu;
mod row_sums;

pub use attention::{attention, attention_by_position, FUSED_ATTENTION_MAX_KEYS};
pub use causal_attention::{
    causal_attention_by_position, causal_attention_packed, CAUSAL_ATTENTION_EXACT_KEYS,
};
pub use cross_entropy::cross_entropy;
pub use exact_cross_entropy::cross_entropy_exact;
pub use exp::exp_in_place;
pub use relu::relu;

use candle_core::{CpuStorage, Layout};

type CandleResult<T> = std::result::Result<T, candle_core::Error>;

/// Elements from which an operation spreads its rows over the thread pool: below it, waking
/// the pool costs more than the pass.
pub const PARALLEL_FROM: usize = 1 << 16;

/// The `f32` values of a contiguous CPU tensor's storage.
fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> CandleResult<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("{what}: f32 tensors only")
    };
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{what}: needs contiguous tensors")
    };
    Ok(&v[a..b])
}

/// The `f32` values of a contiguous tensor's storage, which must be on the CPU (a backward
/// pass gets whole tensors).
fn cpu_slice<'a>(s: &'a candle_core::Storage, l: &Layout, what: &str) -> CandleResult<&'a [f32]> {
    match s {
        candle_core::Storage::Cpu(c) => f32_slice(c, l, what),
        _ => candle_core::bail!("{what}: CPU tensors only"),
    }
}

/// Gradients for three arguments, from their values and the arguments' shapes.
type Grads3 = (
    Option<candle_core::Tensor>,
    Option<candle_core::Tensor>,
    Option<candle_core::Tensor>,
);

fn grads3([a, b, c]: [Vec<f32>; 3], like: [&candle_core::Tensor; 3]) -> CandleResult<Grads3> {
    let t = |v: Vec<f32>, x: &candle_core::Tensor| {
        candle_core::Tensor::from_vec(v, x.shape(), x.device()).map(Some)
    };
    Ok((t(a, like[0])?, t(b, like[1])?, t(c, like[2])?))
}

/// The error when a thread panicked while an operation's kept values were locked.
fn poisoned(what: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "{what}: a thread panicked while holding its probabilities"
    ))
}

/// The largest absolute difference between two tensors (for the tests).
#[cfg(test)]
fn max_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>())
        .unwrap_or(f32::INFINITY)
}
