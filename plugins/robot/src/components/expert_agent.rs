//! Agent `reach_push_expert`: the scripted expert as an agent of `reach_push`, with noise; an
//! episode run of it records demonstrations. It reads the observation, the task and the
//! embodiment from the time step (see [`super::environment`]) and draws its noise from the
//! episode's seed.

use assay_sdk::prelude::*;

use crate::expert::Expert;
use crate::reach_push::SimConfig;
use crate::rng::SplitMix64;
use crate::task::Task;

use super::environment::Seen;

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

impl Agent for ExpertAgent {
    fn begin_episode(&mut self, start: &EpisodeStart) -> Result<()> {
        self.rng = SplitMix64::new(start.seed);
        Ok(())
    }

    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        let seen = Seen::read(step, "reach_push_expert")?;
        let task = Task::from_instruction(&seen.instruction)
            .map_err(|e| PluginError::invalid(format!("reach_push_expert: {e}")))?;
        let (embodiment, obs) = (seen.embodiment, seen.observation);
        let mut action = Expert::plan(embodiment, task, &SimConfig::default(), &obs);
        self.expert.perturb(&mut action, embodiment, &mut self.rng);
        Ok(Action::Continuous(
            action.iter().map(|v| *v as f32).collect(),
        ))
    }
}
