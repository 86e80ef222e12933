//! `--set KEY.PATH=VALUE` overrides, reading spec files, and naming the override behind an error.

use std::path::Path;

use super::{describe_toml_error, SpecError};

/// Parses `--set` values: TOML syntax (`1e-3`, `true`, `[1, 2]`, `"text"`), or a bare string.
fn parse_override_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

/// Applies `KEY.PATH=VALUE` overrides to a raw spec table. Numeric path parts index arrays of
/// tables (`probe.0.every=10`).
pub fn apply_overrides(table: &mut toml::Table, overrides: &[String]) -> Result<(), SpecError> {
    for o in overrides {
        let (path, raw) = o
            .split_once('=')
            .ok_or_else(|| SpecError::Override(o.clone()))?;
        let parts: Vec<&str> = path.trim().split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(SpecError::Override(o.clone()));
        }
        let value = parse_override_value(raw.trim());
        let mut cur = &mut *table;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            if last {
                cur.insert(part.to_string(), value.clone());
                break;
            }
            let next = cur
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            cur = match next {
                toml::Value::Table(t) => t,
                toml::Value::Array(items) => {
                    let idx: usize = parts
                        .get(i + 1)
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| SpecError::Override(o.clone()))?;
                    // skip the index part
                    let item = items
                        .get_mut(idx)
                        .ok_or_else(|| SpecError::Override(o.clone()))?;
                    match item {
                        toml::Value::Table(t) if i + 2 < parts.len() => {
                            return apply_overrides(
                                t,
                                &[format!("{}={raw}", parts[i + 2..].join("."))],
                            );
                        }
                        _ => return Err(SpecError::Override(o.clone())),
                    }
                }
                _ => return Err(SpecError::Override(o.clone())),
            };
        }
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
pub fn attribute_overrides(error: SpecError, overrides: &[String]) -> SpecError {
    let culprit = |key: &str| {
        overrides.iter().find(|o| {
            let path = o.split_once('=').map_or(o.as_str(), |(p, _)| p).trim();
            key == path
                || key.starts_with(&format!("{path}."))
                || path.starts_with(&format!("{key}."))
        })
    };
    let relabel = |file: String, key: &str| match culprit(key) {
        Some(o) => format!("--set {o} (over {file})"),
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
pub fn read_raw(path: &Path, overrides: &[String]) -> Result<toml::Table, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|cause| SpecError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut table = parse_raw(&text, &path.display().to_string())?;
    apply_overrides(&mut table, overrides)?;
    Ok(table)
}
