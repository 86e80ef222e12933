//! Metric records and small typed tables: what probes hand back to the host.
//!
//! The host turns them into Polars frames (`metrics.parquet` and `tables/NAME.parquet` in the run
//! directory); the SDK itself does not depend on Polars, so plugins build fast.

/// One scalar measurement. The host adds the run id and the step.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Slash-separated name, e.g. `weights/l2_total`.
    pub name: String,
    /// The value.
    pub value: f64,
}

impl Metric {
    /// A metric.
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Metric {
            name: name.into(),
            value,
        }
    }
}

/// A column of a [`Table`]; `None` is a null.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Floats.
    F64(Vec<Option<f64>>),
    /// Integers.
    I64(Vec<Option<i64>>),
    /// Strings.
    Str(Vec<Option<String>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Str(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A small typed table produced by a probe, stored as `tables/NAME.parquet` and queryable by
/// `NAME` in `assay query`. The host adds `run_id` and `step` columns.
///
/// ```
/// use assay_sdk::{Column, Table};
/// let t = Table::new("fourier")
///     .column("k", Column::I64(vec![Some(1), Some(2)]))
///     .column("cos_norm", Column::F64(vec![Some(0.5), None]));
/// assert_eq!(t.rows().unwrap(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Table name: lower-case letters, digits and `_`.
    pub name: String,
    /// Named columns of equal length.
    pub columns: Vec<(String, Column)>,
}

impl Table {
    /// An empty table.
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            columns: Vec::new(),
        }
    }

    /// Adds a column.
    pub fn column(mut self, name: impl Into<String>, column: Column) -> Self {
        self.columns.push((name.into(), column));
        self
    }

    /// The number of rows, or an error when columns differ in length or the name is unusable.
    pub fn rows(&self) -> crate::Result<usize> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(crate::PluginError::invalid(format!(
                "table name `{}` must be lower-case letters, digits and `_`",
                self.name
            )));
        }
        let mut rows = None;
        for (name, col) in &self.columns {
            match rows {
                None => rows = Some(col.len()),
                Some(n) if n != col.len() => {
                    return Err(crate::PluginError::invalid(format!(
                        "table `{}`: column `{name}` has {} rows, earlier columns {n}",
                        self.name,
                        col.len()
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(rows.unwrap_or(0))
    }
}
