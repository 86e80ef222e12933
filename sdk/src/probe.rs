//! The [`Probe`] kind.

use candle_core::Device;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::metrics::{Metric, Table};
use crate::model::Model;

/// What a probe sees when the host runs it.
pub struct ProbeContext<'a> {
    /// The training step just completed (0 before the first step).
    pub step: u64,
    /// Whether this is the last call of the run.
    pub is_final: bool,
    /// The model being trained. Read activations by passing [`crate::Hooks`] to `forward`.
    pub model: &'a dyn Model,
    /// The run's dataset.
    pub dataset: &'a dyn Dataset,
    /// The run's device.
    pub device: &'a Device,
}

/// What a probe hands back: scalar metrics and small tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Scalars, logged at the current step.
    pub metrics: Vec<Metric>,
    /// Tables, stored under `tables/` with `run_id` and `step` columns added.
    pub tables: Vec<Table>,
}

impl Observation {
    /// Adds a metric.
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.push(Metric::new(name, value));
        self
    }

    /// Adds a table.
    pub fn table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }
}

/// Measures a model during or after training. The spec schedules it (`every = 100` or
/// `at = "end"`); the host calls [`Probe::observe`] accordingly.
///
/// # Example: the L2 norm of every parameter
///
/// (From `sdk/examples/probe.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/probe.rs"), "```")]
pub trait Probe: Send {
    /// Measures the model at the current step.
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation>;
}
