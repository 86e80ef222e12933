//! Tables across the store: `runs` (one row per run, the resolved spec flattened into columns),
//! `metrics` (run_id, step, name, value), `final_metrics` (the last value of each metric of each
//! run) and every probe table by its name, queried with Polars SQL (written out by
//! [`crate::export`]).

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use polars::sql::SQLContext;

use assay_spec::Spec;

use crate::index::RunMetrics;
use crate::store::{ComponentRecord, Status, Store};

fn string_of(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `runs` table: id, name, status, times, progress, host, user, git commit, then every
/// resolved spec value as a column named by its path. Unreadable runs are skipped with a warning.
pub fn runs_frame(store: &Store) -> anyhow::Result<DataFrame> {
    Ok(runs_with_status(store)?.0)
}

/// The `runs` table, and each run's id and effective status.
fn runs_with_status(store: &Store) -> anyhow::Result<(DataFrame, Vec<(String, Status)>)> {
    let mut listed = Vec::new();
    let mut ids = Vec::new();
    let mut names = Vec::new();
    let mut statuses = Vec::new();
    let mut started = Vec::new();
    let mut ended = Vec::new();
    let mut durations = Vec::new();
    let mut steps = Vec::new();
    let mut hosts = Vec::new();
    let mut users = Vec::new();
    let mut commits = Vec::new();
    let mut specs: Vec<BTreeMap<String, toml::Value>> = Vec::new();
    for item in store.list()? {
        let (rec, status) = match item {
            Ok(x) => x,
            Err(e) => {
                eprintln!("warning: skipping run: {e}");
                continue;
            }
        };
        let spec_path = store.run_dir(&rec.id)?.join(crate::layout::SPEC);
        let mut flat = std::fs::read_to_string(&spec_path)
            .ok()
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .map(|t| Spec::flatten(&t))
            .unwrap_or_default();
        flat.extend(component_versions(&rec.components));
        listed.push((rec.id.clone(), status));
        ids.push(rec.id.clone());
        names.push(rec.name.clone());
        statuses.push(status.as_str().to_string());
        started.push(rec.started_at.clone());
        ended.push(rec.ended_at.clone());
        durations.push(rec.duration_s);
        steps.push(rec.steps_done);
        hosts.push(rec.host.clone());
        users.push(rec.user.clone());
        commits.push(rec.git_commit.clone());
        specs.push(flat);
    }
    let mut cols = vec![
        Column::new("id".into(), ids),
        Column::new("run_name".into(), names),
        Column::new("status".into(), statuses),
        Column::new("started_at".into(), started),
        Column::new("ended_at".into(), ended),
        Column::new("duration_s".into(), durations),
        Column::new("steps_done".into(), steps),
        Column::new("host".into(), hosts),
        Column::new("user".into(), users),
        Column::new("git_commit".into(), commits),
    ];
    let keys: BTreeSet<&String> = specs.iter().flat_map(|m| m.keys()).collect();
    for key in keys {
        let values: Vec<Option<&toml::Value>> = specs.iter().map(|m| m.get(key)).collect();
        let present = values.iter().flatten();
        let all = |f: fn(&toml::Value) -> bool| present.clone().all(|v| f(v));
        let col = if all(|v| v.is_integer()) {
            Column::new(
                key.into(),
                values
                    .iter()
                    .map(|v| v.and_then(|v| v.as_integer()))
                    .collect::<Vec<_>>(),
            )
        } else if all(|v| v.is_integer() || v.is_float()) {
            Column::new(
                key.into(),
                values
                    .iter()
                    .map(|v| {
                        v.and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                    })
                    .collect::<Vec<_>>(),
            )
        } else if all(|v| v.is_bool()) {
            Column::new(
                key.into(),
                values
                    .iter()
                    .map(|v| v.and_then(|v| v.as_bool()))
                    .collect::<Vec<_>>(),
            )
        } else {
            Column::new(
                key.into(),
                values.iter().map(|v| v.map(string_of)).collect::<Vec<_>>(),
            )
        };
        cols.push(col);
    }
    Ok((DataFrame::new_infer_height(cols)?, listed))
}

/// `TABLE.version` for every component of a run (`optimizer.version`, `probe.0.version`,
/// `prune.version`), from its record: which version of each plugin computed it.
fn component_versions(components: &[ComponentRecord]) -> Vec<(String, toml::Value)> {
    let mut probes = 0;
    components
        .iter()
        .map(|c| {
            let table = match c.kind.as_str() {
                "probe" => {
                    probes += 1;
                    format!("probe.{}", probes - 1)
                }
                "pruner" => "prune".to_string(),
                other => other.to_string(),
            };
            (
                format!("{table}.version"),
                toml::Value::String(c.version.clone()),
            )
        })
        .collect()
}

/// A SQL context with `runs`, `metrics` and every probe table registered.
pub fn context(store: &Store) -> anyhow::Result<SQLContext> {
    let (runs, listed) = runs_with_status(store)?;
    let ctx = SQLContext::new();
    ctx.register("runs", runs.lazy());
    let mut with_metrics: Vec<RunMetrics> = Vec::new();
    for (id, status) in &listed {
        let path = store.run_dir(id)?.join(crate::layout::METRICS);
        if let Some(why) = crate::damage::parquet_damage(&path) {
            eprintln!(
                "warning: run {id}: {} is damaged ({why}); its metrics are left out",
                path.display()
            );
            continue;
        }
        with_metrics.push(RunMetrics {
            id: id.clone(),
            status: *status,
            path,
        });
    }
    let (metrics, last) = match crate::index::metric_tables(store, &with_metrics)? {
        Some(tables) => tables,
        None => {
            let empty = DataFrame::new_infer_height(vec![
                Column::new_empty("run_id".into(), &DataType::String),
                Column::new_empty("step".into(), &DataType::UInt64),
                Column::new_empty("name".into(), &DataType::String),
                Column::new_empty("value".into(), &DataType::Float64),
            ])?
            .lazy();
            (empty.clone(), crate::index::last_rows(empty))
        }
    };
    ctx.register("metrics", metrics);
    // The last value of every metric of every run: what tables of results are made of.
    ctx.register("final_metrics", last);
    let ids: Vec<String> = listed.into_iter().map(|(id, _)| id).collect();
    let mut table_names = BTreeSet::new();
    for id in &ids {
        let tdir = store.run_dir(id)?.join(crate::layout::TABLES);
        if let Ok(rd) = std::fs::read_dir(&tdir) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if let Some(stem) = n.strip_suffix(".parquet") {
                    if !stem.starts_with(crate::store::TMP_PREFIX) {
                        table_names.insert(stem.to_string());
                    }
                }
            }
        }
    }
    for name in table_names {
        if name == "runs" || name == "metrics" || name == "final_metrics" {
            continue;
        }
        let mut files = Vec::new();
        for id in &ids {
            let path = store
                .run_dir(id)?
                .join(crate::layout::TABLES)
                .join(format!("{name}.parquet"));
            if path.is_file() {
                if let Some(why) = crate::damage::parquet_damage(&path) {
                    eprintln!(
                        "warning: run {id}: {} is damaged ({why}); its rows are left out of `{name}`",
                        path.display()
                    );
                    continue;
                }
                files.push((id.as_str(), path));
            }
        }
        let files: Vec<(&str, &std::path::Path)> =
            files.iter().map(|(id, p)| (*id, p.as_path())).collect();
        if !files.is_empty() {
            ctx.register(&name, crate::index::scan_by_path(&files)?);
        }
    }
    Ok(ctx)
}

/// The last value of every metric of the runs `ids` (columns `run_id`, `step`, `name`,
/// `value`): what the dashboard's runs page shows beside a page of runs. Reads the index where
/// it covers them and their own files where not, and nothing of the rest of the store; never
/// writes the index. Unknown, unreadable and damaged runs are left out.
pub fn final_metrics_of(store: &Store, ids: &[String]) -> anyhow::Result<DataFrame> {
    let store = store.clone().read_only();
    let mut runs = Vec::new();
    for id in ids {
        let Ok(rec) = store.record(id) else {
            continue;
        };
        let path = store.run_dir(id)?.join(crate::layout::METRICS);
        if crate::damage::parquet_damage(&path).is_some() {
            continue;
        }
        runs.push(RunMetrics {
            id: id.clone(),
            status: rec.effective_status(store.heartbeat(id)),
            path,
        });
    }
    Ok(match crate::index::metric_tables(&store, &runs)? {
        Some((_, last)) => last.collect()?,
        None => DataFrame::empty(),
    })
}

/// Runs `sql` over the store.
pub fn query(store: &Store, sql: &str) -> anyhow::Result<DataFrame> {
    let prepared = crate::sql::prepare(sql)?;
    let mut ctx = context(store)?;
    let lf = anyhow::Context::with_context(ctx.execute(&prepared), || format!("query: {sql}"))?;
    Ok(lf.collect()?)
}
