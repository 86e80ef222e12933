//! Experiment specs: parse, override, fill defaults, check against the catalog, canonicalise and
//! hash into a run id.
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assay_sdk::{Kind, Param, Params, Value};
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::reference::{Checkpoint, RunRef};

/// A spec that cannot be used; every message names the file and, where there is one, the key.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file cannot be read.
    #[error("cannot read spec {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a source: it would be printed twice in a cause chain).
        cause: std::io::Error,
    },
    /// TOML syntax.
    #[error("{file}:{message}")]
    Syntax {
        /// The file.
        file: String,
        /// `line:column: message`.
        message: String,
    },
    /// A value that does not fit.
    #[error("{file}: {key}: {message}")]
    Key {
        /// The file.
        file: String,
        /// Dotted key path, e.g. `optimizer.lr`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An unknown plugin.
    #[error("{file}: {key}: {error}")]
    Plugin {
        /// The file.
        file: String,
        /// The table, e.g. `optimizer.plugin`.
        key: String,
        /// The catalog's answer, with close names.
        error: Box<crate::catalog::CatalogError>,
    },
    /// A malformed `--set`.
    #[error("--set {0}: expected KEY.PATH=VALUE")]
    Override(String),
}

/// `line:column: message` for a TOML error.
pub fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("{line}:{column}: {}", e.message().trim())
        }
        None => format!(" {}", e.message().trim()),
    }
}

/// When a probe runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeSchedule {
    /// Every `n` steps, at step 0, and at the end.
    Every(u64),
    /// Only after the last step.
    End,
}

/// A component chosen by a spec, with its resolved parameters.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    /// The component's name.
    pub plugin: String,
    /// Its version in the catalog.
    pub version: String,
    /// Every declared parameter, defaults filled in.
    pub params: Params,
}

/// A probe and its schedule.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    /// The probe.
    pub component: ComponentSpec,
    /// When it runs.
    pub schedule: ProbeSchedule,
}

/// The learning-rate schedule, as a factor on the optimizer's `lr`.
#[derive(Debug, Clone, Copy, PartialEq, assay_sdk::Choice)]
pub enum LrSchedule {
    /// 1.0 throughout (after warm-up).
    Constant,
    /// Linear from 0 to 1 over `warmup_steps`, then 1.
    LinearWarmup,
    /// Warm-up, then cosine decay to `min_lr_factor` at the last step.
    Cosine,
}

/// The `[train]` table.
#[derive(Debug, Clone)]
pub struct Train {
    /// Optimizer steps.
    pub steps: u64,
    /// Examples per step; 0 means the whole train split.
    pub batch_size: usize,
    /// Evaluate every this many steps (and at the end); 0 = only at the end.
    pub eval_every: u64,
    /// Checkpoint every this many steps (and at the end); 0 = only at the end.
    pub checkpoint_every: u64,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Warm-up steps.
    pub warmup_steps: u64,
    /// Final factor of the cosine schedule.
    pub min_lr_factor: f64,
    /// Log `train/batch_loss` every this many steps; 0 = never.
    pub log_every: u64,
    /// Stop after the first evaluation where this holds.
    pub stop_when: Option<crate::reference::Condition>,
    /// Evaluate on at most this many examples per split (0 = all).
    pub eval_max_examples: usize,
}

impl Train {
    /// The factor on the base learning rate for the update made at `step` (1-based).
    pub fn lr_factor(&self, step: u64) -> f64 {
        let warm = if self.warmup_steps > 0 && step <= self.warmup_steps {
            step as f64 / self.warmup_steps as f64
        } else {
            1.0
        };
        match self.lr_schedule {
            LrSchedule::Constant | LrSchedule::LinearWarmup => warm,
            LrSchedule::Cosine => {
                if step <= self.warmup_steps {
                    return warm;
                }
                let span = (self.steps - self.warmup_steps).max(1) as f64;
                let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                self.min_lr_factor + (1.0 - self.min_lr_factor) * cos
            }
        }
    }
}

/// `[init]`: the run starts from another run's weights instead of a fresh initialisation.
#[derive(Debug, Clone)]
pub struct InitSpec {
    /// Whose weights, at which checkpoint.
    pub source: RunRef,
}

/// What a `[prune]` mask is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneApply {
    /// Zero the pruned weights and keep them zero while training.
    Mask,
    /// Train densely, with the weight matrices scaled so that their L1 norm equals the masked
    /// one (the norm-matched dense control).
    NormL1,
    /// The same with the L2 norm.
    NormL2,
}

impl PruneApply {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PruneApply::Mask => "mask",
            PruneApply::NormL1 => "norm_l1",
            PruneApply::NormL2 => "norm_l2",
        }
    }
}

/// `[prune]`: a pruner, the fraction of weight-matrix entries kept, whose weights are scored,
/// and what the mask is used for.
#[derive(Debug, Clone)]
pub struct PruneSpec {
    /// The pruner component.
    pub pruner: ComponentSpec,
    /// Fraction `s` of the entries of the weight matrices that is kept.
    pub keep: f64,
    /// Score another run's weights (a ticket); `None` scores the weights this run starts with
    /// (pruning at initialisation).
    pub source: Option<RunRef>,
    /// Hold the mask, or use it for norm matching.
    pub apply: PruneApply,
}

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
    /// The optimizer.
    pub optimizer: ComponentSpec,
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
    /// The specs of runs that `init` and `prune` name by spec file: computed first when they are
    /// not finished in the store. Not part of the run id (their run ids are).
    pub dependencies: Vec<Spec>,
    /// The resolved spec as TOML, in canonical (sorted) order: what `spec.toml` holds.
    pub resolved: toml::Table,
    /// The run id, computed once from the canonical text when the spec is resolved.
    id: String,
}

mod identity;
mod overrides;
pub use overrides::{apply_overrides, attribute_overrides, parse_raw, read_raw};

fn train_params() -> Vec<Param> {
    vec![
        Param::int("steps", 1000, "optimizer steps").min(0.0),
        Param::int("batch_size", 0, "examples per step; 0 = full batch").min(0.0),
        Param::int(
            "eval_every",
            100,
            "evaluate every N steps; 0 = only at the end",
        )
        .min(0.0),
        Param::int(
            "eval_max_examples",
            0,
            "evaluate on at most the first N examples of each split; 0 = all",
        )
        .min(0.0),
        Param::int(
            "checkpoint_every",
            0,
            "checkpoint every N steps; 0 = only at the end",
        )
        .min(0.0),
        assay_sdk::params::declare::<LrSchedule>(
            "lr_schedule",
            Some("constant".into()),
            "learning-rate schedule",
        ),
        Param::int("warmup_steps", 0, "linear warm-up steps").min(0.0),
        Param::float("min_lr_factor", 0.0, "final factor of the cosine schedule").range(0.0, 1.0),
        Param::str(
            "stop_when",
            "",
            "stop after the first evaluation where METRIC>=VALUE (or <=) holds, e.g. \"test/acc>=0.99\"; empty = never",
        ),
        Param::int(
            "log_every",
            1,
            "log the batch loss every N steps; 0 = never (the loss is still checked for NaN)",
        )
        .min(0.0),
    ]
}

fn to_value(v: &toml::Value) -> Option<Value> {
    Some(match v {
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(x) => Value::Float(*x),
        toml::Value::String(s) => Value::Str(s.clone()),
        toml::Value::Array(items) => {
            Value::List(items.iter().map(to_value).collect::<Option<_>>()?)
        }
        toml::Value::Datetime(_) | toml::Value::Table(_) => return None,
    })
}

fn to_toml(v: &Value) -> toml::Value {
    match v {
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Int(i) => toml::Value::Integer(*i),
        Value::Float(x) => toml::Value::Float(*x),
        Value::Str(s) => toml::Value::String(s.clone()),
        Value::List(items) => toml::Value::Array(items.iter().map(to_toml).collect()),
    }
}

struct Resolver<'a> {
    file: &'a str,
}

impl Resolver<'_> {
    fn key_error(&self, key: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError::Key {
            file: self.file.to_string(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Checks `given` (a table without `plugin`) against `decl`, returning canonical params.
    fn params(
        &self,
        table: &str,
        owner: &str,
        decl: &[Param],
        given: &toml::Table,
        skip: &[&str],
    ) -> Result<(Params, toml::Table), SpecError> {
        let mut out = Params::default();
        let mut canon = toml::Table::new();
        for key in given.keys() {
            if skip.contains(&key.as_str()) {
                continue;
            }
            if !decl.iter().any(|p| &p.name == key) {
                let known: Vec<_> = decl.iter().map(|p| p.name.as_str()).collect();
                return Err(self.key_error(
                    format!("{table}.{key}"),
                    format!(
                        "unknown parameter of {owner}; it accepts: {}",
                        if known.is_empty() {
                            "nothing".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        for p in decl {
            let value = match given.get(&p.name) {
                Some(v) => {
                    let v = to_value(v).ok_or_else(|| {
                        self.key_error(
                            format!("{table}.{}", p.name),
                            format!("expected {}, found a table or date", p.ty),
                        )
                    })?;
                    p.check(&v)
                        .map_err(|m| self.key_error(format!("{table}.{}", p.name), m))?
                }
                None => p.default.clone().ok_or_else(|| {
                    self.key_error(
                        format!("{table}.{}", p.name),
                        format!("required by {owner} ({}: {})", p.ty, p.doc),
                    )
                })?,
            };
            canon.insert(p.name.clone(), to_toml(&value));
            out.insert(p.name.clone(), value);
        }
        Ok((out, canon))
    }

    fn component(
        &self,
        catalog: &Catalog,
        kind: Kind,
        table: &str,
        raw: Option<&toml::Value>,
        skip: &[&str],
    ) -> Result<(ComponentSpec, toml::Table), SpecError> {
        let t = match raw {
            Some(toml::Value::Table(t)) => t,
            Some(_) => return Err(self.key_error(table, "must be a table")),
            None => {
                return Err(self.key_error(
                    table,
                    format!("missing [{table}] table with `plugin = \"NAME\"`"),
                ))
            }
        };
        let plugin = match t.get("plugin") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(self.key_error(
                    format!("{table}.plugin"),
                    format!("expected a string, found `{other}`"),
                ))
            }
            None => {
                return Err(self.key_error(
                    format!("{table}.plugin"),
                    format!("missing: name the {kind} to use"),
                ))
            }
        };
        // `plugin = "hf:ORG/NAME[@REV]"` is the `hf` model with `repo` and `revision`.
        let mut t = t.clone();
        let mut plugin = plugin;
        if kind == Kind::Model {
            if let Some(rest) = plugin.strip_prefix("hf:") {
                let (repo, rev) = rest.split_once('@').unwrap_or((rest, "main"));
                t.insert("repo".into(), toml::Value::String(repo.to_string()));
                t.entry("revision")
                    .or_insert_with(|| toml::Value::String(rev.to_string()));
                plugin = "hf".to_string();
            }
        }
        let t = &t;
        let entry = catalog
            .get(kind, &plugin)
            .map_err(|error| SpecError::Plugin {
                file: self.file.to_string(),
                key: format!("{table}.plugin"),
                error: Box::new(error),
            })?;
        let mut skip_all = vec!["plugin"];
        skip_all.extend_from_slice(skip);
        let owner = format!("{kind} `{plugin}`");
        let (params, mut canon) =
            self.params(table, &owner, &entry.component.params, t, &skip_all)?;
        canon.insert("plugin".into(), toml::Value::String(plugin.clone()));
        Ok((
            ComponentSpec {
                plugin,
                version: entry.component.version.clone(),
                params,
            },
            canon,
        ))
    }
}

/// `[optimizer] no_decay`: a list of parameter roles.
fn no_decay_roles(
    r: &Resolver<'_>,
    table: Option<&toml::Value>,
) -> Result<Vec<assay_sdk::Role>, SpecError> {
    use assay_sdk::Choice as _;
    let Some(value) = table.and_then(|t| t.get("no_decay")) else {
        return Ok(Vec::new());
    };
    let toml::Value::Array(items) = value else {
        return Err(r.key_error(
            "optimizer.no_decay",
            format!(
                "expected a list of roles ({}), found `{value}`",
                assay_sdk::Role::CHOICES.join(", ")
            ),
        ));
    };
    let names: Vec<String> = assay_sdk::Role::CHOICES
        .iter()
        .map(|c| c.to_string())
        .collect();
    items
        .iter()
        .map(|item| match item {
            toml::Value::String(s) => assay_sdk::Role::from_choice(s).ok_or_else(|| {
                r.key_error(
                    "optimizer.no_decay",
                    assay_sdk::params::not_a_choice(s, &names),
                )
            }),
            other => Err(r.key_error(
                "optimizer.no_decay",
                format!("expected a role name, found `{other}`"),
            )),
        })
        .collect()
}

fn int_of(params: &Params, key: &str) -> u64 {
    params.i64(key).map(|v| v.max(0) as u64).unwrap_or(0)
}

/// How deep `from = "FILE"` references may nest (a cycle stops here).
const MAX_REFERENCE_DEPTH: usize = 8;

/// Checks a raw spec against the catalog and fills every default.
pub fn resolve(raw: &toml::Table, file: &str, catalog: &Catalog) -> Result<Spec, SpecError> {
    resolve_at(raw, file, catalog, 0)
}

impl Resolver<'_> {
    /// `from` (and `set`) of `[init]` or `[prune]`: a run id, or a spec file resolved with
    /// `seed` and the overrides, which becomes a dependency.
    fn source(
        &self,
        table: &str,
        t: &toml::Table,
        seed: u64,
        catalog: &Catalog,
        depth: usize,
    ) -> Result<(String, Option<Spec>), SpecError> {
        let from = match t.get("from") {
            Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                return Err(self.key_error(
                    format!("{table}.from"),
                    format!("expected \"run:ID\" or a spec file name, found `{other}`"),
                ))
            }
            None => {
                return Err(self.key_error(
                    format!("{table}.from"),
                    "missing: name the run, as \"run:ID\" or by its spec file",
                ))
            }
        };
        let set = match t.get("set") {
            None => toml::Table::new(),
            Some(toml::Value::Table(s)) => s.clone(),
            Some(_) => {
                return Err(self.key_error(
                    format!("{table}.set"),
                    "expected a table of overrides, e.g. { \"train.steps\" = 2000 }",
                ))
            }
        };
        if let Some(id) = from.strip_prefix("run:") {
            if !set.is_empty() {
                return Err(self.key_error(
                    format!("{table}.set"),
                    "overrides apply to a spec file, not to a run id",
                ));
            }
            crate::store::Store::check_id(id)
                .map_err(|e| self.key_error(format!("{table}.from"), e.to_string()))?;
            return Ok((id.to_string(), None));
        }
        if depth >= MAX_REFERENCE_DEPTH {
            return Err(self.key_error(
                format!("{table}.from"),
                format!(
                    "runs refer to runs more than {MAX_REFERENCE_DEPTH} deep; is there a cycle?"
                ),
            ));
        }
        let base = Path::new(self.file).parent().unwrap_or(Path::new("."));
        let path = base.join(&from);
        let mut raw = read_raw(&path, &[])
            .map_err(|e| self.key_error(format!("{table}.from"), e.to_string()))?;
        if raw.contains_key("sweep") {
            return Err(self.key_error(
                format!("{table}.from"),
                format!("{} is a sweep; name a plain spec", path.display()),
            ));
        }
        raw.insert("seed".into(), toml::Value::Integer(seed as i64));
        let overrides: Vec<String> = set.iter().map(|(k, v)| format!("{k}={v}")).collect();
        apply_overrides(&mut raw, &overrides)
            .map_err(|e| self.key_error(format!("{table}.set"), e.to_string()))?;
        let dep = resolve_at(&raw, &path.display().to_string(), catalog, depth + 1)?;
        Ok((dep.run_id(), Some(dep)))
    }

    fn checkpoint(
        &self,
        table: &str,
        t: &toml::Table,
        default: Checkpoint,
    ) -> Result<Checkpoint, SpecError> {
        match t.get("checkpoint") {
            None => Ok(default),
            Some(v) => {
                Checkpoint::parse(v).map_err(|m| self.key_error(format!("{table}.checkpoint"), m))
            }
        }
    }
}

fn resolve_at(
    raw: &toml::Table,
    file: &str,
    catalog: &Catalog,
    depth: usize,
) -> Result<Spec, SpecError> {
    let r = Resolver { file };
    const TOP: [&str; 12] = [
        "name",
        "seed",
        "device",
        "dataset",
        "model",
        "environment",
        "problem",
        "optimizer",
        "probe",
        "train",
        "init",
        "prune",
    ];
    for key in raw.keys() {
        if key == "sweep" {
            return Err(r.key_error("sweep", "this spec is a sweep; run it with `assay sweep`"));
        }
        if !TOP.contains(&key.as_str()) {
            return Err(r.key_error(
                key.clone(),
                format!("unknown key; a spec has {}", TOP.join(", ")),
            ));
        }
    }
    let name = match raw.get("name") {
        Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => {
            return Err(r.key_error(
                "name",
                format!("expected a non-empty string, found `{other}`"),
            ))
        }
        None => Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("run")
            .to_string(),
    };
    let seed = match raw.get("seed") {
        Some(toml::Value::Integer(i)) if *i >= 0 => *i as u64,
        Some(other) => {
            return Err(r.key_error(
                "seed",
                format!("expected a non-negative integer, found `{other}`"),
            ))
        }
        None => 0,
    };
    let device = match raw.get("device") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(r.key_error(
                "device",
                format!("expected \"cpu\" or \"cuda:N\", found `{other}`"),
            ))
        }
        None => "cpu".to_string(),
    };
    crate::device::parse(&device).map_err(|m| r.key_error("device", m))?;

    if raw.contains_key("environment") {
        return Err(r.key_error(
            "environment",
            "runs of episodes in an environment are not supported yet; an online optimisation problem is a [problem] table",
        ));
    }
    let online = raw.contains_key("problem");
    let mut canon_parts: Vec<(&str, toml::Table)> = Vec::new();
    let (mut dataset, mut model, mut problem) = (None, None, None);
    let mut precision = assay_sdk::Precision::F32;
    if online {
        for key in ["dataset", "model", "probe"] {
            if raw.contains_key(key) {
                return Err(r.key_error(
                    key,
                    "an online problem ([problem]) has no dataset, model or probes",
                ));
            }
        }
        let (e, mut c) = r.component(
            catalog,
            Kind::Problem,
            "problem",
            raw.get("problem"),
            &["precision"],
        )?;
        if let Some(value) = raw.get("problem").and_then(|t| t.get("precision")) {
            use assay_sdk::Choice as _;
            let names: Vec<String> = assay_sdk::Precision::CHOICES
                .iter()
                .map(|c| c.to_string())
                .collect();
            precision = match value {
                toml::Value::String(s) => {
                    assay_sdk::Precision::from_choice(s).ok_or_else(|| {
                        r.key_error(
                            "problem.precision",
                            assay_sdk::params::not_a_choice(s, &names),
                        )
                    })?
                }
                other => {
                    return Err(r.key_error(
                        "problem.precision",
                        format!("expected \"f32\" or \"f64\", found `{other}`"),
                    ))
                }
            };
            // The default stays out of the canonical spec, so f32 runs keep their ids.
            if precision != assay_sdk::Precision::F32 {
                c.insert("precision".into(), toml::Value::String("f64".into()));
            }
        }
        problem = Some(e);
        canon_parts.push(("problem", c));
    } else {
        let (d, dc) = r.component(catalog, Kind::Dataset, "dataset", raw.get("dataset"), &[])?;
        let (m, mc) = r.component(catalog, Kind::Model, "model", raw.get("model"), &[])?;
        dataset = Some(d);
        model = Some(m);
        canon_parts.push(("dataset", dc));
        canon_parts.push(("model", mc));
    }
    let (optimizer, mut optimizer_canon) = r.component(
        catalog,
        Kind::Optimizer,
        "optimizer",
        raw.get("optimizer"),
        &["no_decay"],
    )?;
    let no_decay = no_decay_roles(&r, raw.get("optimizer"))?;
    if !no_decay.is_empty() {
        optimizer_canon.insert(
            "no_decay".into(),
            toml::Value::Array(
                no_decay
                    .iter()
                    .map(|role| toml::Value::String(assay_sdk::Choice::as_choice(role).to_string()))
                    .collect(),
            ),
        );
    }

    let mut probes = Vec::new();
    let mut probes_canon = Vec::new();
    let probe_items: Vec<toml::Value> = match raw.get("probe") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items.clone(),
        Some(_) => return Err(r.key_error("probe", "write probes as [[probe]] tables")),
    };
    for (i, item) in probe_items.iter().enumerate() {
        let table = format!("probe.{i}");
        let (component, mut canon) =
            r.component(catalog, Kind::Probe, &table, Some(item), &["every", "at"])?;
        let t = item.as_table().cloned().unwrap_or_default();
        let schedule = match (t.get("every"), t.get("at")) {
            (Some(toml::Value::Integer(n)), None) if *n > 0 => ProbeSchedule::Every(*n as u64),
            (None, Some(toml::Value::String(s))) if s == "end" => ProbeSchedule::End,
            (None, None) => ProbeSchedule::End,
            (Some(_), Some(_)) => {
                return Err(r.key_error(table, "give either `every` or `at`, not both"))
            }
            (Some(v), None) => {
                return Err(r.key_error(
                    format!("{table}.every"),
                    format!("expected a positive integer, found `{v}`"),
                ))
            }
            (None, Some(v)) => {
                return Err(r.key_error(
                    format!("{table}.at"),
                    format!("expected \"end\", found `{v}`"),
                ))
            }
        };
        match &schedule {
            ProbeSchedule::Every(n) => {
                canon.insert("every".into(), toml::Value::Integer(*n as i64))
            }
            ProbeSchedule::End => canon.insert("at".into(), toml::Value::String("end".into())),
        };
        probes.push(ProbeSpec {
            component,
            schedule,
        });
        probes_canon.push(toml::Value::Table(canon));
    }

    let empty = toml::Table::new();
    let train_raw = match raw.get("train") {
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(r.key_error("train", "must be a table")),
        None => &empty,
    };
    let (tp, train_canon) = r.params("train", "[train]", &train_params(), train_raw, &[])?;
    let train = Train {
        steps: int_of(&tp, "steps"),
        batch_size: int_of(&tp, "batch_size") as usize,
        eval_every: int_of(&tp, "eval_every"),
        checkpoint_every: int_of(&tp, "checkpoint_every"),
        lr_schedule: assay_sdk::params::read(&tp, "lr_schedule")
            .map_err(|e| r.key_error("train.lr_schedule", e.to_string()))?,
        warmup_steps: int_of(&tp, "warmup_steps"),
        min_lr_factor: tp.f64("min_lr_factor").unwrap_or(0.0),
        log_every: int_of(&tp, "log_every"),
        eval_max_examples: int_of(&tp, "eval_max_examples") as usize,
        stop_when: match tp.str("stop_when").unwrap_or("") {
            "" => None,
            c => {
                let cond = crate::reference::Condition::parse(c)
                    .map_err(|m| r.key_error("train.stop_when", m))?;
                const EVALUATED: [&str; 4] = ["train/loss", "train/acc", "test/loss", "test/acc"];
                if !EVALUATED.contains(&cond.metric.as_str()) {
                    return Err(r.key_error(
                        "train.stop_when",
                        format!(
                            "`{}` is not evaluated by the run loop; use one of {}",
                            cond.metric,
                            EVALUATED.join(", ")
                        ),
                    ));
                }
                Some(cond)
            }
        },
    };
    if train.warmup_steps > train.steps {
        return Err(r.key_error(
            "train.warmup_steps",
            format!(
                "{} is more than train.steps = {}",
                train.warmup_steps, train.steps
            ),
        ));
    }

    // [init] and [prune]; an empty table (handy in sweeps) means none.
    let section = |key: &str| -> Result<Option<&toml::Table>, SpecError> {
        match raw.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(t)) if t.is_empty() => Ok(None),
            Some(toml::Value::Table(t)) if online => Err(r.key_error(
                key,
                format!("an online problem has no model to {key}; remove [{key}]: {t:?}"),
            )),
            Some(toml::Value::Table(t)) => Ok(Some(t)),
            Some(_) => Err(r.key_error(key, "must be a table")),
        }
    };
    let mut dependencies = Vec::new();
    let mut init = None;
    let mut init_canon = None;
    if let Some(t) = section("init")? {
        for key in t.keys() {
            if !["from", "set", "checkpoint"].contains(&key.as_str()) {
                return Err(r.key_error(
                    format!("init.{key}"),
                    "unknown key; [init] has from, set and checkpoint",
                ));
            }
        }
        let (id, dep) = r.source("init", t, seed, catalog, depth)?;
        let checkpoint = r.checkpoint("init", t, Checkpoint::Init)?;
        let mut canon = toml::Table::new();
        canon.insert("from".into(), toml::Value::String(format!("run:{id}")));
        canon.insert("checkpoint".into(), checkpoint.to_toml());
        init_canon = Some(canon);
        dependencies.extend(dep);
        init = Some(InitSpec {
            source: RunRef { id, checkpoint },
        });
    }
    let mut prune = None;
    let mut prune_canon = None;
    if let Some(t) = section("prune")? {
        const HOST_KEYS: [&str; 5] = ["keep", "from", "set", "checkpoint", "apply"];
        let (pruner, mut canon) = r.component(
            catalog,
            Kind::Pruner,
            "prune",
            Some(&toml::Value::Table(t.clone())),
            &HOST_KEYS,
        )?;
        let keep = match t.get("keep") {
            Some(v) => match v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
                Some(k) if k > 0.0 && k <= 1.0 => k,
                _ => {
                    return Err(r.key_error(
                        "prune.keep",
                        format!("expected the kept fraction in (0, 1], found `{v}`"),
                    ))
                }
            },
            None => {
                return Err(r.key_error(
                    "prune.keep",
                    "missing: the fraction of weight-matrix entries to keep, e.g. 0.4",
                ))
            }
        };
        let apply = match t.get("apply").map(|v| v.as_str()) {
            None | Some(Some("mask")) => PruneApply::Mask,
            Some(Some("norm_l1")) => PruneApply::NormL1,
            Some(Some("norm_l2")) => PruneApply::NormL2,
            Some(_) => {
                return Err(r.key_error(
                    "prune.apply",
                    "expected \"mask\", \"norm_l1\" or \"norm_l2\"",
                ))
            }
        };
        canon.insert("keep".into(), toml::Value::Float(keep));
        canon.insert("apply".into(), toml::Value::String(apply.as_str().into()));
        let source = if t.contains_key("from") {
            let (id, dep) = r.source("prune", t, seed, catalog, depth)?;
            let checkpoint = r.checkpoint("prune", t, Checkpoint::Final)?;
            canon.insert("from".into(), toml::Value::String(format!("run:{id}")));
            canon.insert("checkpoint".into(), checkpoint.to_toml());
            dependencies.extend(dep);
            Some(RunRef { id, checkpoint })
        } else {
            for key in ["set", "checkpoint"] {
                if t.contains_key(key) {
                    return Err(r.key_error(
                        format!("prune.{key}"),
                        "only with `from` (the run whose weights are scored)",
                    ));
                }
            }
            None
        };
        prune_canon = Some(canon);
        prune = Some(PruneSpec {
            pruner,
            keep,
            source,
            apply,
        });
    }

    let mut resolved = toml::Table::new();
    if let Some(c) = init_canon {
        resolved.insert("init".into(), toml::Value::Table(c));
    }
    if let Some(c) = prune_canon {
        resolved.insert("prune".into(), toml::Value::Table(c));
    }
    resolved.insert("name".into(), toml::Value::String(name.clone()));
    resolved.insert("seed".into(), toml::Value::Integer(seed as i64));
    resolved.insert("device".into(), toml::Value::String(device.clone()));
    for (key, table) in canon_parts {
        resolved.insert(key.into(), toml::Value::Table(table));
    }
    resolved.insert("optimizer".into(), toml::Value::Table(optimizer_canon));
    if !probes_canon.is_empty() {
        resolved.insert("probe".into(), toml::Value::Array(probes_canon));
    }
    resolved.insert("train".into(), toml::Value::Table(train_canon));

    let optimizer_entry = catalog
        .get(Kind::Optimizer, &optimizer.plugin)
        .map_err(|error| SpecError::Plugin {
            file: file.to_string(),
            key: "optimizer.plugin".into(),
            error: Box::new(error),
        })?;
    // The schedule scales the optimizer's `lr`: an optimizer without one would ignore it.
    if train.lr_schedule != LrSchedule::Constant
        && !optimizer_entry
            .component
            .params
            .iter()
            .any(|p| p.name == "lr")
    {
        return Err(r.key_error(
            "train.lr_schedule",
            format!(
                "optimizer `{}` declares no `lr` parameter, so a learning-rate schedule would not change anything; remove the schedule or use an optimizer with `lr`",
                optimizer.plugin
            ),
        ));
    }
    if let Some(p) = &problem {
        if optimizer_entry.component.host_optimizer.is_none() {
            let offering: Vec<String> = catalog
                .entries()
                .iter()
                .filter(|e| e.component.host_optimizer.is_some())
                .map(|e| e.component.name.clone())
                .collect();
            return Err(r.key_error(
                "optimizer.plugin",
                format!(
                    "optimizer `{}` offers no host-memory rule (`Component::host_optimizer`), which the online problem `{}` needs; optimizers that do: {}",
                    optimizer.plugin,
                    p.plugin,
                    offering.join(", ")
                ),
            ));
        }
    }
    let mut spec = Spec {
        id: String::new(),
        name,
        seed,
        device,
        dataset,
        model,
        problem,
        precision,
        optimizer,
        no_decay,
        probes,
        train,
        init,
        prune,
        dependencies,
        resolved,
    };
    spec.id = spec.compute_run_id().map_err(|message| SpecError::Syntax {
        file: file.to_string(),
        message: format!("cannot canonicalise the resolved spec: {message}"),
    })?;
    Ok(spec)
}
