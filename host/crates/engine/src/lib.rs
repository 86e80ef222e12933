//! # assay-engine
//!
//! Owns computing runs: from a resolved spec to a finished run directory in the store.
//!
//! - [`lifecycle`]: starting a run or reusing an identical finished one, resuming, computing the
//!   runs it starts from first; [`outcome`]: run options and how a run ended.
//! - `train` (the loop, with its observation step), [`parts`] (components built from the spec),
//!   `sampler`, `evaluation`, [`checkpoint`] (the checkpoint format), `heartbeat` (liveness and
//!   locks) and [`interrupt`] (Ctrl-C and SIGTERM).
//! - [`online`]: runs of an online problem in host memory.
//! - [`pruning`] and [`weights`]: rewinding to another run's weights, masks, norm matching.
//! - [`subject`]: a finished run or `hf:` checkpoint loaded with its tokenizer (`run_files`: the
//!   `data.json` and `tokenizer.json` a run saves for that); [`generate`]: prompting it; [`loss`](mod@loss): the losses of each objective.
//! - `pool`: the thread pool a run computes on ([`on_pool`]).

pub mod checkpoint;
mod episodes;
mod evaluation;
pub mod generate;
mod heartbeat;
pub mod interrupt;
pub mod lifecycle;
pub mod loss;
pub mod online;
pub mod outcome;
pub mod parts;
mod pool;
mod progress;
pub mod pruning;
mod run_files;
mod sampler;
mod solve;
mod state_checkpoint;
pub mod subject;
mod system;
mod train;
pub mod weights;

pub use checkpoint::all_weights;
pub use interrupt::install_interrupt_handler;
pub use lifecycle::{resume, run, run_or_resume};
pub use loss::{loss, loss_and_accuracy};
pub use outcome::{Outcome, RunOptions};
pub use parts::build_data_and_model;
pub use pool::on_pool;
