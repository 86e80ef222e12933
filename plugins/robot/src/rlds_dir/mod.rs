//! RLDS datasets on disk: a directory of Parquet files, one row per step ([`crate::rows`]), as
//! pandas, pyarrow or Polars write and read them.
//!
//! Columns (every file of a directory has the same ones, with the same types):
//!
//! | column | type | |
//! | --- | --- | --- |
//! | `episode_id` | integer, 0 … 2⁶³ − 1 | unique per episode within the dataset |
//! | `step` | integer ≥ 0 | 0, 1, …, n − 1 within an episode |
//! | `is_first`, `is_last`, `is_terminal` | boolean | RLDS flags |
//! | `reward`, `discount` | float | invalid (ignored) on the last step |
//! | `language_instruction` | string | the same on every step of an episode |
//! | `obs_{name}_{i}` | float | observation field `name`, element `i` (0, 1, …) |
//! | `action_{i}` | float | action element `i` (ignored on the last step) |
//! | `embodiment` | string | per episode |
//! | `agent`, `seed`, `noise`, `success` | string, integer, float, boolean | optional per-episode metadata |
//!
//! Integer columns may be any signed or unsigned width and float columns any float width (or an
//! integer type: pandas writes a column of whole numbers as integers). A missing required
//! column, a value of another type, a null, mixed schemas across files, or a broken RLDS
//! invariant ([`crate::rlds`]) is an [`RldsDirError`] naming the file and, where there is one,
//! the episode and the column. Episodes may be spread over files; an episode's rows must all be
//! in one file.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::rlds::{Episode, EpisodeMetadata, Field, RldsError};
use crate::rows::{from_rows, to_rows, StepRow};

/// Why a dataset directory cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RldsDirError {
    /// A file system error.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A directory without Parquet files.
    #[error("{}: no .parquet files; an RLDS dataset directory holds one or more Parquet files with one row per step", dir.display())]
    Empty {
        /// The directory.
        dir: PathBuf,
    },
    /// A column that is missing, mistyped, null or misnamed.
    #[error("{}, column `{column}`: {problem}", file.display())]
    Column {
        /// The file.
        file: PathBuf,
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// A file whose columns differ from the first file's.
    #[error("{}: {problem} (all files of a dataset have identical columns; the first, {}, sets them)", file.display(), first.display())]
    MixedSchema {
        /// The file.
        file: PathBuf,
        /// The first file.
        first: PathBuf,
        /// The difference.
        problem: String,
    },
    /// A broken RLDS invariant.
    #[error("{}: {source}", file.display())]
    Rlds {
        /// The file (the directory for invariants across files).
        file: PathBuf,
        /// The invariant.
        source: RldsError,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> RldsDirError {
    RldsDirError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Checks `episodes` and writes them to `file` (one row per step), replacing it atomically: the
/// rows go to a temporary file in the same directory, renamed into place.
pub fn write_file(file: &Path, episodes: &[Episode]) -> Result<(), RldsDirError> {
    let (rows, _) = to_rows(episodes).map_err(|source| RldsDirError::Rlds {
        file: file.to_path_buf(),
        source,
    })?;
    if let Some(r) = rows.iter().find(|r| r.episode_id > i64::MAX as u64) {
        return Err(RldsDirError::Column {
            file: file.to_path_buf(),
            column: "episode_id".to_string(),
            problem: format!(
                "episode {} does not fit a signed 64-bit integer, the type other tools read ids as",
                r.episode_id
            ),
        });
    }
    let mut df = frame(&rows).map_err(|e| io(file, e))?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let tmp = file.with_extension("parquet.tmp");
    let out = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    ParquetWriter::new(out)
        .finish(&mut df)
        .map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| io(file, e))
}

/// Writes `episodes` as a dataset directory: `dir/steps.parquet`.
pub fn write_dir(dir: &Path, episodes: &[Episode]) -> Result<(), RldsDirError> {
    write_file(&dir.join("steps.parquet"), episodes)
}

fn frame(rows: &[StepRow]) -> PolarsResult<DataFrame> {
    let mut cols: Vec<Column> = Vec::new();
    let int = |name: &str, f: &dyn Fn(&StepRow) -> u64| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<u64>>())
    };
    let signed = |name: &str, f: &dyn Fn(&StepRow) -> i64| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<i64>>())
    };
    let float = |name: &str, f: &dyn Fn(&StepRow) -> f64| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<f64>>())
    };
    let boolean = |name: &str, f: &dyn Fn(&StepRow) -> bool| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<bool>>())
    };
    let text = |name: &str, f: &dyn Fn(&StepRow) -> &str| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<&str>>())
    };
    cols.push(signed("episode_id", &|r| r.episode_id as i64));
    cols.push(signed("step", &|r| r.step as i64));
    cols.push(boolean("is_first", &|r| r.is_first));
    cols.push(boolean("is_last", &|r| r.is_last));
    cols.push(boolean("is_terminal", &|r| r.is_terminal));
    cols.push(float("reward", &|r| r.reward));
    cols.push(float("discount", &|r| r.discount));
    cols.push(text("language_instruction", &|r| &r.language_instruction));
    if let Some(first) = rows.first() {
        for (f, field) in first.observation.iter().enumerate() {
            for i in 0..field.values.len() {
                cols.push(float(&format!("obs_{}_{i}", field.name), &|r| {
                    r.observation[f].values[i]
                }));
            }
        }
        for i in 0..first.action.len() {
            cols.push(float(&format!("action_{i}"), &|r| r.action[i]));
        }
    }
    cols.push(text("embodiment", &|r| &r.metadata.embodiment));
    cols.push(text("agent", &|r| &r.metadata.agent));
    cols.push(int("seed", &|r| r.metadata.seed));
    cols.push(float("noise", &|r| r.metadata.noise));
    cols.push(boolean("success", &|r| r.metadata.success));
    DataFrame::new(rows.len(), cols)
}

/// The Parquet files of `dir`, sorted by name.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, RldsDirError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.extension().is_some_and(|x| x == "parquet") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(RldsDirError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(files)
}

/// Reads every Parquet file of `dir` and checks the dataset: columns, types, nulls, identical
/// columns across files, and every RLDS invariant. Episodes come in file order, then in order
/// of their first row.
pub fn read_dir(dir: &Path) -> Result<Vec<Episode>, RldsDirError> {
    let mut episodes = Vec::new();
    let mut first: Option<(PathBuf, Vec<(String, String)>)> = None;
    for file in files(dir)? {
        let df = std::fs::File::open(&file)
            .map_err(|e| io(&file, e))
            .and_then(|f| ParquetReader::new(f).finish().map_err(|e| io(&file, e)))?;
        let columns: Vec<(String, String)> = df
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), kind(c.dtype()).to_string()))
            .collect();
        match &first {
            None => first = Some((file.clone(), columns)),
            Some((first_file, expected)) => {
                if let Some(problem) = schema_difference(expected, &columns) {
                    return Err(RldsDirError::MixedSchema {
                        file,
                        first: first_file.clone(),
                        problem,
                    });
                }
            }
        }
        let rows = rows_of(&file, &df)?;
        let mut these = from_rows(rows).map_err(|source| RldsDirError::Rlds {
            file: file.clone(),
            source,
        })?;
        episodes.append(&mut these);
    }
    crate::rlds::check_dataset(&episodes).map_err(|source| RldsDirError::Rlds {
        file: dir.to_path_buf(),
        source,
    })?;
    Ok(episodes)
}

/// A column type as the checks name it.
fn kind(dtype: &DataType) -> &'static str {
    match dtype {
        DataType::Boolean => "boolean",
        DataType::String => "string",
        d if d.is_float() => "float",
        d if d.is_integer() => "integer",
        _ => "other",
    }
}

fn schema_difference(expected: &[(String, String)], found: &[(String, String)]) -> Option<String> {
    for (name, k) in expected {
        match found.iter().find(|(n, _)| n == name) {
            None => return Some(format!("column `{name}` is missing")),
            Some((_, f)) if f != k => {
                return Some(format!("column `{name}` is {f}, the first file's is {k}"))
            }
            _ => {}
        }
    }
    found
        .iter()
        .find(|(n, _)| !expected.iter().any(|(e, _)| e == n))
        .map(|(n, _)| format!("column `{n}` is not in the first file"))
}

/// Reads columns of one file, naming the file, column and (for nulls) the row's episode.
struct Reader<'a> {
    file: &'a Path,
    df: &'a DataFrame,
}

impl Reader<'_> {
    fn error(&self, column: &str, problem: impl Into<String>) -> RldsDirError {
        RldsDirError::Column {
            file: self.file.to_path_buf(),
            column: column.to_string(),
            problem: problem.into(),
        }
    }

    fn column(&self, name: &str) -> Result<&Column, RldsDirError> {
        self.df
            .column(name)
            .map_err(|_| self.error(name, "missing (see the RLDS directory layout in the docs)"))
    }

    fn expect<'c>(&self, c: &'c Column, want: &str) -> Result<&'c Column, RldsDirError> {
        let found = kind(c.dtype());
        let ok = match want {
            "float" => found == "float" || found == "integer",
            _ => found == want,
        };
        if ok {
            Ok(c)
        } else {
            Err(self.error(
                c.name(),
                format!("expected {want} values, found {} ({found})", c.dtype()),
            ))
        }
    }

    fn null(&self, name: &str, row: usize) -> RldsDirError {
        let episode = self
            .df
            .column("episode_id")
            .ok()
            .and_then(|c| c.get(row).ok())
            .map_or("?".to_string(), |v| v.to_string());
        self.error(
            name,
            format!("null in row {row} (episode {episode}); every step has every field"),
        )
    }

    fn floats(&self, name: &str) -> Result<Vec<f64>, RldsDirError> {
        let c = self.expect(self.column(name)?, "float")?;
        let c = c
            .cast(&DataType::Float64)
            .map_err(|e| self.error(name, e.to_string()))?;
        let ca = c.f64().map_err(|e| self.error(name, e.to_string()))?;
        ca.iter()
            .enumerate()
            .map(|(row, v)| v.ok_or_else(|| self.null(name, row)))
            .collect()
    }

    fn ints(&self, name: &str) -> Result<Vec<u64>, RldsDirError> {
        let c = self.expect(self.column(name)?, "integer")?;
        if let Some(row) = c.is_null().iter().position(|n| n == Some(true)) {
            return Err(self.null(name, row));
        }
        let c = c
            .strict_cast(&DataType::UInt64)
            .map_err(|_| self.error(name, "negative values; ids, steps and seeds are ≥ 0"))?;
        let ca = c.u64().map_err(|e| self.error(name, e.to_string()))?;
        ca.iter()
            .enumerate()
            .map(|(row, v)| v.ok_or_else(|| self.null(name, row)))
            .collect()
    }

    fn bools(&self, name: &str) -> Result<Vec<bool>, RldsDirError> {
        let c = self.expect(self.column(name)?, "boolean")?;
        let ca = c.bool().map_err(|e| self.error(name, e.to_string()))?;
        ca.iter()
            .enumerate()
            .map(|(row, v)| v.ok_or_else(|| self.null(name, row)))
            .collect()
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, RldsDirError> {
        let c = self.expect(self.column(name)?, "string")?;
        let ca = c.str().map_err(|e| self.error(name, e.to_string()))?;
        ca.iter()
            .enumerate()
            .map(|(row, v)| v.map(str::to_string).ok_or_else(|| self.null(name, row)))
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.df.column(name).is_ok()
    }

    /// Observation fields (name, length) from the `obs_{name}_{i}` columns, in column order;
    /// each field's elements must be numbered 0, 1, … without gaps.
    fn observation_fields(&self) -> Result<Vec<(String, usize)>, RldsDirError> {
        let mut fields: Vec<(String, usize)> = Vec::new();
        for c in self.df.columns() {
            let Some(rest) = c.name().strip_prefix("obs_") else {
                continue;
            };
            let parsed = rest
                .rsplit_once('_')
                .and_then(|(n, i)| i.parse::<usize>().ok().map(|i| (n, i)));
            let Some((name, i)) = parsed.filter(|(n, _)| !n.is_empty()) else {
                return Err(self.error(
                    c.name(),
                    "observation columns are named obs_{field}_{index}",
                ));
            };
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some((_, len)) if *len == i => *len += 1,
                Some((_, len)) => {
                    return Err(self.error(
                        c.name(),
                        format!("expected element {} of field `{name}` next", *len),
                    ))
                }
                None if i == 0 => fields.push((name.to_string(), 1)),
                None => {
                    return Err(self.error(
                        c.name(),
                        format!("field `{name}` starts at element {i}, not 0"),
                    ))
                }
            }
        }
        if fields.is_empty() {
            return Err(self.error("obs_*", "no observation columns"));
        }
        Ok(fields)
    }

    fn action_dim(&self) -> Result<usize, RldsDirError> {
        let mut n = 0;
        while self.has(&format!("action_{n}")) {
            n += 1;
        }
        if n == 0 {
            return Err(self.error(
                "action_0",
                "missing: actions are columns action_0, action_1, …",
            ));
        }
        Ok(n)
    }
}

fn rows_of(file: &Path, df: &DataFrame) -> Result<Vec<StepRow>, RldsDirError> {
    let r = Reader { file, df };
    let episode = r.ints("episode_id")?;
    let step = r.ints("step")?;
    let is_first = r.bools("is_first")?;
    let is_last = r.bools("is_last")?;
    let is_terminal = r.bools("is_terminal")?;
    let reward = r.floats("reward")?;
    let discount = r.floats("discount")?;
    let instruction = r.strings("language_instruction")?;
    let embodiment = r.strings("embodiment")?;
    let fields = r.observation_fields()?;
    let obs: Vec<Vec<Vec<f64>>> = fields
        .iter()
        .map(|(name, len)| {
            (0..*len)
                .map(|i| r.floats(&format!("obs_{name}_{i}")))
                .collect()
        })
        .collect::<Result<_, _>>()?;
    let actions: Vec<Vec<f64>> = (0..r.action_dim()?)
        .map(|i| r.floats(&format!("action_{i}")))
        .collect::<Result<_, _>>()?;
    let n = df.height();
    let agent = if r.has("agent") {
        r.strings("agent")?
    } else {
        vec![String::new(); n]
    };
    let seed = if r.has("seed") {
        r.ints("seed")?
    } else {
        episode.clone()
    };
    let noise = if r.has("noise") {
        r.floats("noise")?
    } else {
        vec![0.0; n]
    };
    let success = if r.has("success") {
        Some(r.bools("success")?)
    } else {
        None
    };
    // Without a `success` column an episode succeeded when it ended in a terminal step.
    let terminal: std::collections::HashSet<u64> = (0..n)
        .filter(|&j| is_last[j] && is_terminal[j])
        .map(|j| episode[j])
        .collect();
    Ok((0..n)
        .map(|row| StepRow {
            episode_id: episode[row],
            step: step[row] as usize,
            is_first: is_first[row],
            is_last: is_last[row],
            is_terminal: is_terminal[row],
            reward: reward[row],
            discount: discount[row],
            language_instruction: instruction[row].clone(),
            observation: fields
                .iter()
                .zip(&obs)
                .map(|((name, len), values)| {
                    Field::new(name.clone(), (0..*len).map(|i| values[i][row]).collect())
                })
                .collect(),
            action: actions.iter().map(|a| a[row]).collect(),
            metadata: EpisodeMetadata {
                embodiment: embodiment[row].clone(),
                agent: agent[row].clone(),
                seed: seed[row],
                noise: noise[row],
                success: match &success {
                    Some(s) => s[row],
                    None => terminal.contains(&episode[row]),
                },
            },
        })
        .collect())
}

#[cfg(test)]
mod tests;
