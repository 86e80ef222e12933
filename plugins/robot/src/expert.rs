//! The scripted expert that demonstrates every task on every embodiment, with optional noise.
//!
//! The expert is a reactive function of the observation (converted to the world frame with the
//! embodiment's frame), the task and the simulator's thresholds, so a policy that imitates it
//! sees everything it used. It plans a world displacement and a gripper choice, then writes them
//! as the embodiment's native action (each axis as far as the scale allows):
//!
//! - reach: travel at a safe height ([`SAFE_Z`]) until above the cube, descend to the grasp
//!   point, and close the gripper while within twice the reach radius of it (open otherwise),
//!   so that under noise the gripper stays closed while the end effector jitters near the goal;
//! - push left: travel at the safe height to just right of the cube (the push point), descend to
//!   mid-cube height, then move left at full speed while keeping in line with the cube; when low
//!   but out of line, rise first so as not to knock cubes. The gripper stays open.
//!
//! Noise: each translation component gets `noise · scale · N(0, 1)` added before clipping to
//! ±scale, so `noise` is relative to the embodiment's own range (0.1 = a tenth of full speed).
//! The gripper command and the unused rotation are never noisy.

use crate::embodiment::Embodiment;
use crate::layout::{Observation, ACTION_DIM, GRIPPER_INDEX};
use crate::reach_push::{ReachPush, SimConfig};
use crate::rng::SplitMix64;
use crate::task::{Task, TaskKind};
use crate::world::{norm, sub, Vec3, CONTACT, CUBE_HALF, CUBE_HEIGHT, EE_RADIUS};

/// Height of the end effector's centre when travelling between points (bottom 0.02 m above the
/// cubes' tops).
pub const SAFE_Z: f64 = CUBE_HEIGHT + EE_RADIUS + 0.02;
/// Reach: closer than this horizontally to the grasp point, the expert descends.
pub const DESCEND_RADIUS: f64 = 0.015;
/// Push: gap between end effector and cube at the push point.
pub const PUSH_GAP: f64 = 0.005;
/// Push: largest sideways offset from the cube's line at which the expert pushes or descends.
pub const LANE_HALF_WIDTH: f64 = 0.018;
/// Push: how far right of contact the lane in which the expert descends reaches.
pub const LANE_DEPTH: f64 = 0.03;

/// A noise level that is not a non-negative number.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("expert noise must be a finite number ≥ 0 (a fraction of the action scale); got {0}")]
pub struct InvalidNoise(pub f64);

/// The scripted expert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expert {
    noise: f64,
}

impl Expert {
    /// An expert whose translation noise has standard deviation `noise · scale`.
    pub fn new(noise: f64) -> Result<Expert, InvalidNoise> {
        if noise.is_finite() && noise >= 0.0 {
            Ok(Expert { noise })
        } else {
            Err(InvalidNoise(noise))
        }
    }

    /// The noise level.
    pub fn noise(&self) -> f64 {
        self.noise
    }

    /// The noisy action for the simulator's current observation.
    pub fn act(&self, sim: &ReachPush, rng: &mut SplitMix64) -> [f64; ACTION_DIM] {
        let e = sim.embodiment();
        let mut action = Expert::plan(e, sim.task(), &sim.config(), &sim.observation());
        self.perturb(&mut action, e, rng);
        action
    }

    /// Adds the expert's noise to the translation of `action` (standard deviation `noise ·
    /// scale`, clipped to the scale); the gripper command stays exact.
    pub fn perturb(&self, action: &mut [f64; ACTION_DIM], e: Embodiment, rng: &mut SplitMix64) {
        if self.noise > 0.0 {
            for a in &mut action[..3] {
                let noisy = *a + self.noise * e.scale() * rng.normal();
                *a = noisy.clamp(-e.scale(), e.scale());
            }
        }
    }

    /// The noise-free native action of `embodiment` for `task` given its observation.
    pub fn plan(
        embodiment: Embodiment,
        task: Task,
        config: &SimConfig,
        observation: &Observation,
    ) -> [f64; ACTION_DIM] {
        let frame = embodiment.frame();
        let ee = frame.to_world(observation.ee);
        let cube = frame.to_world(observation.cubes[task.colour.index()]);
        let (displacement, close) = match task.kind {
            TaskKind::Reach => reach(ee, cube, config.reach_radius),
            TaskKind::PushLeft => (push_left(ee, cube), false),
        };
        let t = embodiment.translation_for(displacement);
        let mut action = [0.0; ACTION_DIM];
        action[..3].copy_from_slice(&t);
        action[GRIPPER_INDEX] = embodiment.gripper().command(close);
        action
    }
}

/// World displacement and gripper choice for reaching the top of `cube`.
fn reach(ee: Vec3, cube: Vec3, radius: f64) -> (Vec3, bool) {
    let goal = [cube[0], cube[1], CUBE_HEIGHT + EE_RADIUS];
    let to_goal = sub(goal, ee);
    if to_goal[0].hypot(to_goal[1]) > DESCEND_RADIUS {
        return ([to_goal[0], to_goal[1], SAFE_Z - ee[2]], false);
    }
    (to_goal, norm(to_goal) <= 2.0 * radius)
}

/// World displacement for pushing `cube` towards −x.
fn push_left(ee: Vec3, cube: Vec3) -> Vec3 {
    let push_z = CUBE_HALF;
    let behind = [cube[0] + CONTACT + PUSH_GAP, cube[1], push_z];
    let (dx, dy) = (ee[0] - cube[0], ee[1] - cube[1]);
    let low = ee[2] - EE_RADIUS < CUBE_HEIGHT;
    let in_line = dy.abs() < LANE_HALF_WIDTH;
    if low {
        if in_line && dx > 0.0 && dx < CONTACT + LANE_DEPTH {
            // Full speed left (clipped to the scale), staying in line and at mid-cube height.
            return [-1.0, cube[1] - ee[1], push_z - ee[2]];
        }
        return [0.0, 0.0, SAFE_Z - ee[2]];
    }
    if in_line && (CONTACT..CONTACT + LANE_DEPTH).contains(&dx) {
        return sub(behind, ee);
    }
    [behind[0] - ee[0], behind[1] - ee[1], SAFE_Z - ee[2]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Colour;

    #[test]
    fn noise_is_relative_to_the_scale_and_clipped() {
        let task = Task::new(TaskKind::PushLeft, Colour::Green);
        let expert = Expert::new(5.0).expect("noise");
        for e in Embodiment::ALL {
            let sim = ReachPush::new(e, SimConfig::default(), task, 2).expect("sim");
            let clean = Expert::plan(e, task, &sim.config(), &sim.observation());
            let mut rng = SplitMix64::new(0);
            let noisy = expert.act(&sim, &mut rng);
            assert!(noisy[..3].iter().all(|a| a.abs() <= e.scale()));
            assert_ne!(noisy[..3], clean[..3]);
            assert_eq!(
                noisy[3..],
                clean[3..],
                "rotation and gripper are noise-free"
            );
            let none = Expert::new(0.0).expect("noise").act(&sim, &mut rng);
            assert_eq!(none, clean);
        }
    }

    #[test]
    fn invalid_noise_is_refused() {
        for bad in [-0.1, f64::NAN, f64::INFINITY] {
            assert!(Expert::new(bad).is_err());
        }
        assert!(InvalidNoise(-0.1).to_string().contains("got -0.1"));
    }

    #[test]
    fn the_plan_is_the_same_world_move_in_every_frame() {
        // The same scene seen by each embodiment: the same world move, clipped to its step.
        for task in Task::all() {
            let moves: Vec<(Embodiment, Vec3)> = Embodiment::ALL
                .iter()
                .map(|&e| {
                    let sim = ReachPush::new(e, SimConfig::default(), task, 8).expect("sim");
                    let a = Expert::plan(e, task, &sim.config(), &sim.observation());
                    (e, e.displacement([a[0], a[1], a[2]]))
                })
                .collect();
            let (_, a_move) = moves[0];
            for (e, m) in &moves[1..] {
                for k in 0..3 {
                    if (m[k] - a_move[k]).abs() > 1e-12 {
                        assert!((m[k].abs() - e.max_step()).abs() < 1e-12, "{e} {task}");
                        assert_eq!(m[k].signum(), a_move[k].signum(), "{e} {task}");
                        assert!(a_move[k].abs() >= e.max_step(), "{e} {task}");
                    }
                }
            }
        }
    }
}
