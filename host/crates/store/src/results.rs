//! A finished run's tables handed back to plugins as SDK [`Table`]s: what an agent of another
//! run receives when it names this run (`[[agent]] from = "run:ID"`), such as a solver's policy.

use assay_sdk::{Column, Table};
use polars::prelude::*;

use crate::record::read_parquet;
use crate::store::{Status, Store};

/// One column of a data frame as an SDK column (integers as `I64`, other types as strings).
fn sdk_column(c: &polars::prelude::Column) -> anyhow::Result<Column> {
    Ok(match c.dtype() {
        DataType::Float64 | DataType::Float32 => {
            Column::F64(c.cast(&DataType::Float64)?.f64()?.iter().collect())
        }
        DataType::Boolean => Column::Bool(c.bool()?.iter().collect()),
        d if d.is_integer() => Column::I64(c.cast(&DataType::Int64)?.i64()?.iter().collect()),
        _ => Column::Str(
            c.cast(&DataType::String)?
                .str()?
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
        ),
    })
}

/// The tables of run `id` as the run left them at its last step (rows of earlier steps and the
/// `step` column dropped). The run must have completed.
pub fn result_tables(store: &Store, id: &str) -> anyhow::Result<Vec<Table>> {
    let record = store.record(id)?;
    if record.status != Status::Completed {
        anyhow::bail!(
            "run {id} is {}, not completed; its results cannot be used yet",
            record.status.as_str()
        );
    }
    let dir = store.run_dir(id)?.join(crate::layout::TABLES);
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    for path in files {
        let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with(crate::store::TMP_PREFIX) {
            continue;
        }
        let mut df = read_parquet(&path)?;
        if let Ok(step) = df.column("step") {
            let last = step.u64()?.max().unwrap_or(0);
            let mask = step.u64()?.equal(last);
            df = df.filter(&mask)?.drop("step")?;
        }
        let mut table = Table::new(name);
        for c in df.columns() {
            table = table.column(c.name().to_string(), sdk_column(c)?);
        }
        out.push(table);
    }
    Ok(out)
}
