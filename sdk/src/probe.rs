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
/// ```
/// use assay_sdk::prelude::*;
///
/// struct WeightNorms;
///
/// impl Probe for WeightNorms {
///     fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
///         let mut obs = Observation::default();
///         for (name, var) in cx.model.parameters() {
///             let l2 = var.as_tensor().sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
///             obs = obs.metric(format!("weights/l2/{name}"), f64::from(l2));
///         }
///         Ok(obs)
///     }
/// }
///
/// fn register(r: &mut dyn Registrar) {
///     r.add(Component::probe("weight_norms", "0.1.0", |_p, _cx| Ok(Box::new(WeightNorms)))
///         .summary("L2 norm of each parameter"));
/// }
/// # let mut found = Vec::new();
/// # register(&mut found);
/// # assert_eq!(found[0].kind(), Kind::Probe);
/// ```
pub trait Probe: Send {
    /// Measures the model at the current step.
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation>;
}
