//! Tables written out: aligned text, CSV, JSON, Markdown, LaTeX or Parquet.

use std::io::Write;

use polars::prelude::*;

/// Output formats of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Format {
    /// Every format, by its name.
    pub const ALL: [(&'static str, Format); 6] = [
        ("table", Format::Table),
        ("csv", Format::Csv),
        ("json", Format::Json),
        ("md", Format::Md),
        ("latex", Format::Latex),
        ("parquet", Format::Parquet),
    ];

    /// The format named `name` (`table`, `csv`, `json`, `md`, `latex`, `parquet`).
    pub fn named(name: &str) -> Option<Format> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }
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

/// An SDK table (what `assay lens` and `assay patch` compute) rendered in `format`.
pub fn render_table(table: &assay_sdk::Table, format: Format) -> anyhow::Result<Vec<u8>> {
    render(&mut crate::record::table_frame(table)?, format)
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
