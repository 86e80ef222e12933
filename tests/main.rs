//! The end-to-end tests of the workspace, one module per file, in one test binary.
//!
//! One binary rather than one per file: each test binary links Polars, candle and the whole host,
//! and 29 of them (over 100 MB each, plus their incremental caches) filled a CI disk mid-link.
//! Run one file's tests with a filter on its module: `cargo test --test end_to_end study_robot::`.

mod common;

mod architecture;
mod boundary;
mod dashboard_browser;
mod episodes;
mod grokking_probes;
mod hf_checkpoints;
mod interp;
mod language_models;
mod online;
mod optimizer_reference;
mod plugins;
mod precision;
mod pruning;
mod runs;
mod sdk;
mod serve;
mod slurm;
mod specs;
mod sql_shapes;
mod store_damage;
mod study_adopt;
mod study_cross_embodiment;
mod study_language_neurons;
mod study_leduc;
mod study_multiplication;
mod study_robot;
mod study_scrambled;
mod study_unlearning;
mod sweeps;
