//! The [`Dataset`] kind.

use candle_core::{Device, Tensor};

use crate::error::Result;

/// Which part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Examples the model trains on.
    Train,
    /// Held-out examples for evaluation.
    Test,
}

impl Split {
    /// `"train"` or `"test"`, as used in metric names.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// What the model is trained to do; it fixes the loss the host computes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Objective {
    /// Targets are class indices (`u32`, shape `[batch]`); the model outputs `[batch, classes]`
    /// logits; loss is cross-entropy and accuracy is reported.
    Classification {
        /// Number of classes.
        classes: usize,
    },
    /// Targets are floats of shape `[batch, outputs]`, `f32` or `f64` (the model's output must
    /// have the targets' dtype); loss is the mean squared error, computed in that precision.
    Regression {
        /// Number of outputs.
        outputs: usize,
    },
    /// Language modelling: targets are the next token at every position (`u32`,
    /// `[batch, length]`); the model outputs `[batch, length, vocab]` logits; loss is the mean
    /// cross-entropy over positions and the accuracy is per token.
    NextToken {
        /// Size of the vocabulary.
        vocab: usize,
    },
}

impl Objective {
    /// The width of the model's output layer.
    pub fn outputs(&self) -> usize {
        match self {
            Objective::Classification { classes } => *classes,
            Objective::Regression { outputs } => *outputs,
            Objective::NextToken { vocab } => *vocab,
        }
    }
}

/// How the input of one example is encoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InputKind {
    /// Float features, `f32` or `f64`. A model may keep its weights in either precision; the
    /// host computes losses in the precision of the model's output and logs them as `f64`, and
    /// optimizers update `f64` parameters in `f64` (the built-in ones do).
    Features,
    /// `u32` token ids below `vocab_size`.
    Tokens {
        /// Size of the vocabulary.
        vocab_size: usize,
    },
}

/// Shapes and objective of a dataset, which model factories read.
#[derive(Debug, Clone, PartialEq)]
pub struct DataInfo {
    /// Shape of one example's input (without the batch dimension).
    pub input_shape: Vec<usize>,
    /// How inputs are encoded.
    pub input: InputKind,
    /// The task.
    pub objective: Objective,
}

impl DataInfo {
    /// Float features of the given shape.
    pub fn features(input_shape: Vec<usize>, objective: Objective) -> Self {
        DataInfo {
            input_shape,
            input: InputKind::Features,
            objective,
        }
    }

    /// Sequences of `length` tokens from a vocabulary of `vocab_size`.
    pub fn tokens(length: usize, vocab_size: usize, objective: Objective) -> Self {
        DataInfo {
            input_shape: vec![length],
            input: InputKind::Tokens { vocab_size },
            objective,
        }
    }
}

/// A batch of examples: inputs and targets, with the batch as the first dimension.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Inputs, `[batch, ..input_shape]`.
    pub input: Tensor,
    /// Targets, as the [`Objective`] says.
    pub target: Tensor,
}

impl Batch {
    /// The next-token batch of `blocks[i]` for each of `indices`: every block holds
    /// `length + 1` tokens; the input is its first `length`, the target its last `length` (the
    /// token after each position). An index beyond `blocks` is an error naming `split`.
    pub fn next_token(
        blocks: &[Vec<u32>],
        length: usize,
        split: Split,
        indices: &[usize],
        device: &Device,
    ) -> Result<Batch> {
        let mut xs = Vec::with_capacity(indices.len() * length);
        let mut ys = Vec::with_capacity(indices.len() * length);
        for &i in indices {
            let b = blocks.get(i).ok_or_else(|| {
                crate::PluginError::invalid(format!(
                    "index {i} beyond the {} split",
                    split.as_str()
                ))
            })?;
            if b.len() != length + 1 {
                return Err(crate::PluginError::invalid(format!(
                    "block {i} of the {} split has {} tokens, not {}",
                    split.as_str(),
                    b.len(),
                    length + 1
                )));
            }
            xs.extend_from_slice(&b[..length]);
            ys.extend_from_slice(&b[1..]);
        }
        let shape = (indices.len(), length);
        Ok(Batch {
            input: Tensor::from_vec(xs, shape, device)?,
            target: Tensor::from_vec(ys, shape, device)?,
        })
    }
}

/// Examples split into train and test.
///
/// The host decides which examples make a batch (it owns the seeded order, so that a resumed run
/// sees the same batches) and asks for them by index. The split itself is the dataset's business
/// and must depend only on its parameters and the run seed.
///
/// # Example: points on two sides of a line
///
/// (From `sdk/examples/dataset.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/dataset.rs"), "```")]
pub trait Dataset: Send {
    /// Shapes and objective.
    fn info(&self) -> DataInfo;

    /// Number of examples in `split`.
    fn len(&self, split: Split) -> usize;

    /// Whether `split` is empty.
    fn is_empty(&self, split: Split) -> bool {
        self.len(split) == 0
    }

    /// The examples at `indices` (each below `len(split)`) as one batch on `device`.
    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch>;

    /// For datasets of text: the tokenizer their token ids come from.
    fn tokenizer(&self) -> Option<std::sync::Arc<dyn crate::text::Tokenizer>> {
        None
    }
}
