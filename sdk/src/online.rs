//! The [`OnlineProblem`] kind and the host-memory optimizer protocol.
//!
//! A spec with a `[problem]` table instead of `[dataset]` and `[model]` runs an *online
//! optimisation problem* (Reddi et al.'s counterexamples to Adam, the toy problem of the ADOPT
//! paper): the host holds the iterate θ in host memory, in `f32` or `f64`
//! (`[problem] precision`), and every round
//!
//! 1. hands θ to [`OnlineProblem::round`], which projects it onto the feasible set in place,
//!    draws the round's loss f_t and returns f_t(θ) with the gradient ∇f_t(θ);
//! 2. logs every coordinate of θ (`theta` in one dimension, `theta/0`, `theta/1`, … otherwise)
//!    and the loss (`loss`) on the run's logging schedule;
//! 3. applies the optimizer's [`HostOptimizer`] rule to θ.
//!
//! Problems compute in `f64`; the host rounds the projected point and the gradient to the run's
//! precision before the optimizer sees them.

use crate::error::{PluginError, Result};

/// Floating-point precision of an online run's iterate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, crate::Choice)]
pub enum Precision {
    /// 32-bit floats (the default).
    F32,
    /// 64-bit floats.
    F64,
}

/// An online optimisation problem. Rounds are reproducible: the same seed and the same iterates
/// give the same losses and gradients.
///
/// # Example: a noisy quadratic
///
/// (From `sdk/examples/problem.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/problem.rs"), "```")]
pub trait OnlineProblem: Send {
    /// The starting point θ₀ (its length is the dimension); seeds the problem's randomness.
    fn start(&mut self, seed: u64) -> Result<Vec<f64>>;

    /// One round: projects `theta` onto the feasible set (in place), writes the gradient of this
    /// round's loss at the projected point into `grad` (same length) and returns the loss there.
    fn round(&mut self, theta: &mut [f64], grad: &mut [f64]) -> Result<f64>;
}

/// The iterate and gradient of one step of a [`HostOptimizer`], in the run's precision.
#[derive(Debug)]
pub enum Iterate<'a> {
    /// `f32` vectors.
    F32 {
        /// The parameters, updated in place.
        theta: &'a mut [f32],
        /// Their gradient.
        grad: &'a [f32],
    },
    /// `f64` vectors.
    F64 {
        /// The parameters, updated in place.
        theta: &'a mut [f64],
        /// Their gradient.
        grad: &'a [f64],
    },
}

/// A float type of host-memory rules, so that one generic implementation serves both
/// precisions (`HostAdam<F: HostFloat>`), in the same operation order in each.
pub trait HostFloat:
    Copy
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// Which precision this is.
    const PRECISION: Precision;
    /// Zero.
    const ZERO: Self;
    /// `x` rounded to this type.
    fn from_f64(x: f64) -> Self;
    /// This number as an `f64` (exact).
    fn to_f64(self) -> f64;
    /// An [`Iterate`] of this precision.
    fn iterate<'a>(theta: &'a mut [Self], grad: &'a [Self]) -> Iterate<'a>;
    /// Square root.
    fn sqrt(self) -> Self;
    /// The larger of two numbers.
    fn max(self, other: Self) -> Self;
    /// Clamped to `[lo, hi]`.
    fn clamp(self, lo: Self, hi: Self) -> Self;
    /// The iterate's vectors, if they have this type.
    fn slices<'a>(iterate: Iterate<'a>) -> Option<(&'a mut [Self], &'a [Self])>;
}

macro_rules! host_float {
    ($t:ty, $p:ident) => {
        impl HostFloat for $t {
            const PRECISION: Precision = Precision::$p;
            const ZERO: Self = 0.0;
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn iterate<'a>(theta: &'a mut [Self], grad: &'a [Self]) -> Iterate<'a> {
                Iterate::$p { theta, grad }
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline]
            fn clamp(self, lo: Self, hi: Self) -> Self {
                <$t>::clamp(self, lo, hi)
            }
            fn slices<'a>(iterate: Iterate<'a>) -> Option<(&'a mut [Self], &'a [Self])> {
                match iterate {
                    Iterate::$p { theta, grad } => Some((theta, grad)),
                    _ => None,
                }
            }
        }
    };
}
host_float!(f32, F32);
host_float!(f64, F64);

/// The same update rule as an [`Optimizer`](crate::Optimizer), on plain vectors in host memory,
/// for problems so small that tensor dispatch would dominate the step (study 1 runs 10⁵ steps
/// on one scalar). An optimizer offers it through [`crate::Component::host_optimizer`]; the host
/// builds it for one dimension and one precision, and every step hands it an [`Iterate`] of that
/// precision. It must compute exactly what [`Optimizer::step`](crate::Optimizer::step) computes,
/// in the same order, so that both agree to rounding.
pub trait HostOptimizer: Send {
    /// Applies one update to `iterate.theta` from `iterate.grad`.
    fn step(&mut self, iterate: Iterate<'_>, lr_scale: f64) -> Result<()>;
}

/// The vectors of `iterate` as `F`, or an error naming the mismatch (for [`HostOptimizer`]
/// implementations that are generic over [`HostFloat`]).
pub fn iterate_as<F: HostFloat>(iterate: Iterate<'_>) -> Result<(&mut [F], &[F])> {
    let given = match iterate {
        Iterate::F32 { .. } => Precision::F32,
        Iterate::F64 { .. } => Precision::F64,
    };
    F::slices(iterate).ok_or_else(|| {
        PluginError::invalid(format!(
            "a host-memory optimizer built for {:?} was handed {given:?} vectors",
            F::PRECISION
        ))
    })
}

/// Builds a [`HostOptimizer`] for `dim` numbers in one precision.
#[derive(Clone)]
pub struct HostOptimizerFactory(
    #[allow(clippy::type_complexity)]
    pub  std::sync::Arc<
        dyn Fn(&crate::Params, usize, Precision) -> Result<Box<dyn HostOptimizer>> + Send + Sync,
    >,
);

impl std::fmt::Debug for HostOptimizerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostOptimizerFactory")
    }
}
