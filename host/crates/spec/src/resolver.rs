//! The resolver's tools: errors that name the file and key, parameters checked against a
//! component's declaration, components looked up in the catalog, choices, and references to
//! other runs.

use std::path::Path;

use assay_catalog::Catalog;
use assay_sdk::params::{Choice, ParamIssue};
use assay_sdk::{Kind, Param, Params, Value};

use crate::component::ComponentSpec;
use crate::overrides::{apply_overrides, read_raw, Override};
use crate::reference::Checkpoint;
use crate::{Spec, SpecError};

/// How deep `from = "FILE"` references may nest (a cycle stops here).
const MAX_REFERENCE_DEPTH: usize = 8;

fn to_value(v: &toml::Value) -> Option<Value> {
    Some(match v {
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(x) => Value::Float(*x),
        toml::Value::String(s) => Value::Str(s.clone()),
        toml::Value::Array(items) => {
            Value::List(items.iter().map(to_value).collect::<Option<_>>()?)
        }
        toml::Value::Datetime(_) | toml::Value::Table(_) => return None,
    })
}

fn to_toml(v: &Value) -> toml::Value {
    match v {
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Int(i) => toml::Value::Integer(*i),
        Value::Float(x) => toml::Value::Float(*x),
        Value::Str(s) => toml::Value::String(s.clone()),
        Value::List(items) => toml::Value::Array(items.iter().map(to_toml).collect()),
    }
}

/// Resolves one spec file: its name for messages, the catalog it is checked against, and how
/// deep in a chain of `from = "FILE"` references it is.
pub(crate) struct Resolver<'a> {
    pub file: &'a str,
    pub catalog: &'a Catalog,
    pub depth: usize,
    /// Resolves a spec file that `[init]` or `[prune]` names, one level deeper (the resolver of
    /// the sections, handed in so that this module does not depend on it).
    pub resolve_file: ResolveFile,
}

/// Resolves a raw spec from a file, at a depth of references.
pub(crate) type ResolveFile = fn(&toml::Table, &str, &Catalog, usize) -> Result<Spec, SpecError>;

impl Resolver<'_> {
    pub fn key_error(&self, key: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError::Key {
            file: self.file.to_string(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Checks `given` (a table without `plugin` and the `skip` keys the host reads itself)
    /// against `decl` with the SDK's resolver, returning the params and their canonical table.
    pub fn params(
        &self,
        table: &str,
        owner: &str,
        decl: &[Param],
        given: &toml::Table,
        skip: &[&str],
    ) -> Result<(Params, toml::Table), SpecError> {
        let mut values: Vec<(&str, Value)> = Vec::new();
        for (key, v) in given {
            if skip.contains(&key.as_str()) {
                continue;
            }
            let declared = decl.iter().find(|p| &p.name == key);
            match (to_value(v), declared) {
                (Some(value), _) => values.push((key.as_str(), value)),
                (None, Some(p)) => {
                    return Err(self.key_error(
                        format!("{table}.{key}"),
                        format!("expected {}, found a table or date", p.ty),
                    ))
                }
                // An unknown key: the resolver names it, whatever its value.
                (None, None) => values.push((key.as_str(), Value::Bool(false))),
            }
        }
        let params = assay_sdk::params::resolve(decl, &values).map_err(|issue| {
            let key = format!("{table}.{}", issue.key());
            match issue {
                ParamIssue::Unknown { key: given, known } => self.key_error(
                    key,
                    format!(
                        "unknown parameter of {owner}{}",
                        ParamIssue::unknown_hint(&given, &known)
                    ),
                ),
                ParamIssue::Invalid { message, .. } => self.key_error(key, message),
                ParamIssue::Missing { ty, doc, .. } => {
                    self.key_error(key, format!("required by {owner} ({ty}: {doc})"))
                }
            }
        })?;
        let canon = decl
            .iter()
            .filter_map(|p| Some((p.name.clone(), to_toml(params.get(&p.name)?))))
            .collect();
        Ok((params, canon))
    }

    pub fn component(
        &self,
        kind: Kind,
        table: &str,
        raw: Option<&toml::Value>,
        skip: &[&str],
    ) -> Result<(ComponentSpec, toml::Table), SpecError> {
        let t = match raw {
            Some(toml::Value::Table(t)) => t,
            Some(_) => return Err(self.key_error(table, "must be a table")),
            None => {
                return Err(self.key_error(
                    table,
                    format!("missing [{table}] table with `plugin = \"NAME\"`"),
                ))
            }
        };
        let plugin = match t.get("plugin") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(self.key_error(
                    format!("{table}.plugin"),
                    format!("expected a string, found `{other}`"),
                ))
            }
            None => {
                return Err(self.key_error(
                    format!("{table}.plugin"),
                    format!("missing: name the {kind} to use"),
                ))
            }
        };
        // `plugin = "hf:ORG/NAME[@REV]"` is the `hf` model with `repo` and `revision`.
        let mut t = t.clone();
        let mut plugin = plugin;
        if kind == Kind::Model {
            if let Some(rest) = plugin.strip_prefix("hf:") {
                let (repo, rev) = rest.split_once('@').unwrap_or((rest, "main"));
                t.insert("repo".into(), toml::Value::String(repo.to_string()));
                t.entry("revision")
                    .or_insert_with(|| toml::Value::String(rev.to_string()));
                plugin = "hf".to_string();
            }
        }
        let t = &t;
        let entry = self
            .catalog
            .get(kind, &plugin)
            .map_err(|error| SpecError::Plugin {
                file: self.file.to_string(),
                key: format!("{table}.plugin"),
                error: Box::new(error),
            })?;
        let mut skip_all = vec!["plugin"];
        skip_all.extend_from_slice(skip);
        let owner = format!("{kind} `{plugin}`");
        let (params, mut canon) =
            self.params(table, &owner, &entry.component.params, t, &skip_all)?;
        canon.insert("plugin".into(), toml::Value::String(plugin.clone()));
        Ok((
            ComponentSpec {
                params,
                entry: entry.clone(),
            },
            canon,
        ))
    }

    /// A choice-typed value (`"f64"`, `"norm_l1"`): an error names the closest valid spelling.
    pub fn choice<C: Choice>(&self, key: &str, value: &toml::Value) -> Result<C, SpecError> {
        let names: Vec<String> = C::CHOICES.iter().map(|c| c.to_string()).collect();
        match value {
            toml::Value::String(s) => C::from_choice(s)
                .ok_or_else(|| self.key_error(key, assay_sdk::params::not_a_choice(s, &names))),
            other => Err(self.key_error(
                key,
                format!("expected one of {}, found `{other}`", names.join(", ")),
            )),
        }
    }

    /// `from` (and `set`) of `[init]` or `[prune]`: a run id, or a spec file resolved with
    /// `seed` and the overrides, which becomes a dependency.
    pub fn source(
        &self,
        table: &str,
        t: &toml::Table,
        seed: u64,
    ) -> Result<(String, Option<Spec>), SpecError> {
        let from = match t.get("from") {
            Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                return Err(self.key_error(
                    format!("{table}.from"),
                    format!("expected \"run:ID\" or a spec file name, found `{other}`"),
                ))
            }
            None => {
                return Err(self.key_error(
                    format!("{table}.from"),
                    "missing: name the run, as \"run:ID\" or by its spec file",
                ))
            }
        };
        let set = match t.get("set") {
            None => toml::Table::new(),
            Some(toml::Value::Table(s)) => s.clone(),
            Some(_) => {
                return Err(self.key_error(
                    format!("{table}.set"),
                    "expected a table of overrides, e.g. { \"train.steps\" = 2000 }",
                ))
            }
        };
        if let Some(id) = from.strip_prefix("run:") {
            if !set.is_empty() {
                return Err(self.key_error(
                    format!("{table}.set"),
                    "overrides apply to a spec file, not to a run id",
                ));
            }
            crate::identity::check_run_id(id)
                .map_err(|m| self.key_error(format!("{table}.from"), m))?;
            return Ok((id.to_string(), None));
        }
        if self.depth >= MAX_REFERENCE_DEPTH {
            return Err(self.key_error(
                format!("{table}.from"),
                format!(
                    "runs refer to runs more than {MAX_REFERENCE_DEPTH} deep; is there a cycle?"
                ),
            ));
        }
        let base = Path::new(self.file).parent().unwrap_or(Path::new("."));
        let path = base.join(&from);
        let mut raw = read_raw(&path, &[])
            .map_err(|e| self.key_error(format!("{table}.from"), e.to_string()))?;
        if raw.contains_key("sweep") {
            return Err(self.key_error(
                format!("{table}.from"),
                format!("{} is a sweep; name a plain spec", path.display()),
            ));
        }
        raw.insert("seed".into(), toml::Value::Integer(seed as i64));
        let overrides: Vec<Override> = set
            .iter()
            .map(|(k, v)| Override::new(format!("{table}.set"), k, v.clone()))
            .collect();
        apply_overrides(&mut raw, &overrides)
            .map_err(|e| self.key_error(format!("{table}.set"), e.to_string()))?;
        let dep = (self.resolve_file)(
            &raw,
            &path.display().to_string(),
            self.catalog,
            self.depth + 1,
        )?;
        Ok((dep.run_id(), Some(dep)))
    }

    pub fn checkpoint(
        &self,
        table: &str,
        t: &toml::Table,
        default: Checkpoint,
    ) -> Result<Checkpoint, SpecError> {
        match t.get("checkpoint") {
            None => Ok(default),
            Some(v) => {
                Checkpoint::parse(v).map_err(|m| self.key_error(format!("{table}.checkpoint"), m))
            }
        }
    }
}
