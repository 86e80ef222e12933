//! # assay
//!
//! The `assay` command: every clap struct, one module per subcommand, the executors that run a
//! sweep's entries, the plugin scaffold and the platform's benchmarks. The work itself is done by
//! the host's library crates, each owning one responsibility:
//!
//! - `assay-catalog`: the components the host can build (built-ins, `registry.toml`, loaded
//!   libraries, guards);
//! - `assay-spec`: specs, overrides, run identity, references between runs, sweep expansion;
//! - `assay-store`: the run-directory format, locks, records, tables, plots and reports;
//! - `assay-engine`: training runs, online runs, pruning, generation, run lifecycle.
//!
//! Here: [`cli`] (the command line and its dispatch), [`commands`] (one module per subcommand),
//! [`builtins`] (the plugin crates linked into the binary, and the catalog with the registry's
//! libraries), [`executors`] (local workers and Slurm job arrays), [`distribution`] and
//! [`scaffold`] (the SDK this host runs on, and plugin crates built against it anywhere),
//! [`bench`](mod@bench) and [`process`] (signals, allocator, exit codes).

pub mod bench;
pub mod builtins;
pub mod cli;
pub mod commands;
pub mod distribution;
pub mod executors;
pub mod process;
pub mod scaffold;

pub use builtins::link_builtins;
