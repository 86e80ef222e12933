//! Solver runs: a spec with `[solver]`, iterated `[train] steps` times (the protocol is
//! `assay_sdk::solver`). Evaluations (metrics and tables) every `eval_every` iterations, at 0
//! and at the end; checkpoints of the solver's state every `checkpoint_every` iterations and at
//! the end, so an interrupted run resumes where it stopped and ends as the uninterrupted one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use assay_sdk::{BuildContext, Observation, Solver};
use assay_spec::Spec;
use assay_store::record::RunLog;
use assay_store::{RunRecord, Store};

use crate::outcome::{Outcome, RunOptions};

const STATE: &str = "solver";

fn record_observation(log: &mut RunLog, step: u64, obs: &Observation) -> anyhow::Result<()> {
    crate::system::log(log, step);
    for m in &obs.metrics {
        log.metric(step, &m.name, m.value);
    }
    for t in &obs.tables {
        log.table(step, t)?;
    }
    Ok(())
}

/// Runs the solver of `spec` in `dir`, from `checkpoint` if given.
pub(crate) fn run(
    spec: &Spec,
    store: &Store,
    dir: &Path,
    record: &mut RunRecord,
    checkpoint: Option<PathBuf>,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    let s = spec.solver.as_ref().ok_or_else(|| anyhow!("no [solver]"))?;
    let cx = BuildContext {
        seed: spec.seed,
        device: assay_sdk::candle::Device::Cpu,
    };
    let mut solver: Box<dyn Solver> = s
        .entry
        .build_solver(&s.params, &cx)
        .with_context(|| format!("building {}", s.entry.label()))?;
    let start = match &checkpoint {
        Some(path) => {
            let (step, states) = crate::state_checkpoint::load(path)?;
            let state = states
                .get(STATE)
                .ok_or_else(|| anyhow!("{}: no solver state", path.display()))?;
            solver.load_state(state).with_context(|| {
                format!("restoring {} from {}", s.entry.label(), path.display())
            })?;
            step
        }
        None => 0,
    };
    let mut log = if start > 0 {
        RunLog::load(dir, start)?
    } else {
        RunLog::default()
    };
    let total = spec.train.steps;
    let every = spec.train.eval_every;
    let bar = crate::progress::bar(
        total,
        "{spinner} iteration {pos}/{len} [{bar:30}] {per_sec} {msg} ETA {eta}",
        opts.quiet,
    );
    bar.set_position(start);
    if start == 0 {
        let obs = solver.evaluate(0, total == 0)?;
        record_observation(&mut log, 0, &obs)?;
        crate::state_checkpoint::save(dir, 0, &[(STATE.into(), solver.save_state()?)])?;
    }
    let mut last_flush = Instant::now();
    for it in start + 1..=total {
        let paused = opts.pause_at.is_some_and(|p| it > p);
        if paused || crate::interrupt::interrupted() {
            log.flush(dir)?;
            crate::state_checkpoint::save(dir, it - 1, &[(STATE.into(), solver.save_state()?)])?;
            record.steps_done = it - 1;
            record.error = Some(format!(
                "{} after iteration {}",
                if paused { "paused" } else { "interrupted" },
                it - 1
            ));
            bar.abandon();
            return Ok(Outcome::Interrupted);
        }
        solver.iterate()?;
        let is_final = it == total;
        if is_final || (every > 0 && it.is_multiple_of(every)) {
            let obs = solver.evaluate(it, is_final)?;
            if let Some(m) = obs.metrics.first() {
                bar.set_message(format!("{} {:.4}", m.name, m.value));
            }
            record_observation(&mut log, it, &obs)?;
        }
        record.steps_done = it;
        let ckpt_due = is_final
            || (spec.train.checkpoint_every > 0 && it.is_multiple_of(spec.train.checkpoint_every));
        if ckpt_due || last_flush.elapsed() > Duration::from_secs(10) {
            log.flush(dir)?;
            store.write_record(record)?;
            last_flush = Instant::now();
        }
        if ckpt_due {
            crate::state_checkpoint::save(dir, it, &[(STATE.into(), solver.save_state()?)])?;
        }
        bar.inc(1);
    }
    log.flush(dir)?;
    bar.finish_and_clear();
    Ok(Outcome::Completed)
}
