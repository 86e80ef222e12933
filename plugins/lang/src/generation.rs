//! Generation under forcing: unconditional samples from the beginning-of-sequence token and
//! greedy continuations of the notes' translation prompt, through
//! [`assay_sdk::generate_with_hooks`] (the forcing acts on every generated token).
//!
//! The byte tokenizer has no beginning-of-sequence token: its end-of-document token, which
//! precedes every training document, plays that part (`<|endoftext|>` does for GPT-2).
//! [`WithBos`] puts it before every prompt, so the empty prompt is exactly that one token.

use std::sync::Arc;

use assay_sdk::prelude::*;
use assay_sdk::{generate_with_hooks, Sampling};

/// The notes' translation prompt (Kojima et al.'s conditional generation), before the source.
pub const TRANSLATION_PREFIX: &str =
    "Translate an English sentence into a target language.\nEnglish: ";
/// After the source sentence.
pub const TRANSLATION_SUFFIX: &str = "\nTarget Language:";

/// A tokenizer that puts `bos` before every encoded text; decoding and the rest are the inner
/// tokenizer's.
pub struct WithBos {
    inner: Arc<dyn Tokenizer>,
    bos: u32,
}

impl WithBos {
    /// Wraps `inner`; the token put first is its end-of-text token. `None` when it has none.
    pub fn new(inner: Arc<dyn Tokenizer>) -> Option<WithBos> {
        let bos = inner.eos()?;
        Some(WithBos { inner, bos })
    }

    /// The token put first.
    pub fn bos(&self) -> u32 {
        self.bos
    }
}

impl Tokenizer for WithBos {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = vec![self.bos];
        ids.extend(self.inner.encode(text)?);
        Ok(ids)
    }
    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids)
    }
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }
    fn eos(&self) -> Option<u32> {
        self.inner.eos()
    }
}

/// How to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Unconditional samples.
    pub samples: usize,
    /// Tokens per unconditional sample.
    pub sample_tokens: usize,
    /// Sampling temperature of the unconditional samples.
    pub temperature: f64,
    /// Seed of the sampling (the same for every condition, so that conditions differ only by
    /// the forcing).
    pub seed: u64,
    /// Most tokens of each greedy translation (cut at the first newline).
    pub translation_tokens: usize,
}

/// `plan.samples` unconditional samples from the beginning-of-sequence token (temperature
/// sampling, all in one batch), with `hooks` in every forward pass.
pub fn unconditional(
    model: &dyn Model,
    tokenizer: &WithBos,
    plan: &Plan,
    hooks: &mut Hooks,
    device: &Device,
) -> Result<Vec<String>> {
    let prompts = vec![""; plan.samples];
    let s = Sampling {
        max_tokens: plan.sample_tokens,
        temperature: plan.temperature,
        seed: plan.seed,
        ..Sampling::default()
    };
    Ok(
        generate_with_hooks(model, tokenizer, &prompts, &s, device, hooks)?
            .into_iter()
            .map(|g| g.text)
            .collect(),
    )
}

/// Greedy continuations of the translation prompt of each English `source`, cut at the first
/// newline, with `hooks` in every forward pass.
pub fn translations(
    model: &dyn Model,
    tokenizer: &WithBos,
    sources: &[String],
    plan: &Plan,
    hooks: &mut Hooks,
    device: &Device,
) -> Result<Vec<String>> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let prompts: Vec<String> = sources
        .iter()
        .map(|s| format!("{TRANSLATION_PREFIX}{s}{TRANSLATION_SUFFIX}"))
        .collect();
    let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let s = Sampling {
        max_tokens: plan.translation_tokens,
        temperature: 0.0,
        stop: vec!["\n".to_string()],
        seed: plan.seed,
        ..Sampling::default()
    };
    Ok(
        generate_with_hooks(model, tokenizer, &refs, &s, device, hooks)?
            .into_iter()
            .map(|g| g.text)
            .collect(),
    )
}
