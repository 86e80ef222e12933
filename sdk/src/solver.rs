//! The [`Solver`] kind: offline computation that improves a result iteration by iteration, such
//! as counterfactual regret minimisation computing a game's strategy.
//!
//! A spec with `[solver]` (and `[train] steps` iterations) is a *solver run*: the host calls
//! [`Solver::iterate`] `steps` times, and [`Solver::evaluate`] every `eval_every` iterations
//! and at the end; the metrics it returns go to the run's metrics against the iteration, its
//! tables to the store. The final evaluation's tables are the run's result (a policy table, for
//! example), which an agent of another run can load by naming the run
//! (`[[agent]] from = "run:ID"`, see [`AgentContext::source`](crate::AgentContext::source)).
//! [`save_state`](Solver::save_state) and [`load_state`](Solver::load_state) make solver runs
//! resumable like training runs.

use crate::error::Result;
use crate::probe::Observation;

/// An iterative offline computation.
///
/// # Example: Newton's square root
///
/// (From `sdk/examples/solver.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/solver.rs"), "```")]
pub trait Solver: Send {
    /// One iteration.
    fn iterate(&mut self) -> Result<()>;

    /// Metrics and tables after `iteration` iterations; `is_final` on the run's last call,
    /// where the result tables belong.
    fn evaluate(&mut self, iteration: u64, is_final: bool) -> Result<Observation>;

    /// Everything needed to continue from here (for checkpoints).
    fn save_state(&self) -> Result<Vec<u8>>;

    /// Restores what [`save_state`](Solver::save_state) returned.
    fn load_state(&mut self, state: &[u8]) -> Result<()>;
}
