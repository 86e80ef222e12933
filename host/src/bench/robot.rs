//! `assay bench robot`: study 9's simulator speed.
//!
//! Steps per second of the `reach_push` simulator driven by its scripted expert, per
//! embodiment: the simulator core called directly (the reference), the SDK environment and
//! agent in the episode loop's calls, and a whole episode run of the expert through the engine
//! with every step stored (its steps/s counts the SDK loop's steps for the same number of
//! episodes: the run's deals come from other seeds, so its length differs by a few steps; its
//! episodes/s is exact). Median of `--repeats`.
//!
//! Then policy evaluation: a study-sized `rt_policy` (trained briefly on 30 recorded
//! demonstrations of C; its quality does not matter here, only its cost) plays embodiment C as
//! agent `rt_policy_agent`, in the SDK loop and as a whole episode run, beside the expert in the
//! same loop (the reference: the same simulator without a network).

use std::time::Instant;

use anyhow::Context;
use assay_catalog::Catalog;
use assay_robot::embodiment::Embodiment;
use assay_robot::expert::Expert;
use assay_robot::reach_push::{ReachPush, SimConfig};
use assay_robot::task::Task;
use assay_sdk::{
    Agent, AgentContext, BuildContext, EpisodeStart, Kind, SharedModel, SplitMix64, Value,
};
use assay_store::Store;

use super::median;

/// Arguments of `assay bench robot`.
#[derive(clap::Args, Debug)]
pub struct RobotBenchArgs {
    /// Episodes per timing.
    #[arg(long, default_value_t = 2000)]
    pub episodes: u64,
    /// Repetitions (median reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Episodes per policy-evaluation timing.
    #[arg(long, default_value_t = 200)]
    pub policy_episodes: u64,
}

/// The expert in the simulator core; returns the steps taken.
fn core(e: Embodiment, episodes: u64) -> anyhow::Result<u64> {
    let tasks = Task::all();
    let mut sim = ReachPush::new(e, SimConfig::default(), tasks[0], 0)?;
    let expert = Expert::new(0.1)?;
    let mut rng = SplitMix64::new(0);
    let mut steps = 0;
    for i in 0..episodes {
        sim.reset(tasks[(i % tasks.len() as u64) as usize], i);
        loop {
            let a = expert.act(&sim, &mut rng);
            steps += 1;
            if sim.step(&a)?.status.is_done() {
                break;
            }
        }
    }
    Ok(steps)
}

fn build() -> BuildContext {
    BuildContext {
        seed: 0,
        device: assay_sdk::candle::Device::Cpu,
    }
}

/// Agent `name` with `params`, given `model`.
fn agent(
    catalog: &Catalog,
    name: &str,
    params: &[(&str, Value)],
    model: Option<SharedModel>,
) -> anyhow::Result<Box<dyn Agent>> {
    let entry = catalog.get(Kind::Agent, name)?;
    Ok(entry.build_agent(
        &entry.component.resolve(params)?,
        &AgentContext {
            build: build(),
            seats: 1,
            index: 0,
            source: Vec::new(),
            source_run: None,
            text_model: None,
            model,
        },
    )?)
}

/// The expert through the SDK environment and agent.
fn sdk(catalog: &Catalog, e: &str, episodes: u64) -> anyhow::Result<u64> {
    let expert = agent(
        catalog,
        "reach_push_expert",
        &[("noise", Value::Float(0.1))],
        None,
    )?;
    play(catalog, e, expert, episodes)
}

/// `agent` playing `episodes` episodes of embodiment `e` in the episode loop's calls; returns
/// the steps taken.
fn play(
    catalog: &Catalog,
    e: &str,
    mut agent: Box<dyn Agent>,
    episodes: u64,
) -> anyhow::Result<u64> {
    let env_entry = catalog.get(Kind::Environment, "reach_push")?;
    let mut env = env_entry.build_environment(
        &env_entry
            .component
            .resolve(&[("embodiment", Value::Str(e.into()))])?,
        &build(),
    )?;
    let mut steps = 0;
    for i in 0..episodes {
        agent.begin_episode(&EpisodeStart {
            index: i,
            seat: 0,
            seed: i,
        })?;
        let mut ts = env.reset(i)?;
        while !ts.done {
            let a = agent.act(&ts)?;
            ts = env.step(&a)?;
            steps += 1;
        }
    }
    Ok(steps)
}

/// A whole episode run of the expert through the engine, every step stored.
fn engine_run(catalog: &Catalog, store: &Store, e: &str, episodes: u64) -> anyhow::Result<()> {
    let text = format!(
        "name = \"bench-robot\"\n[environment]\nplugin = \"reach_push\"\nembodiment = \"{e}\"\n[[agent]]\nplugin = \"reach_push_expert\"\nnoise = 0.1\n[episodes]\ncount = {episodes}\n"
    );
    super::run_spec_text(catalog, store, &text)?;
    Ok(())
}

/// Runs the benchmark and prints its table.
pub fn robot(catalog: &Catalog, args: &RobotBenchArgs) -> anyhow::Result<()> {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "reach_push with the scripted expert (noise 0.1), {} episodes, {profile} build, median of {} repetitions",
        args.episodes, args.repeats
    );
    println!(
        "{:<11} {:>14} {:>14} {:>16} {:>14}",
        "embodiment", "core steps/s", "SDK steps/s", "run steps/s", "episodes/s"
    );
    let dir = std::env::temp_dir().join(format!("assay-bench-robot-{}", std::process::id()));
    let store = Store::at(&dir);
    for (name, e) in [
        ("a", Embodiment::A),
        ("b", Embodiment::B),
        ("c", Embodiment::C),
    ] {
        let (mut c, mut s, mut r, mut eps) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.repeats.max(1) {
            let t = Instant::now();
            let steps = core(e, args.episodes)?;
            c.push(steps as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            let sdk_steps = sdk(catalog, name, args.episodes)?;
            s.push(sdk_steps as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            engine_run(catalog, &store, name, args.episodes)?;
            let secs = t.elapsed().as_secs_f64();
            r.push(sdk_steps as f64 / secs);
            eps.push(args.episodes as f64 / secs);
        }
        println!(
            "{name:<11} {:>14.0} {:>14.0} {:>16.0} {:>14.0}",
            median(&mut c),
            median(&mut s),
            median(&mut r),
            median(&mut eps)
        );
    }
    policy(catalog, &store, &dir, args)?;
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    Ok(())
}

/// The policy-evaluation table.
fn policy(
    catalog: &Catalog,
    store: &Store,
    dir: &std::path::Path,
    args: &RobotBenchArgs,
) -> anyhow::Result<()> {
    let demos = dir.join("demos-c").display().to_string();
    super::run_spec_text(
        catalog,
        store,
        &format!(
            "name = \"bench-demos\"\n[environment]\nplugin = \"reach_push\"\nembodiment = \"c\"\nrecord = \"{demos}\"\n[[agent]]\nplugin = \"reach_push_expert\"\nnoise = 0.1\n[episodes]\ncount = 30\n"
        ),
    )?;
    let id = super::run_spec_text(
        catalog,
        store,
        &format!(
            "name = \"bench-policy\"\n[dataset]\nplugin = \"rlds_mixture\"\nsources = [\"{demos}\"]\n[model]\nplugin = \"rt_policy\"\nhidden = 512\nlayers = 3\n[optimizer]\nplugin = \"adamw\"\n[train]\nsteps = 200\nbatch_size = 64\n"
        ),
    )?;
    let run = assay_engine::subject::load_run_model(store, catalog, &id)?;
    let shared = SharedModel {
        model: std::sync::Arc::new(std::sync::Mutex::new(run.model)),
        data: run.data,
        device: run.device,
    };
    let episodes = args.policy_episodes;
    println!();
    println!(
        "policy evaluation on embodiment c: rt_policy 512x3 (7 heads of 256 tokens), {episodes} episodes, median of {} repetitions",
        args.repeats
    );
    println!(
        "{:<24} {:>12} {:>12} {:>15}",
        "agent", "steps/s", "episodes/s", "steps/episode"
    );
    let policy_params = [("statistics", Value::Str(demos.clone()))];
    let (mut ps, mut pe, mut xs, mut xe, mut re) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut policy_steps, mut expert_steps) = (0, 0);
    for _ in 0..args.repeats.max(1) {
        let a = agent(
            catalog,
            "rt_policy_agent",
            &policy_params,
            Some(shared.clone()),
        )?;
        let t = Instant::now();
        policy_steps = play(catalog, "c", a, episodes)?;
        let secs = t.elapsed().as_secs_f64();
        ps.push(policy_steps as f64 / secs);
        pe.push(episodes as f64 / secs);
        let t = Instant::now();
        expert_steps = sdk(catalog, "c", episodes)?;
        let secs = t.elapsed().as_secs_f64();
        xs.push(expert_steps as f64 / secs);
        xe.push(episodes as f64 / secs);
        let t = Instant::now();
        super::run_spec_text(
            catalog,
            store,
            &format!(
                "name = \"bench-eval\"\n[environment]\nplugin = \"reach_push\"\nembodiment = \"c\"\n[[agent]]\nplugin = \"rt_policy_agent\"\nfrom = \"run:{id}\"\nstatistics = \"{demos}\"\n[episodes]\ncount = {episodes}\n"
            ),
        )?;
        re.push(episodes as f64 / t.elapsed().as_secs_f64());
    }
    let per = |steps: u64| steps as f64 / episodes.max(1) as f64;
    println!(
        "{:<24} {:>12.0} {:>12.1} {:>15.1}",
        "rt_policy_agent (SDK)",
        median(&mut ps),
        median(&mut pe),
        per(policy_steps)
    );
    println!(
        "{:<24} {:>12} {:>12.1} {:>15}",
        "rt_policy_agent (run)",
        "-",
        median(&mut re),
        "-"
    );
    println!(
        "{:<24} {:>12.0} {:>12.1} {:>15.1}",
        "expert (reference)",
        median(&mut xs),
        median(&mut xe),
        per(expert_steps)
    );
    Ok(())
}
