//! The manifest: a sweep's resolved runs, frozen in the store before any of them starts.
//!
//! `STORE/sweeps/<sweep-id>.json` lists, for every point, its index, run id, overrides and the
//! resolved spec text. Local workers and Slurm array tasks run entries by index from this file,
//! so editing the spec after submitting changes nothing (Hydra's lazy-composition trap).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use assay_catalog::Catalog;
use assay_spec::{Override, Spec};

use crate::identity::{host_name, now_rfc3339, user_name};
use crate::store::{write_atomic, Store};

/// One run of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Position in the sweep (Slurm's array task id).
    pub index: usize,
    /// The run id.
    pub run_id: String,
    /// `key.path = value` overrides of this point, as TOML text.
    pub overrides: Vec<(String, String)>,
    /// The resolved spec.
    pub spec: String,
    /// Resolved specs of the runs this one starts from (`[init]`/`[prune]` naming spec files),
    /// each after its own: computed first when they are not finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
}

/// A frozen sweep.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// `NAME-HASH` of the run ids.
    pub id: String,
    /// The spec's name.
    pub name: String,
    /// The spec file it came from.
    pub spec_file: String,
    /// The registry the runs load plugins from, if any.
    pub registry: Option<String>,
    /// Keys the sweep varies, in order (`seed` included when seeds are swept).
    pub swept: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// user@host.
    pub created_by: String,
    /// Slurm job id once submitted.
    #[serde(default)]
    pub slurm_job: Option<String>,
    /// The runs; entries with the same run id are listed once.
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// Expands and resolves the sweep in `raw` (a spec with a `[sweep]` table).
    pub fn plan(
        raw: &toml::Table,
        file: &str,
        catalog: &Catalog,
        registry: Option<&Path>,
    ) -> anyhow::Result<Manifest> {
        let mut base = raw.clone();
        let sweep = match base.remove("sweep") {
            Some(toml::Value::Table(t)) => t,
            Some(_) => bail!("{file}: sweep: expected a table"),
            None => bail!("{file}: no [sweep] table; run a single spec with `assay run`"),
        };
        let seed = base
            .get("seed")
            .and_then(|v| v.as_integer())
            .unwrap_or(0)
            .max(0) as u64;
        let points = assay_spec::sweep::expand(&sweep, file, seed)?;
        let mut swept: Vec<String> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, point) in points.iter().enumerate() {
            let mut t = base.clone();
            let overrides: Vec<Override> = point
                .iter()
                .map(|(k, v)| Override::new(format!("sweep point {i}"), k, v.clone()))
                .collect();
            assay_spec::apply_overrides(&mut t, &overrides)?;
            let spec: Spec = assay_spec::resolve(&t, file, catalog).with_context(|| {
                let set: Vec<String> = point.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("sweep point {i} ({})", set.join(", "))
            })?;
            for (k, v) in point {
                // A whole table swept at once (`"optimizer" = [{ plugin = "adam" }, ...]`) varies
                // the keys inside it.
                let keys: Vec<String> = match v {
                    toml::Value::Table(t) => Spec::flatten(t)
                        .into_keys()
                        .map(|sub| format!("{k}.{sub}"))
                        .collect(),
                    _ => vec![k.clone()],
                };
                for key in keys {
                    if !swept.contains(&key) {
                        swept.push(key);
                    }
                }
            }
            let id = spec.run_id();
            if seen.insert(id.clone()) {
                entries.push(Entry {
                    index: entries.len(),
                    run_id: id,
                    overrides: point
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect(),
                    spec: spec.to_toml(),
                    dependencies: spec
                        .dependency_chain()
                        .iter()
                        .map(|d| d.to_toml())
                        .collect(),
                });
            }
        }
        let name = raw
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                Path::new(file)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("sweep")
                    .to_string()
            });
        let mut h = Sha256::new();
        for e in &entries {
            h.update(e.run_id.as_bytes());
            h.update(b"\n");
        }
        let hex: String = h
            .finalize()
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Ok(Manifest {
            id: format!("{safe}-{hex}"),
            name,
            spec_file: file.to_string(),
            registry: registry.map(|p| p.display().to_string()),
            swept,
            created_at: now_rfc3339(),
            created_by: format!("{}@{}", user_name(), host_name()),
            slurm_job: None,
            entries,
        })
    }

    /// `STORE/sweeps/<id>.json`.
    pub fn path(store: &Store, id: &str) -> anyhow::Result<PathBuf> {
        Store::check_id(id)?;
        Ok(store
            .root()
            .join(crate::layout::SWEEPS)
            .join(format!("{id}.json")))
    }

    /// Directory for the sweep's logs and batch script.
    pub fn work_dir(&self, store: &Store) -> PathBuf {
        store.root().join(crate::layout::SWEEPS).join(&self.id)
    }

    /// Writes the manifest atomically. An existing manifest of the same sweep is kept as it is
    /// (its creation time and job id stay).
    pub fn freeze(&self, store: &Store) -> anyhow::Result<PathBuf> {
        let path = Self::path(store, &self.id)?;
        std::fs::create_dir_all(self.work_dir(store).join("logs"))?;
        if path.exists() {
            return Ok(path);
        }
        self.write(&path)?;
        Ok(path)
    }

    /// Overwrites the manifest at `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())?;
        Ok(())
    }

    /// Reads a manifest given as a path or as a sweep id in `store`.
    pub fn load(arg: &str, store: &Store) -> anyhow::Result<(PathBuf, Manifest)> {
        let direct = PathBuf::from(arg);
        let path = if direct.exists() {
            direct
        } else {
            Self::path(store, arg)?
        };
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no sweep manifest at {} (give its path or its id in {})",
                path.display(),
                store.root().display()
            )
        })?;
        let m = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a sweep manifest", path.display()))?;
        Ok((path, m))
    }
}
