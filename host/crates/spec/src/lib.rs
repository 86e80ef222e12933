//! # assay-spec
//!
//! Owns experiment specs: parse, override, fill defaults, check against the catalog, canonicalise
//! and hash into a run id; the references from one run to another; sweep expansion; device names.
//! Nothing here reads or writes the store, and a spec check opens no device.
//!
//! - [`overrides`]: `--set`, sweep points and `[init].set`, applied as typed TOML values.
//! - [`resolve`] (in `resolver` and `sections`, one function per spec section) turns a raw
//!   table into a [`Spec`]; [`identity`] gives its canonical text and run id.
//! - [`reference`](mod@reference): `run:ID` or a spec file, and which checkpoint (`init`, `final`, a
//!   step, a condition on a metric).
//! - [`sweep`]: the points of a `[sweep]` table. [`device`]: `cpu` or `cuda:N`.
//!
//! ```toml
//! name = "smoke"
//! seed = 0
//! device = "cpu"            # or "cuda:0" in a build with the `cuda` feature
//!
//! [dataset]
//! plugin = "blobs"          # any dataset in `assay plugins list`, then its parameters
//!
//! [model]
//! plugin = "mlp"
//! hidden = [64]
//!
//! [optimizer]
//! plugin = "adam"
//! lr = 1e-2
//!
//! [[probe]]
//! plugin = "weight_norms"
//! every = 50                # or: at = "end"
//!
//! [train]
//! steps = 300
//! batch_size = 64           # 0 = full batch
//! eval_every = 50
//! checkpoint_every = 100    # 0 = only at the end
//! lr_schedule = "constant"  # "linear_warmup" or "cosine"
//! warmup_steps = 0
//! ```

pub mod component;
pub mod device;
mod error;
pub mod identity;
pub mod overrides;
pub mod play;
pub mod reference;
mod resolver;
mod sections;
pub mod start;
pub mod sweep;
pub mod train;

use assay_catalog::Catalog;

pub use assay_catalog::describe_toml_error;
pub use component::{ComponentSpec, ProbeSchedule, ProbeSpec};
pub use error::SpecError;
pub use overrides::{apply_overrides, attribute_overrides, parse_raw, read_raw, Override};
pub use play::{AgentSpec, Episodes};
pub use reference::{Checkpoint, Condition, RunRef};
pub use start::{InitSpec, PruneApply, PruneSpec};
pub use train::{LrSchedule, Train};

/// A resolved spec: every value known, checked, and hashed into the run id.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Experiment name.
    pub name: String,
    /// Seed of every generator in the run.
    pub seed: u64,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// The dataset (training runs).
    pub dataset: Option<ComponentSpec>,
    /// The model (training runs).
    pub model: Option<ComponentSpec>,
    /// The online problem (online runs, instead of dataset and model; see
    /// `assay_sdk::online`).
    pub problem: Option<ComponentSpec>,
    /// The precision of an online run's iterate (`[problem] precision`, `f32` by default).
    pub precision: assay_sdk::Precision,
    /// The optimizer (training and online runs; none in episode and solver runs).
    pub optimizer: Option<ComponentSpec>,
    /// Parameter roles exempt from weight decay (`[optimizer] no_decay`, e.g. `["bias",
    /// "norm"]` as nanoGPT does); empty by default, like PyTorch's optimizers.
    pub no_decay: Vec<assay_sdk::Role>,
    /// Probes in spec order.
    pub probes: Vec<ProbeSpec>,
    /// Training settings.
    pub train: Train,
    /// Start from another run's weights.
    pub init: Option<InitSpec>,
    /// Prune before training.
    pub prune: Option<PruneSpec>,
    /// The environment of an episode run (`[environment]`).
    pub environment: Option<ComponentSpec>,
    /// The agents of an episode run, one per seat (`[[agent]]`).
    pub agents: Vec<AgentSpec>,
    /// How an episode run plays (`[episodes]`).
    pub episodes: Option<Episodes>,
    /// The solver of a solver run (`[solver]`, run for `[train] steps` iterations).
    pub solver: Option<ComponentSpec>,
    /// The specs of runs that `init` and `prune` name by spec file: computed first when they are
    /// not finished in the store. Not part of the run id (their run ids are).
    pub dependencies: Vec<Spec>,
    /// The resolved spec as TOML, in canonical (sorted) order: what `spec.toml` holds.
    pub resolved: toml::Table,
    /// The resolved spec as TOML text, written when it is resolved.
    text: String,
    /// The run id, computed once from the canonical text when the spec is resolved.
    id: String,
}

/// Checks a raw spec against the catalog and fills every default. `file` names the spec in
/// messages, and spec files that `[init]` and `[prune]` name are found relative to it.
pub fn resolve(raw: &toml::Table, file: &str, catalog: &Catalog) -> Result<Spec, SpecError> {
    sections::resolve_at(raw, file, catalog, 0)
}
