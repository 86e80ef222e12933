//! The `reach_push` simulator: one embodiment, one task, a seeded scene and a step budget.
//!
//! [`ReachPush::reset`] draws the scene from a seed (the same seed gives the same scene for every
//! embodiment and task, and the dynamics are deterministic, so a seed and a sequence of actions
//! fix an episode). [`ReachPush::step`] takes one native action of the embodiment (layout in
//! [`crate::layout`]; translation clipped to ±scale, rotation ignored), drives the gripper,
//! moves the end effector with the contacts of [`crate::world`], and reports the observation,
//! the reward and whether the episode goes on.
//!
//! Observation (13 values, in the embodiment's frame; table in [`crate::layout`]): end-effector
//! position (3), gripper closedness (1), then the red, green and blue cube centres (3 each).
//! Action (7 values, native units): translation (3), rotation (3, unused), gripper (1).
//!
//! Success predicate, checked after every step:
//! - reach: the end effector within `reach_radius` (0.02 m) of the cube's grasp point (resting
//!   on its top) with the gripper closed;
//! - push left: the cube at least `push_distance` (0.05 m) towards world −x of where it started.
//!
//! The reward is 1 on the step that succeeds and 0 otherwise. An episode ends on success
//! (terminal) or after `max_steps` (50) steps without it (truncated).

use std::fmt;

use crate::embodiment::Embodiment;
use crate::layout::{Observation, ACTION_DIM, GRIPPER_INDEX};
use crate::rng::SplitMix64;
use crate::task::{Task, TaskKind};
use crate::world::{norm, sub, Vec3, World};

/// The sub-stream of an episode seed that draws the scene.
pub const SCENE_STREAM: u64 = 0;

/// Success thresholds and the step budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimConfig {
    /// Most steps (actions) per episode.
    pub max_steps: usize,
    /// Reach succeeds within this distance of the grasp point, in metres.
    pub reach_radius: f64,
    /// Push succeeds once the cube has moved this far towards −x, in metres.
    pub push_distance: f64,
}

impl Default for SimConfig {
    /// The study's values: 50 steps, 0.02 m, 0.05 m.
    fn default() -> Self {
        SimConfig {
            max_steps: 50,
            reach_radius: 0.02,
            push_distance: 0.05,
        }
    }
}

/// Where an episode stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Steps remain and the task is not done.
    Running,
    /// The success predicate holds: the episode ended (terminal).
    Success,
    /// The step budget ran out first (truncated, not terminal).
    Truncated,
}

impl Status {
    /// Whether the episode is over.
    pub fn is_done(self) -> bool {
        self != Status::Running
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Running => "running",
            Status::Success => "success",
            Status::Truncated => "truncated",
        })
    }
}

/// What one step returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The observation after the step.
    pub observation: Observation,
    /// 1 on the step that succeeds, else 0.
    pub reward: f64,
    /// Whether the episode goes on.
    pub status: Status,
}

/// A misuse of the simulator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// An action of the wrong length.
    #[error(
        "an action has {ACTION_DIM} values (world_vector 3, rotation_delta 3, gripper 1); got {0}"
    )]
    ActionLength(usize),
    /// A NaN or infinite action value.
    #[error("action value {index} is {value}: actions must be finite")]
    ActionNotFinite {
        /// Position in the action.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A step after the episode ended.
    #[error("the episode is over ({status} after {steps} steps): reset before stepping again")]
    EpisodeOver {
        /// How it ended.
        status: Status,
        /// Steps taken.
        steps: usize,
    },
    /// Thresholds or budget that cannot work.
    #[error("invalid reach_push config: {0}")]
    Config(String),
}

/// The simulator.
#[derive(Debug, Clone)]
pub struct ReachPush {
    embodiment: Embodiment,
    config: SimConfig,
    task: Task,
    world: World,
    start_cubes: [Vec3; 3],
    steps: usize,
    status: Status,
}

impl ReachPush {
    /// A simulator for `embodiment`, reset to `task` on the scene of `seed`.
    pub fn new(
        embodiment: Embodiment,
        config: SimConfig,
        task: Task,
        seed: u64,
    ) -> Result<ReachPush, SimError> {
        if config.max_steps == 0 {
            return Err(SimError::Config("max_steps must be at least 1".into()));
        }
        for (name, v) in [
            ("reach_radius", config.reach_radius),
            ("push_distance", config.push_distance),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(SimError::Config(format!(
                    "{name} must be a positive number of metres; got {v}"
                )));
            }
        }
        let world = World::sample(&mut SplitMix64::stream(seed, SCENE_STREAM));
        Ok(ReachPush {
            embodiment,
            config,
            task,
            start_cubes: world.cubes,
            world,
            steps: 0,
            status: Status::Running,
        })
    }

    /// Starts a new episode of `task` on the scene of `seed`; returns the first observation.
    pub fn reset(&mut self, task: Task, seed: u64) -> Observation {
        self.world = World::sample(&mut SplitMix64::stream(seed, SCENE_STREAM));
        self.start_cubes = self.world.cubes;
        self.task = task;
        self.steps = 0;
        self.status = Status::Running;
        self.observation()
    }

    /// Applies one native action (see [`crate::layout`]).
    pub fn step(&mut self, action: &[f64]) -> Result<Transition, SimError> {
        if self.status.is_done() {
            return Err(SimError::EpisodeOver {
                status: self.status,
                steps: self.steps,
            });
        }
        if action.len() != ACTION_DIM {
            return Err(SimError::ActionLength(action.len()));
        }
        if let Some((index, &value)) = action.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SimError::ActionNotFinite { index, value });
        }
        let e = self.embodiment;
        let target = e
            .gripper()
            .target(action[GRIPPER_INDEX], self.world.gripper);
        self.world.drive_gripper(target);
        self.world
            .move_ee(e.displacement([action[0], action[1], action[2]]));
        self.steps += 1;
        let success = self.is_success();
        self.status = if success {
            Status::Success
        } else if self.steps >= self.config.max_steps {
            Status::Truncated
        } else {
            Status::Running
        };
        Ok(Transition {
            observation: self.observation(),
            reward: if success { 1.0 } else { 0.0 },
            status: self.status,
        })
    }

    /// The success predicate on the current scene (see the module docs).
    pub fn is_success(&self) -> bool {
        let colour = self.task.colour;
        match self.task.kind {
            TaskKind::Reach => {
                let gap = norm(sub(self.world.ee, self.world.grasp_point(colour)));
                gap <= self.config.reach_radius && self.world.gripper_closed()
            }
            TaskKind::PushLeft => {
                let moved = self.start_cubes[colour.index()][0] - self.world.cube(colour)[0];
                moved >= self.config.push_distance
            }
        }
    }

    /// What the embodiment observes now.
    pub fn observation(&self) -> Observation {
        Observation::of(&self.world, self.embodiment)
    }

    /// The instruction of the current task.
    pub fn instruction(&self) -> String {
        self.task.instruction()
    }

    /// Where the episode stands.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Steps taken since the reset.
    pub fn steps_taken(&self) -> usize {
        self.steps
    }

    /// The embodiment.
    pub fn embodiment(&self) -> Embodiment {
        self.embodiment
    }

    /// Thresholds and budget.
    pub fn config(&self) -> SimConfig {
        self.config
    }

    /// The current task.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The scene in the world frame (privileged; policies see [`ReachPush::observation`]).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The cubes' centres at the reset.
    pub fn start_cubes(&self) -> [Vec3; 3] {
        self.start_cubes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Colour;
    use crate::world::{CONTACT, CUBE_HALF, CUBE_HEIGHT, EE_RADIUS};

    fn sim(e: Embodiment, kind: TaskKind, seed: u64) -> ReachPush {
        ReachPush::new(e, SimConfig::default(), Task::new(kind, Colour::Red), seed).expect("sim")
    }

    /// The action that moves `e` by `world` metres (within its scale) with gripper `close`.
    fn action(e: Embodiment, world: Vec3, close: bool) -> Vec<f64> {
        let t = e.translation_for(world);
        vec![t[0], t[1], t[2], 0.0, 0.0, 0.0, e.gripper().command(close)]
    }

    #[test]
    fn a_seed_fixes_the_scene_for_every_embodiment_and_the_rollout() {
        let run = |e: Embodiment, seed: u64| {
            let mut s = sim(e, TaskKind::Reach, seed);
            let mut trace = vec![s.world().clone()];
            for k in 0..10 {
                let a = [0.3, -0.2, 0.1 * k as f64, 0.0, 0.0, 0.0, 0.5].map(|v| v * e.scale());
                s.step(&a).expect("step");
                trace.push(s.world().clone());
            }
            trace
        };
        for e in Embodiment::ALL {
            assert_eq!(run(e, 5), run(e, 5));
            assert_ne!(run(e, 5)[0], run(e, 6)[0]);
            assert_eq!(run(e, 5)[0], run(Embodiment::A, 5)[0]);
        }
        let mut s = sim(Embodiment::B, TaskKind::Reach, 9);
        s.step(&[0.1; 7]).expect("step");
        let first = s.reset(Task::new(TaskKind::PushLeft, Colour::Blue), 9);
        assert_eq!(first, sim(Embodiment::B, TaskKind::Reach, 9).observation());
        assert_eq!((s.steps_taken(), s.status()), (0, Status::Running));
        assert_eq!(s.instruction(), "push the blue cube left");
    }

    #[test]
    fn the_budget_truncates_and_stepping_after_the_end_is_refused() {
        let config = SimConfig {
            max_steps: 3,
            ..SimConfig::default()
        };
        let task = Task::new(TaskKind::Reach, Colour::Green);
        let mut s = ReachPush::new(Embodiment::C, config, task, 1).expect("sim");
        let statuses: Vec<Status> = (0..3)
            .map(|_| s.step(&[0.0; 7]).expect("step").status)
            .collect();
        assert_eq!(
            statuses,
            [Status::Running, Status::Running, Status::Truncated]
        );
        let err = s.step(&[0.0; 7]).expect_err("over");
        assert_eq!(
            err,
            SimError::EpisodeOver {
                status: Status::Truncated,
                steps: 3
            }
        );
        assert!(err.to_string().contains("reset before stepping again"));
    }

    #[test]
    fn bad_actions_and_configs_are_refused() {
        let mut s = sim(Embodiment::A, TaskKind::Reach, 0);
        assert_eq!(s.step(&[0.0; 6]), Err(SimError::ActionLength(6)));
        let mut nan = [0.0; 7];
        nan[2] = f64::NAN;
        assert!(matches!(
            s.step(&nan),
            Err(SimError::ActionNotFinite { index: 2, .. })
        ));
        assert_eq!(s.steps_taken(), 0);
        let task = Task::new(TaskKind::Reach, Colour::Red);
        for config in [
            SimConfig {
                max_steps: 0,
                ..SimConfig::default()
            },
            SimConfig {
                reach_radius: -1.0,
                ..SimConfig::default()
            },
            SimConfig {
                push_distance: f64::NAN,
                ..SimConfig::default()
            },
        ] {
            let err = ReachPush::new(Embodiment::A, config, task, 0).expect_err("config");
            assert!(matches!(err, SimError::Config(_)), "{err}");
        }
    }

    #[test]
    fn reach_needs_the_closed_gripper_at_the_grasp_point() {
        for e in Embodiment::ALL {
            let mut s = sim(e, TaskKind::Reach, 3);
            let mut steps = 0;
            // Open-gripper moves to the grasp point: never a success.
            while sub(s.world().grasp_point(Colour::Red), s.world().ee)
                .iter()
                .any(|d| d.abs() > 1e-12)
            {
                let goal = sub(s.world().grasp_point(Colour::Red), s.world().ee);
                let t = s.step(&action(e, goal, false)).expect("step");
                assert_eq!((t.status, t.reward), (Status::Running, 0.0), "{e}");
                steps += 1;
                assert!(steps < 40, "{e} does not arrive");
            }
            assert!(!s.is_success());
            let first = s.step(&action(e, [0.0; 3], true)).expect("close");
            assert_eq!(first.status, Status::Running, "half closed");
            let second = s.step(&action(e, [0.0; 3], true)).expect("close");
            assert_eq!(
                (second.status, second.reward),
                (Status::Success, 1.0),
                "{e}"
            );
        }
    }

    #[test]
    fn pushing_the_cube_left_far_enough_succeeds_and_observations_follow_the_frame() {
        for e in Embodiment::ALL {
            let mut s = sim(e, TaskKind::PushLeft, 4);
            let cube = s.world().cube(Colour::Red);
            // Teleport-free scripted path: above the push point, down, then left.
            let waypoints = [
                [
                    cube[0] + CONTACT + 0.005,
                    cube[1],
                    CUBE_HEIGHT + EE_RADIUS + 0.02,
                ],
                [cube[0] + CONTACT + 0.005, cube[1], CUBE_HALF],
            ];
            for w in waypoints {
                while norm(sub(w, s.world().ee)) > 1e-9 {
                    let t = s
                        .step(&action(e, sub(w, s.world().ee), false))
                        .expect("step");
                    assert_eq!(t.status, Status::Running, "{e}");
                }
            }
            let mut last = None;
            while !s.status().is_done() {
                last = Some(s.step(&action(e, [-1.0, 0.0, 0.0], false)).expect("push"));
            }
            let last = last.expect("pushed");
            assert_eq!((last.status, last.reward), (Status::Success, 1.0), "{e}");
            let moved = s.start_cubes()[0][0] - s.world().cube(Colour::Red)[0];
            assert!(
                moved >= 0.05 && moved < 0.05 + e.max_step() + 1e-9,
                "{e} {moved}"
            );
            let seen = last.observation.cubes[0];
            assert_eq!(seen, e.frame().to_robot(s.world().cube(Colour::Red)));
        }
    }
}
