//! The `[train]` table: steps, batches, evaluation, checkpoints and the learning-rate schedule.

use assay_sdk::Param;

use crate::reference::Condition;

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

/// The `[train]` table.
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
