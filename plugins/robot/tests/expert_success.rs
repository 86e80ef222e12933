//! The scripted expert over many seeds: every task on every embodiment succeeds without noise,
//! and nearly always with the noise the study's demonstrations use.

use assay_robot::embodiment::Embodiment;
use assay_robot::expert::Expert;
use assay_robot::reach_push::{ReachPush, SimConfig, Status};
use assay_robot::rng::SplitMix64;
use assay_robot::task::Task;

/// Success rate and the longest episode of the expert on `task` over seeds `0..seeds`.
fn rate(e: Embodiment, task: Task, noise: f64, seeds: u64) -> (f64, usize) {
    let expert = Expert::new(noise).expect("noise");
    let (mut wins, mut longest) = (0, 0);
    for seed in 0..seeds {
        let mut sim = ReachPush::new(e, SimConfig::default(), task, seed).expect("sim");
        let mut rng = SplitMix64::new(seed);
        while !sim.status().is_done() {
            sim.step(&expert.act(&sim, &mut rng)).expect("step");
        }
        wins += usize::from(sim.status() == Status::Success);
        longest = longest.max(sim.steps_taken());
    }
    (wins as f64 / seeds as f64, longest)
}

#[test]
fn without_noise_the_expert_always_succeeds_well_within_the_budget() {
    for e in Embodiment::ALL {
        for task in Task::all() {
            let (success, longest) = rate(e, task, 0.0, 500);
            assert_eq!(success, 1.0, "{e} {task}");
            assert!(longest <= 35, "{e} {task}: {longest} of 50 steps");
        }
    }
}

#[test]
fn with_noise_the_expert_still_nearly_always_succeeds() {
    for e in Embodiment::ALL {
        let rates: Vec<f64> = Task::all()
            .into_iter()
            .map(|task| rate(e, task, 0.2, 200).0)
            .collect();
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        assert!(mean >= 0.97, "{e}: {rates:?}");
    }
}

#[test]
fn noise_lowers_success_where_it_is_large_against_the_scene() {
    // Noise is relative to each embodiment's scale, so it moves A (0.05 m per step) five times
    // as far as C (0.01 m); at 0.5 A misses often and C never.
    let task = Task::all()[0];
    assert!(rate(Embodiment::A, task, 0.5, 200).0 < 0.5);
    assert_eq!(rate(Embodiment::C, task, 0.5, 200).0, 1.0);
}
