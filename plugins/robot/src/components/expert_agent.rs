//! Agent `reach_push_expert`: the scripted expert as an agent of `reach_push`, with noise; an
//! episode run of it records demonstrations. It reads the observation, the task and the
//! embodiment from the time step (see [`super::environment`]) and draws its noise from the
//! episode's seed.

use assay_sdk::prelude::*;

use crate::embodiment::Embodiment;
use crate::expert::Expert;
use crate::layout::{Observation, OBSERVATION_DIM};
use crate::reach_push::SimConfig;
use crate::rng::SplitMix64;
use crate::task::Task;

use super::environment::OBS_LEN;

/// The parameters of `reach_push_expert`.
#[derive(Debug, Params)]
pub struct ExpertParams {
    /// Standard deviation of the translation noise, as a fraction of the action scale.
    #[param(default = 0.0, min = 0.0)]
    pub noise: f64,
}

/// The agent.
pub struct ExpertAgent {
    expert: Expert,
    rng: SplitMix64,
}

impl ExpertAgent {
    /// The expert with `noise`.
    pub fn new(p: &ExpertParams) -> Result<ExpertAgent> {
        Ok(ExpertAgent {
            expert: Expert::new(p.noise).map_err(|e| PluginError::param("noise", e.to_string()))?,
            rng: SplitMix64::new(0),
        })
    }
}

fn not_reach_push(what: &str) -> PluginError {
    PluginError::invalid(format!(
        "agent `reach_push_expert` plays environment `reach_push`: {what}"
    ))
}

impl Agent for ExpertAgent {
    fn begin_episode(&mut self, start: &EpisodeStart) -> Result<()> {
        self.rng = SplitMix64::new(start.seed);
        Ok(())
    }

    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        if step.observation.len() != OBS_LEN {
            return Err(not_reach_push(&format!(
                "an observation of {} numbers, not {OBS_LEN}",
                step.observation.len()
            )));
        }
        let x: Vec<f64> = step.observation.iter().map(|v| *v as f64).collect();
        let obs = Observation::from_slice(&x[..OBSERVATION_DIM])
            .map_err(|e| not_reach_push(&e.to_string()))?;
        let text = step
            .text
            .as_deref()
            .ok_or_else(|| not_reach_push("no instruction"))?;
        let task = Task::from_instruction(text).map_err(|e| not_reach_push(&e.to_string()))?;
        let hot = &x[OBS_LEN - 3..];
        let embodiment = Embodiment::ALL
            .into_iter()
            .find(|e| hot[e.index()] > 0.5)
            .ok_or_else(|| not_reach_push("no embodiment in the observation"))?;
        let mut action = Expert::plan(embodiment, task, &SimConfig::default(), &obs);
        self.expert.perturb(&mut action, embodiment, &mut self.rng);
        Ok(Action::Continuous(
            action.iter().map(|v| *v as f32).collect(),
        ))
    }
}
