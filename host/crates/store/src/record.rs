//! What a run logs, kept in memory and flushed to Parquet in batches, so that logging costs the
//! training loop a vector push.

use std::collections::BTreeMap;
use std::path::Path;

use assay_sdk::{Column as SdkColumn, Table};
use polars::prelude::*;

use crate::store::write_atomic;

/// Metrics and probe tables of one run.
#[derive(Debug, Default)]
pub struct RunLog {
    steps: Vec<u64>,
    names: Vec<String>,
    values: Vec<f64>,
    tables: BTreeMap<String, DataFrame>,
    dirty: bool,
}

/// Writes `df` as Parquet to `path` atomically.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df)?;
    write_atomic(path, &buf)?;
    Ok(())
}

/// Reads a Parquet file eagerly.
pub fn read_parquet(path: &Path) -> anyhow::Result<DataFrame> {
    let file = std::fs::File::open(path)?;
    Ok(ParquetReader::new(file).finish()?)
}

fn sdk_table_frame(step: u64, table: &Table) -> anyhow::Result<DataFrame> {
    let rows = table.rows()?;
    if let Some((name, _)) = table
        .columns
        .iter()
        .find(|(n, _)| n == "step" || n == "run_id")
    {
        anyhow::bail!("table `{}`: column name `{name}` is reserved", table.name);
    }
    let mut frame = table_frame(table)?;
    frame.insert_column(
        0,
        polars::prelude::Column::new("step".into(), vec![step; rows]),
    )?;
    Ok(frame)
}

/// An SDK table as a data frame, its columns in order.
pub fn table_frame(table: &Table) -> anyhow::Result<DataFrame> {
    table.rows()?;
    let cols: Vec<polars::prelude::Column> = table
        .columns
        .iter()
        .map(|(name, col)| match col {
            SdkColumn::F64(v) => polars::prelude::Column::new(name.into(), v),
            SdkColumn::I64(v) => polars::prelude::Column::new(name.into(), v),
            SdkColumn::Bool(v) => polars::prelude::Column::new(name.into(), v),
            SdkColumn::Str(v) => polars::prelude::Column::new(name.into(), v),
        })
        .collect();
    Ok(DataFrame::new_infer_height(cols)?)
}

impl RunLog {
    /// Logs one scalar.
    #[inline]
    pub fn metric(&mut self, step: u64, name: &str, value: f64) {
        self.steps.push(step);
        self.names.push(name.to_string());
        self.values.push(value);
        self.dirty = true;
    }

    /// The value of metric `name` logged at `step`, if any (searching the rows not yet flushed
    /// and the loaded ones from the newest).
    pub fn value_at(&self, name: &str, step: u64) -> Option<f64> {
        (0..self.steps.len())
            .rev()
            .take_while(|&i| self.steps[i] >= step)
            .find(|&i| self.steps[i] == step && self.names[i] == name)
            .map(|i| self.values[i])
    }

    /// Logs a probe table observed at `step`.
    pub fn table(&mut self, step: u64, table: &Table) -> anyhow::Result<()> {
        let df = sdk_table_frame(step, table)?;
        match self.tables.get_mut(&table.name) {
            Some(existing) => {
                existing.vstack_mut(&df).map_err(|e| {
                    anyhow::anyhow!(
                        "table `{}` changed its columns between steps: {e}",
                        table.name
                    )
                })?;
            }
            None => {
                self.tables.insert(table.name.clone(), df);
            }
        }
        self.dirty = true;
        Ok(())
    }

    /// Number of metric rows.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether no metric was logged.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The metric rows as a frame (step, name, value).
    pub fn metrics_frame(&self) -> anyhow::Result<DataFrame> {
        Ok(DataFrame::new_infer_height(vec![
            polars::prelude::Column::new("step".into(), &self.steps),
            polars::prelude::Column::new("name".into(), &self.names),
            polars::prelude::Column::new("value".into(), &self.values),
        ])?)
    }

    /// Writes `metrics.parquet` and `tables/*.parquet` under `dir` if anything changed.
    pub fn flush(&mut self, dir: &Path) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        write_parquet(
            &mut self.metrics_frame()?,
            &dir.join(crate::layout::METRICS),
        )?;
        if !self.tables.is_empty() {
            let tdir = dir.join(crate::layout::TABLES);
            std::fs::create_dir_all(&tdir)?;
            for (name, df) in self.tables.iter_mut() {
                write_parquet(df, &tdir.join(format!("{name}.parquet")))?;
            }
        }
        self.dirty = false;
        Ok(())
    }

    /// Reads what a run directory holds, keeping rows up to `max_step` (the checkpoint a resumed
    /// run continues from).
    pub fn load(dir: &Path, max_step: u64) -> anyhow::Result<RunLog> {
        let mut log = RunLog::default();
        let path = dir.join(crate::layout::METRICS);
        if path.exists() {
            let df = read_parquet(&path)?;
            let steps = df.column("step")?.u64()?.clone();
            let names = df.column("name")?.str()?.clone();
            let values = df.column("value")?.f64()?.clone();
            for ((s, n), v) in steps.iter().zip(names.iter()).zip(values.iter()) {
                let (Some(s), Some(n)) = (s, n) else { continue };
                if s <= max_step {
                    log.metric(s, n, v.unwrap_or(f64::NAN));
                }
            }
        }
        let tdir = dir.join(crate::layout::TABLES);
        if tdir.exists() {
            for entry in std::fs::read_dir(&tdir)? {
                let p = entry?.path();
                let Some(name) = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".parquet"))
                else {
                    continue;
                };
                if name.starts_with(crate::store::TMP_PREFIX) {
                    continue;
                }
                let df = read_parquet(&p)?;
                let mask = df.column("step")?.u64()?.lt_eq(max_step);
                log.tables.insert(name.to_string(), df.filter(&mask)?);
            }
        }
        log.dirty = false;
        Ok(log)
    }
}

/// `test/acc 0.9700, test/loss 0.1000 at step 400`: the metrics of the last logged step of the
/// run in `dir` whose names start with `test/` or `train/`; `None` when there are none.
pub fn last_evaluation(dir: &Path) -> Option<String> {
    let df = read_parquet(&dir.join(crate::layout::METRICS)).ok()?;
    let steps = df.column("step").ok()?.u64().ok()?.clone();
    let names = df.column("name").ok()?.str().ok()?.clone();
    let values = df.column("value").ok()?.f64().ok()?.clone();
    let last = steps.iter().flatten().max()?;
    let parts: Vec<String> = (0..df.height())
        .filter(|&i| {
            steps.get(i) == Some(last)
                && names
                    .get(i)
                    .is_some_and(|n| n.starts_with("test/") || n.starts_with("train/"))
        })
        .filter_map(|i| Some(format!("{} {:.4}", names.get(i)?, values.get(i)?)))
        .collect();
    (!parts.is_empty()).then(|| format!("{} at step {last}", parts.join(", ")))
}
