//! The run-directory format, in one place: every file and folder name a run directory holds,
//! and the key prefixes of its checkpoints. Other tools read these files; changing a name here
//! changes the format.
//!
//! ```text
//! STORE/<run-id>/run.json            status, times, host, user, components, error
//! STORE/<run-id>/spec.toml           the resolved spec
//! STORE/<run-id>/metrics.parquet     long format: step, name, value
//! STORE/<run-id>/tables/*.parquet    probe tables
//! STORE/<run-id>/checkpoints/        safetensors: model.<param>, optim.<state>
//! STORE/<run-id>/mask.safetensors    a pruned run's mask
//! STORE/<run-id>/data.json           shapes and objective the model was built for
//! STORE/<run-id>/tokenizer.json      the run's tokenizer (Hugging Face format), if it has one
//! STORE/<run-id>/heartbeat           seconds since the epoch, refreshed while running
//! STORE/<run-id>/lock                the owner of a running run
//! STORE/sweeps/<sweep-id>.json       a sweep's frozen manifest
//! STORE/sweeps/<sweep-id>/          its workers' logs/ and the Slurm batch script job.sh
//! STORE/index/                       a cache of finished runs' metrics (see crate::index)
//! ```

/// The run record.
pub const RUN_RECORD: &str = "run.json";
/// The resolved spec.
pub const SPEC: &str = "spec.toml";
/// The metrics, long format.
pub const METRICS: &str = "metrics.parquet";
/// The folder of probe tables.
pub const TABLES: &str = "tables";
/// The folder of checkpoints.
pub const CHECKPOINTS: &str = "checkpoints";
/// A pruned run's mask.
pub const MASK: &str = "mask.safetensors";
/// The shapes and objective the run's model was built for (so it can be rebuilt without its
/// dataset).
pub const DATA_INFO: &str = "data.json";
/// The run's tokenizer, in the Hugging Face format, when its dataset has one that can be
/// written so.
pub const TOKENIZER: &str = "tokenizer.json";
/// The run's log: one line per start, evaluation and end, appended as they happen (the one
/// file of a run that is appended to rather than replaced).
pub const LOG: &str = "log.txt";
/// The heartbeat of a running run.
pub const HEARTBEAT: &str = "heartbeat";
/// The lock file of a running run.
pub const LOCK: &str = "lock";
/// Checkpoint key prefix of the model's weights (and buffers).
pub const MODEL_KEY: &str = "model.";
/// Checkpoint key prefix of the optimizer's state.
pub const OPTIMIZER_KEY: &str = "optim.";
/// Checkpoint key of the step it was taken at (an `i64` tensor of one element).
pub const STEP_KEY: &str = "meta.step";
/// The store's folder of sweep manifests and their work directories.
pub const SWEEPS: &str = "sweeps";
/// The store's index of finished runs' metrics (a cache; see [`crate::index`]).
pub const INDEX: &str = "index";
/// The index's manifest, inside [`INDEX`].
pub const INDEX_MANIFEST: &str = "index.json";
