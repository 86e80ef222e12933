//! The robot plugin's integration tests, one module per file, in one test binary: each test
//! binary of this crate links Polars (through the RLDS Parquet reader), so one binary instead of
//! three keeps the build's disk use and link time down. Run one file's tests with a filter on
//! its module, e.g. `cargo test -p assay-robot --test robot expert_success::`.

mod expert_success;
mod rlds_invariants;
mod study_pipeline;
