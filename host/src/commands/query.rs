//! `assay query`: Polars SQL over the store's tables, printed or written in a format.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use assay_store::export::{render, Format};
use assay_store::store::write_atomic;
use assay_store::Store;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;

/// The `--format` argument: one of [`Format::ALL`] by name.
pub fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(|(name, _)| name))
        .map(|name| Format::named(&name).unwrap_or(Format::Table))
}

/// Arguments of `assay query`.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// SQL over `runs`, `metrics` and probe tables, e.g.
    /// "SELECT name, max(value) FROM metrics GROUP BY name"; it may start with a `--` comment.
    #[arg(
        required_unless_present = "file",
        conflicts_with = "file",
        allow_hyphen_values = true
    )]
    pub sql: Option<String>,
    /// Read the SQL from this file (`--` comments allowed) instead of the argument.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = format_parser())]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `assay query`.
pub fn run(args: &QueryArgs, store: &Store) -> anyhow::Result<ExitCode> {
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
    let mut df = assay_store::tables::query(store, &sql)?;
    let rows = df.height();
    emit(
        &render(&mut df, args.format)?,
        rows,
        args.format,
        args.out.as_deref(),
    )
}

/// Prints a rendered table, or writes it to `out` (Parquet needs a file).
pub fn emit(
    bytes: &[u8],
    rows: usize,
    format: Format,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    if format == Format::Parquet && out.is_none() {
        bail!("--format parquet writes binary data; give --out FILE");
    }
    match out {
        Some(path) => {
            write_atomic(path, bytes)?;
            eprintln!("wrote {rows} rows to {}", path.display());
        }
        None => std::io::stdout().write_all(bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}
