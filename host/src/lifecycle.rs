//! How runs are asked to run and how they end: options, outcomes and the exit codes the
//! binary maps them to. Shared by the training loop, online runs and the sweep executors.

use crate::store::Status;

/// Exit code of a run that diverged.
pub const EXIT_DIVERGED: u8 = 3;
/// Exit code of a run stopped by Ctrl-C or SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

/// How a call to `engine::run` or `engine::resume` ended.
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
