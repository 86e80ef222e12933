//! Tables across the store: `runs` (one row per run, the resolved spec flattened into columns),
//! `metrics` (run_id, step, name, value), `final_metrics` (the last value of each metric of each
//! run) and every probe table by its name, queried with Polars SQL and exported as a table, CSV,
//! JSON, Markdown, LaTeX or Parquet.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::spec::Spec;
use crate::store::Store;

/// Output formats of `assay query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// A Markdown table.
    Md,
    /// A LaTeX tabular.
    Latex,
    /// Apache Parquet (needs --out).
    Parquet,
}

/// Arguments of `assay query`.
#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// SQL over `runs`, `metrics` and probe tables, e.g.
    /// "SELECT name, max(value) FROM metrics GROUP BY name".
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL from this file (`--` comments allowed) instead of the argument.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn string_of(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `runs` table: id, name, status, times, progress, host, user, git commit, then every
/// resolved spec value as a column named by its path. Unreadable runs are skipped with a warning.
pub fn runs_frame(store: &Store) -> anyhow::Result<DataFrame> {
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
        let flat = std::fs::read_to_string(&spec_path)
            .ok()
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .map(|t| Spec::flatten(&t))
            .unwrap_or_default();
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
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Scans `file` (a path relative to each run directory) across every run that has it, as one lazy
/// frame with a `run_id` column first.
fn scan_across(store: &Store, ids: &[String], file: &str) -> anyhow::Result<Option<LazyFrame>> {
    let mut paths = Vec::new();
    let mut path_ids = Vec::new();
    for id in ids {
        let p = store.run_dir(id)?.join(file);
        if p.exists() {
            paths.push(p.display().to_string());
            path_ids.push(id.clone());
        }
    }
    if paths.is_empty() {
        return Ok(None);
    }
    let args = ScanArgsParquet {
        include_file_paths: Some("__path".into()),
        allow_missing_columns: true,
        ..Default::default()
    };
    let sources: Vec<PlRefPath> = paths.iter().map(|p| PlRefPath::from(p.as_str())).collect();
    let lf = LazyFrame::scan_parquet_files(sources.into_iter().collect(), args)?;
    let map = df!("__path" => paths, "run_id" => path_ids)?.lazy();
    let joined = lf.join(
        map,
        [col("__path")],
        [col("__path")],
        JoinArgs::new(JoinType::Inner),
    );
    let schema_cols: Vec<Expr> = vec![
        col("run_id"),
        all().exclude_cols(["run_id", "__path"]).as_expr(),
    ];
    Ok(Some(joined.select(schema_cols)))
}

/// A SQL context with `runs`, `metrics` and every probe table registered.
pub fn context(store: &Store) -> anyhow::Result<SQLContext> {
    let runs = runs_frame(store)?;
    let ids: Vec<String> = runs
        .column("id")?
        .str()?
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    let mut ctx = SQLContext::new();
    ctx.register("runs", runs.lazy());
    let metrics = match scan_across(store, &ids, crate::layout::METRICS)? {
        Some(lf) => lf,
        None => DataFrame::new_infer_height(vec![
            Column::new_empty("run_id".into(), &DataType::String),
            Column::new_empty("step".into(), &DataType::UInt64),
            Column::new_empty("name".into(), &DataType::String),
            Column::new_empty("value".into(), &DataType::Float64),
        ])?
        .lazy(),
    };
    ctx.register("metrics", metrics);
    // The last value of every metric of every run: what tables of results are made of.
    let last = ctx.execute(
        "SELECT m.run_id, m.name, m.step, m.value FROM metrics m \
         JOIN (SELECT run_id AS lr, name AS ln, max(step) AS ls FROM metrics GROUP BY run_id, name) l \
         ON m.run_id = l.lr AND m.name = l.ln AND m.step = l.ls",
    )?;
    ctx.register("final_metrics", last);
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
        if let Some(lf) = scan_across(store, &ids, &format!("tables/{name}.parquet"))? {
            ctx.register(&name, lf);
        }
    }
    Ok(ctx)
}

/// Runs `sql` over the store.
pub fn query(store: &Store, sql: &str) -> anyhow::Result<DataFrame> {
    let mut ctx = context(store)?;
    let lf = anyhow::Context::with_context(ctx.execute(sql), || format!("query: {sql}"))?;
    Ok(lf.collect()?)
}

fn cell(v: &AnyValue) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Float64(x) => format_float(*x),
        AnyValue::Float32(x) => format_float(f64::from(*x)),
        other => other.to_string(),
    }
}

fn format_float(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.1}")
    } else if x.abs() >= 1e-3 && x.abs() < 1e6 {
        format!("{:.4}", x)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{x:.4e}")
    }
}

fn rows(df: &DataFrame) -> Vec<Vec<String>> {
    (0..df.height())
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| c.get(i).map(|v| cell(&v)).unwrap_or_default())
                .collect()
        })
        .collect()
}

fn latex_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => format!("\\{c}"),
            '\\' => "\\textbackslash{}".to_string(),
            '~' => "\\textasciitilde{}".to_string(),
            '^' => "\\textasciicircum{}".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Renders `df` in a text format (everything but Parquet).
pub fn render(df: &mut DataFrame, format: Format) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    match format {
        Format::Table => writeln!(out, "{df}")?,
        Format::Csv => CsvWriter::new(&mut out).include_header(true).finish(df)?,
        Format::Json => {
            JsonWriter::new(&mut out)
                .with_json_format(JsonFormat::Json)
                .finish(df)?;
            // A text file ends with a newline, so that a shell prompt does not follow it.
            if out.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        Format::Md => {
            writeln!(out, "| {} |", header.join(" | "))?;
            writeln!(
                out,
                "|{}|",
                header.iter().map(|_| " --- ").collect::<Vec<_>>().join("|")
            )?;
            for r in rows(df) {
                writeln!(
                    out,
                    "| {} |",
                    r.iter()
                        .map(|c| c.replace('|', "\\|"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                )?;
            }
        }
        Format::Latex => {
            writeln!(out, "\\begin{{tabular}}{{{}}}", "l".repeat(header.len()))?;
            writeln!(out, "\\hline")?;
            writeln!(
                out,
                "{} \\\\",
                header
                    .iter()
                    .map(|h| latex_escape(h))
                    .collect::<Vec<_>>()
                    .join(" & ")
            )?;
            writeln!(out, "\\hline")?;
            for r in rows(df) {
                writeln!(
                    out,
                    "{} \\\\",
                    r.iter()
                        .map(|c| latex_escape(c))
                        .collect::<Vec<_>>()
                        .join(" & ")
                )?;
            }
            writeln!(out, "\\hline")?;
            writeln!(out, "\\end{{tabular}}")?;
        }
        Format::Parquet => {
            ParquetWriter::new(&mut out).finish(df)?;
        }
    }
    Ok(out)
}

/// `assay query`.
pub fn query_command(args: &QueryArgs, store: &Store) -> anyhow::Result<ExitCode> {
    if args.format == Format::Parquet && args.out.is_none() {
        bail!("--format parquet writes binary data; give --out FILE");
    }
    if args.format == Format::Table {
        for (k, v) in [
            ("POLARS_FMT_MAX_ROWS", "200"),
            ("POLARS_FMT_MAX_COLS", "40"),
            ("POLARS_FMT_STR_LEN", "60"),
        ] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
    }
    let sql = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading SQL from {}", path.display()))?,
        (None, None) => bail!("give the SQL as an argument or with --file"),
    };
    let mut df = query(store, &sql)?;
    let bytes = render(&mut df, args.format)?;
    match &args.out {
        Some(path) => {
            crate::store::write_atomic(path, &bytes)?;
            eprintln!("wrote {} rows to {}", df.height(), path.display());
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}
