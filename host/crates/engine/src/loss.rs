//! The loss the host computes from a model's output, by the dataset's objective.
//!
//! Cross-entropy is candle's composed computation, not the fused `assay_sdk::ops::cross_entropy`:
//! the fused one differs in the last bit, and over thousands of full-batch Adam steps that
//! moves when (and in study 8's tickets, whether) a run groks, so the README's result tables,
//! computed with this one, would no longer be reproduced. Switching is one line here plus
//! `experiments/reproduce.sh --update` over every study.

use anyhow::{bail, Context};
use assay_sdk::prelude::*;

/// The loss of `output` against `target` for `objective`, without the accuracy (the training
/// step does not need it).
pub fn loss(objective: &Objective, output: &Tensor, target: &Tensor) -> anyhow::Result<Tensor> {
    match objective {
        Objective::Classification { .. } => Ok(assay_sdk::nn::loss::cross_entropy(output, target)?),
        Objective::Regression { .. } => Ok(assay_sdk::nn::loss::mse(output, target)?),
        Objective::NextToken { .. } => {
            let (logits, target) = flatten_positions(output, target)?;
            Ok(assay_sdk::nn::loss::cross_entropy(&logits, &target)?)
        }
        other => bail!("objective {other:?} is not supported by this host"),
    }
}

/// `[batch, length, vocab]` logits and `[batch, length]` targets as `[batch·length, vocab]` and
/// `[batch·length]`.
fn flatten_positions(output: &Tensor, target: &Tensor) -> anyhow::Result<(Tensor, Tensor)> {
    let (b, t, v) = output
        .dims3()
        .context("a next-token model must output [batch, length, vocab] logits")?;
    if target.dims() != [b, t] {
        bail!(
            "next-token targets have shape {:?}, but the logits are {:?}",
            target.dims(),
            output.dims()
        );
    }
    Ok((output.reshape((b * t, v))?, target.reshape(b * t)?))
}

/// The loss of `output` against `target` for `objective`, and the accuracy where it has one.
pub fn loss_and_accuracy(
    objective: &Objective,
    output: &Tensor,
    target: &Tensor,
) -> anyhow::Result<(Tensor, Option<Tensor>)> {
    match objective {
        Objective::Classification { .. } => {
            let loss = assay_sdk::nn::loss::cross_entropy(output, target)?;
            let pred = output.argmax(D::Minus1)?;
            let acc = pred.eq(target)?.to_dtype(DType::F32)?.mean_all()?;
            Ok((loss, Some(acc)))
        }
        Objective::Regression { .. } => Ok((assay_sdk::nn::loss::mse(output, target)?, None)),
        Objective::NextToken { .. } => {
            let (logits, target) = flatten_positions(output, target)?;
            let loss = assay_sdk::nn::loss::cross_entropy(&logits, &target)?;
            let pred = logits.argmax(D::Minus1)?;
            let acc = pred.eq(&target)?.to_dtype(DType::F32)?.mean_all()?;
            Ok((loss, Some(acc)))
        }
        other => bail!("objective {other:?} is not supported by this host"),
    }
}
