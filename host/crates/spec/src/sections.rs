//! The resolver, one function per spec section: the header (name, seed, device), what is
//! trained (dataset and model, or an online problem), the optimizer, probes, `[train]`,
//! `[init]` and `[prune]`; then the checks across sections and the canonical table.

use std::path::Path;

use assay_catalog::Catalog;
use assay_sdk::params::Choice as _;
use assay_sdk::{Kind, Precision, Role};

use crate::component::{ComponentSpec, ProbeSchedule, ProbeSpec};
use crate::reference::{Checkpoint, RunRef};
use crate::resolver::Resolver;
use crate::start::{InitSpec, PruneApply, PruneSpec};
use crate::train::{LrSchedule, Train};
use crate::{Spec, SpecError};

/// The top-level keys of a spec.
const TOP: [&str; 15] = [
    "name",
    "seed",
    "device",
    "dataset",
    "model",
    "environment",
    "agent",
    "episodes",
    "solver",
    "problem",
    "optimizer",
    "probe",
    "train",
    "init",
    "prune",
];

/// A section's resolved value and its canonical table.
type Resolved<T> = (T, toml::Table);

/// Resolves `raw` (from `file`), `depth` references deep.
pub(crate) fn resolve_at(
    raw: &toml::Table,
    file: &str,
    catalog: &Catalog,
    depth: usize,
) -> Result<Spec, SpecError> {
    let r = Resolver {
        file,
        catalog,
        depth,
        resolve_file: resolve_at,
    };
    let (name, seed, device) = header(&r, raw)?;
    if ["environment", "agent", "episodes", "solver"]
        .iter()
        .any(|k| raw.contains_key(*k))
    {
        return crate::play::resolve(&r, raw, (name, seed, device));
    }
    let subject = subject(&r, raw)?;
    let online = subject.problem.is_some();
    let ((optimizer, no_decay), optimizer_canon) = optimizer(&r, raw)?;
    let (probes, probes_canon) = probes(&r, raw)?;
    let (train, train_canon) = crate::train::resolve(&r, raw)?;
    check_optimizer_fits(&r, &optimizer, &train, subject.problem.as_ref())?;
    let mut dependencies = Vec::new();
    let init = match section(&r, raw, "init", online)? {
        Some(t) => Some(init(&r, t, seed, &mut dependencies)?),
        None => None,
    };
    let prune = match section(&r, raw, "prune", online)? {
        Some(t) => Some(prune(&r, t, seed, &mut dependencies)?),
        None => None,
    };

    let mut resolved = toml::Table::new();
    if let Some((_, c)) = &init {
        resolved.insert("init".into(), toml::Value::Table(c.clone()));
    }
    if let Some((_, c)) = &prune {
        resolved.insert("prune".into(), toml::Value::Table(c.clone()));
    }
    resolved.insert("name".into(), toml::Value::String(name.clone()));
    resolved.insert("seed".into(), toml::Value::Integer(seed as i64));
    resolved.insert("device".into(), toml::Value::String(device.clone()));
    for (key, table) in subject.canon {
        resolved.insert(key.into(), toml::Value::Table(table));
    }
    resolved.insert("optimizer".into(), toml::Value::Table(optimizer_canon));
    if !probes_canon.is_empty() {
        resolved.insert("probe".into(), toml::Value::Array(probes_canon));
    }
    resolved.insert("train".into(), toml::Value::Table(train_canon));

    Spec::identify(
        Spec {
            text: String::new(),
            id: String::new(),
            name,
            seed,
            device,
            dataset: subject.dataset,
            model: subject.model,
            problem: subject.problem,
            precision: subject.precision,
            optimizer: Some(optimizer),
            no_decay,
            probes,
            train,
            init: init.map(|(i, _)| i),
            prune: prune.map(|(p, _)| p),
            environment: None,
            agents: Vec::new(),
            episodes: None,
            solver: None,
            dependencies,
            resolved,
        },
        file,
    )
}

/// Unknown top-level keys, then `name`, `seed` and `device` (checked, not opened).
fn header(r: &Resolver<'_>, raw: &toml::Table) -> Result<(String, u64, String), SpecError> {
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
        None => Path::new(r.file)
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
    Ok((name, seed, device))
}

/// What a run trains: a dataset and a model, or an online problem.
struct Subject {
    dataset: Option<ComponentSpec>,
    model: Option<ComponentSpec>,
    problem: Option<ComponentSpec>,
    precision: Precision,
    canon: Vec<(&'static str, toml::Table)>,
}

/// `[dataset]` and `[model]`, or `[problem]` (with its `precision`).
fn subject(r: &Resolver<'_>, raw: &toml::Table) -> Result<Subject, SpecError> {
    if !raw.contains_key("problem") {
        let (d, dc) = r.component(Kind::Dataset, "dataset", raw.get("dataset"), &[])?;
        let (m, mc) = r.component(Kind::Model, "model", raw.get("model"), &[])?;
        return Ok(Subject {
            dataset: Some(d),
            model: Some(m),
            problem: None,
            precision: Precision::F32,
            canon: vec![("dataset", dc), ("model", mc)],
        });
    }
    for key in ["dataset", "model", "probe"] {
        if raw.contains_key(key) {
            return Err(r.key_error(
                key,
                "an online problem ([problem]) has no dataset, model or probes",
            ));
        }
    }
    let (problem, mut canon) =
        r.component(Kind::Problem, "problem", raw.get("problem"), &["precision"])?;
    let precision = match raw.get("problem").and_then(|t| t.get("precision")) {
        Some(value) => r.choice::<Precision>("problem.precision", value)?,
        None => Precision::F32,
    };
    // The default stays out of the canonical spec, so f32 runs keep their ids.
    if precision != Precision::F32 {
        canon.insert(
            "precision".into(),
            toml::Value::String(precision.as_choice().into()),
        );
    }
    Ok(Subject {
        dataset: None,
        model: None,
        problem: Some(problem),
        precision,
        canon: vec![("problem", canon)],
    })
}

/// `[optimizer]`, with `no_decay` (parameter roles exempt from weight decay).
fn optimizer(
    r: &Resolver<'_>,
    raw: &toml::Table,
) -> Result<Resolved<(ComponentSpec, Vec<Role>)>, SpecError> {
    let (optimizer, mut canon) = r.component(
        Kind::Optimizer,
        "optimizer",
        raw.get("optimizer"),
        &["no_decay"],
    )?;
    let no_decay = match raw.get("optimizer").and_then(|t| t.get("no_decay")) {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|item| r.choice::<Role>("optimizer.no_decay", item))
            .collect::<Result<Vec<_>, _>>()?,
        Some(value) => {
            return Err(r.key_error(
                "optimizer.no_decay",
                format!(
                    "expected a list of roles ({}), found `{value}`",
                    Role::CHOICES.join(", ")
                ),
            ))
        }
    };
    if !no_decay.is_empty() {
        canon.insert(
            "no_decay".into(),
            toml::Value::Array(
                no_decay
                    .iter()
                    .map(|role| toml::Value::String(role.as_choice().to_string()))
                    .collect(),
            ),
        );
    }
    Ok(((optimizer, no_decay), canon))
}

/// `[[probe]]` tables, each with `every = N` or `at = "end"`.
fn probes(
    r: &Resolver<'_>,
    raw: &toml::Table,
) -> Result<(Vec<ProbeSpec>, Vec<toml::Value>), SpecError> {
    let items: &[toml::Value] = match raw.get("probe") {
        None => &[],
        Some(toml::Value::Array(items)) => items,
        Some(_) => return Err(r.key_error("probe", "write probes as [[probe]] tables")),
    };
    let mut probes = Vec::new();
    let mut canons = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let table = format!("probe.{i}");
        let (component, mut canon) =
            r.component(Kind::Probe, &table, Some(item), &["every", "at"])?;
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
        canons.push(toml::Value::Table(canon));
    }
    Ok((probes, canons))
}

/// The optimizer against the rest: a schedule needs an `lr` to scale, and an online problem a
/// host-memory rule.
fn check_optimizer_fits(
    r: &Resolver<'_>,
    optimizer: &ComponentSpec,
    train: &Train,
    problem: Option<&ComponentSpec>,
) -> Result<(), SpecError> {
    let component = &optimizer.entry.component;
    if train.lr_schedule != LrSchedule::Constant && !component.params.iter().any(|p| p.name == "lr")
    {
        return Err(r.key_error(
            "train.lr_schedule",
            format!(
                "optimizer `{}` declares no `lr` parameter, so a learning-rate schedule would not change anything; remove the schedule or use an optimizer with `lr`",
                optimizer.plugin()
            ),
        ));
    }
    if let Some(p) = problem {
        if component.host_optimizer.is_none() {
            let offering: Vec<String> = r
                .catalog
                .entries()
                .iter()
                .filter(|e| e.component.host_optimizer.is_some())
                .map(|e| e.component.name.clone())
                .collect();
            return Err(r.key_error(
                "optimizer.plugin",
                format!(
                    "optimizer `{}` offers no host-memory rule (`Component::host_optimizer`), which the online problem `{}` needs; optimizers that do: {}",
                    optimizer.plugin(),
                    p.plugin(),
                    offering.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `[init]` or `[prune]` as a table; an empty table (handy in sweeps) means none.
fn section<'a>(
    r: &Resolver<'_>,
    raw: &'a toml::Table,
    key: &str,
    online: bool,
) -> Result<Option<&'a toml::Table>, SpecError> {
    match raw.get(key) {
        None => Ok(None),
        Some(toml::Value::Table(t)) if t.is_empty() => Ok(None),
        Some(toml::Value::Table(_)) if online => Err(r.key_error(
            key,
            format!("an online problem has no model to {key}; remove [{key}]"),
        )),
        Some(toml::Value::Table(t)) => Ok(Some(t)),
        Some(_) => Err(r.key_error(key, "must be a table")),
    }
}

/// `[init]`: `from` (a run id or a spec file, with `set`) and `checkpoint` (default `init`).
fn init(
    r: &Resolver<'_>,
    t: &toml::Table,
    seed: u64,
    dependencies: &mut Vec<Spec>,
) -> Result<Resolved<InitSpec>, SpecError> {
    for key in t.keys() {
        if !["from", "set", "checkpoint"].contains(&key.as_str()) {
            return Err(r.key_error(
                format!("init.{key}"),
                "unknown key; [init] has from, set and checkpoint",
            ));
        }
    }
    let (id, dep) = r.source("init", t, seed)?;
    let checkpoint = r.checkpoint("init", t, Checkpoint::Init)?;
    let mut canon = toml::Table::new();
    canon.insert("from".into(), toml::Value::String(format!("run:{id}")));
    canon.insert("checkpoint".into(), checkpoint.to_toml());
    dependencies.extend(dep);
    Ok((
        InitSpec {
            source: RunRef { id, checkpoint },
        },
        canon,
    ))
}

/// `[prune]`: the pruner and its parameters, `keep`, `apply`, and optionally `from`, `set` and
/// `checkpoint` (default `final`) naming the run whose weights are scored.
fn prune(
    r: &Resolver<'_>,
    t: &toml::Table,
    seed: u64,
    dependencies: &mut Vec<Spec>,
) -> Result<Resolved<PruneSpec>, SpecError> {
    const HOST_KEYS: [&str; 5] = ["keep", "from", "set", "checkpoint", "apply"];
    let (pruner, mut canon) = r.component(
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
    let apply = match t.get("apply") {
        None => PruneApply::Mask,
        Some(v) => r.choice::<PruneApply>("prune.apply", v)?,
    };
    canon.insert("keep".into(), toml::Value::Float(keep));
    canon.insert("apply".into(), toml::Value::String(apply.as_str().into()));
    let source = if t.contains_key("from") {
        let (id, dep) = r.source("prune", t, seed)?;
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
    Ok((
        PruneSpec {
            pruner,
            keep,
            source,
            apply,
        },
        canon,
    ))
}
