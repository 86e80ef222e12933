//! Environment `reach_push`: one episode is one task on a seeded scene, for one embodiment.
//!
//! Each time step's observation (21 numbers) is the simulator's observation in the robot's own
//! frame (13: [`crate::layout`]), the task's goal features (5: [`Task::goal_features`]) and the
//! embodiment one-hot (3); its text is the language instruction. Actions are continuous
//! ([`crate::layout::ACTION_DIM`] numbers in the embodiment's native units). Reward 1 on the
//! step that succeeds; the episode ends on success or after `max_steps`.
//!
//! With `record = "DIR"` every finished episode is also written as an RLDS dataset file,
//! `DIR/episode-{seed}.parquet` ([`crate::rlds_dir`]): named observation fields, the actions the
//! agent took, rewards, flags, the instruction and the embodiment; the episode id is the seed
//! halved (so that it fits the signed 64-bit integers of other tools) and the seed is stored. The environment does not know
//! its agent, so `agent` is `unknown` and `noise` 0 in those files. A resumed run rewrites the
//! episodes it replays with identical contents, so the directory ends as after an uninterrupted
//! run; its files are the dataset that `rlds_mixture` reads.

use std::path::PathBuf;

use assay_sdk::prelude::*;

use crate::embodiment::Embodiment;
use crate::layout::{Observation, OBSERVATION_DIM};
use crate::reach_push::{ReachPush, SimConfig, Status};
use crate::rlds::{Episode, EpisodeMetadata, Step};
use crate::task::{Task, GOAL_FEATURES};

/// Length of the environment's observation.
pub const OBS_LEN: usize = OBSERVATION_DIM + GOAL_FEATURES + 3;

/// What an agent of `reach_push` reads from a time step: the robot-frame observation, the
/// embodiment (from the one-hot) and the instruction.
pub struct Seen {
    /// The simulator's observation, in the robot's frame.
    pub observation: Observation,
    /// The robot.
    pub embodiment: Embodiment,
    /// The task in words.
    pub instruction: String,
}

impl Seen {
    /// Reads `step`; errors name `agent` and say what it expected.
    pub fn read(step: &TimeStep, agent: &str) -> Result<Seen> {
        let wrong = |what: &str| {
            PluginError::invalid(format!(
                "agent `{agent}` plays environment `reach_push`: {what}"
            ))
        };
        if step.observation.len() != OBS_LEN {
            return Err(wrong(&format!(
                "an observation of {} numbers, not {OBS_LEN}",
                step.observation.len()
            )));
        }
        let x: Vec<f64> = step.observation.iter().map(|v| *v as f64).collect();
        let observation =
            Observation::from_slice(&x[..OBSERVATION_DIM]).map_err(|e| wrong(&e.to_string()))?;
        let hot = &x[OBS_LEN - 3..];
        let embodiment = Embodiment::ALL
            .into_iter()
            .find(|e| hot[e.index()] > 0.5)
            .ok_or_else(|| wrong("no embodiment in the observation"))?;
        let instruction = step.text.clone().ok_or_else(|| wrong("no instruction"))?;
        Ok(Seen {
            observation,
            embodiment,
            instruction,
        })
    }
}

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
    /// A directory to write each finished episode to as RLDS Parquet (empty: none).
    #[param(default = "")]
    pub record: String,
}

/// The environment.
pub struct ReachPushEnv {
    sim: ReachPush,
    tasks: Vec<Task>,
    record: Option<PathBuf>,
    /// The episode being recorded (with `record`): its seed and steps so far.
    recording: Option<(u64, Vec<Step>)>,
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
        let record = (!p.record.is_empty()).then(|| PathBuf::from(&p.record));
        Ok(ReachPushEnv {
            sim,
            tasks,
            record,
            recording: None,
        })
    }

    /// Records the step from `obs` (with `record`): completes the previous step with the action
    /// taken from it and its reward, and on the last step writes the episode.
    fn record(&mut self, obs: &Observation, action: Option<&[f64]>, reward: f64) -> Result<()> {
        let Some(dir) = &self.record else {
            return Ok(());
        };
        let Some((seed, steps)) = &mut self.recording else {
            return Ok(());
        };
        if let (Some(prev), Some(a)) = (steps.last_mut(), action) {
            prev.action = a.to_vec();
            prev.reward = reward;
            prev.discount = 1.0;
        }
        let status = self.sim.status();
        steps.push(Step {
            is_first: steps.is_empty(),
            is_last: status.is_done(),
            is_terminal: status == Status::Success,
            observation: obs.fields(),
            action: vec![0.0; crate::layout::ACTION_DIM],
            reward: 0.0,
            discount: 0.0,
            language_instruction: self.sim.instruction(),
        });
        if !status.is_done() {
            return Ok(());
        }
        let episode = Episode {
            // Ids fit a signed 64-bit integer, the type pandas and most tools give them.
            episode_id: *seed >> 1,
            metadata: EpisodeMetadata {
                embodiment: self.sim.embodiment().name().to_string(),
                agent: "unknown".to_string(),
                seed: *seed,
                noise: 0.0,
                success: status == Status::Success,
            },
            steps: std::mem::take(steps),
        };
        let file = dir.join(format!("episode-{seed:020}.parquet"));
        self.recording = None;
        crate::rlds_dir::write_file(&file, &[episode])
            .map_err(|e| PluginError::param("record", e.to_string()))
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
        self.recording = self.record.as_ref().map(|_| (seed, Vec::new()));
        self.record(&obs, None, 0.0)?;
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
        self.record(&t.observation, Some(&a), t.reward)?;
        Ok(self.time_step(&t.observation, t.reward, t.status))
    }

    fn forfeit(&mut self, _player: usize) -> Result<TimeStep> {
        // The robot stands still for the step: a fault costs time, as a real controller's would.
        let still = vec![0.0; crate::layout::ACTION_DIM];
        let t = self.sim.step(&still).map_err(sim_error)?;
        self.record(&t.observation, Some(&still), t.reward)?;
        Ok(self.time_step(&t.observation, t.reward, t.status))
    }
}
