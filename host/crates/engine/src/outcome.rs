//! How runs are asked to run and how they end: options and outcomes.

use assay_store::Status;

/// How a call to [`run`](crate::run) or [`resume`](crate::resume) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every step done.
    Completed,
    /// An identical finished run was in the store; nothing was computed.
    Reused(Status),
    /// A loss became NaN or infinite.
    Diverged,
    /// Stopped by a signal after a checkpoint.
    Interrupted,
}

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// No progress bar.
    pub quiet: bool,
    /// Recompute even if an identical finished run is in the store.
    pub force: bool,
    /// Stop after this step as if interrupted (checkpoint, status `interrupted`), to continue
    /// later with `--resume`: for time-sliced machines.
    pub pause_at: Option<u64>,
}
