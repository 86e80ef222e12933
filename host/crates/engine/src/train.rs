//! The training loop: step, observe (evaluation and probes), flush metrics, checkpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use assay_sdk::prelude::*;
use assay_spec::{ProbeSchedule, PruneApply, Spec};
use assay_store::record::RunLog;
use assay_store::{RunRecord, Store};

use crate::checkpoint::{load_checkpoint, save_checkpoint};
use crate::evaluation::evaluate;
use crate::interrupt::install_interrupt_handler;
use crate::loss::loss;
use crate::outcome::{Outcome, RunOptions};
use crate::parts::{build, Parts};
use crate::sampler::Sampler;

/// Where a run starts: the checkpoint to continue from, and the parts already built (a fresh
/// training run builds them before its directory is written).
pub(crate) struct Start {
    pub checkpoint: Option<std::path::PathBuf>,
    pub parts: Option<crate::parts::Parts>,
}

/// The training loop of a run (or hands an online problem to [`crate::online`]): build,
/// prepare pruning and rewinding, then step, observe, flush and checkpoint until the last step, a
/// divergence, an interruption or `pause_at`.
pub(crate) fn train(
    catalog: &assay_catalog::Catalog,
    spec: &Spec,
    store: &Store,
    dir: &Path,
    record: &mut RunRecord,
    start: Start,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    let Start { checkpoint, parts } = start;
    install_interrupt_handler();
    if spec.problem.is_some() {
        return crate::online::train(spec, dir, record, opts);
    }
    if spec.solver.is_some() {
        return crate::solve::run(spec, store, dir, record, checkpoint, opts);
    }
    if spec.environment.is_some() {
        return crate::episodes::play(catalog, spec, store, dir, record, checkpoint, opts);
    }
    let mut parts = match parts {
        Some(parts) => parts,
        None => build(spec)?,
    };
    let objective = parts.dataset.info().objective;
    let start = match &checkpoint {
        Some(path) => load_checkpoint(&mut parts, path)?,
        None => 0,
    };
    let mut log = if start > 0 {
        RunLog::load(dir, start)?
    } else {
        RunLog::default()
    };
    let total = spec.train.steps;
    let mut sampler = Sampler::new(
        spec.seed,
        parts.dataset.len(Split::Train),
        spec.train.batch_size,
    );
    let holds_mask = spec
        .prune
        .as_ref()
        .is_some_and(|p| p.apply == PruneApply::Mask);
    let mask = if checkpoint.is_none() {
        let held = crate::pruning::prepare(
            spec,
            store,
            dir,
            &crate::pruning::Start {
                model: &parts.model,
                dataset: &parts.dataset,
                device: &parts.device,
                batch: sampler.indices(1),
            },
            &mut log,
        )?;
        // The weights the run starts from: what `checkpoint = "init"` of another run rewinds to.
        save_checkpoint(&parts, dir, 0)?;
        let tokenizer = parts.dataset.tokenizer();
        crate::run_files::save(dir, &parts.dataset.info(), tokenizer.as_deref())?;
        held
    } else if holds_mask {
        Some(crate::pruning::load_mask(dir, &parts.device)?)
    } else {
        None
    };
    let masked = mask
        .as_ref()
        .map(|_| crate::pruning::weight_matrices(&parts.model));
    let bar = crate::progress::bar(
        total,
        "{spinner} {pos}/{len} [{bar:30}] {per_sec} loss {msg} ETA {eta}",
        opts.quiet,
    );
    bar.set_position(start);

    if start == 0 {
        observe(spec, &mut parts, &mut log, dir, 0, total == 0)?;
    }
    // Full-batch training sees the same batch every step: build it once.
    let full_batch = if sampler.full_batch() {
        Some(
            parts
                .dataset
                .batch(Split::Train, &sampler.indices(1), &parts.device)?,
        )
    } else {
        None
    };
    let mut last_flush = Instant::now();
    parts.model.set_training(true);
    for step in start + 1..=total {
        let paused = opts.pause_at.is_some_and(|p| step > p);
        if paused || crate::interrupt::interrupted() {
            log.flush(dir)?;
            save_checkpoint(&parts, dir, step - 1)?;
            record.steps_done = step - 1;
            record.error = Some(format!(
                "{} after step {}",
                if paused { "paused" } else { "interrupted" },
                step - 1
            ));
            bar.abandon();
            return Ok(Outcome::Interrupted);
        }
        let fresh;
        let batch = match &full_batch {
            Some(b) => b,
            None => {
                fresh = parts
                    .dataset
                    .batch(Split::Train, &sampler.indices(step), &parts.device)?;
                &fresh
            }
        };
        let out = parts.model.forward(&batch.input, &mut Hooks::none())?;
        let loss = loss(&objective, &out, &batch.target)?;
        let value = f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?);
        let log_due = spec.train.log_every > 0 && step.is_multiple_of(spec.train.log_every);
        if log_due || !value.is_finite() {
            log.metric(step, "train/batch_loss", value);
        }
        if !value.is_finite() {
            log.flush(dir)?;
            record.steps_done = step - 1;
            record.error = Some(format!("loss is {value} at step {step}"));
            bar.abandon();
            return Ok(Outcome::Diverged);
        }
        let grads = loss.backward()?;
        parts.optimizer.step(&grads, spec.train.lr_factor(step))?;
        if let (Some(m), Some(vars)) = (&mask, &masked) {
            m.apply(vars)?;
        }
        let is_final = observe(spec, &mut parts, &mut log, dir, step, step == total)?;
        record.steps_done = step;
        let ckpt_due = is_final
            || (spec.train.checkpoint_every > 0
                && step.is_multiple_of(spec.train.checkpoint_every));
        // Metrics reach the disk before the checkpoint that covers them: a run killed between
        // the two resumes from the older checkpoint and drops the newer rows, never leaves a gap.
        if ckpt_due || last_flush.elapsed() > Duration::from_secs(10) {
            log.flush(dir)?;
            store.write_record(record)?;
            last_flush = Instant::now();
        }
        if ckpt_due {
            save_checkpoint(&parts, dir, step)?;
        }
        bar.set_message(format!("{value:.4}"));
        bar.inc(1);
        if is_final {
            break;
        }
    }
    log.flush(dir)?;
    bar.finish_and_clear();
    Ok(Outcome::Completed)
}

/// The observation step: evaluates (when due) and runs the probes due at `step`; returns whether
/// the step is the run's last, which it becomes early when `train.stop_when` holds after the
/// evaluation.
fn observe(
    spec: &Spec,
    parts: &mut Parts,
    log: &mut RunLog,
    dir: &Path,
    step: u64,
    mut is_final: bool,
) -> anyhow::Result<bool> {
    let eval_due =
        is_final || (spec.train.eval_every > 0 && step.is_multiple_of(spec.train.eval_every));
    if eval_due {
        let mut shown = Vec::new();
        for split in [Split::Train, Split::Test] {
            if parts.dataset.len(split) == 0 {
                continue;
            }
            let (loss, acc) = evaluate(parts, split, spec.train.eval_max_examples)?;
            log.metric(step, &format!("{}/loss", split.as_str()), loss);
            shown.push(format!("{}/loss {loss:.4}", split.as_str()));
            if let Some(a) = acc {
                log.metric(step, &format!("{}/acc", split.as_str()), a);
                shown.push(format!("{}/acc {a:.4}", split.as_str()));
            }
        }
        assay_store::store::append_log(dir, &format!("step {step}: {}", shown.join(", ")));
        crate::system::log(log, step);
        let stop = spec
            .train
            .stop_when
            .as_ref()
            .is_some_and(|c| log.value_at(&c.metric, step).is_some_and(|v| c.holds(v)));
        if stop && !is_final && step > 0 {
            is_final = true;
            log.metric(step, "train/stopped_early", 1.0);
        }
    }
    let Parts {
        model,
        dataset,
        device,
        probes,
        ..
    } = parts;
    for (schedule, probe) in probes.iter_mut() {
        let due = match schedule {
            ProbeSchedule::Every(n) => is_final || step.is_multiple_of(*n),
            ProbeSchedule::End => is_final,
        };
        if !due {
            continue;
        }
        let cx = ProbeContext {
            step,
            is_final,
            model: &*model,
            dataset: &*dataset,
            device,
        };
        let obs = probe.observe(&cx)?;
        for m in &obs.metrics {
            log.metric(step, &m.name, m.value);
        }
        for t in &obs.tables {
            log.table(step, t)?;
        }
    }
    Ok(is_final)
}
