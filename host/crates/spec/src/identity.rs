//! What identifies a resolved spec: its components, its canonical text and the run id hashed
//! from it, and the `spec.toml` written into the run directory.

use std::collections::BTreeMap;

use assay_sdk::Kind;
use sha2::{Digest, Sha256};

use crate::component::ComponentSpec;
use crate::{Spec, SpecError};

/// Checks that a run id is a plain name (letters, digits, `-`, `_`, `.`, not starting with a
/// dot), so that it cannot point outside a store.
pub fn check_run_id(id: &str) -> Result<(), String> {
    let plain = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if plain {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a run id (letters, digits, `-`, `_` and `.`, not starting with `.`)"
        ))
    }
}

impl Spec {
    /// `(kind, name, version)` of every component, in spec order.
    pub fn components(&self) -> Vec<(Kind, &ComponentSpec)> {
        let mut out: Vec<(Kind, &ComponentSpec)> = Vec::new();
        if let Some(e) = &self.problem {
            out.push((Kind::Problem, e));
        }
        if let Some(d) = &self.dataset {
            out.push((Kind::Dataset, d));
        }
        if let Some(m) = &self.model {
            out.push((Kind::Model, m));
        }
        if let Some(o) = &self.optimizer {
            out.push((Kind::Optimizer, o));
        }
        out.extend(self.probes.iter().map(|p| (Kind::Probe, &p.component)));
        if let Some(e) = &self.environment {
            out.push((Kind::Environment, e));
        }
        out.extend(self.agents.iter().map(|a| (Kind::Agent, &a.component)));
        if let Some(s) = &self.solver {
            out.push((Kind::Solver, s));
        }
        if let Some(p) = &self.prune {
            out.push((Kind::Pruner, &p.pruner));
        }
        out
    }

    /// The canonical text that is hashed: the resolved spec as JSON with sorted keys and floats in
    /// shortest round-trip form, followed by every component's kind, name and version.
    pub fn canonical_text(&self) -> Result<String, String> {
        let json = serde_json::to_string(&self.resolved).map_err(|e| e.to_string())?;
        let versions: Vec<String> = self
            .components()
            .iter()
            .map(|(k, c)| format!("{k}:{}@{}", c.plugin(), c.version()))
            .collect();
        Ok(format!("{json}\n{}", versions.join("\n")))
    }

    /// `NAME-HASH`: the name (made path-safe) and 12 hex digits of the canonical text's SHA-256,
    /// as computed when the spec was resolved.
    pub fn run_id(&self) -> String {
        self.id.clone()
    }

    /// Writes the canonical text and run id of a freshly resolved spec; a spec that cannot be
    /// canonicalised is an error, never an empty text hashed.
    pub(crate) fn identify(mut self, file: &str) -> Result<Spec, SpecError> {
        let fail = |message: String| SpecError::Syntax {
            file: file.to_string(),
            message: format!(" cannot canonicalise the resolved spec: {message}"),
        };
        self.text = toml::to_string(&self.resolved).map_err(|e| fail(e.to_string()))?;
        self.id = self.compute_run_id().map_err(fail)?;
        Ok(self)
    }

    fn compute_run_id(&self) -> Result<String, String> {
        let hash = Sha256::digest(self.canonical_text()?.as_bytes());
        let hex: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let safe: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(48)
            .collect();
        Ok(format!("{safe}-{hex}"))
    }

    /// Every run this one depends on, transitively, each listed after the runs it depends on
    /// and once.
    pub fn dependency_chain(&self) -> Vec<&Spec> {
        fn walk<'a>(s: &'a Spec, out: &mut Vec<&'a Spec>, seen: &mut Vec<String>) {
            for d in &s.dependencies {
                walk(d, out, seen);
                let id = d.run_id();
                if !seen.contains(&id) {
                    seen.push(id);
                    out.push(d);
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out, &mut Vec::new());
        out
    }

    /// The resolved spec as TOML text: what `spec.toml` holds.
    pub fn to_toml(&self) -> String {
        self.text.clone()
    }

    /// Every resolved value flattened to `path -> value` (`optimizer.lr`, `probe.0.every`), for
    /// the `runs` table.
    pub fn flatten(table: &toml::Table) -> BTreeMap<String, toml::Value> {
        fn walk(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, toml::Value>) {
            match v {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        let p = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&p, v, out);
                    }
                }
                toml::Value::Array(items)
                    if items.iter().all(|i| i.is_table()) && !items.is_empty() =>
                {
                    for (i, v) in items.iter().enumerate() {
                        walk(&format!("{prefix}.{i}"), v, out);
                    }
                }
                other => {
                    out.insert(prefix.to_string(), other.clone());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk("", &toml::Value::Table(table.clone()), &mut out);
        out
    }
}
