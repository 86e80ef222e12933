//! Text: the [`Tokenizer`] a dataset or checkpoint comes with, and the [`KvCache`] through
//! which decoder models continue a sequence without recomputing it. Text-in, text-out models
//! are [`crate::backend`].

use candle_core::Tensor;

use crate::error::Result;

/// Text to token ids and back.
///
/// Datasets of text hand theirs out through [`crate::Dataset::tokenizer`], so that a trained
/// model can be prompted with text (`assay generate`) and evaluated on text tasks.
pub trait Tokenizer: Send + Sync {
    /// Token ids of `text`, without special tokens.
    fn encode(&self, text: &str) -> Result<Vec<u32>>;
    /// Text of `ids`; special tokens are dropped.
    fn decode(&self, ids: &[u32]) -> Result<String>;
    /// Number of ids.
    fn vocab_size(&self) -> usize;
    /// The end-of-text id, if the tokenizer has one: generation stops there.
    fn eos(&self) -> Option<u32>;
    /// The tokenizer as the text of a Hugging Face `tokenizer.json` that encodes and decodes the
    /// same ids, with the end-of-text id as a special token named `<|endoftext|>`, if it can be
    /// written so. A training run saves it as `tokenizer.json` in its directory, so that the run
    /// can be loaded and prompted later without its corpus. The default: `None`.
    fn to_hf_json(&self) -> Option<String> {
        None
    }
}

/// Keys and values of the positions a decoder has already processed, per layer.
///
/// A model that supports it ([`crate::Generative::forward_cached`]) reads
/// [`position`](KvCache::position) (where its new positions start), then appends the keys and
/// values of the new positions layer by layer and attends to all of them, so that each generated
/// token costs one position's computation instead of the whole sequence's. The cache tracks its
/// own position: it is the number of positions in its first layer.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    /// `(keys, values)` per layer, `[batch, heads, positions, d_head]`; `None` before the first
    /// append.
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Positions already processed (0 for an empty cache). Read it before appending the new
    /// positions' first layer.
    pub fn position(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.dims().get(2).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// Number of layers that hold keys and values.
    pub fn layers(&self) -> usize {
        self.layers.iter().filter(|l| l.is_some()).count()
    }

    /// Appends `k`, `v` (`[batch, heads, new, d_head]`) to layer `layer` and returns the whole
    /// keys and values.
    pub fn append(&mut self, layer: usize, k: Tensor, v: Tensor) -> Result<(Tensor, Tensor)> {
        if self.layers.len() <= layer {
            self.layers.resize(layer + 1, None);
        }
        let (k, v) = match self.layers[layer].take() {
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
            None => (k, v),
        };
        self.layers[layer] = Some((k.clone(), v.clone()));
        Ok((k, v))
    }
}
