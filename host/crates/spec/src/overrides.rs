//! Overrides of a spec's values, from the command line (`--set KEY.PATH=VALUE`), from a sweep
//! point, or from `[init].set`: all become typed [`Override`]s (a key path and a TOML value)
//! once, and one function applies them. Also reading spec files, and naming the override behind
//! an error.

use std::fmt;
use std::path::Path;

use crate::{describe_toml_error, SpecError};

/// One override: a dotted key path and the TOML value to put there. Numeric path parts index
/// arrays of tables (`probe.0.every`).
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Where it came from, for messages: `--set`, `sweep`, `init.set`.
    pub origin: String,
    /// Dotted key path, e.g. `optimizer.lr`.
    pub key: String,
    /// The value.
    pub value: toml::Value,
    /// How it was written (`optimizer.lr=fast` as typed on the command line), for messages.
    written: String,
}

impl Override {
    /// An override of `key` with a typed value.
    pub fn new(origin: impl Into<String>, key: impl Into<String>, value: toml::Value) -> Self {
        let key = key.into();
        Override {
            origin: origin.into(),
            written: format!("{key}={value}"),
            key,
            value,
        }
    }

    /// Parses command-line text `KEY.PATH=VALUE`. The value is TOML (`1e-3`, `true`, `[1, 2]`,
    /// `"text"`, `{ plugin = "adam" }`), or else a bare string (`adam`).
    pub fn parse(text: &str) -> Result<Override, SpecError> {
        let (key, raw) = text
            .split_once('=')
            .ok_or_else(|| SpecError::Override(format!("--set {text}")))?;
        let key = key.trim();
        if key.split('.').any(|p| p.trim().is_empty()) {
            return Err(SpecError::Override(format!("--set {text}")));
        }
        let raw = raw.trim();
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => t
                .remove("v")
                .unwrap_or_else(|| toml::Value::String(raw.to_string())),
            Err(_) => toml::Value::String(raw.to_string()),
        };
        Ok(Override {
            written: text.trim().to_string(),
            ..Override::new("--set", key, value)
        })
    }

    /// Parses every `--set` text.
    pub fn parse_all(texts: &[String]) -> Result<Vec<Override>, SpecError> {
        texts.iter().map(|t| Override::parse(t)).collect()
    }

    /// Whether this override set `key` or a table around it or inside it.
    fn covers(&self, key: &str) -> bool {
        key == self.key
            || key.starts_with(&format!("{}.", self.key))
            || self.key.starts_with(&format!("{key}."))
    }
}

impl fmt::Display for Override {
    /// `ORIGIN KEY=VALUE`, as it was written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.origin, self.written)
    }
}

/// Puts `value` at the path `parts` of `table`, creating tables on the way; numeric parts
/// index arrays of tables.
fn set_path(table: &mut toml::Table, parts: &[&str], value: &toml::Value) -> Result<(), ()> {
    let [first, rest @ ..] = parts else {
        return Err(());
    };
    if rest.is_empty() {
        table.insert(first.to_string(), value.clone());
        return Ok(());
    }
    let next = table
        .entry(first.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match next {
        toml::Value::Table(t) => set_path(t, rest, value),
        toml::Value::Array(items) => {
            let [index, inner @ ..] = rest else {
                return Err(());
            };
            let i: usize = index.parse().map_err(|_| ())?;
            match items.get_mut(i) {
                Some(toml::Value::Table(t)) if !inner.is_empty() => set_path(t, inner, value),
                _ => Err(()),
            }
        }
        _ => Err(()),
    }
}

/// Applies overrides to a raw spec table, in order.
pub fn apply_overrides(table: &mut toml::Table, overrides: &[Override]) -> Result<(), SpecError> {
    for o in overrides {
        let parts: Vec<&str> = o.key.split('.').map(str::trim).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(SpecError::Override(o.to_string()));
        }
        set_path(table, &parts, &o.value).map_err(|()| SpecError::Override(o.to_string()))?;
    }
    Ok(())
}

/// Parses spec text (from `file`, for messages) without checking it against a catalog.
pub fn parse_raw(text: &str, file: &str) -> Result<toml::Table, SpecError> {
    toml::from_str::<toml::Table>(text).map_err(|e| SpecError::Syntax {
        file: file.to_string(),
        message: describe_toml_error(&e, text),
    })
}

/// Names the `--set` override behind an error about a key it set: the value came from the
/// command line, not the file.
pub fn attribute_overrides(error: SpecError, overrides: &[Override]) -> SpecError {
    let relabel = |file: String, key: &str| match overrides.iter().find(|o| o.covers(key)) {
        Some(o) => format!("{o} (over {file})"),
        None => file,
    };
    match error {
        SpecError::Key { file, key, message } => SpecError::Key {
            file: relabel(file, &key),
            key,
            message,
        },
        SpecError::Plugin { file, key, error } => SpecError::Plugin {
            file: relabel(file, &key),
            key,
            error,
        },
        other => other,
    }
}

/// Reads a spec file and applies overrides.
pub fn read_raw(path: &Path, overrides: &[Override]) -> Result<toml::Table, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|cause| SpecError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut table = parse_raw(&text, &path.display().to_string())?;
    apply_overrides(&mut table, overrides)?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_values_are_typed_once() {
        let o = Override::parse("optimizer.lr=1e-3").unwrap();
        assert_eq!(o.key, "optimizer.lr");
        assert_eq!(o.value, toml::Value::Float(1e-3));
        let o = Override::parse("optimizer.plugin = adam").unwrap();
        assert_eq!(o.value, toml::Value::String("adam".into()));
        assert!(Override::parse("no-equals-sign").is_err());
        assert!(Override::parse("a..b=1").is_err());
    }

    #[test]
    fn overrides_reach_into_arrays_of_tables_and_refuse_other_paths() {
        let mut t: toml::Table =
            toml::from_str("[[probe]]\nplugin = \"p\"\n[train]\nsteps = 1").unwrap();
        let set = |k: &str, v: toml::Value| Override::new("sweep", k, v);
        apply_overrides(&mut t, &[set("probe.0.every", toml::Value::Integer(10))]).unwrap();
        assert_eq!(t["probe"][0]["every"], toml::Value::Integer(10));
        apply_overrides(&mut t, &[set("optimizer.lr", toml::Value::Float(0.5))]).unwrap();
        assert_eq!(t["optimizer"]["lr"], toml::Value::Float(0.5));
        let err = apply_overrides(&mut t, &[set("train.steps.x", toml::Value::Integer(1))])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("sweep train.steps.x=1:"), "{err}");
        assert!(apply_overrides(&mut t, &[set("probe.3.every", toml::Value::Integer(1))]).is_err());
    }
}
