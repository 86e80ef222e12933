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
    /// Targets are `f32` of shape `[batch, outputs]`; loss is the mean squared error.
    Regression {
        /// Number of outputs.
        outputs: usize,
    },
}

impl Objective {
    /// The width of the model's output layer.
    pub fn outputs(&self) -> usize {
        match self {
            Objective::Classification { classes } => *classes,
            Objective::Regression { outputs } => *outputs,
        }
    }
}

/// How the input of one example is encoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InputKind {
    /// `f32` features.
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

/// Examples split into train and test.
///
/// The host decides which examples make a batch (it owns the seeded order, so that a resumed run
/// sees the same batches) and asks for them by index. The split itself is the dataset's business
/// and must depend only on its parameters and the run seed.
///
/// # Example: points on two sides of a line
///
/// ```
/// use assay_sdk::prelude::*;
/// use assay_sdk::rand::Rng as _;
///
/// struct HalfPlanes { x: Vec<[f32; 2]>, y: Vec<u32>, train: usize }
///
/// impl Dataset for HalfPlanes {
///     fn info(&self) -> DataInfo {
///         DataInfo::features(vec![2], Objective::Classification { classes: 2 })
///     }
///     fn len(&self, split: Split) -> usize {
///         match split { Split::Train => self.train, Split::Test => self.x.len() - self.train }
///     }
///     fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
///         let offset = if split == Split::Train { 0 } else { self.train };
///         let xs: Vec<f32> = indices.iter().flat_map(|&i| self.x[offset + i]).collect();
///         let ys: Vec<u32> = indices.iter().map(|&i| self.y[offset + i]).collect();
///         Ok(Batch {
///             input: Tensor::from_vec(xs, (indices.len(), 2), device)?,
///             target: Tensor::from_vec(ys, indices.len(), device)?,
///         })
///     }
/// }
///
/// fn register(r: &mut dyn Registrar) {
///     r.add(Component::dataset("half_planes", "0.1.0", |p, cx| {
///         let n = p.usize("n")?;
///         let mut rng = cx.rng("half_planes");
///         let x: Vec<[f32; 2]> = (0..n).map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)]).collect();
///         let y = x.iter().map(|p| u32::from(p[0] + p[1] > 0.0)).collect();
///         Ok(Box::new(HalfPlanes { x, y, train: n * 8 / 10 }))
///     })
///     .param(Param::int("n", 100, "number of points").min(10.0)));
/// }
///
/// let mut found = Vec::new();
/// register(&mut found);
/// let Factory::Dataset(make) = &found[0].factory else { unreachable!() };
/// let data = make(&found[0].resolve(&[])?, &BuildContext { seed: 1, device: Device::Cpu })?;
/// assert_eq!(data.len(Split::Test), 20);
/// assert_eq!(data.batch(Split::Train, &[0, 1, 2], &Device::Cpu)?.input.dims(), &[3, 2]);
/// # Ok::<(), assay_sdk::PluginError>(())
/// ```
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
}
