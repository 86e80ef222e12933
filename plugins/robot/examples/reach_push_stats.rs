//! Measures the scripted expert and the simulator: success rate and mean episode length per
//! embodiment, task and noise level over many seeds, and simulator steps per second.
//!
//! ```sh
//! cargo run -p assay-robot --example reach_push_stats -- [SEEDS=500]
//! ```

use std::time::Instant;

use assay_robot::embodiment::Embodiment;
use assay_robot::expert::Expert;
use assay_robot::reach_push::{ReachPush, SimConfig, Status};
use assay_robot::rng::SplitMix64;
use assay_robot::task::Task;

fn main() {
    let seeds: u64 = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 500,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("reach_push_stats: SEEDS must be a whole number ({e})");
            std::process::exit(2);
        }
    };
    println!("embodiment noise task success mean_steps");
    for e in Embodiment::ALL {
        for noise in [0.0, 0.1, 0.2, 0.3, 0.5] {
            let mut all = (0, 0);
            for task in Task::all() {
                let (wins, steps) = run(e, task, noise, seeds);
                all = (all.0 + wins, all.1 + steps);
                println!(
                    "{e} {noise:.1} {:<24} {:.3} {:.1}",
                    task.instruction(),
                    wins as f64 / seeds as f64,
                    steps as f64 / seeds as f64
                );
            }
            let n = seeds as f64 * Task::all().len() as f64;
            println!(
                "{e} {noise:.1} {:<24} {:.3} {:.1}",
                "all",
                all.0 as f64 / n,
                all.1 as f64 / n
            );
        }
    }
    // Simulator speed: actions drawn beforehand, so only the simulator is timed.
    for e in Embodiment::ALL {
        let mut rng = SplitMix64::new(1);
        let actions: Vec<[f64; 7]> = (0..1024)
            .map(|_| [0; 7].map(|_| rng.uniform(-1.0, 1.0) * e.scale()))
            .collect();
        let task = Task::all()[0];
        let mut sim = ReachPush::new(e, SimConfig::default(), task, 0).expect("sim");
        let start = Instant::now();
        let mut steps = 0u64;
        let mut episode = 0;
        while start.elapsed().as_secs_f64() < 2.0 {
            for a in &actions {
                if sim.status().is_done() {
                    episode += 1;
                    sim.reset(task, episode);
                }
                sim.step(a).expect("step");
                steps += 1;
            }
        }
        let rate = steps as f64 / start.elapsed().as_secs_f64();
        println!("{e}: {rate:.0} simulator steps per second (random actions)");
        let expert = Expert::new(0.1).expect("noise");
        let start = Instant::now();
        let (mut steps, mut episode) = (0u64, 0);
        let mut rng = SplitMix64::new(2);
        while start.elapsed().as_secs_f64() < 2.0 {
            let task = Task::all()[episode as usize % 6];
            sim.reset(task, episode);
            episode += 1;
            while !sim.status().is_done() {
                sim.step(&expert.act(&sim, &mut rng)).expect("step");
                steps += 1;
            }
        }
        let rate = steps as f64 / start.elapsed().as_secs_f64();
        println!("{e}: {rate:.0} expert + simulator steps per second (noise 0.1, all tasks)");
    }
}

/// Successes and total steps of the noisy expert over `seeds` episodes.
fn run(e: Embodiment, task: Task, noise: f64, seeds: u64) -> (usize, usize) {
    let expert = Expert::new(noise).expect("noise");
    let (mut wins, mut steps) = (0, 0);
    for seed in 0..seeds {
        let mut sim = ReachPush::new(e, SimConfig::default(), task, seed).expect("sim");
        let mut rng = SplitMix64::new(seed);
        while !sim.status().is_done() {
            sim.step(&expert.act(&sim, &mut rng)).expect("step");
        }
        wins += usize::from(sim.status() == Status::Success);
        steps += sim.steps_taken();
    }
    (wins, steps)
}
