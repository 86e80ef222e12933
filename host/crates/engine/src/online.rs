//! Online optimisation runs: a spec with `[problem]` instead of `[dataset]` and `[model]`.
//!
//! The iterate lives in host memory, in the spec's precision (`[problem] precision`, `f32` by
//! default), and the optimizer's host-memory rule updates it; the problem projects it and draws
//! the next loss and gradient (the protocol is `assay_sdk::online`). Nothing touches a tensor,
//! so 10⁵ steps of a scalar problem take a few milliseconds. Every coordinate is logged (`theta`
//! in one dimension, `theta/0`, `theta/1`, … otherwise) with the round's `loss`, every
//! `log_every` steps and at the end. Online runs keep no checkpoints: an interrupted one starts
//! again from step 0.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use assay_catalog::guard::GuardedHostOptimizer;
use assay_sdk::{BuildContext, HostFloat, HostOptimizer, OnlineProblem, Precision};
use assay_spec::Spec;
use assay_store::record::RunLog;
use assay_store::RunRecord;

use crate::outcome::{Outcome, RunOptions};

/// Runs the online problem of `spec`.
pub fn train(
    spec: &Spec,
    dir: &Path,
    record: &mut RunRecord,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    let pspec = spec
        .problem
        .as_ref()
        .ok_or_else(|| anyhow!("no [problem]"))?;
    let e = &pspec.entry;
    let cx = BuildContext {
        seed: spec.seed,
        device: assay_sdk::candle::Device::Cpu,
    };
    let mut problem = e
        .build_problem(&pspec.params, &cx)
        .with_context(|| format!("building {}", e.label()))?;
    let start = problem.start(spec.seed)?;
    if start.is_empty() {
        bail!("{} started from an empty point", e.label());
    }
    let precision = spec.precision;
    let ospec = spec
        .optimizer
        .as_ref()
        .ok_or_else(|| anyhow!("no [optimizer]"))?;
    let optimizer = ospec
        .entry
        .build_host_optimizer(&ospec.params, start.len(), precision)?;
    let mut rounds = Rounds {
        problem: &mut problem,
        optimizer,
        spec,
        dir,
        record,
        opts,
    };
    match precision {
        Precision::F32 => rounds.run::<f32>(start),
        Precision::F64 => rounds.run::<f64>(start),
    }
}

/// What the loop of one online run holds.
struct Rounds<'a> {
    problem: &'a mut Box<dyn OnlineProblem>,
    optimizer: GuardedHostOptimizer,
    spec: &'a Spec,
    dir: &'a Path,
    record: &'a mut RunRecord,
    opts: &'a RunOptions,
}

/// The metric name of coordinate `i` of a `dim`-dimensional iterate.
fn coordinate(i: usize, dim: usize) -> String {
    if dim == 1 {
        "theta".to_string()
    } else {
        format!("theta/{i}")
    }
}

impl Rounds<'_> {
    /// One round of the problem at `theta` (in the run's precision): projects it in place and
    /// returns the loss, with the gradient written into `grad`. The problem computes in `f64`;
    /// the projected point and the gradient are rounded to `F`.
    fn round<F: HostFloat>(
        &mut self,
        theta: &mut [F],
        grad: &mut [F],
        scratch: &mut (Vec<f64>, Vec<f64>),
    ) -> anyhow::Result<f64> {
        let (x, g) = scratch;
        for (xi, ti) in x.iter_mut().zip(theta.iter()) {
            *xi = ti.to_f64();
        }
        let loss = self.problem.round(x, g)?;
        for ((ti, gi), (xi, gx)) in theta
            .iter_mut()
            .zip(grad.iter_mut())
            .zip(x.iter().zip(g.iter()))
        {
            *ti = F::from_f64(*xi);
            *gi = F::from_f64(*gx);
        }
        Ok(loss)
    }

    fn log<F: HostFloat>(log: &mut RunLog, step: u64, theta: &[F], loss: f64) {
        for (i, t) in theta.iter().enumerate() {
            log.metric(step, &coordinate(i, theta.len()), t.to_f64());
        }
        log.metric(step, "loss", loss);
    }

    fn run<F: HostFloat>(&mut self, start: Vec<f64>) -> anyhow::Result<Outcome> {
        let dim = start.len();
        let mut theta: Vec<F> = start.iter().map(|x| F::from_f64(*x)).collect();
        let mut grad = vec![F::ZERO; dim];
        let mut scratch = (vec![0.0; dim], vec![0.0; dim]);
        let mut loss = self.round(&mut theta, &mut grad, &mut scratch)?;
        let mut log = RunLog::default();
        Self::log(&mut log, 0, &theta, loss);
        let total = self.spec.train.steps;
        let bar = if self.opts.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(total)
        };
        for step in 1..=total {
            if step % 4096 == 0 {
                let paused = self.opts.pause_at.is_some_and(|p| step > p);
                if crate::interrupt::interrupted() || paused {
                    log.flush(self.dir)?;
                    self.record.steps_done = step - 1;
                    self.record.error = Some(format!(
                        "stopped after step {}; online runs restart from step 0",
                        step - 1
                    ));
                    return Ok(Outcome::Interrupted);
                }
                bar.set_position(step);
            }
            self.optimizer.step(
                F::iterate(&mut theta, &grad),
                self.spec.train.lr_factor(step),
            )?;
            loss = self.round(&mut theta, &mut grad, &mut scratch)?;
            if let Some(i) = theta.iter().position(|t| !t.to_f64().is_finite()) {
                let value = theta[i].to_f64();
                Self::log(&mut log, step, &theta, loss);
                log.flush(self.dir)?;
                self.record.steps_done = step - 1;
                self.record.error =
                    Some(format!("{} is {value} at step {step}", coordinate(i, dim)));
                return Ok(Outcome::Diverged);
            }
            let log_every = self.spec.train.log_every;
            if step == total || (log_every > 0 && step.is_multiple_of(log_every)) {
                Self::log(&mut log, step, &theta, loss);
            }
        }
        self.record.steps_done = total;
        log.flush(self.dir)?;
        bar.finish_and_clear();
        Ok(Outcome::Completed)
    }
}
