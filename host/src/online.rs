//! Online optimisation runs: a spec with `[environment]` instead of `[dataset]` and `[model]`.
//!
//! The iterate lives in host memory and the optimizer's host implementation updates it; the
//! environment projects it and draws the next gradient (the protocol is described in
//! `assay_sdk::environment`). Nothing touches a tensor, so 10⁵ steps of a scalar problem take a
//! few milliseconds. The first coordinate is logged as `theta` every `log_every` steps and at the
//! end. Online runs keep no checkpoints: an interrupted one starts again from step 0.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{anyhow, bail, Context};
use assay_sdk::{Action, BuildContext, HostOptimizer, Kind};

use crate::catalog::Catalog;
use crate::engine::{Outcome, RunOptions};
use crate::record::RunLog;
use crate::spec::Spec;
use crate::store::RunRecord;

/// Splits an observation `[θ, g]` of an online problem of dimension `dim`.
fn split(observation: Vec<f32>, dim: usize, who: &str) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    if observation.len() != 2 * dim {
        bail!(
            "{who} returned {} values; an online problem returns [theta, gradient] ({} values)",
            observation.len(),
            2 * dim
        );
    }
    let mut theta = observation;
    let grad = theta.split_off(dim);
    Ok((theta, grad))
}

/// Runs the online problem of `spec`.
pub fn train(
    catalog: &Catalog,
    spec: &Spec,
    dir: &Path,
    record: &mut RunRecord,
    opts: &RunOptions,
    interrupted: &AtomicBool,
) -> anyhow::Result<Outcome> {
    let espec = spec
        .environment
        .as_ref()
        .ok_or_else(|| anyhow!("no [environment]"))?;
    let e = catalog.get(Kind::Environment, &espec.plugin)?;
    let cx = BuildContext {
        seed: spec.seed,
        device: assay_sdk::candle::Device::Cpu,
    };
    let mut env = e
        .build_environment(&espec.params, &cx)
        .with_context(|| format!("building {}", e.label()))?;
    let o = catalog.get(Kind::Optimizer, &spec.optimizer.plugin)?;
    let host = o.component.host_optimizer.as_ref().ok_or_else(|| {
        anyhow!(
            "{} has no host-memory implementation, which online problems need",
            o.label()
        )
    })?;
    let mut theta = env.reset(spec.seed)?.observation;
    let dim = theta.len();
    if dim == 0 {
        bail!("{} started from an empty point", e.label());
    }
    let mut optimizer = crate::guard::GuardedHostOptimizer {
        who: o.label(),
        inner: crate::guard::guard(&o.label(), "host_optimizer", || {
            (host.0)(&spec.optimizer.params, dim)
        })?,
    };
    let (t, mut grad) = split(
        env.step(&Action::Continuous(theta))?.observation,
        dim,
        &e.label(),
    )?;
    theta = t;
    let mut log = RunLog::default();
    log.metric(0, "theta", f64::from(theta[0]));
    let total = spec.train.steps;
    let bar = if opts.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(total)
    };
    for step in 1..=total {
        if step % 4096 == 0 {
            if interrupted.load(Ordering::SeqCst) || opts.pause_at.is_some_and(|p| step > p) {
                log.flush(dir)?;
                record.steps_done = step - 1;
                record.error = Some(format!(
                    "stopped after step {}; online runs restart from step 0",
                    step - 1
                ));
                return Ok(Outcome::Interrupted);
            }
            bar.set_position(step);
        }
        optimizer.step(&mut theta, &grad, spec.train.lr_factor(step))?;
        let (t, g) = split(
            env.step(&Action::Continuous(theta))?.observation,
            dim,
            &e.label(),
        )?;
        theta = t;
        grad = g;
        let value = f64::from(theta[0]);
        if !value.is_finite() {
            log.metric(step, "theta", value);
            log.flush(dir)?;
            record.steps_done = step - 1;
            record.error = Some(format!("theta is {value} at step {step}"));
            return Ok(Outcome::Diverged);
        }
        if step == total || (spec.train.log_every > 0 && step.is_multiple_of(spec.train.log_every))
        {
            log.metric(step, "theta", value);
        }
    }
    record.steps_done = total;
    log.flush(dir)?;
    bar.finish_and_clear();
    Ok(Outcome::Completed)
}
