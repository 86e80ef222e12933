//! The store's index of finished runs: their metrics gathered into one Parquet file (with a
//! `run_id` column) and their final metrics into another, so that a query over thousands of runs
//! reads two files instead of opening one per run and joining each row to its run id by path.
//!
//! ```text
//! STORE/index/index.json                   format, generation, and the signature (bytes, mtime)
//!                                          of every metrics file it was built from
//! STORE/index/metrics-GEN.parquet          run_id, step, name, value
//! STORE/index/final_metrics-GEN.parquet    run_id, name, step, value (each metric's last row)
//! ```
//!
//! The index is a cache: deleting `index/` loses nothing. Only runs that have stopped are in it
//! (a running run's metrics still change); a run whose metrics file no longer has the signature
//! recorded (resumed, removed) is read from its own directory instead, so a query never answers
//! from a stale index. It is rebuilt when more than [`STALE_BEFORE_REBUILD`] runs (or a
//! sixteenth of the finished ones) are not covered; data files get a new generation name and
//! `index.json` is replaced atomically, so a concurrent query reads either the old index or the
//! new one, never half of one. A store the user cannot write is queried without an index.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::record::{read_parquet, write_parquet};
use crate::store::{write_atomic, Status, Store};

use crate::layout::{INDEX, INDEX_MANIFEST as MANIFEST};

/// Version of the index's layout; an index of another version is rebuilt.
const FORMAT: u32 = 1;
/// Runs not covered by the index (new, changed or removed) that a query reads directly before
/// it rebuilds the index instead.
pub const STALE_BEFORE_REBUILD: usize = 16;

/// What identifies one version of a run's metrics file: its length and modification time.
/// Every write replaces the file (write to a temporary name, rename), so both change together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    bytes: u64,
    modified_ns: u128,
}

impl Signature {
    /// The signature of the file at `path`, if it exists.
    pub fn of(path: &Path) -> Option<Signature> {
        let meta = std::fs::metadata(path).ok()?;
        let modified_ns = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(Signature {
            bytes: meta.len(),
            modified_ns,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    generation: String,
    runs: BTreeMap<String, Signature>,
}

/// A run as the query sees it: its id, whether it has stopped, and its metrics file.
pub struct RunMetrics {
    /// The run's id.
    pub id: String,
    /// Its effective status.
    pub status: Status,
    /// Its `metrics.parquet`.
    pub path: PathBuf,
}

/// The `metrics` and `final_metrics` tables over the given runs, from the index where it covers
/// them and from the runs' own files where it does not; `None` when no run has metrics.
pub fn metric_tables(
    store: &Store,
    runs: &[RunMetrics],
) -> anyhow::Result<Option<(LazyFrame, LazyFrame)>> {
    let runs: Vec<(&RunMetrics, Signature)> = runs
        .iter()
        .filter_map(|r| Signature::of(&r.path).map(|s| (r, s)))
        .collect();
    if runs.is_empty() {
        return Ok(None);
    }
    let finished: Vec<&(&RunMetrics, Signature)> = runs
        .iter()
        .filter(|(r, _)| r.status != Status::Running)
        .collect();
    let dir = store.root().join(INDEX);
    let mut manifest = read_manifest(&dir);
    let stale = |m: &Option<Manifest>| -> usize {
        let Some(m) = m else {
            return finished.len();
        };
        let covered = finished
            .iter()
            .filter(|(r, s)| m.runs.get(&r.id) == Some(s))
            .count();
        (finished.len() - covered) + (m.runs.len() - covered)
    };
    if !store.is_read_only()
        && !finished.is_empty()
        && stale(&manifest) > STALE_BEFORE_REBUILD.max(finished.len() / 16)
    {
        let sources: Vec<(&str, &Path)> = finished
            .iter()
            .map(|(r, _)| (r.id.as_str(), r.path.as_path()))
            .collect();
        match rebuild(&dir, &sources) {
            Ok(m) => manifest = Some(m),
            Err(e) => {
                tracing::debug!("not indexing the store at {}: {e:#}", dir.display());
                manifest = None;
            }
        }
    }
    let empty = BTreeMap::new();
    let indexed = manifest.as_ref().map_or(&empty, |m| &m.runs);
    let (covered, direct): (Vec<_>, Vec<_>) = runs
        .iter()
        .partition(|(r, s)| r.status != Status::Running && indexed.get(&r.id) == Some(s));
    let mut metrics = Vec::new();
    let mut finals = Vec::new();
    if let (Some(m), false) = (&manifest, covered.is_empty()) {
        let keep = |lf: LazyFrame| -> LazyFrame {
            if covered.len() == m.runs.len() {
                return lf;
            }
            let ids: Vec<&str> = covered.iter().map(|(r, _)| r.id.as_str()).collect();
            let ids = Series::new("ids".into(), ids);
            lf.filter(col("run_id").is_in(lit(ids).implode(false), false))
        };
        metrics.push(keep(scan(
            &dir.join(format!("metrics-{}.parquet", m.generation)),
        )?));
        finals.push(keep(scan(
            &dir.join(format!("final_metrics-{}.parquet", m.generation)),
        )?));
    }
    if !direct.is_empty() {
        let direct: Vec<(&str, &Path)> = direct
            .iter()
            .map(|(r, _)| (r.id.as_str(), r.path.as_path()))
            .collect();
        let lf = scan_by_path(&direct)?;
        finals.push(last_rows(lf.clone()));
        metrics.push(lf);
    }
    let union = |frames: Vec<LazyFrame>| -> anyhow::Result<LazyFrame> {
        if frames.len() == 1 {
            return Ok(frames.into_iter().next().expect("one frame"));
        }
        // Rows in the order of run ids whichever way they were read: sums come out the same to
        // the last digit with or without the index.
        Ok(concat(frames, UnionArgs::default())?.sort(
            ["run_id"],
            SortMultipleOptions::default().with_maintain_order(true),
        ))
    };
    Ok(Some((union(metrics)?, union(finals)?)))
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    match serde_json::from_str::<Manifest>(&text) {
        Ok(m) if m.format == FORMAT => Some(m),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!("ignoring unreadable {}: {e}", dir.join(MANIFEST).display());
            None
        }
    }
}

fn scan(path: &Path) -> anyhow::Result<LazyFrame> {
    Ok(LazyFrame::scan_parquet(
        PlRefPath::from(path.display().to_string().as_str()),
        ScanArgsParquet::default(),
    )?)
}

/// Every row of the given files (one per run, columns may differ between them: a missing one
/// reads as null), with the run's id first.
pub(crate) fn scan_by_path(runs: &[(&str, &Path)]) -> anyhow::Result<LazyFrame> {
    let paths: Vec<String> = runs.iter().map(|(_, p)| p.display().to_string()).collect();
    let ids: Vec<&str> = runs.iter().map(|(id, _)| *id).collect();
    let args = ScanArgsParquet {
        include_file_paths: Some("__path".into()),
        allow_missing_columns: true,
        ..Default::default()
    };
    let sources: Vec<PlRefPath> = paths.iter().map(|p| PlRefPath::from(p.as_str())).collect();
    let lf = LazyFrame::scan_parquet_files(sources.into_iter().collect(), args)?;
    let map = df!("__path" => paths, "run_id" => ids)?.lazy();
    Ok(lf
        .join(map, [col("__path")], [col("__path")], left_ordered_inner())
        .select([
            col("run_id"),
            all().exclude_cols(["run_id", "__path"]).as_expr(),
        ]))
}

/// An inner join whose rows come in the left table's order.
fn left_ordered_inner() -> JoinArgs {
    let mut args = JoinArgs::new(JoinType::Inner);
    args.maintain_order = MaintainOrderJoin::Left;
    args
}

/// Each metric's last row (largest step) of each run: `run_id, name, step, value`.
pub fn last_rows(metrics: LazyFrame) -> LazyFrame {
    let last = metrics
        .clone()
        .group_by_stable([col("run_id"), col("name")])
        .agg([col("step").max().alias("__last")]);
    metrics
        .join(
            last,
            [col("run_id"), col("name"), col("step")],
            [col("run_id"), col("name"), col("__last")],
            left_ordered_inner(),
        )
        .select([col("run_id"), col("name"), col("step"), col("value")])
}

/// Rebuilds the index from `runs` (stopped runs: id and metrics file), returning its manifest.
fn rebuild(dir: &Path, runs: &[(&str, &Path)]) -> anyhow::Result<Manifest> {
    std::fs::create_dir_all(dir)?;
    let mut signatures = BTreeMap::new();
    let mut frames = Vec::with_capacity(runs.len());
    for (id, path) in runs {
        // The signature before the read: if the file is replaced in between, the index holds
        // newer rows under an older signature, and the next query reads that run directly.
        let Some(signature) = Signature::of(path) else {
            continue;
        };
        let df =
            read_parquet(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let n = df.height();
        let mut df = df;
        df.insert_column(0, Column::new("run_id".into(), vec![*id; n]))?;
        frames.push(df.lazy());
        signatures.insert(id.to_string(), signature);
    }
    let metrics = concat(frames, UnionArgs::default())?.collect()?;
    let finals = last_rows(metrics.clone().lazy()).collect()?;
    let generation = format!(
        "{:x}-{}",
        std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
        std::process::id()
    );
    write_parquet(
        &mut metrics.clone(),
        &dir.join(format!("metrics-{generation}.parquet")),
    )?;
    write_parquet(
        &mut finals.clone(),
        &dir.join(format!("final_metrics-{generation}.parquet")),
    )?;
    let previous = read_manifest(dir).map(|m| m.generation);
    let manifest = Manifest {
        format: FORMAT,
        generation: generation.clone(),
        runs: signatures,
    };
    write_atomic(
        &dir.join(MANIFEST),
        serde_json::to_string(&manifest)?.as_bytes(),
    )?;
    remove_old_generations(dir, &[Some(generation), previous]);
    Ok(manifest)
}

/// Removes data files of generations other than `keep` (the new one, and the one before it,
/// which a query that read the old manifest a moment ago may still be opening).
fn remove_old_generations(dir: &Path, keep: &[Option<String>]) {
    let keep: BTreeSet<&str> = keep.iter().flatten().map(String::as_str).collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let generation = name.strip_suffix(".parquet").and_then(|n| {
            n.strip_prefix("final_metrics-")
                .or_else(|| n.strip_prefix("metrics-"))
        });
        if let Some(g) = generation {
            if !keep.contains(g) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
