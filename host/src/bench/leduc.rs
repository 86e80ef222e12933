//! `assay bench leduc`: study 10's game speed.
//!
//! - CFR iterations per second of solver `leduc_cfr` (vanilla CFR, CFR+, rlcard's chance
//!   sampling) through the SDK, beside the same solver of the game core called directly: the
//!   ratio is what the component boundary costs.
//! - Environment steps per second of random against random: the game core's own match loop
//!   (the reference), the SDK environment and agents in the episode loop's calls (reset, act,
//!   step), and a whole episode run through the engine with every step stored
//!   (`record_steps = true`) and without.
//!
//! Each figure is the median of `--repeats` alternating repetitions.

use std::time::Instant;

use anyhow::Context;
use assay_catalog::Catalog;
use assay_games::cfr::{Cfr, CfrVariant};
use assay_games::infoset::Keying;
use assay_games::matches::{play_match, MatchConfig, Seating};
use assay_games::player::RandomPlayer;
use assay_games::rlcard_cfr::RlcardCfr;
use assay_games::rules::Rules;
use assay_games::tabular_cfr::TabularCfr;
use assay_sdk::{Action, AgentContext, BuildContext, EpisodeStart, Kind, Value};
use assay_store::Store;

use super::median;

/// Arguments of `assay bench leduc`.
#[derive(clap::Args, Debug)]
pub struct LeducBenchArgs {
    /// CFR iterations per timing.
    #[arg(long, default_value_t = 500)]
    pub iterations: u64,
    /// Hands per timing of the episode loops.
    #[arg(long, default_value_t = 5000)]
    pub hands: u64,
    /// Repetitions (median reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
}

fn rate(n: u64, f: impl FnOnce() -> anyhow::Result<u64>) -> anyhow::Result<(f64, u64)> {
    let t = Instant::now();
    let steps = f()?;
    let secs = t.elapsed().as_secs_f64();
    Ok((if steps > 0 { steps } else { n } as f64 / secs, steps))
}

/// CFR through the `leduc_cfr` component.
fn component_cfr(catalog: &Catalog, algorithm: &str, keying: &str, n: u64) -> anyhow::Result<u64> {
    let entry = catalog.get(Kind::Solver, "leduc_cfr")?;
    let params = entry.component.resolve(&[
        ("algorithm", Value::Str(algorithm.into())),
        ("keying", Value::Str(keying.into())),
    ])?;
    let mut solver = entry.build_solver(
        &params,
        &BuildContext {
            seed: 0,
            device: assay_sdk::candle::Device::Cpu,
        },
    )?;
    for _ in 0..n {
        solver.iterate()?;
    }
    Ok(n)
}

/// The same solver of the game core, called directly.
fn core_cfr(algorithm: &str, n: u64) -> u64 {
    match algorithm {
        "cfr" => {
            let mut c = Cfr::new(Rules::rlcard(), CfrVariant::Vanilla, Keying::FullHistory);
            (0..n).for_each(|_| c.step());
        }
        "cfr_plus" => {
            let mut c = Cfr::new(Rules::rlcard(), CfrVariant::Plus, Keying::FullHistory);
            (0..n).for_each(|_| c.step());
        }
        _ => {
            let mut c = RlcardCfr::new(Rules::rlcard(), Keying::Obs, 0);
            (0..n).for_each(|_| c.step());
        }
    }
    n
}

/// Random against random in the game core's match loop; returns the decisions made.
fn core_match(hands: u64) -> anyhow::Result<u64> {
    let result = play_match(
        &mut RandomPlayer,
        &mut RandomPlayer,
        &MatchConfig {
            rules: Rules::rlcard(),
            deals: hands as usize,
            seed: 0,
            seating: Seating::Fixed,
            first: assay_games::cards::FirstSeat::Random,
        },
    )?;
    Ok(result
        .hands
        .iter()
        .map(|h| (h.history[0].len() + h.history[1].len()) as u64)
        .sum())
}

/// Random against random through the SDK components, as the episode loop calls them.
fn sdk_loop(catalog: &Catalog, hands: u64) -> anyhow::Result<u64> {
    let build = BuildContext {
        seed: 0,
        device: assay_sdk::candle::Device::Cpu,
    };
    let env_entry = catalog.get(Kind::Environment, "leduc_holdem")?;
    let mut env = env_entry.build_environment(&env_entry.component.resolve(&[])?, &build)?;
    let agent_entry = catalog.get(Kind::Agent, "random")?;
    let mut agents = Vec::new();
    for index in 0..2 {
        let cx = AgentContext {
            build: build.clone(),
            seats: 2,
            index,
            source: Vec::new(),
            source_run: None,
            text_model: None,
            model: None,
        };
        agents.push(agent_entry.build_agent(&agent_entry.component.resolve(&[])?, &cx)?);
    }
    let mut steps = 0;
    for e in 0..hands {
        for (seat, a) in agents.iter_mut().enumerate() {
            a.begin_episode(&EpisodeStart {
                index: e,
                seat,
                seed: e * 2 + seat as u64,
            })?;
        }
        let mut ts = env.reset(e)?;
        while !ts.done {
            let player = ts.player.unwrap_or(0);
            let action: Action = agents[player].act(&ts)?;
            ts = env.step(&action)?;
            steps += 1;
        }
    }
    Ok(steps)
}

/// A whole episode run through the engine, into a scratch store (timed per hand: the caller
/// converts hands to steps with the core loop's decisions per hand; both loops play random
/// deals with random agents).
fn engine_run(catalog: &Catalog, store: &Store, hands: u64, record: bool) -> anyhow::Result<u64> {
    let text = format!(
        "name = \"bench-leduc\"\n[environment]\nplugin = \"leduc_holdem\"\n[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"random\"\n[episodes]\ncount = {hands}\nrecord_steps = {record}\n"
    );
    super::run_spec_text(catalog, store, &text)?;
    Ok(0)
}

/// Runs the benchmark and prints its table.
pub fn leduc(catalog: &Catalog, args: &LeducBenchArgs) -> anyhow::Result<()> {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "Leduc Hold'em (rlcard rules), {profile} build, median of {} repetitions",
        args.repeats
    );
    println!(
        "{:<44} {:>14} {:>14} {:>8}",
        "CFR, iterations/s", "component", "game core", "ratio"
    );
    for (algorithm, keying) in [
        ("cfr", "full_history"),
        ("cfr_plus", "full_history"),
        ("chance_sampling", "obs"),
    ] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..args.repeats.max(1) {
            a.push(
                rate(args.iterations, || {
                    component_cfr(catalog, algorithm, keying, args.iterations)
                })?
                .0,
            );
            b.push(rate(args.iterations, || Ok(core_cfr(algorithm, args.iterations)))?.0);
        }
        let (a, b) = (median(&mut a), median(&mut b));
        println!(
            "{:<44} {a:>14.0} {b:>14.0} {:>8.2}",
            format!("{algorithm} / {keying}"),
            a / b
        );
    }
    let dir = std::env::temp_dir().join(format!("assay-bench-leduc-{}", std::process::id()));
    let store = Store::at(&dir);
    let (mut core, mut sdk, mut stored, mut bare) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut decisions = 0;
    for _ in 0..args.repeats.max(1) {
        let (r, n) = rate(args.hands, || core_match(args.hands))?;
        core.push(r);
        decisions = n;
        sdk.push(rate(args.hands, || sdk_loop(catalog, args.hands))?.0);
        // Engine runs: per hand, converted to steps with the core loop's decisions per hand.
        let per_hand = decisions as f64 / args.hands as f64;
        stored
            .push(rate(args.hands, || engine_run(catalog, &store, args.hands, true))?.0 * per_hand);
        bare.push(
            rate(args.hands, || {
                engine_run(catalog, &store, args.hands, false)
            })?
            .0 * per_hand,
        );
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    let reference = median(&mut core);
    println!(
        "{:<44} {:>14} {:>14}",
        format!("random vs random, {} hands", args.hands),
        "steps/s",
        "vs core loop"
    );
    for (label, mut v) in [
        ("game core match loop (reference)", vec![reference]),
        ("SDK environment + agents", sdk),
        ("episode run, every step stored", stored),
        ("episode run, record_steps = false", bare),
    ] {
        let m = median(&mut v);
        println!("{label:<44} {m:>14.0} {:>14.2}", m / reference);
    }
    println!(
        "({decisions} decisions in {} hands of the core loop)",
        args.hands
    );
    Ok(())
}
