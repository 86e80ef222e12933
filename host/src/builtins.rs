//! The plugin crates linked into the binary, and the catalog a command works with: those
//! built-ins plus every enabled library of the registry.

use std::path::{Path, PathBuf};

use anyhow::Context;
use assay_catalog::loader::{self, LoadError};
use assay_catalog::registry::Registry;
use assay_catalog::{Catalog, Origin};

/// Keeps the built-in plugin crates' registrations in the binary (the linker drops object files
/// nothing refers to, and with them their `inventory` entries).
pub fn link_builtins() {
    assay_arith::link();
    assay_nets::link();
    assay_optim::link();
    assay_prune::link();
    assay_tabular::link();
    assay_text::link();
    assay_scramble::link();
    assay_lang::link();
    assay_games::link();
    assay_robot::link();
}

/// The built-in components only.
pub fn builtin_catalog() -> anyhow::Result<Catalog> {
    link_builtins();
    Ok(Catalog::builtin()?)
}

/// The registry file to use, if any: `--registry`, else `$ASSAY_REGISTRY`, else
/// `./registry.toml` when it exists.
pub fn registry_path(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("ASSAY_REGISTRY").map(PathBuf::from))
        .or_else(|| {
            let p = PathBuf::from("registry.toml");
            p.exists().then_some(p)
        })
}

/// Built-ins plus every enabled library of the registry. Libraries that are missing or unusable
/// are reported and skipped; a duplicate component is an error.
pub fn load_catalog(registry: Option<&Path>) -> anyhow::Result<Catalog> {
    let mut catalog = builtin_catalog()?;
    let Some(path) = registry_path(registry) else {
        return Ok(catalog);
    };
    let registry = Registry::read(&path)?;
    for entry in registry.libraries.iter().filter(|e| e.enabled) {
        let Some(located) = registry.locate(entry) else {
            let searched: Vec<_> = registry
                .search_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            eprintln!(
                "warning: {}",
                LoadError::NotFound {
                    path: entry.path.clone(),
                    searched: searched.join(", "),
                }
            );
            continue;
        };
        let located = located.canonicalize().unwrap_or(located);
        match loader::load(&located, entry.sha256.as_deref()) {
            Ok(decl) => catalog
                .add_library(decl, Origin::Library(located.clone()))
                .with_context(|| format!("registry {}", path.display()))?,
            Err(e) => eprintln!("warning: {e}; its components are unavailable"),
        }
    }
    Ok(catalog)
}
