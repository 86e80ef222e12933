//! The loss the host computes from a model's output, by the dataset's objective.
//!
//! Cross-entropy is `assay_sdk::ops::cross_entropy_exact`: candle's composed cross-entropy
//! computed in one pass each way with the same bits, value and gradient (tested in the SDK and
//! here, over whole training runs). Not the faster `assay_sdk::ops::cross_entropy`: that one
//! differs in the last bit, and over thousands of full-batch Adam steps that moves when (and in
//! study 8's tickets, whether) a run groks, so the README's result tables would no longer be
//! reproduced.

use anyhow::{bail, Context};
use assay_sdk::prelude::*;

/// The loss of `output` against `target` for `objective`, without the accuracy (the training
/// step does not need it).
pub fn loss(objective: &Objective, output: &Tensor, target: &Tensor) -> anyhow::Result<Tensor> {
    match objective {
        Objective::Classification { .. } => {
            Ok(assay_sdk::ops::cross_entropy_exact(output, target)?)
        }
        Objective::Regression { .. } => Ok(assay_sdk::nn::loss::mse(output, target)?),
        Objective::NextToken { .. } => {
            let (logits, target) = flatten_positions(output, target)?;
            Ok(assay_sdk::ops::cross_entropy_exact(&logits, &target)?)
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
            let loss = assay_sdk::ops::cross_entropy_exact(output, target)?;
            let pred = output.argmax(D::Minus1)?;
            let acc = pred.eq(target)?.to_dtype(DType::F32)?.mean_all()?;
            Ok((loss, Some(acc)))
        }
        Objective::Regression { .. } => Ok((assay_sdk::nn::loss::mse(output, target)?, None)),
        Objective::NextToken { .. } => {
            let (logits, target) = flatten_positions(output, target)?;
            let loss = assay_sdk::ops::cross_entropy_exact(&logits, &target)?;
            let pred = logits.argmax(D::Minus1)?;
            let acc = pred.eq(&target)?.to_dtype(DType::F32)?.mean_all()?;
            Ok((loss, Some(acc)))
        }
        other => bail!("objective {other:?} is not supported by this host"),
    }
}

#[cfg(test)]
mod tests {
    use assay_sdk::nn::{AdamW, Optimizer, ParamsAdamW};
    use assay_sdk::prelude::*;

    /// 200 full-batch AdamW steps of a two-layer ReLU network on a 67-class problem, with `loss`;
    /// the final weights as bits.
    fn train(loss: &dyn Fn(&Tensor, &Tensor) -> assay_sdk::candle::Result<Tensor>) -> Vec<u32> {
        let dev = Device::Cpu;
        // Fixed pseudo-random values (candle's `randn` draws anew at every call).
        let values = |n: usize, scale: f32, salt: f32| {
            let v: Vec<f32> = (0..n)
                .map(|i| ((i as f32 * 12.9898 + salt).sin() * 43758.545).fract() * scale)
                .collect();
            v
        };
        let x = Tensor::from_vec(values(300 * 20, 2.0, 0.1), (300, 20), &dev).unwrap();
        let y: Vec<u32> = (0..300u32).map(|i| (i * 13) % 67).collect();
        let y = Tensor::new(y.as_slice(), &dev).unwrap();
        let w1 = Var::from_vec(values(20 * 48, 0.5, 0.2), (20, 48), &dev).unwrap();
        let w2 = Var::from_vec(values(48 * 67, 0.5, 0.3), (48, 67), &dev).unwrap();
        let params = ParamsAdamW {
            lr: 1e-2,
            weight_decay: 1.0,
            ..Default::default()
        };
        let mut opt = AdamW::new(vec![w1.clone(), w2.clone()], params).unwrap();
        for _ in 0..200 {
            let h = x.matmul(w1.as_tensor()).unwrap().relu().unwrap();
            let l = loss(&h.matmul(w2.as_tensor()).unwrap(), &y).unwrap();
            opt.backward_step(&l).unwrap();
        }
        [w1, w2]
            .iter()
            .flat_map(|w| w.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .map(f32::to_bits)
            .collect()
    }

    #[test]
    fn training_with_the_exact_loss_gives_candles_weights_bit_for_bit() {
        let exact = train(&|a, b| assay_sdk::ops::cross_entropy_exact(a, b));
        let composed = train(&|a, b| assay_sdk::nn::loss::cross_entropy(a, b));
        assert_eq!(exact, composed);
    }
}
