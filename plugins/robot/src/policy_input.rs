//! What a tokenised-action policy sees at one step, as the notes' miniature of RT-1-X defines
//! it: the state, a short history of earlier states, the goal features and the bag of words of
//! the instruction. As in RT-X, the policy is not told which robot it drives: it sees each
//! robot's state in that robot's own frame and must tell the robots apart from what it
//! observes (the history shows how far and how a robot moves per step). The dataset (`rlds_mixture`) and the agent that plays a
//! trained policy (`rt_policy`) both build their inputs here, so training and evaluation cannot
//! disagree.
//!
//! Layout of [`features`] (length [`feature_len`]`(history)`):
//! 1. the observation now ([`OBSERVATION_DIM`] values, in the embodiment's frame, times
//!    [`POSITION_SCALE`]);
//! 2. the observations of the `history` steps before, most recent first (at the start of an
//!    episode the first observation stands in for the steps before it);
//! 3. the goal features: the task's kind and colour one-hot ([`GOAL_FEATURES`]), then the
//!    instructed cube's centre relative to the end effector (3, scaled as the observation), the
//!    instruction grounded in the scene as an object detector would ground it in an image;
//! 4. the bag of words of the instruction ([`VOCABULARY`] counts).

use crate::layout::OBSERVATION_DIM;
use crate::task::{bag_of_words, Task, UnknownInstruction, GOAL_FEATURES, VOCABULARY};

/// Observations enter in decimetres (metres × 10): the distances that decide an action are a
/// few centimetres, and at this scale they are of order 1 for the network.
pub const POSITION_SCALE: f64 = 10.0;

/// Length of the feature vector for a history of `history` earlier steps.
pub fn feature_len(history: usize) -> usize {
    OBSERVATION_DIM * (history + 1) + GOAL_FEATURES + 3 + VOCABULARY.len()
}

/// The features at the last step of `seen` (the episode's observations so far, oldest first,
/// each [`OBSERVATION_DIM`] long), for `instruction`.
///
/// # Panics
/// If `seen` is empty or an observation has another length (callers check observations when
/// they read them).
pub fn features(
    seen: &[Vec<f64>],
    history: usize,
    instruction: &str,
) -> Result<Vec<f32>, UnknownInstruction> {
    let mut x = Vec::with_capacity(feature_len(history));
    let now = seen.len() - 1;
    for back in 0..=history {
        let obs = &seen[now.saturating_sub(back)];
        assert_eq!(obs.len(), OBSERVATION_DIM, "observation length");
        x.extend(obs.iter().map(|v| (*v * POSITION_SCALE) as f32));
    }
    let task = Task::from_instruction(instruction)?;
    x.extend(task.goal_features().iter().map(|v| *v as f32));
    let obs = &seen[now];
    let cube = 4 + 3 * task.colour.index();
    for d in 0..3 {
        x.push(((obs[cube + d] - obs[d]) * POSITION_SCALE) as f32);
    }
    x.extend(bag_of_words(instruction).iter().map(|v| *v as f32));
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_repeats_the_first_observation_and_orders_most_recent_first() {
        let seen: Vec<Vec<f64>> = (0..2).map(|i| vec![i as f64; OBSERVATION_DIM]).collect();
        let x = features(&seen, 2, "reach the red cube").unwrap();
        assert_eq!(x.len(), feature_len(2));
        let d = OBSERVATION_DIM;
        assert_eq!((x[0], x[d], x[2 * d]), (POSITION_SCALE as f32, 0.0, 0.0));
        let tail = &x[3 * d..];
        assert_eq!(&tail[..GOAL_FEATURES], &[1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(&tail[GOAL_FEATURES..GOAL_FEATURES + 3], &[0.0, 0.0, 0.0]);
        assert_eq!(&tail[GOAL_FEATURES + 3..GOAL_FEATURES + 5], &[1.0, 0.0]);
        assert!(features(&seen, 2, "fly").is_err());
    }
}
