//! Loss and accuracy on a split, in chunks that keep activations within memory.

use assay_sdk::prelude::*;

use crate::loss::loss_and_accuracy;
use crate::parts::Parts;

/// Evaluation runs in chunks of about this many input positions (a chunk of 2,048 three-token
/// examples, or of 16 blocks of 1,024 tokens), so that activations stay within memory.
const EVAL_POSITIONS: usize = 16_384;

/// Mean loss (and accuracy, where the objective has one) of the model on the first `max`
/// examples of `split` (all when 0), in evaluation mode.
pub(crate) fn evaluate(
    parts: &mut Parts,
    split: Split,
    max: usize,
) -> anyhow::Result<(f64, Option<f64>)> {
    let n = parts.dataset.len(split);
    let n = if max > 0 { n.min(max) } else { n };
    if n == 0 {
        return Ok((f64::NAN, None));
    }
    parts.model.set_training(false);
    let objective = parts.dataset.info().objective;
    let (mut loss_sum, mut acc_sum, mut has_acc) = (0.0f64, 0.0f64, false);
    let idx: Vec<usize> = (0..n).collect();
    let positions: usize = parts
        .dataset
        .info()
        .input_shape
        .iter()
        .product::<usize>()
        .max(1);
    let chunk_size = (EVAL_POSITIONS / positions).clamp(1, 2048);
    for chunk in idx.chunks(chunk_size) {
        let batch = parts.dataset.batch(split, chunk, &parts.device)?;
        let out = parts
            .model
            .forward(&batch.input, &mut Hooks::none())?
            .detach();
        let (loss, acc) = loss_and_accuracy(&objective, &out, &batch.target)?;
        let w = chunk.len() as f64;
        loss_sum += f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?) * w;
        if let Some(a) = acc {
            has_acc = true;
            acc_sum += f64::from(a.to_scalar::<f32>()?) * w;
        }
    }
    parts.model.set_training(true);
    Ok((loss_sum / n as f64, has_acc.then(|| acc_sum / n as f64)))
}
