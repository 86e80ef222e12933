//! Dataset `rlds_mixture`: behaviour cloning examples from one or more RLDS dataset
//! directories ([`crate::rlds_dir`]), mixed with weights as RT-X mixes its datasets.
//!
//! Every step but an episode's last is one example: the input is [`crate::policy_input`]'s
//! features, the target the step's action as 7 tokens (the action normalised to [−1, 1] with the
//! bounds of *its own* dataset, RT-X's coarse alignment, then RT-1's 256-bin tokenisation). The
//! objective is next-token with a vocabulary of 256 over the 7 action positions, so the host's
//! loss is the mean cross-entropy of the 7 heads and `acc` the share of tokens right.
//!
//! A fraction of each dataset's episodes (seeded by the run) is held out as the test split. With
//! `weights`, the training split has `size` examples, example `i` drawn from dataset `d` with
//! probability `weights[d] / sum(weights)` and uniformly within it (seeded; the host's batch
//! order is then a permutation of those); without, it is every training example once.

use std::path::PathBuf;

use assay_sdk::prelude::*;

use crate::actions::ActionBounds;
use crate::layout::Observation;
use crate::policy_input::{feature_len, features};
use crate::rlds::Episode;
use crate::rng::SplitMix64;

/// Tokens per action dimension (RT-1's vocabulary).
pub const VOCAB: usize = crate::actions::BINS;

/// The parameters of `rlds_mixture`.
#[derive(Debug, Params)]
pub struct MixtureParams {
    /// RLDS dataset directories (relative paths are from the working directory).
    pub sources: Vec<String>,
    /// Sampling weight of each source (empty: every example once).
    #[param(default = [])]
    pub weights: Vec<f64>,
    /// Training examples with `weights` (0: as many as the sources have).
    #[param(default = 0)]
    pub size: usize,
    /// Earlier observations in each input.
    #[param(default = 2, max = 8)]
    pub history: usize,
    /// Share of each dataset's episodes held out for the test split.
    #[param(default = 0.1, min = 0.0, max = 0.9)]
    pub test_fraction: f64,
}

/// One source, read and checked.
pub struct Source {
    /// Its directory.
    pub dir: PathBuf,
    /// Its episodes.
    pub episodes: Vec<Episode>,
    /// Bounds fitted on its valid actions.
    pub bounds: ActionBounds,
}

/// Reads `dir` as an RLDS directory of `reach_push` episodes and fits its action bounds; every
/// error names the directory (and the file, episode and column where there is one).
pub fn read_source(dir: &str) -> Result<Source> {
    let path = PathBuf::from(dir);
    let episodes = crate::rlds_dir::read_dir(&path)
        .map_err(|e| PluginError::param("sources", e.to_string()))?;
    for e in &episodes {
        if let Some(step) = e.steps.first() {
            Observation::from_fields(&step.observation).map_err(|err| {
                PluginError::param(
                    "sources",
                    format!(
                        "{dir}: episode {}: field `observation`: {err}",
                        e.episode_id
                    ),
                )
            })?;
        }
    }
    let bounds = ActionBounds::from_episodes(&episodes)
        .map_err(|e| PluginError::param("sources", format!("{dir}: {e}")))?;
    Ok(Source {
        dir: path,
        episodes,
        bounds,
    })
}

/// One example: features and action tokens.
struct Example {
    x: Vec<f32>,
    tokens: Vec<u32>,
}

/// The dataset.
pub struct Mixture {
    history: usize,
    dims: usize,
    train: Vec<Example>,
    test: Vec<Example>,
    /// Training split: indices into `train` (the mixture draws).
    order: Vec<usize>,
}

fn examples_of(source: &Source, episode: &Episode, history: usize) -> Result<Vec<Example>> {
    let mut seen = Vec::with_capacity(episode.steps.len());
    let mut out = Vec::with_capacity(episode.steps.len());
    for step in episode.transitions() {
        let obs = Observation::from_fields(&step.observation)
            .map_err(|e| PluginError::invalid(e.to_string()))?;
        seen.push(obs.to_vec());
        let x = features(&seen, history, &step.language_instruction).map_err(|e| {
            PluginError::param(
                "sources",
                format!(
                    "{}: episode {}: {e}",
                    source.dir.display(),
                    episode.episode_id
                ),
            )
        })?;
        let tokens = source
            .bounds
            .tokenise(&step.action)
            .map_err(|e| PluginError::invalid(e.to_string()))?;
        out.push(Example {
            x,
            tokens: tokens.into_iter().map(u32::from).collect(),
        });
    }
    Ok(out)
}

impl Mixture {
    /// The mixture for `p`, seeded by `seed`.
    pub fn new(p: &MixtureParams, seed: u64) -> Result<Mixture> {
        if p.sources.is_empty() {
            return Err(PluginError::param("sources", "name at least one directory"));
        }
        if !p.weights.is_empty() {
            if p.weights.len() != p.sources.len() {
                return Err(PluginError::param(
                    "weights",
                    format!(
                        "{} weights for {} sources; give one per source or none",
                        p.weights.len(),
                        p.sources.len()
                    ),
                ));
            }
            if p.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
                || p.weights.iter().sum::<f64>() <= 0.0
            {
                return Err(PluginError::param(
                    "weights",
                    "weights are finite, non-negative and not all 0",
                ));
            }
        }
        let mut train = Vec::new();
        let mut test = Vec::new();
        let mut ranges = Vec::new();
        let mut dims = 0;
        for (d, dir) in p.sources.iter().enumerate() {
            let source = read_source(dir)?;
            dims = source.bounds.dim();
            let n = source.episodes.len();
            let mut ids: Vec<usize> = (0..n).collect();
            SplitMix64::stream(seed, 0x5eed_0000 + d as u64).shuffle(&mut ids);
            let held = ((n as f64) * p.test_fraction).round() as usize;
            let held = held.min(n.saturating_sub(1));
            let start = train.len();
            for (rank, &e) in ids.iter().enumerate() {
                let ex = examples_of(&source, &source.episodes[e], p.history)?;
                if rank < held {
                    test.extend(ex);
                } else {
                    train.extend(ex);
                }
            }
            ranges.push(start..train.len());
        }
        let order = if p.weights.is_empty() {
            (0..train.len()).collect()
        } else {
            let size = if p.size == 0 { train.len() } else { p.size };
            let mut rng = SplitMix64::stream(seed, 0x0313_0000);
            // A source without training examples cannot be drawn.
            let weights: Vec<f64> = p
                .weights
                .iter()
                .zip(&ranges)
                .map(|(w, r)| if r.is_empty() { 0.0 } else { *w })
                .collect();
            if weights.iter().all(|w| *w <= 0.0) {
                return Err(PluginError::param(
                    "weights",
                    "every source with a positive weight has no training examples",
                ));
            }
            (0..size)
                .map(|_| {
                    let r = &ranges[rng.weighted(&weights)];
                    r.start + rng.below(r.len())
                })
                .collect()
        };
        if train.is_empty() {
            return Err(PluginError::param(
                "sources",
                "no training examples (every episode is held out or has only its last step)",
            ));
        }
        Ok(Mixture {
            history: p.history,
            dims,
            train,
            test,
            order,
        })
    }

    fn pick(&self, split: Split, i: usize) -> Option<&Example> {
        match split {
            Split::Train => self.order.get(i).and_then(|&j| self.train.get(j)),
            Split::Test => self.test.get(i),
        }
    }
}

impl Dataset for Mixture {
    fn info(&self) -> DataInfo {
        DataInfo::features(
            vec![feature_len(self.history)],
            Objective::NextToken { vocab: VOCAB },
        )
    }

    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.order.len(),
            Split::Test => self.test.len(),
        }
    }

    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let f = feature_len(self.history);
        let mut x = Vec::with_capacity(indices.len() * f);
        let mut y = Vec::with_capacity(indices.len() * self.dims);
        for &i in indices {
            let ex = self.pick(split, i).ok_or_else(|| {
                PluginError::invalid(format!(
                    "example {i} of {} is out of range ({} examples)",
                    split.as_str(),
                    self.len(split)
                ))
            })?;
            x.extend_from_slice(&ex.x);
            y.extend_from_slice(&ex.tokens);
        }
        Ok(Batch {
            input: Tensor::from_vec(x, (indices.len(), f), device)?,
            target: Tensor::from_vec(y, (indices.len(), self.dims), device)?,
        })
    }
}
