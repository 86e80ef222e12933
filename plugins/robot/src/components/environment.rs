//! Environment `reach_push`: one episode is one task on a seeded scene, for one embodiment.
//!
//! Each time step's observation (21 numbers) is the simulator's observation in the robot's own
//! frame (13: [`crate::layout`]), the task's goal features (5: [`Task::goal_features`]) and the
//! embodiment one-hot (3); its text is the language instruction. Actions are continuous
//! ([`crate::layout::ACTION_DIM`] numbers in the embodiment's native units). Reward 1 on the
//! step that succeeds; the episode ends on success or after `max_steps`.

use assay_sdk::prelude::*;

use crate::embodiment::Embodiment;
use crate::layout::{Observation, OBSERVATION_DIM};
use crate::reach_push::{ReachPush, SimConfig, Status};
use crate::task::{Task, GOAL_FEATURES};

/// Length of the environment's observation.
pub const OBS_LEN: usize = OBSERVATION_DIM + GOAL_FEATURES + 3;

/// Which embodiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum EmbodimentChoice {
    /// Delta position, 0.05 m per step, world frame.
    A,
    /// Velocity, 0.2 m/s, rotated frame.
    B,
    /// Delta position, 0.01 m per step, y inverted.
    C,
}

impl EmbodimentChoice {
    /// The simulator's embodiment.
    pub fn embodiment(self) -> Embodiment {
        match self {
            EmbodimentChoice::A => Embodiment::A,
            EmbodimentChoice::B => Embodiment::B,
            EmbodimentChoice::C => Embodiment::C,
        }
    }
}

/// The parameters of `reach_push`.
#[derive(Debug, Params)]
pub struct ReachPushParams {
    /// The robot: a, b or c.
    #[param(default = "a")]
    pub embodiment: EmbodimentChoice,
    /// The tasks episodes draw from (instructions such as "reach the red cube"; empty: all six).
    #[param(default = [])]
    pub tasks: Vec<String>,
    /// Steps before an episode is cut short.
    #[param(default = 50, min = 1)]
    pub max_steps: usize,
}

/// The environment.
pub struct ReachPushEnv {
    sim: ReachPush,
    tasks: Vec<Task>,
}

fn sim_error(e: impl std::fmt::Display) -> PluginError {
    PluginError::invalid(format!("reach_push: {e}"))
}

impl ReachPushEnv {
    /// The environment for `p`.
    pub fn new(p: &ReachPushParams) -> Result<ReachPushEnv> {
        let tasks = if p.tasks.is_empty() {
            Task::all()
        } else {
            p.tasks
                .iter()
                .map(|t| {
                    Task::from_instruction(t)
                        .map_err(|e| PluginError::param("tasks", e.to_string()))
                })
                .collect::<Result<Vec<_>>>()?
        };
        let config = SimConfig {
            max_steps: p.max_steps,
            ..SimConfig::default()
        };
        let sim =
            ReachPush::new(p.embodiment.embodiment(), config, tasks[0], 0).map_err(sim_error)?;
        Ok(ReachPushEnv { sim, tasks })
    }

    fn time_step(&self, obs: &Observation, reward: f64, status: Status) -> TimeStep {
        let mut x: Vec<f32> = obs.to_vec().iter().map(|v| *v as f32).collect();
        x.extend(self.sim.task().goal_features().iter().map(|v| *v as f32));
        x.extend(self.sim.embodiment().one_hot().iter().map(|v| *v as f32));
        TimeStep {
            observation: x,
            text: Some(self.sim.instruction()),
            rewards: vec![reward],
            done: status.is_done(),
            legal_actions: Vec::new(),
            player: Some(0),
        }
    }
}

impl Environment for ReachPushEnv {
    fn reset(&mut self, seed: u64) -> Result<TimeStep> {
        let task = self.tasks[(seed % self.tasks.len() as u64) as usize];
        let obs = self.sim.reset(task, seed);
        Ok(self.time_step(&obs, 0.0, Status::Running))
    }

    fn step(&mut self, action: &Action) -> Result<TimeStep> {
        let Action::Continuous(a) = action else {
            return Err(sim_error(
                "actions are continuous: world_vector (3), rotation_delta (3), gripper (1)",
            ));
        };
        let a: Vec<f64> = a.iter().map(|v| *v as f64).collect();
        let t = self.sim.step(&a).map_err(sim_error)?;
        Ok(self.time_step(&t.observation, t.reward, t.status))
    }

    fn forfeit(&mut self, _player: usize) -> Result<TimeStep> {
        // The robot stands still for the step: a fault costs time, as a real controller's would.
        let still = vec![0.0; crate::layout::ACTION_DIM];
        let t = self.sim.step(&still).map_err(sim_error)?;
        Ok(self.time_step(&t.observation, t.reward, t.status))
    }
}
