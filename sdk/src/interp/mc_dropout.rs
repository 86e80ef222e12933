//! Monte Carlo dropout (Gal and Ghahramani, 2016): keep dropout on at inference, run `T`
//! passes, and read confidence as the mean probability.

use candle_core::{DType, Tensor, D};

use crate::error::{PluginError, Result};
use crate::{Hooks, Model};

/// Mean probabilities over Monte Carlo passes.
#[derive(Debug, Clone)]
pub struct McScores {
    /// Mean softmax probabilities, the model's output shape (`[batch, positions, vocab]` or
    /// `[batch, classes]`).
    pub mean: Tensor,
    /// The argmax of the mean over the last axis.
    pub argmax: Tensor,
    /// Passes whose outputs differed from the first (0 means dropout was off: a warning sign).
    pub varied: usize,
}

/// Runs `passes` forward passes of `input` and averages their softmax. The model must keep
/// dropout on at inference (the built-in `transformer` does with `mc_dropout = true`);
/// [`McScores::varied`] tells whether it did.
pub fn mc_dropout(model: &dyn Model, input: &Tensor, passes: usize) -> Result<McScores> {
    if passes == 0 {
        return Err(PluginError::invalid(
            "Monte Carlo dropout needs at least one pass",
        ));
    }
    let mut sum: Option<Tensor> = None;
    let mut first: Option<Tensor> = None;
    let mut varied = 0;
    for _ in 0..passes {
        let out = model
            .forward(input, &mut Hooks::none())?
            .to_dtype(DType::F32)?;
        let p = crate::nn::ops::softmax(&out, D::Minus1)?;
        match &first {
            None => first = Some(out),
            Some(f) => {
                let d = (f - &out)?
                    .abs()?
                    .flatten_all()?
                    .max(0)?
                    .to_scalar::<f32>()?;
                if d > 0.0 {
                    varied += 1;
                }
            }
        }
        sum = Some(match sum {
            None => p,
            Some(s) => (s + p)?,
        });
    }
    let mean = (sum.ok_or_else(|| PluginError::invalid("no passes"))? / passes as f64)?;
    let argmax = mean.argmax(D::Minus1)?;
    Ok(McScores {
        mean,
        argmax,
        varied,
    })
}
