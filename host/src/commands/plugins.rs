//! `assay plugins`: list, describe and check components, print the SDK distribution, and build
//! a plugin crate against it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use assay_catalog::{CatalogError, Origin};
use assay_sdk::Kind;
use clap::Subcommand;

use crate::builtins::{builtin_catalog, load_catalog};
use crate::distribution::Distribution;

#[derive(Subcommand, Debug)]
pub enum PluginsCommand {
    /// Every component with kind, version and origin.
    List {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One component's summary and parameters.
    Info {
        /// Component name.
        name: String,
        /// Kind, when several kinds share the name.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Load one library and list its components; exit 1 if it cannot be used.
    Check {
        /// Path of the library (.so).
        path: PathBuf,
    },
    /// Print the SDK distribution this host runs on (what plugin crates compile against).
    Sdk,
    /// Build a plugin crate against this host's SDK, in its own directory, and check the result.
    Build {
        /// The plugin crate's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Build with cargo's release profile.
        #[arg(long)]
        release: bool,
    },
}

/// `assay plugins ...`.
pub fn run(cmd: PluginsCommand, registry: Option<&Path>) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginsCommand::List { json } => {
            let catalog = load_catalog(registry)?;
            let entries = catalog.entries();
            let mut out = std::io::stdout().lock();
            if json {
                let rows: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "name": e.component.name,
                            "kind": e.component.kind().as_str(),
                            "version": e.component.version,
                            "origin": e.origin.to_string(),
                            "library": e.library,
                            "summary": e.component.summary,
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
            } else {
                writeln!(
                    out,
                    "{:<12} {:<24} {:<9} {:<16} summary",
                    "kind", "name", "version", "library"
                )?;
                for e in entries {
                    writeln!(
                        out,
                        "{:<12} {:<24} {:<9} {:<16} {}",
                        e.component.kind().as_str(),
                        e.component.name,
                        e.component.version,
                        e.library,
                        e.component.summary
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Info { name, kind } => {
            let catalog = load_catalog(registry)?;
            let mut found = catalog.named(&name);
            if let Some(k) = &kind {
                let k =
                    Kind::parse(k).ok_or_else(|| anyhow::anyhow!("--kind {k}: unknown kind"))?;
                found.retain(|e| e.component.kind() == k);
            }
            match found.len() {
                0 => {
                    let err = Kind::ALL
                        .iter()
                        .filter_map(|k| catalog.get(*k, &name).err())
                        .find(|e| matches!(e, CatalogError::Unknown { suggestions, .. } if !suggestions.is_empty()));
                    match err {
                        Some(e) => bail!("{e}"),
                        None => bail!("no component named `{name}` (see `assay plugins list`)"),
                    }
                }
                1 => {}
                _ => bail!("several components are named `{name}`; add --kind"),
            }
            let e = found[0];
            let c = &e.component;
            println!("{} `{}` {}", c.kind(), c.name, c.version);
            if !c.summary.is_empty() {
                println!("  {}", c.summary);
            }
            println!("  from: {} ({} {})", e.origin, e.library, e.library_version);
            if c.params.is_empty() {
                println!("  parameters: none");
            } else {
                println!("  parameters:");
                for p in &c.params {
                    let default = p
                        .default
                        .as_ref()
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "required".into());
                    let mut constraint = String::new();
                    if p.min.is_some() || p.max.is_some() {
                        constraint = format!(
                            " in [{}, {}]",
                            p.min
                                .map(|v| v.to_string())
                                .unwrap_or_else(|| "-inf".into()),
                            p.max.map(|v| v.to_string()).unwrap_or_else(|| "inf".into())
                        );
                    }
                    if !p.choices.is_empty() {
                        constraint = format!(" one of {}", p.choices.join(", "));
                    }
                    println!(
                        "    {:<18} {:<14} default {:<12} {}{}",
                        p.name,
                        p.ty.to_string(),
                        default,
                        p.doc,
                        constraint
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Check { path } => check_library(&path),
        PluginsCommand::Sdk => {
            let dist = Distribution::current()?;
            println!("{}", dist.dir.display());
            eprintln!(
                "assay-sdk {} (build {}); plugin crates depend on `assay-sdk = {{ package = \"assay-sdk-link\", path = \"{}\" }}`",
                dist.version,
                dist.build,
                dist.link_crate().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Build { dir, release } => {
            let dist = Distribution::current()?;
            let library = crate::scaffold::build(&dir, &dist, release)?;
            check_library(&library)
        }
    }
}

/// Loads one library beside the built-ins and lists what it adds; exit 1 if it cannot be used.
fn check_library(path: &Path) -> anyhow::Result<ExitCode> {
    let mut catalog = builtin_catalog()?;
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let decl = match assay_catalog::loader::load(&path, None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let before: Vec<String> = catalog
        .entries()
        .iter()
        .map(|e| format!("{}/{}", e.component.kind(), e.component.name))
        .collect();
    if let Err(e) = catalog.add_library(decl, Origin::Library(path.clone())) {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{}: assay plugin `{}` {} (ABI {}), compatible with this host",
        path.display(),
        decl.library,
        decl.version,
        assay_sdk::abi::ABI_VERSION
    );
    for e in catalog.entries() {
        if !before.contains(&format!("{}/{}", e.component.kind(), e.component.name)) {
            println!(
                "  {:<12} {:<24} {}",
                e.component.kind().as_str(),
                e.component.name,
                e.component.version
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
