//! The `[train]` table: steps, batches, evaluation, checkpoints and the learning-rate schedule.

use assay_sdk::{Param, Params};

use crate::reference::Condition;
use crate::resolver::Resolver;
use crate::SpecError;

/// Metrics the run loop evaluates, which `train.stop_when` may name.
const EVALUATED: [&str; 4] = ["train/loss", "train/acc", "test/loss", "test/acc"];

/// The learning-rate schedule, as a factor on the optimizer's `lr`.
#[derive(Debug, Clone, Copy, PartialEq, assay_sdk::Choice)]
pub enum LrSchedule {
    /// 1.0 throughout (after warm-up).
    Constant,
    /// Linear from 0 to 1 over `warmup_steps`, then 1.
    LinearWarmup,
    /// Warm-up, then cosine decay to `min_lr_factor` at the last step.
    Cosine,
}

/// The `[train]` table (all zeros by default: episode runs have none).
#[derive(Debug, Clone)]
pub struct Train {
    /// Optimizer steps.
    pub steps: u64,
    /// Examples per step; 0 means the whole train split.
    pub batch_size: usize,
    /// Evaluate every this many steps (and at the end); 0 = only at the end.
    pub eval_every: u64,
    /// Checkpoint every this many steps (and at the end); 0 = only at the end.
    pub checkpoint_every: u64,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Warm-up steps.
    pub warmup_steps: u64,
    /// Final factor of the cosine schedule.
    pub min_lr_factor: f64,
    /// Log `train/batch_loss` every this many steps; 0 = never.
    pub log_every: u64,
    /// Stop after the first evaluation where this holds.
    pub stop_when: Option<Condition>,
    /// Evaluate on at most this many examples per split (0 = all).
    pub eval_max_examples: usize,
}

impl Default for Train {
    fn default() -> Self {
        Train {
            steps: 0,
            batch_size: 0,
            eval_every: 0,
            checkpoint_every: 0,
            lr_schedule: LrSchedule::Constant,
            warmup_steps: 0,
            min_lr_factor: 0.0,
            log_every: 0,
            stop_when: None,
            eval_max_examples: 0,
        }
    }
}

impl Train {
    /// The factor on the base learning rate for the update made at `step` (1-based).
    pub fn lr_factor(&self, step: u64) -> f64 {
        let warm = if self.warmup_steps > 0 && step <= self.warmup_steps {
            step as f64 / self.warmup_steps as f64
        } else {
            1.0
        };
        match self.lr_schedule {
            LrSchedule::Constant | LrSchedule::LinearWarmup => warm,
            LrSchedule::Cosine => {
                if step <= self.warmup_steps {
                    return warm;
                }
                let span = (self.steps - self.warmup_steps).max(1) as f64;
                let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                self.min_lr_factor + (1.0 - self.min_lr_factor) * cos
            }
        }
    }
}

/// The keys `[train]` accepts, with their defaults.
pub(crate) fn train_params() -> Vec<Param> {
    vec![
        Param::int("steps", 1000, "optimizer steps").min(0.0),
        Param::int("batch_size", 0, "examples per step; 0 = full batch").min(0.0),
        Param::int(
            "eval_every",
            100,
            "evaluate every N steps; 0 = only at the end",
        )
        .min(0.0),
        Param::int(
            "eval_max_examples",
            0,
            "evaluate on at most the first N examples of each split; 0 = all",
        )
        .min(0.0),
        Param::int(
            "checkpoint_every",
            0,
            "checkpoint every N steps; 0 = only at the end",
        )
        .min(0.0),
        assay_sdk::params::declare::<LrSchedule>(
            "lr_schedule",
            Some("constant".into()),
            "learning-rate schedule",
        ),
        Param::int("warmup_steps", 0, "linear warm-up steps").min(0.0),
        Param::float("min_lr_factor", 0.0, "final factor of the cosine schedule").range(0.0, 1.0),
        Param::str(
            "stop_when",
            "",
            "stop after the first evaluation where METRIC>=VALUE (or <=) holds, e.g. \"test/acc>=0.99\"; empty = never",
        ),
        Param::int(
            "log_every",
            1,
            "log the batch loss every N steps; 0 = never (the loss is still checked for NaN)",
        )
        .min(0.0),
    ]
}

fn int_of(params: &Params, key: &str) -> u64 {
    params.i64(key).map(|v| v.max(0) as u64).unwrap_or(0)
}

/// Resolves `[train]`: steps, batches, evaluation, checkpoints, schedule and early stopping.
pub(crate) fn resolve(
    r: &Resolver<'_>,
    raw: &toml::Table,
) -> Result<(Train, toml::Table), SpecError> {
    let empty = toml::Table::new();
    let given = match raw.get("train") {
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(r.key_error("train", "must be a table")),
        None => &empty,
    };
    let (tp, canon) = r.params("train", "[train]", &train_params(), given, &[])?;
    let stop_when = match tp.str("stop_when").unwrap_or("") {
        "" => None,
        c => {
            let cond = Condition::parse(c).map_err(|m| r.key_error("train.stop_when", m))?;
            if !EVALUATED.contains(&cond.metric.as_str()) {
                return Err(r.key_error(
                    "train.stop_when",
                    format!(
                        "`{}` is not evaluated by the run loop; use one of {}",
                        cond.metric,
                        EVALUATED.join(", ")
                    ),
                ));
            }
            Some(cond)
        }
    };
    let train = Train {
        steps: int_of(&tp, "steps"),
        batch_size: int_of(&tp, "batch_size") as usize,
        eval_every: int_of(&tp, "eval_every"),
        checkpoint_every: int_of(&tp, "checkpoint_every"),
        lr_schedule: assay_sdk::params::read(&tp, "lr_schedule")
            .map_err(|e| r.key_error("train.lr_schedule", e.to_string()))?,
        warmup_steps: int_of(&tp, "warmup_steps"),
        min_lr_factor: tp.f64("min_lr_factor").unwrap_or(0.0),
        log_every: int_of(&tp, "log_every"),
        eval_max_examples: int_of(&tp, "eval_max_examples") as usize,
        stop_when,
    };
    if train.warmup_steps > train.steps {
        return Err(r.key_error(
            "train.warmup_steps",
            format!(
                "{} is more than train.steps = {}",
                train.warmup_steps, train.steps
            ),
        ));
    }
    Ok((train, canon))
}
