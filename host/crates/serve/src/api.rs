//! The JSON API. Every handler reads through `assay_store` (the `assay query` tables, the plot
//! code, run records and manifests) on a blocking thread, and answers an [`ApiError`] as
//! `{"error": ...}` with its status.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use assay_store::export::Format;
use assay_store::manifest::Manifest;
use assay_store::Store;

use crate::paths::{self, ApiError};
use crate::App;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// Runs `f` on a blocking thread (Polars and the file system block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("the request's worker failed: {e}"),
    })?
}

fn failed(e: anyhow::Error) -> ApiError {
    ApiError::bad(format!("{e:#}"))
}

/// `sql` over the store as JSON rows.
fn rows(store: &Store, sql: &str) -> Result<Vec<Value>, ApiError> {
    let mut df = assay_store::tables::query(store, sql).map_err(failed)?;
    let bytes = assay_store::export::render(&mut df, Format::Json).map_err(failed)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| failed(e.into()))?;
    Ok(match v {
        Value::Array(a) => a,
        other => vec![other],
    })
}

/// Only reading statements: the page's SQL box and filters are `SELECT`s.
fn read_only(sql: &str) -> Result<(), ApiError> {
    let body: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join(" ");
    let first = body
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if first == "SELECT" || first == "WITH" {
        Ok(())
    } else {
        Err(ApiError::bad(
            "the dashboard runs SELECT (or WITH ... SELECT) queries only",
        ))
    }
}

/// The page's filter: one SQL condition on `runs` columns, or none.
fn filter_of(sql_where: Option<&str>) -> Result<Option<&str>, ApiError> {
    match sql_where.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) if w.contains(';') => Err(ApiError::bad("a filter is one SQL condition")),
        w => Ok(w),
    }
}

/// The filter as a `WHERE` clause (empty without one).
fn condition(sql_where: Option<&str>) -> Result<String, ApiError> {
    Ok(filter_of(sql_where)?
        .map(|w| format!(" WHERE {w}"))
        .unwrap_or_default())
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Parameters of `/api/runs`.
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    #[serde(rename = "where")]
    filter: Option<String>,
    sort: Option<String>,
    desc: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
    group_by: Option<String>,
}

/// A page of the runs table with final metrics. With `group_by=KEY` the table is ordered by
/// `KEY` first, so that each group's runs are contiguous across pages, and `groups` describes
/// every group of the filtered table, not only of the page (see [`groups`]).
pub async fn runs(State(app): State<Arc<App>>, Query(q): Query<RunsQuery>) -> Response {
    blocking(move || {
        let w = condition(q.filter.as_deref())?;
        let total = rows(&app.store, &format!("SELECT count(*) AS n FROM runs{w}"))?
            .first()
            .and_then(|r| r["n"].as_u64())
            .unwrap_or(0);
        let group = q
            .group_by
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty());
        let mut order: Vec<String> = group.map(quote_ident).into_iter().collect();
        order.push(match q.sort.as_deref().filter(|s| !s.is_empty()) {
            Some(col) => format!(
                "{}{}",
                quote_ident(col),
                if q.desc.as_deref() == Some("1") {
                    " DESC"
                } else {
                    ""
                }
            ),
            None => "started_at DESC".to_string(),
        });
        let order = format!(" ORDER BY {}", order.join(", "));
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let offset = q.offset.unwrap_or(0);
        let mut page = rows(
            &app.store,
            &format!("SELECT * FROM runs{w}{order} LIMIT {limit} OFFSET {offset}"),
        )?;
        let ids: Vec<String> = page
            .iter()
            .filter_map(|r| r["id"].as_str())
            .map(str::to_string)
            .collect();
        let mut finals = assay_store::tables::final_metrics_of(&app.store, &ids).map_err(failed)?;
        let bytes = assay_store::export::render(&mut finals, Format::Json).map_err(failed)?;
        let finals: Vec<Value> = serde_json::from_slice(&bytes).map_err(|e| failed(e.into()))?;
        for row in &mut page {
            let id = row["id"].as_str().unwrap_or("").to_string();
            if let Value::Object(map) = row {
                for f in finals.iter().filter(|f| f["run_id"] == id.as_str()) {
                    if let Some(name) = f["name"].as_str() {
                        map.insert(format!("final:{name}"), f["value"].clone());
                    }
                }
            }
        }
        let groups = match group {
            Some(key) => {
                let mut metrics: Vec<String> = page
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|r| r.keys())
                    .filter_map(|k| k.strip_prefix("final:"))
                    .map(str::to_string)
                    .collect();
                metrics.sort();
                metrics.dedup();
                let filter = filter_of(q.filter.as_deref())?;
                Value::Array(groups(&app.store, key, filter, &metrics)?)
            }
            None => Value::Null,
        };
        Ok(Json(json!({
            "total": total,
            "offset": offset,
            "limit": limit,
            "rows": page,
            "groups": groups,
        })))
    })
    .await
    .into_response()
}

/// Every value of `key` among the runs `filter` selects, with its number of runs and, for each
/// of `metrics`, the mean, standard deviation and count of the runs' final values (the same
/// aggregation as `assay report`): `[{"value", "runs", "metrics": {"final:NAME": {"mean",
/// "std", "n"}}}]`.
fn groups(
    store: &Store,
    key: &str,
    filter: Option<&str>,
    metrics: &[String],
) -> Result<Vec<Value>, ApiError> {
    let k = quote_ident(key);
    let w = filter.map(|f| format!(" WHERE {f}")).unwrap_or_default();
    let mut groups = rows(
        store,
        &format!("SELECT {k} AS value, count(*) AS runs FROM runs{w} GROUP BY {k}"),
    )?;
    let stats = if metrics.is_empty() {
        Vec::new()
    } else {
        let sql = assay_store::report::table_sql(filter.unwrap_or("1 = 1"), &[key.into()], metrics);
        rows(store, &sql)?
    };
    for g in &mut groups {
        let mut by_metric = Map::new();
        for s in stats.iter().filter(|s| s[key] == g["value"]) {
            if let Some(name) = s["metric"].as_str() {
                by_metric.insert(
                    format!("final:{name}"),
                    json!({ "mean": s["mean"], "std": s["std"], "n": s["n"] }),
                );
            }
        }
        if let Value::Object(map) = g {
            map.insert("metrics".into(), Value::Object(by_metric));
        }
    }
    Ok(groups)
}

/// One run: record, spec, components, checkpoints, tables, damage, the command to reproduce it.
pub async fn run(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let dir = paths::run_dir(&app, &id)?;
        let spec = std::fs::read_to_string(dir.join(assay_store::layout::SPEC)).unwrap_or_default();
        let (record, status) = match app.store.record(&id) {
            Ok(r) => {
                let status = r.effective_status(app.store.heartbeat(&id));
                (
                    serde_json::to_value(&r).unwrap_or(Value::Null),
                    Some(status),
                )
            }
            Err(e) => (json!({ "error": e.to_string() }), None),
        };
        let checkpoints: Vec<u64> = app
            .store
            .checkpoints(&id)
            .map(|c| c.into_iter().map(|(step, _)| step).collect())
            .unwrap_or_default();
        let mut tables: Vec<String> = std::fs::read_dir(dir.join(assay_store::layout::TABLES))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().to_string();
                        n.strip_suffix(".parquet")
                            .filter(|s| !s.starts_with('.'))
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        tables.sort();
        let damage = app.store.damage(&id);
        let log = run_log(&app, &dir).unwrap_or_else(|| sweep_log(&app, &id));
        Ok(Json(json!({
            "id": id,
            "status": status.map(|s| s.as_str()),
            "damage": damage,
            "record": record,
            "spec": spec,
            "checkpoints": checkpoints,
            "tables": tables,
            "log": log,
            "reproduce": format!(
                "assay --store {} run {}",
                app.root.display(),
                dir.join(assay_store::layout::SPEC).display()
            ),
        })))
    })
    .await
    .into_response()
}

/// The last lines of the run's own log (`log.txt`: start, evaluations, end), if it has one.
fn run_log(app: &App, dir: &std::path::Path) -> Option<Value> {
    let path = paths::inside(app, &dir.join(assay_store::layout::LOG), "log").ok()?;
    Some(log_tail(app, &path))
}

fn log_tail(app: &App, path: &std::path::Path) -> Value {
    const LINES: usize = 200;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    json!({
        "file": path.strip_prefix(&app.root).unwrap_or(path).display().to_string(),
        "lines": lines[lines.len().saturating_sub(LINES)..].join("\n"),
    })
}

/// The last lines of the log of the newest sweep entry that ran `id` (`STORE/sweeps/SWEEP/
/// logs/INDEX.log`: the worker's output), for runs from before runs kept their own log;
/// `null` when there is none.
fn sweep_log(app: &App, id: &str) -> Value {
    let dir = app.root.join(assay_store::layout::SWEEPS);
    let mut best: Option<(String, std::path::PathBuf)> = None;
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(sid) = name.strip_suffix(".json") else {
            continue;
        };
        let Ok(path) = paths::sweep_file(app, sid) else {
            continue;
        };
        let Ok((_, m)) = Manifest::load(&path.display().to_string(), &app.store) else {
            continue;
        };
        if let Some(entry) = m.entries.iter().find(|x| x.run_id == id) {
            let log = m
                .work_dir(&app.store)
                .join("logs")
                .join(format!("{}.log", entry.index));
            let newer = best.as_ref().is_none_or(|(at, _)| m.created_at > *at);
            if newer {
                if let Ok(log) = paths::inside(app, &log, "log") {
                    best = Some((m.created_at.clone(), log));
                }
            }
        }
    }
    match best {
        Some((_, path)) => log_tail(app, &path),
        None => Value::Null,
    }
}

/// A run's metrics, long format.
pub async fn metrics(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        paths::run_dir(&app, &id)?;
        if let Some(why) = app.store.damage(&id) {
            return Err(ApiError::bad(format!("run {id}: {why}")));
        }
        let rows = rows(
            &app.store,
            &format!(
                "SELECT step, name, value FROM metrics WHERE run_id = '{id}' ORDER BY name, step"
            ),
        )?;
        Ok(Json(json!({ "id": id, "rows": rows })))
    })
    .await
    .into_response()
}

/// One probe table of a run.
pub async fn table(
    State(app): State<Arc<App>>,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    blocking(move || {
        paths::table_file(&app, &id, &name)?;
        let rows = rows(
            &app.store,
            &format!(
                "SELECT * FROM {} WHERE run_id = '{id}' LIMIT 10000",
                quote_ident(&name)
            ),
        )?;
        Ok(Json(json!({ "id": id, "table": name, "rows": rows })))
    })
    .await
    .into_response()
}

/// Parameters of `/api/query`.
#[derive(Debug, Deserialize)]
pub struct SqlQuery {
    sql: String,
    format: Option<String>,
}

/// `assay query`: JSON rows, or a CSV or Parquet download.
pub async fn query(State(app): State<Arc<App>>, Query(q): Query<SqlQuery>) -> Response {
    blocking(move || {
        read_only(&q.sql)?;
        let format = q.format.as_deref().unwrap_or("json");
        if format == "json" {
            return Ok(Json(json!({ "rows": rows(&app.store, &q.sql)? })).into_response());
        }
        let (f, mime) = match format {
            "csv" => (Format::Csv, "text/csv"),
            "parquet" => (Format::Parquet, "application/vnd.apache.parquet"),
            other => {
                return Err(ApiError::bad(format!(
                    "format `{other}`: use json, csv or parquet"
                )))
            }
        };
        let mut df = assay_store::tables::query(&app.store, &q.sql).map_err(failed)?;
        let bytes = assay_store::export::render(&mut df, f).map_err(failed)?;
        Ok((
            [
                (header::CONTENT_TYPE, mime.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"query.{format}\""),
                ),
            ],
            bytes,
        )
            .into_response())
    })
    .await
    .into_response()
}

/// Parameters of `/api/plot.svg`.
#[derive(Debug, Deserialize)]
pub struct PlotQuery {
    metrics: String,
    #[serde(rename = "where")]
    filter: Option<String>,
    group_by: Option<String>,
    logx: Option<String>,
    logy: Option<String>,
}

/// `assay plot` as SVG: one panel per metric, runs overlaid or grouped with mean ± std.
pub async fn plot(State(app): State<Arc<App>>, Query(q): Query<PlotQuery>) -> Response {
    blocking(move || {
        if let Some(w) = &q.filter {
            condition(Some(w))?;
        }
        let metrics: Vec<String> = q
            .metrics
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        if metrics.is_empty() {
            return Err(ApiError::bad("name at least one metric"));
        }
        let plot = assay_store::plot::Plot {
            metrics,
            filter: q.filter.filter(|w| !w.trim().is_empty()),
            group_by: q.group_by.filter(|g| !g.trim().is_empty()),
            logx: q.logx.as_deref() == Some("1"),
            logy: q.logy.as_deref() == Some("1"),
            ..Default::default()
        };
        let panels = assay_store::plot::panels(&app.store, &plot).map_err(failed)?;
        let svg = assay_store::plot::render_svg(&panels, &plot).map_err(failed)?;
        Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
    })
    .await
    .into_response()
}

fn sweep_json(app: &App, m: &Manifest, entries: bool) -> Value {
    let states: Vec<_> = m
        .entries
        .iter()
        .map(|e| assay_store::sweep_state::entry_state(&app.store, m, e))
        .collect();
    let (done, running, failed, pending) = assay_store::sweep_state::counts(&states);
    let mut v = Map::new();
    v.insert("id".into(), json!(m.id));
    v.insert("name".into(), json!(m.name));
    v.insert("spec_file".into(), json!(m.spec_file));
    v.insert("created_at".into(), json!(m.created_at));
    v.insert("swept".into(), json!(m.swept));
    v.insert(
        "counts".into(),
        json!({ "done": done, "running": running, "failed": failed, "pending": pending }),
    );
    if entries {
        let list: Vec<Value> = m
            .entries
            .iter()
            .zip(&states)
            .map(|(e, s)| {
                json!({
                    "index": e.index,
                    "run_id": e.run_id,
                    "overrides": e.overrides.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                    "state": s.describe(e.index),
                })
            })
            .collect();
        v.insert("entries".into(), Value::Array(list));
    }
    Value::Object(v)
}

/// Every sweep of the store, newest first, with counts.
pub async fn sweeps(State(app): State<Arc<App>>) -> Response {
    blocking(move || {
        let dir = app.root.join(assay_store::layout::SWEEPS);
        let mut list = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let Some(id) = name.strip_suffix(".json") else {
                    continue;
                };
                let Ok(path) = paths::sweep_file(&app, id) else {
                    continue;
                };
                if let Ok((_, m)) = Manifest::load(&path.display().to_string(), &app.store) {
                    list.push(sweep_json(&app, &m, false));
                }
            }
        }
        list.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
        Ok(Json(json!({ "sweeps": list })))
    })
    .await
    .into_response()
}

/// One sweep's entries and their states.
pub async fn sweep(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let path = paths::sweep_file(&app, &id)?;
        let (_, m) = Manifest::load(&path.display().to_string(), &app.store).map_err(failed)?;
        Ok(Json(sweep_json(&app, &m, true)))
    })
    .await
    .into_response()
}

/// A sweep's report, as `assay report` tabulates it: final metrics grouped by the swept keys
/// (mean, std and count over seeds), the SQL behind the table, and what to plot (the page draws
/// each metric grouped by the same keys through `/api/plot.svg`). Nothing is written.
pub async fn sweep_report(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let path = paths::sweep_file(&app, &id)?;
        let t = assay_store::report::table(&path.display().to_string(), &[], &[], &app.store)
            .map_err(failed)?;
        let mut frame = t.frame;
        let bytes = assay_store::export::render(&mut frame, Format::Json).map_err(failed)?;
        let rows: Value = serde_json::from_slice(&bytes).map_err(|e| failed(e.into()))?;
        Ok(Json(json!({
            "title": t.title,
            "keys": t.keys,
            "metrics": t.metrics,
            "where": t.filter.strip_prefix("r.").unwrap_or(&t.filter),
            "sql": t.sql,
            "rows": rows,
        })))
    })
    .await
    .into_response()
}

/// 404 for anything else.
pub async fn not_found() -> Response {
    ApiError::missing("no such page; the API is under /api/").into_response()
}
