//! Episodes as one flat row per step, the layout of the Parquet files (columns `episode_id,
//! step, is_first, is_last, is_terminal, reward, discount, language_instruction, obs_*,
//! action_*, embodiment` and the per-episode metadata repeated on each row), and back, with the
//! RLDS invariants checked both ways. The host maps [`StepRow`]s to and from columns; this
//! module owns grouping, ordering and every check.

use std::collections::HashMap;

use crate::rlds::{check_dataset, Episode, EpisodeMetadata, Field, RldsError, Schema, Step};

/// One step with its episode's id and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// The episode's id.
    pub episode_id: u64,
    /// Index of the step in its episode (0-based).
    pub step: usize,
    /// See [`Step::is_first`].
    pub is_first: bool,
    /// See [`Step::is_last`].
    pub is_last: bool,
    /// See [`Step::is_terminal`].
    pub is_terminal: bool,
    /// See [`Step::reward`].
    pub reward: f64,
    /// See [`Step::discount`].
    pub discount: f64,
    /// See [`Step::language_instruction`].
    pub language_instruction: String,
    /// Observation fields (columns `obs_{name}_{i}`).
    pub observation: Vec<Field>,
    /// Action values (columns `action_{i}`).
    pub action: Vec<f64>,
    /// The episode's metadata, the same on each of its rows (`embodiment` is a column of its
    /// own).
    pub metadata: EpisodeMetadata,
}

/// Checks `episodes` (see [`check_dataset`]) and flattens them, episode by episode, step by
/// step; returns the rows and the dataset's schema.
pub fn to_rows(episodes: &[Episode]) -> Result<(Vec<StepRow>, Schema), RldsError> {
    let schema = check_dataset(episodes)?;
    let rows = episodes
        .iter()
        .flat_map(|e| {
            e.steps.iter().enumerate().map(move |(i, s)| StepRow {
                episode_id: e.episode_id,
                step: i,
                is_first: s.is_first,
                is_last: s.is_last,
                is_terminal: s.is_terminal,
                reward: s.reward,
                discount: s.discount,
                language_instruction: s.language_instruction.clone(),
                observation: s.observation.clone(),
                action: s.action.clone(),
                metadata: e.metadata.clone(),
            })
        })
        .collect();
    Ok((rows, schema))
}

/// Groups rows by episode (in order of each episode's first row), orders each episode's rows by
/// step, and checks that the steps are exactly 0..n, that per-episode metadata agrees across
/// rows, and every RLDS invariant.
pub fn from_rows(rows: Vec<StepRow>) -> Result<Vec<Episode>, RldsError> {
    let mut order: Vec<u64> = Vec::new();
    let mut groups: HashMap<u64, Vec<StepRow>> = HashMap::new();
    for row in rows {
        let group = groups.entry(row.episode_id).or_insert_with(|| {
            order.push(row.episode_id);
            Vec::new()
        });
        group.push(row);
    }
    let mut episodes = Vec::with_capacity(order.len());
    for id in order {
        let mut group = groups.remove(&id).unwrap_or_default();
        group.sort_by_key(|r| r.step);
        episodes.push(episode_of(id, group)?);
    }
    check_dataset(&episodes)?;
    Ok(episodes)
}

/// One episode's rows, sorted by step.
fn episode_of(id: u64, rows: Vec<StepRow>) -> Result<Episode, RldsError> {
    let index_error = |problem: String| RldsError::StepIndex {
        episode: id,
        problem,
    };
    for (expected, row) in rows.iter().enumerate() {
        if row.step != expected {
            return Err(index_error(if row.step < expected {
                format!("step {} appears twice", row.step)
            } else {
                format!(
                    "step {expected} is missing (the next row is step {})",
                    row.step
                )
            }));
        }
    }
    let metadata = rows
        .first()
        .map(|r| r.metadata.clone())
        .ok_or_else(|| index_error("no rows".to_string()))?;
    let mut steps = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(field) = metadata_difference(&metadata, &row.metadata) {
            return Err(RldsError::MetadataChanged {
                episode: id,
                step: row.step,
                field,
            });
        }
        steps.push(Step {
            is_first: row.is_first,
            is_last: row.is_last,
            is_terminal: row.is_terminal,
            observation: row.observation,
            action: row.action,
            reward: row.reward,
            discount: row.discount,
            language_instruction: row.language_instruction,
        });
    }
    Ok(Episode {
        episode_id: id,
        metadata,
        steps,
    })
}

/// The first metadata field in which `b` differs from `a`.
fn metadata_difference(a: &EpisodeMetadata, b: &EpisodeMetadata) -> Option<&'static str> {
    if a.embodiment != b.embodiment {
        Some("embodiment")
    } else if a.agent != b.agent {
        Some("agent")
    } else if a.seed != b.seed {
        Some("seed")
    } else if a.noise.to_bits() != b.noise.to_bits() {
        Some("noise")
    } else if a.success != b.success {
        Some("success")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demos::{demonstrations, DemoPlan};
    use crate::embodiment::Embodiment;

    fn data() -> Vec<Episode> {
        let plan = DemoPlan {
            episodes: 4,
            ..DemoPlan::study(Embodiment::B, 1, 0.1)
        };
        demonstrations(&plan).expect("demos")
    }

    #[test]
    fn rows_round_trip_in_any_order() {
        let episodes = data();
        let (mut rows, schema) = to_rows(&episodes).expect("rows");
        assert_eq!(schema, crate::layout::schema());
        let steps: usize = episodes.iter().map(|e| e.steps.len()).sum();
        assert_eq!(rows.len(), steps);
        assert_eq!(from_rows(rows.clone()), Ok(episodes.clone()));
        // Episodes interleaved and steps reversed within each: the same episodes come back.
        rows.sort_by_key(|r| (std::cmp::Reverse(r.step), r.episode_id));
        let mut back = from_rows(rows).expect("read");
        back.sort_by_key(|e| e.episode_id);
        assert_eq!(back, episodes);
    }

    #[test]
    fn invalid_episodes_are_refused_before_writing() {
        let mut episodes = data();
        episodes[2].steps[1].is_first = true;
        let err = to_rows(&episodes).expect_err("invalid");
        assert!(
            err.to_string().contains("step 1, field `is_first`"),
            "{err}"
        );
    }

    #[test]
    fn missing_repeated_and_inconsistent_rows_are_refused_on_reading() {
        let (rows, _) = to_rows(&data()).expect("rows");
        let id = rows[0].episode_id;
        let mut missing = rows.clone();
        missing.remove(1);
        assert_eq!(
            from_rows(missing).expect_err("gap").to_string(),
            format!("episode {id}, field `step`: step 1 is missing (the next row is step 2)")
        );
        let mut repeated = rows.clone();
        repeated.insert(1, rows[1].clone());
        assert!(from_rows(repeated)
            .expect_err("repeat")
            .to_string()
            .contains("step 1 appears twice"));
        let mut changed = rows.clone();
        changed[2].metadata.embodiment = "A".into();
        assert_eq!(
            from_rows(changed),
            Err(RldsError::MetadataChanged {
                episode: id,
                step: 2,
                field: "embodiment"
            })
        );
        let mut truncated_last = rows.clone();
        let last = truncated_last.iter().position(|r| r.is_last).expect("last");
        truncated_last.remove(last);
        let err = from_rows(truncated_last).expect_err("no last step");
        assert!(err.to_string().contains("field `is_last`"), "{err}");
        assert_eq!(from_rows(Vec::new()), Err(RldsError::EmptyDataset));
    }
}
