//! Demonstrations: the scripted expert's episodes recorded as RLDS, and the study's datasets.
//!
//! [`record_episode`] resets the simulator to a task and seed and lets the expert act until
//! success or the step budget, drawing its noise from sub-stream [`NOISE_STREAM`] of the seed.
//! Step t holds observation t, the action taken from it, reward t (1 on the succeeding step) and
//! discount 1; the last step holds the final observation with a zero action, reward 0 and
//! discount 0 (RLDS ignores them), and `is_terminal` = success.
//!
//! [`DemoPlan::study`] is the data of the notes: embodiments A and B get 300 episodes each and
//! C only 15, and "reach the blue cube" appears only in A's data (B and C cycle through the five
//! other tasks). Episode i of a plan uses task `tasks[i % tasks.len()]` and a scene seed drawn
//! from the plan's seed, the embodiment and i, so the three embodiments' datasets never share
//! scenes; episode ids start at the plan's `first_episode_id` (100,000 × the embodiment's index
//! in the study plans).

use crate::embodiment::Embodiment;
use crate::expert::{Expert, InvalidNoise};
use crate::layout::ACTION_DIM;
use crate::reach_push::{ReachPush, SimConfig, SimError, Status};
use crate::rlds::{Episode, EpisodeMetadata, Step};
use crate::rng::SplitMix64;
use crate::task::{Colour, Task, TaskKind};

/// The sub-stream of an episode seed that draws the expert's noise.
pub const NOISE_STREAM: u64 = 1;

/// The study's episode counts for A, B and C.
pub const STUDY_EPISODES: [usize; 3] = [300, 300, 15];

/// Why demonstrations could not be recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DemoError {
    /// A plan with episodes but no task to give them.
    #[error("the plan asks for {0} episodes but lists no tasks")]
    NoTasks(usize),
    /// The expert's noise level.
    #[error(transparent)]
    Noise(#[from] InvalidNoise),
    /// The simulator refused a configuration or an action.
    #[error(transparent)]
    Sim(#[from] SimError),
}

/// Runs `expert` on `task` from the scene of `seed` and records the episode.
pub fn record_episode(
    sim: &mut ReachPush,
    expert: &Expert,
    task: Task,
    seed: u64,
    episode_id: u64,
) -> Result<Episode, DemoError> {
    let instruction = task.instruction();
    let mut rng = SplitMix64::stream(seed, NOISE_STREAM);
    let mut observation = sim.reset(task, seed);
    let mut steps = Vec::new();
    while !sim.status().is_done() {
        let action = expert.act(sim, &mut rng);
        let transition = sim.step(&action)?;
        steps.push(Step {
            is_first: steps.is_empty(),
            is_last: false,
            is_terminal: false,
            observation: observation.fields(),
            action: action.to_vec(),
            reward: transition.reward,
            discount: 1.0,
            language_instruction: instruction.clone(),
        });
        observation = transition.observation;
    }
    let success = sim.status() == Status::Success;
    steps.push(Step {
        is_first: steps.is_empty(),
        is_last: true,
        is_terminal: success,
        observation: observation.fields(),
        action: vec![0.0; ACTION_DIM],
        reward: 0.0,
        discount: 0.0,
        language_instruction: instruction,
    });
    Ok(Episode {
        episode_id,
        metadata: EpisodeMetadata {
            embodiment: sim.embodiment().name().to_string(),
            agent: "expert".to_string(),
            seed,
            noise: expert.noise(),
            success,
        },
        steps,
    })
}

/// What demonstrations to record for one embodiment.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoPlan {
    /// Whose demonstrations.
    pub embodiment: Embodiment,
    /// Tasks, used in turn.
    pub tasks: Vec<Task>,
    /// Number of episodes.
    pub episodes: usize,
    /// The expert's noise (see [`Expert::new`]).
    pub noise: f64,
    /// Fixes every scene and all noise.
    pub seed: u64,
    /// Id of the first episode; the others follow.
    pub first_episode_id: u64,
    /// Thresholds and budget.
    pub sim: SimConfig,
}

impl DemoPlan {
    /// The notes' dataset for `embodiment`: 300 (A, B) or 15 (C) episodes, "reach the blue
    /// cube" only for A, ids from 100,000 × the embodiment's index.
    pub fn study(embodiment: Embodiment, seed: u64, noise: f64) -> DemoPlan {
        let held_out = Task::new(TaskKind::Reach, Colour::Blue);
        let tasks = Task::all()
            .into_iter()
            .filter(|t| embodiment == Embodiment::A || *t != held_out)
            .collect();
        DemoPlan {
            embodiment,
            tasks,
            episodes: STUDY_EPISODES[embodiment.index()],
            noise,
            seed,
            first_episode_id: 100_000 * embodiment.index() as u64,
            sim: SimConfig::default(),
        }
    }

    /// The scene seed of episode `i`.
    pub fn episode_seed(&self, i: usize) -> u64 {
        let stream = ((self.embodiment.index() as u64) << 32) | i as u64;
        SplitMix64::stream(self.seed, stream).next_u64()
    }
}

/// Records the episodes of `plan`.
pub fn demonstrations(plan: &DemoPlan) -> Result<Vec<Episode>, DemoError> {
    if plan.tasks.is_empty() {
        return if plan.episodes == 0 {
            Ok(Vec::new())
        } else {
            Err(DemoError::NoTasks(plan.episodes))
        };
    }
    let expert = Expert::new(plan.noise)?;
    let mut sim = ReachPush::new(plan.embodiment, plan.sim, plan.tasks[0], plan.seed)?;
    (0..plan.episodes)
        .map(|i| {
            let task = plan.tasks[i % plan.tasks.len()];
            let id = plan.first_episode_id + i as u64;
            record_episode(&mut sim, &expert, task, plan.episode_seed(i), id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Observation;
    use crate::rlds::check_dataset;

    fn plan(embodiment: Embodiment, episodes: usize, noise: f64) -> DemoPlan {
        DemoPlan {
            episodes,
            noise,
            ..DemoPlan::study(embodiment, 5, noise)
        }
    }

    #[test]
    fn recorded_episodes_satisfy_rlds_and_replay_in_the_simulator() {
        for e in Embodiment::ALL {
            let data = demonstrations(&plan(e, 12, 0.2)).expect("demos");
            check_dataset(&data).expect("RLDS invariants");
            for ep in &data {
                let task = Task::from_instruction(&ep.steps[0].language_instruction).expect("task");
                let mut sim =
                    ReachPush::new(e, SimConfig::default(), task, ep.metadata.seed).expect("sim");
                for (i, step) in ep.transitions().iter().enumerate() {
                    let seen = Observation::from_fields(&step.observation).expect("layout");
                    assert_eq!(
                        seen,
                        sim.observation(),
                        "episode {} step {i}",
                        ep.episode_id
                    );
                    let t = sim.step(&step.action).expect("replay");
                    assert_eq!(t.reward, step.reward);
                }
                let last = ep.steps.last().expect("last");
                assert_eq!(
                    Observation::from_fields(&last.observation),
                    Ok(sim.observation())
                );
                assert_eq!(last.is_terminal, sim.status() == Status::Success);
                assert_eq!(ep.metadata.success, last.is_terminal);
                assert_eq!(ep.is_truncated(), sim.status() == Status::Truncated);
                let rewards: f64 = ep.transitions().iter().map(|s| s.reward).sum();
                assert_eq!(rewards, if ep.metadata.success { 1.0 } else { 0.0 });
                assert_eq!(ep.metadata.embodiment, e.name());
            }
        }
    }

    #[test]
    fn the_study_plans_follow_the_notes() {
        let blue = Task::new(TaskKind::Reach, Colour::Blue);
        let plans = Embodiment::ALL.map(|e| DemoPlan::study(e, 0, 0.1));
        assert_eq!(plans.each_ref().map(|p| p.episodes), [300, 300, 15]);
        assert!(plans[0].tasks.contains(&blue) && plans[0].tasks.len() == 6);
        for p in &plans[1..] {
            assert!(!p.tasks.contains(&blue) && p.tasks.len() == 5);
        }
        let seeds: std::collections::HashSet<u64> = plans
            .iter()
            .flat_map(|p| (0..p.episodes).map(|i| p.episode_seed(i)))
            .collect();
        assert_eq!(seeds.len(), 615, "no scene is shared");
        let c = demonstrations(&plans[2]).expect("C");
        assert_eq!(c.len(), 15);
        assert_eq!(c[0].episode_id, 200_000);
        assert!(c
            .iter()
            .all(|ep| ep.steps[0].language_instruction != "reach the blue cube"));
    }

    #[test]
    fn a_plan_and_seed_fix_the_dataset() {
        let a = demonstrations(&plan(Embodiment::B, 6, 0.3)).expect("demos");
        assert_eq!(
            a,
            demonstrations(&plan(Embodiment::B, 6, 0.3)).expect("demos")
        );
        let other = DemoPlan {
            seed: 6,
            ..plan(Embodiment::B, 6, 0.3)
        };
        assert_ne!(a, demonstrations(&other).expect("demos"));
    }

    #[test]
    fn plans_without_tasks_or_with_bad_noise_are_refused() {
        let none = DemoPlan {
            tasks: Vec::new(),
            ..plan(Embodiment::A, 3, 0.0)
        };
        assert_eq!(demonstrations(&none), Err(DemoError::NoTasks(3)));
        let empty = DemoPlan {
            episodes: 0,
            ..none
        };
        assert_eq!(demonstrations(&empty), Ok(Vec::new()));
        let noisy = plan(Embodiment::A, 3, -1.0);
        assert!(matches!(demonstrations(&noisy), Err(DemoError::Noise(_))));
    }
}
