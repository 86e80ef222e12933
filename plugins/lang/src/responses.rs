//! Responses: every unit's activation on a sentence, mean-pooled over the sentence's tokens.
//!
//! Each sentence is run alone in the paper (batch size 1, no padding). Here sentences of the
//! same token length run together, which is the same computation: nothing is padded, and a
//! causal decoder's example never sees another. Each sentence is preceded by the tokenizer's
//! end-of-document token, as every training document is, and the pooling covers the sentence's
//! own positions (not that first one, whose activations are the same for every sentence).

use std::collections::BTreeMap;

use assay_sdk::prelude::*;

use crate::units::Units;

/// `[sentence][unit]` responses of `sentences` (token ids, without the leading token), in the
/// order given; `bos` is put before each when given. At most `batch` sentences per forward
/// pass. An empty sentence is an error.
pub fn record(
    model: &dyn Model,
    units: &Units,
    sentences: &[Vec<u32>],
    bos: Option<u32>,
    batch: usize,
    device: &Device,
) -> Result<Vec<Vec<f32>>> {
    if let Some(i) = sentences.iter().position(Vec::is_empty) {
        return Err(PluginError::invalid(format!("sentence {i} has no tokens")));
    }
    let mut by_length: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, s) in sentences.iter().enumerate() {
        by_length.entry(s.len()).or_default().push(i);
    }
    let from = usize::from(bos.is_some());
    let mut out: Vec<Option<Vec<f32>>> = vec![None; sentences.len()];
    for (len, members) in by_length {
        for chunk in members.chunks(batch.max(1)) {
            let mut ids = Vec::with_capacity(chunk.len() * (len + from));
            for &i in chunk {
                ids.extend(bos);
                ids.extend_from_slice(&sentences[i]);
            }
            let input = Tensor::from_vec(ids, (chunk.len(), len + from), device)?;
            let mut hooks = Hooks::capture(units.names());
            model.forward(&input, &mut hooks)?;
            let rows = units.mean_pooled(hooks.cache(), from)?;
            for (&i, row) in chunk.iter().zip(rows) {
                out[i] = Some(row);
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// The median of `values` (the mean of the two middle values for an even count, as NumPy's
/// `median`); `None` for no values.
pub fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f32::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_follow_numpy() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
