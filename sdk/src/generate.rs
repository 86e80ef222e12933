//! Text generation from a next-token [`Model`] and its [`Tokenizer`]: greedy decoding or
//! sampling with temperature, top-k and top-p, stop sequences, several prompts at once, and a
//! seed that fixes the result.
//!
//! Prompts of the same token length run as one batch. A model with a key/value cache
//! ([`Generative::forward_cached`](crate::Generative::forward_cached)) computes one position per generated token; otherwise, or with
//! [`Sampling::use_cache`] off, every step recomputes the whole sequence (the two give the same
//! tokens, which the `transformer` plugin's tests check). When a sequence outgrows
//! [`Generative::context_length`](crate::Generative::context_length), the oldest tokens are dropped and the window is recomputed.

use candle_core::{DType, Device, Tensor, D};
use rand::Rng as _;

use crate::error::{PluginError, Result};
use crate::hooks::Hooks;
use crate::model::Model;
use crate::text::{KvCache, Tokenizer};

/// How to choose each next token.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// Most tokens to generate per prompt.
    pub max_tokens: usize,
    /// 0 = greedy (argmax); otherwise logits are divided by it before sampling.
    pub temperature: f64,
    /// Sample among the k most likely tokens only; 0 = all.
    pub top_k: usize,
    /// Sample among the most likely tokens whose probabilities sum to at least p; 1 = all.
    pub top_p: f64,
    /// Stop when the generated text contains one of these (it is cut before it).
    pub stop: Vec<String>,
    /// Seeds the sampling.
    pub seed: u64,
    /// Use the model's key/value cache when it has one.
    pub use_cache: bool,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            max_tokens: 64,
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            stop: Vec::new(),
            seed: 0,
            use_cache: true,
        }
    }
}

/// Why generation of one prompt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `max_tokens` reached.
    Length,
    /// The tokenizer's end-of-text token.
    EndOfText,
    /// A stop sequence.
    StopSequence,
}

/// One prompt's continuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The prompt's token ids.
    pub prompt_ids: Vec<u32>,
    /// The generated ids (up to, not including, an end-of-text token).
    pub ids: Vec<u32>,
    /// The generated text, cut before a stop sequence.
    pub text: String,
    /// Why it ended.
    pub stop: Stop,
}

/// Picks one token from `logits` (one row).
fn choose(logits: &[f32], s: &Sampling, rng: &mut crate::init::Rng) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map_or(0, |(i, _)| i as u32)
    };
    if s.temperature <= 0.0 {
        return argmax();
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if s.top_k > 0 {
        order.truncate(s.top_k);
    }
    let max = logits[order[0]] as f64;
    let mut probs: Vec<f64> = order
        .iter()
        .map(|&i| ((logits[i] as f64 - max) / s.temperature).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if s.top_p < 1.0 {
        let mut acc = 0.0;
        let keep = probs
            .iter()
            .position(|p| {
                acc += p;
                acc >= s.top_p
            })
            .map_or(probs.len(), |i| i + 1);
        probs.truncate(keep);
        order.truncate(keep);
    }
    let total: f64 = probs.iter().sum();
    let mut r = rng.random::<f64>() * total;
    for (p, &i) in probs.iter().zip(&order) {
        r -= p;
        if r <= 0.0 {
            return i as u32;
        }
    }
    order[order.len() - 1] as u32
}

/// The last position's logits of a `[batch, positions, vocab]` output, as rows.
fn last_rows(out: &Tensor) -> Result<Vec<Vec<f32>>> {
    let (_, t, _) = out.dims3().map_err(|_| {
        PluginError::invalid(format!(
            "generation needs a next-token model ([batch, positions, vocab] logits); this one returned {:?}",
            out.dims()
        ))
    })?;
    Ok(out
        .narrow(1, t - 1, 1)?
        .squeeze(1)?
        .to_dtype(DType::F32)?
        .to_vec2::<f32>()?)
}

/// Generates a continuation of every prompt.
pub fn generate(
    model: &dyn Model,
    tokenizer: &dyn Tokenizer,
    prompts: &[&str],
    s: &Sampling,
    device: &Device,
) -> Result<Vec<Generated>> {
    generate_with_hooks(model, tokenizer, prompts, s, device, &mut Hooks::none())
}

/// [`generate`] with `hooks` in every forward pass (cached or not): interventions steer every
/// generated token, and captured activations hold the last step's. Check the hooks' names
/// against the model first ([`Hooks::check`]).
pub fn generate_with_hooks(
    model: &dyn Model,
    tokenizer: &dyn Tokenizer,
    prompts: &[&str],
    s: &Sampling,
    device: &Device,
    hooks: &mut Hooks,
) -> Result<Vec<Generated>> {
    let mut rng = crate::init::rng(s.seed, "generate");
    let encoded: Vec<Vec<u32>> = prompts
        .iter()
        .map(|p| tokenizer.encode(p))
        .collect::<Result<_>>()?;
    if let Some(i) = encoded.iter().position(Vec::is_empty) {
        return Err(PluginError::invalid(format!(
            "prompt {i} is empty after tokenization; give at least one token"
        )));
    }
    let mut results: Vec<Option<Generated>> = vec![None; prompts.len()];
    // Prompts of equal length form a batch; batches in order of first appearance.
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, e) in encoded.iter().enumerate() {
        match groups.iter_mut().find(|(len, _)| *len == e.len()) {
            Some((_, members)) => members.push(i),
            None => groups.push((e.len(), vec![i])),
        }
    }
    let generative = model.generative();
    let window = generative.and_then(|g| g.context_length());
    for (_, members) in groups {
        let mut seqs: Vec<Vec<u32>> = members.iter().map(|&i| encoded[i].clone()).collect();
        let prompt_len = seqs[0].len();
        let mut done = vec![None::<Stop>; members.len()];
        let mut texts = vec![String::new(); members.len()];
        let mut cache = KvCache::new();
        let mut cached = s.use_cache;
        for step in 0..s.max_tokens {
            if done.iter().all(Option::is_some) {
                break;
            }
            let len = seqs[0].len();
            let fits = window.is_none_or(|w| len <= w);
            let rows = if cached && fits {
                let fresh = if step == 0 { 0 } else { len - 1 };
                let ids: Vec<u32> = seqs.iter().flat_map(|q| q[fresh..].to_vec()).collect();
                let input = Tensor::from_vec(ids, (seqs.len(), len - fresh), device)?;
                match generative {
                    Some(g) => last_rows(&g.forward_cached_with_hooks(&input, &mut cache, hooks)?)?,
                    None => {
                        cached = false;
                        continue_without_cache(model, &seqs, window, device, hooks)?
                    }
                }
            } else {
                cached = false;
                continue_without_cache(model, &seqs, window, device, hooks)?
            };
            for (j, row) in rows.iter().enumerate() {
                let token = choose(row, s, &mut rng);
                seqs[j].push(token);
                if done[j].is_some() {
                    continue;
                }
                if tokenizer.eos() == Some(token) {
                    done[j] = Some(Stop::EndOfText);
                    continue;
                }
                if s.stop.is_empty() {
                    // The text is decoded once at the end.
                    continue;
                }
                let gen = &seqs[j][prompt_len..];
                texts[j] = tokenizer.decode(gen)?;
                if let Some(cut) = s
                    .stop
                    .iter()
                    .filter(|x| !x.is_empty())
                    .filter_map(|x| texts[j].find(x.as_str()))
                    .min()
                {
                    texts[j].truncate(cut);
                    done[j] = Some(Stop::StopSequence);
                }
            }
        }
        for (j, &i) in members.iter().enumerate() {
            let stop = done[j].unwrap_or(Stop::Length);
            let mut ids = seqs[j][prompt_len..].to_vec();
            // Tokens sampled for a finished prompt while its batch went on are not its output.
            let produced = match stop {
                Stop::Length => ids.len(),
                _ => ids
                    .iter()
                    .position(|&t| Some(t) == tokenizer.eos())
                    .unwrap_or(ids.len()),
            };
            ids.truncate(produced.min(ids.len()));
            if stop == Stop::StopSequence {
                // Keep the ids whose text lies before the cut.
                while !ids.is_empty() && tokenizer.decode(&ids)?.len() > texts[j].len() {
                    ids.pop();
                }
            }
            if stop == Stop::EndOfText || stop == Stop::Length {
                texts[j] = tokenizer.decode(&ids)?;
            }
            results[i] = Some(Generated {
                prompt_ids: encoded[i].clone(),
                ids,
                text: texts[j].clone(),
                stop,
            });
        }
    }
    Ok(results.into_iter().flatten().collect())
}

fn continue_without_cache(
    model: &dyn Model,
    seqs: &[Vec<u32>],
    window: Option<usize>,
    device: &Device,
    hooks: &mut Hooks,
) -> Result<Vec<Vec<f32>>> {
    let len = seqs[0].len();
    let from = window.map_or(0, |w| len.saturating_sub(w));
    let ids: Vec<u32> = seqs.iter().flat_map(|q| q[from..].to_vec()).collect();
    let input = Tensor::from_vec(ids, (seqs.len(), len - from), device)?;
    // A window that slid drops the first positions: chosen positions count from its start.
    hooks.set_position_offset(from);
    let out = model.forward(&input, hooks)?;
    hooks.set_position_offset(0);
    last_rows(&out)
}

/// Log-probability of `continuation` after `context` under the model (the sum over its tokens),
/// and whether every continuation token was the model's greedy choice: multiple-choice ranking
/// as lm-eval-harness does it.
pub fn log_likelihood(
    model: &dyn Model,
    context: &[u32],
    continuation: &[u32],
    device: &Device,
) -> Result<(f64, bool)> {
    if context.is_empty() || continuation.is_empty() {
        return Err(PluginError::invalid(
            "log-likelihood needs a non-empty context and continuation",
        ));
    }
    let mut ids = context.to_vec();
    ids.extend_from_slice(continuation);
    ids.pop();
    let mut from = 0;
    if let Some(w) = model.generative().and_then(|g| g.context_length()) {
        from = ids.len().saturating_sub(w);
    }
    let n = ids.len() - from;
    let input = Tensor::from_vec(ids[from..].to_vec(), (1, n), device)?;
    let out = model.forward(&input, &mut Hooks::none())?;
    let logp = crate::nn::ops::log_softmax(&out.to_dtype(DType::F32)?, D::Minus1)?
        .squeeze(0)?
        .to_vec2::<f32>()?;
    let first = n - continuation.len();
    let mut total = 0.0f64;
    let mut greedy = true;
    for (k, &tok) in continuation.iter().enumerate() {
        let row = &logp[first + k];
        total += f64::from(row[tok as usize]);
        let best = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        greedy &= best == tok as usize;
    }
    Ok((total, greedy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choosing_is_greedy_at_zero_temperature_and_respects_top_k_and_top_p() {
        let logits = [0.0f32, 3.0, 1.0, 2.9];
        let mut rng = crate::init::rng(0, "t");
        let greedy = Sampling::default();
        assert_eq!(choose(&logits, &greedy, &mut rng), 1);
        let top2 = Sampling {
            temperature: 1.0,
            top_k: 2,
            ..Sampling::default()
        };
        for _ in 0..200 {
            let c = choose(&logits, &top2, &mut rng);
            assert!(c == 1 || c == 3);
        }
        let nucleus = Sampling {
            temperature: 1.0,
            top_p: 0.01,
            ..Sampling::default()
        };
        for _ in 0..50 {
            assert_eq!(choose(&logits, &nucleus, &mut rng), 1);
        }
    }
}
