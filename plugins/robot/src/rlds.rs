//! Episodes in the RLDS layout (google-research/rlds, as Open X-Embodiment uses it) and the
//! invariant checker that runs before a dataset is written and after it is read.
//!
//! An [`Episode`] is its id, per-episode metadata and its [`Step`]s. Each step holds the
//! observation (named [`Field`]s), the action taken from it, the reward and discount that
//! followed, the language instruction, and the flags `is_first`, `is_last`, `is_terminal`. The
//! last step carries the final observation only: its action, reward and discount are invalid and
//! ignored (this crate writes zeros there). `is_terminal = false` on the last step means the
//! episode was truncated.
//!
//! Invariants ([`check_episode`], [`check_dataset`]); each error names the episode and, where
//! there is one, the step and the field:
//! - an episode has at least one step, exactly one `is_first` (step 0) and exactly one `is_last`
//!   (its final step); `is_terminal` appears only on the last step;
//! - all steps of a dataset have identical fields: the same observation field names in the same
//!   order with the same lengths, and the same action length (the last step included);
//! - observations are finite on every step; actions, rewards and discounts on every step but the
//!   last (whose values are ignored, whatever they are);
//! - the language instruction is the same on every step of an episode;
//! - episode ids are unique within a dataset.

/// A named observation field (`ee_position`, `red_cube`, ...) and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name; a Parquet writer makes it columns `obs_{name}_{i}` or a list column.
    pub name: String,
    /// The values.
    pub values: Vec<f64>,
}

impl Field {
    /// A field.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Field {
        Field {
            name: name.into(),
            values,
        }
    }
}

/// One step of an episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// True on the first step only.
    pub is_first: bool,
    /// True on the last step only.
    pub is_last: bool,
    /// True on a last step that ended the task (not truncated).
    pub is_terminal: bool,
    /// The observation, as named fields.
    pub observation: Vec<Field>,
    /// The action taken from this observation (invalid on the last step).
    pub action: Vec<f64>,
    /// The reward for that action (invalid on the last step).
    pub reward: f64,
    /// The discount after that action (invalid on the last step).
    pub discount: f64,
    /// The task in words.
    pub language_instruction: String,
}

/// What is known about an episode as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeMetadata {
    /// The embodiment's name (`A`, `B`, `C`); stored on every row of the Parquet layout.
    pub embodiment: String,
    /// Who acted (`expert`, or a policy's name).
    pub agent: String,
    /// The seed of the scene (and of the agent's noise).
    pub seed: u64,
    /// The agent's noise level (0 for none).
    pub noise: f64,
    /// Whether the episode ended in success.
    pub success: bool,
}

/// An RLDS episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// Unique within a dataset.
    pub episode_id: u64,
    /// Per-episode metadata.
    pub metadata: EpisodeMetadata,
    /// The steps, first to last.
    pub steps: Vec<Step>,
}

impl Episode {
    /// The steps whose action, reward and discount are valid: all but the last.
    pub fn transitions(&self) -> &[Step] {
        &self.steps[..self.steps.len().saturating_sub(1)]
    }

    /// Whether the episode ran out of steps rather than ending its task.
    pub fn is_truncated(&self) -> bool {
        self.steps.last().is_some_and(|s| !s.is_terminal)
    }
}

/// The fields every step of a dataset has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Observation field names and lengths, in order.
    pub observation: Vec<(String, usize)>,
    /// Action length.
    pub action_dim: usize,
}

impl Schema {
    /// The fields of `step`.
    pub fn of(step: &Step) -> Schema {
        Schema {
            observation: step
                .observation
                .iter()
                .map(|f| (f.name.clone(), f.values.len()))
                .collect(),
            action_dim: step.action.len(),
        }
    }
}

/// A broken RLDS invariant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RldsError {
    /// A dataset without episodes.
    #[error("the dataset has no episodes")]
    EmptyDataset,
    /// An episode without steps.
    #[error("episode {episode}: no steps; an RLDS episode has at least its first step")]
    EmptyEpisode {
        /// Episode id.
        episode: u64,
    },
    /// A misplaced or missing `is_first`, `is_last` or `is_terminal`.
    #[error("episode {episode}, step {step}, field `{field}`: {problem}")]
    Flag {
        /// Episode id.
        episode: u64,
        /// Step index.
        step: usize,
        /// `is_first`, `is_last` or `is_terminal`.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A step whose fields differ from the dataset's.
    #[error(
        "episode {episode}, step {step}, field `{field}`: expected {expected}, found {found} \
         (all steps of a dataset have identical fields)"
    )]
    FieldMismatch {
        /// Episode id.
        episode: u64,
        /// Step index.
        step: usize,
        /// `observation`, `observation.{name}` or `action`.
        field: String,
        /// What the dataset's first step has.
        expected: String,
        /// What this step has.
        found: String,
    },
    /// A NaN or infinite value where a valid one is required.
    #[error("episode {episode}, step {step}, field `{field}`[{index}] is {value}: values must be finite")]
    NotFinite {
        /// Episode id.
        episode: u64,
        /// Step index.
        step: usize,
        /// `observation.{name}`, `action`, `reward` or `discount`.
        field: String,
        /// Position in the field.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A language instruction that changes within an episode.
    #[error(
        "episode {episode}, step {step}, field `language_instruction`: {found:?} differs from \
         the episode's {expected:?} (one instruction per episode)"
    )]
    InstructionChanged {
        /// Episode id.
        episode: u64,
        /// Step index.
        step: usize,
        /// The instruction of step 0.
        expected: String,
        /// This step's instruction.
        found: String,
    },
    /// Rows whose step indices are not 0, 1, ..., n − 1 (read from the one-row-per-step layout).
    #[error("episode {episode}, field `step`: {problem}")]
    StepIndex {
        /// Episode id.
        episode: u64,
        /// What is wrong.
        problem: String,
    },
    /// Rows of one episode that disagree on a per-episode value.
    #[error(
        "episode {episode}, step {step}, field `{field}`: differs from step 0's; per-episode \
         metadata is the same on every row of an episode"
    )]
    MetadataChanged {
        /// Episode id.
        episode: u64,
        /// Step index.
        step: usize,
        /// The metadata field.
        field: &'static str,
    },
    /// Two episodes with one id.
    #[error("episode {episode} appears twice: episode ids are unique within a dataset")]
    DuplicateEpisode {
        /// Episode id.
        episode: u64,
    },
}

/// Checks every invariant of one episode against `schema` (see the module docs).
pub fn check_episode(episode: &Episode, schema: &Schema) -> Result<(), RldsError> {
    let id = episode.episode_id;
    let Some(first) = episode.steps.first() else {
        return Err(RldsError::EmptyEpisode { episode: id });
    };
    let last_index = episode.steps.len() - 1;
    let flag = |step: usize, field: &'static str, problem: String| RldsError::Flag {
        episode: id,
        step,
        field,
        problem,
    };
    for (i, step) in episode.steps.iter().enumerate() {
        let is_last = i == last_index;
        if step.is_first != (i == 0) {
            let problem = if i == 0 {
                "step 0 must have is_first = true".to_string()
            } else {
                "only step 0 may have is_first = true (one first step per episode)".to_string()
            };
            return Err(flag(i, "is_first", problem));
        }
        if step.is_last != is_last {
            let problem = if is_last {
                format!("the final step ({i}) must have is_last = true")
            } else {
                format!("only the final step ({last_index}) may have is_last = true (one last step per episode)")
            };
            return Err(flag(i, "is_last", problem));
        }
        if step.is_terminal && !is_last {
            let problem = "is_terminal = true is allowed only on the last step".to_string();
            return Err(flag(i, "is_terminal", problem));
        }
        check_fields(id, i, step, schema)?;
        check_finite(id, i, step, is_last)?;
        if step.language_instruction != first.language_instruction {
            return Err(RldsError::InstructionChanged {
                episode: id,
                step: i,
                expected: first.language_instruction.clone(),
                found: step.language_instruction.clone(),
            });
        }
    }
    Ok(())
}

/// Checks every episode against the fields of the first step of the first episode, and that
/// ids are unique; returns that schema.
pub fn check_dataset(episodes: &[Episode]) -> Result<Schema, RldsError> {
    let first = episodes.first().ok_or(RldsError::EmptyDataset)?;
    let step = first.steps.first().ok_or(RldsError::EmptyEpisode {
        episode: first.episode_id,
    })?;
    let schema = Schema::of(step);
    let mut seen = std::collections::HashSet::new();
    for episode in episodes {
        if !seen.insert(episode.episode_id) {
            return Err(RldsError::DuplicateEpisode {
                episode: episode.episode_id,
            });
        }
        check_episode(episode, &schema)?;
    }
    Ok(schema)
}

fn check_fields(episode: u64, step: usize, s: &Step, schema: &Schema) -> Result<(), RldsError> {
    let mismatch = |field: String, expected: String, found: String| RldsError::FieldMismatch {
        episode,
        step,
        field,
        expected,
        found,
    };
    let names =
        |it: &mut dyn Iterator<Item = &str>| format!("[{}]", it.collect::<Vec<_>>().join(", "));
    let expected_names = names(&mut schema.observation.iter().map(|(n, _)| n.as_str()));
    let found_names = names(&mut s.observation.iter().map(|f| f.name.as_str()));
    if expected_names != found_names {
        return Err(mismatch("observation".into(), expected_names, found_names));
    }
    for (field, (name, len)) in s.observation.iter().zip(&schema.observation) {
        if field.values.len() != *len {
            return Err(mismatch(
                format!("observation.{name}"),
                format!("{len} values"),
                format!("{} values", field.values.len()),
            ));
        }
    }
    if s.action.len() != schema.action_dim {
        return Err(mismatch(
            "action".into(),
            format!("{} values", schema.action_dim),
            format!("{} values", s.action.len()),
        ));
    }
    Ok(())
}

fn check_finite(episode: u64, step: usize, s: &Step, is_last: bool) -> Result<(), RldsError> {
    let bad = |field: String, values: &[f64]| {
        values
            .iter()
            .position(|v| !v.is_finite())
            .map(|index| RldsError::NotFinite {
                episode,
                step,
                field,
                index,
                value: values[index],
            })
    };
    for f in &s.observation {
        if let Some(e) = bad(format!("observation.{}", f.name), &f.values) {
            return Err(e);
        }
    }
    if is_last {
        return Ok(());
    }
    let scalars = [
        ("action", s.action.as_slice()),
        ("reward", &[s.reward]),
        ("discount", &[s.discount]),
    ];
    for (name, values) in scalars {
        if let Some(e) = bad(name.to_string(), values) {
            return Err(e);
        }
    }
    Ok(())
}
