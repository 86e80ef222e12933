//! A Markdown report (`assay report`) of a sweep (or of any set of runs) — final metrics grouped
//! by the swept keys with mean, std and count over seeds, and one plot per metric with a band
//! over seeds. The report prints the SQL behind its table, so the same table comes out of
//! `assay query ... --format latex` for a paper.

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::export::Format;
use crate::manifest::Manifest;
use crate::plot::Plot;
use crate::store::Store;

/// What to report: a sweep or a set of runs, which metrics, grouped by which keys.
#[derive(Debug, Clone)]
pub struct Report {
    /// A sweep manifest (path or id), or a SQL condition on `runs` selecting the runs
    /// (e.g. `run_name = 'adopt-digits'`).
    pub target: String,
    /// Output directory.
    pub out: PathBuf,
    /// Metrics to tabulate and plot (empty: every `test/` metric).
    pub metrics: Vec<String>,
    /// Keys to group by (empty, for a manifest: its swept keys except `seed`).
    pub by: Vec<String>,
    /// Logarithmic step axis in the plots.
    pub logx: bool,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL of the grouped table.
pub fn table_sql(filter: &str, keys: &[String], metrics: &[String]) -> String {
    let cols: Vec<String> = keys
        .iter()
        .map(|k| format!("r.{} AS {}", quote(k), quote(k)))
        .collect();
    let group: Vec<String> = keys.iter().map(|k| format!("r.{}", quote(k))).collect();
    let names: Vec<String> = metrics.iter().map(|m| lit(m)).collect();
    let mut select = cols.clone();
    select.extend(
        [
            "f.name AS metric",
            "avg(f.value) AS mean",
            "stddev(f.value) AS std",
            "count(*) AS n",
        ]
        .map(String::from),
    );
    let mut by = group.clone();
    by.push("f.name".into());
    let mut order: Vec<String> = keys.iter().map(|k| quote(k)).collect();
    order.push("metric".into());
    format!(
        "SELECT {} FROM final_metrics f JOIN runs r ON f.run_id = r.id WHERE ({filter}) AND f.name IN ({}) GROUP BY {} ORDER BY {}",
        select.join(", "),
        names.join(", "),
        by.join(", "),
        order.join(", ")
    )
}

/// A report's table: the runs it covers, its grouping keys and metrics, its SQL and result.
pub struct ReportTable {
    /// `sweep ID (PATH)` or `runs where COND`.
    pub title: String,
    /// The SQL condition on `runs r` selecting the runs.
    pub filter: String,
    /// The keys it groups by.
    pub keys: Vec<String>,
    /// The metrics it tabulates.
    pub metrics: Vec<String>,
    /// The query behind the table.
    pub sql: String,
    /// The table: per group, each metric's mean, std and count.
    pub frame: polars::prelude::DataFrame,
}

/// The table of the report on `target` (a sweep manifest or id, or a condition on `runs`),
/// grouped by `by` (empty, for a sweep: its swept keys but `seed`), over `metrics` (empty: every
/// `test/` metric).
pub fn table(
    target: &str,
    by: &[String],
    metrics: &[String],
    store: &Store,
) -> anyhow::Result<ReportTable> {
    let (title, filter, mut keys) = match Manifest::load(target, store) {
        Ok((path, m)) => {
            let ids: Vec<String> = m.entries.iter().map(|e| lit(&e.run_id)).collect();
            let keys: Vec<String> = m.swept.iter().filter(|k| *k != "seed").cloned().collect();
            (
                format!("sweep {} ({})", m.id, path.display()),
                format!("r.id IN ({})", ids.join(", ")),
                keys,
            )
        }
        Err(_) => (
            format!("runs where {target}"),
            target.to_string(),
            Vec::new(),
        ),
    };
    if !by.is_empty() {
        keys = by.to_vec();
    }
    if keys.is_empty() {
        bail!("nothing to group by: give --by KEY (a `runs` column such as optimizer.plugin)");
    }
    let metrics = if metrics.is_empty() {
        let df = crate::tables::query(
            store,
            &format!("SELECT DISTINCT f.name FROM final_metrics f JOIN runs r ON f.run_id = r.id WHERE ({filter}) AND f.name LIKE 'test/%' ORDER BY f.name"),
        )?;
        df.column("name")?
            .str()?
            .iter()
            .flatten()
            .map(str::to_string)
            .collect::<Vec<_>>()
    } else {
        metrics.to_vec()
    };
    if metrics.is_empty() {
        bail!("the selected runs have no test/ metrics; choose some with --metric");
    }
    let sql = table_sql(&filter, &keys, &metrics);
    let frame = crate::tables::query(store, &sql).context("building the report table")?;
    if frame.height() == 0 {
        bail!("no finished metrics for {title}");
    }
    Ok(ReportTable {
        title,
        filter,
        keys,
        metrics,
        sql,
        frame,
    })
}

/// Writes the report `args` asks for into its directory; returns the path of `report.md`.
pub fn write(args: &Report, store: &Store) -> anyhow::Result<PathBuf> {
    let ReportTable {
        title,
        filter,
        keys,
        metrics,
        sql,
        frame: mut df,
    } = table(&args.target, &args.by, &args.metrics, store)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let table = String::from_utf8(crate::export::render(&mut df, Format::Md)?)?;
    let mut md = format!("# Report: {title}\n\nFinal value of each metric per run, grouped by {}: mean, standard deviation and count over the group's runs (seeds).\n\n{table}\n", keys.join(", "));
    let shell = format!("'{}'", sql.replace('\'', "'\\''"));
    md.push_str(&format!("The table as a query (add `--format latex` for a paper):\n\n```sh\nassay query {shell}\n```\n\n"));
    for metric in &metrics {
        let file = format!("{}.png", metric.replace(['/', ' '], "_"));
        let plot = Plot {
            metrics: vec![metric.clone()],
            out: args.out.join(&file),
            group_by: Some(keys.join(",")),
            filter: Some(filter.clone()),
            logx: args.logx,
            logy: false,
            title: None,
            ..Plot::default()
        };
        let curves = crate::plot::curves(store, &plot, metric)?;
        crate::plot::render(&[(metric.clone(), curves)], &plot, &plot.out)?;
        md.push_str(&format!("## {metric}\n\n![{metric}]({file})\n\n"));
    }
    let path = args.out.join("report.md");
    crate::store::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}
