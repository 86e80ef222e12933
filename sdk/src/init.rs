//! Seeded random numbers and parameter initialisation.
//!
//! candle's own CPU generator cannot be seeded, so every random number in a run comes from here:
//! a generator derived from the run seed and a stream name, which makes initialisation
//! reproducible and independent of the order in which components are built.

use candle_core::{Device, Tensor};
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::error::Result;

/// The SDK's seeded generator.
pub type Rng = rand::rngs::StdRng;

/// A generator for `(seed, stream)`: the same pair always gives the same numbers.
///
/// ```
/// use assay_sdk::rand::Rng as _;
/// let a: u64 = assay_sdk::init::rng(7, "mlp").random();
/// let b: u64 = assay_sdk::init::rng(7, "mlp").random();
/// let c: u64 = assay_sdk::init::rng(7, "data").random();
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// ```
pub fn rng(seed: u64, stream: &str) -> Rng {
    // FNV-1a over the stream name, mixed with the seed by splitmix64.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    Rng::seed_from_u64(z ^ (z >> 31))
}

/// A tensor of `shape` with entries drawn uniformly from `[lo, hi)`.
pub fn uniform(
    rng: &mut Rng,
    shape: &[usize],
    lo: f32,
    hi: f32,
    device: &Device,
) -> Result<Tensor> {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    Ok(Tensor::from_vec(v, shape, device)?)
}

/// A tensor of `shape` with normal entries.
pub fn normal(
    rng: &mut Rng,
    shape: &[usize],
    mean: f32,
    std: f32,
    device: &Device,
) -> Result<Tensor> {
    let dist = Normal::new(mean, std)
        .map_err(|e| crate::PluginError::invalid(format!("normal({mean}, {std}): {e}")))?;
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| dist.sample(rng)).collect();
    Ok(Tensor::from_vec(v, shape, device)?)
}

/// PyTorch's default for `nn.Linear`: uniform in `±1/sqrt(fan_in)`.
pub fn kaiming_uniform(
    rng: &mut Rng,
    fan_in: usize,
    shape: &[usize],
    device: &Device,
) -> Result<Tensor> {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    uniform(rng, shape, -bound, bound, device)
}
