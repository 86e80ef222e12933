//! `registry.toml`: which plugin libraries the host loads.
//!
//! ```toml
//! # Directories searched, in order, for libraries given by a relative path (relative to this
//! # file's directory, like every relative path here). The registry's own directory comes first.
//! search_paths = ["target/release", "target/debug"]
//!
//! [[library]]
//! path = "libassay_example.so"
//! sha256 = "9f2c…"          # optional: the library is not loaded unless its bytes match
//! enabled = true            # optional, default true
//! ```
//!
//! Loading a library runs its code (its constructors run inside `dlopen`, before any check), so
//! this file is the trust boundary: list only libraries you built or trust, and pin `sha256` for
//! libraries on shared storage.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A parsed registry file.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// The file it was read from.
    pub file: Option<PathBuf>,
    /// Directories searched for relative library paths, already made absolute.
    pub search_paths: Vec<PathBuf>,
    /// Library entries in file order.
    pub libraries: Vec<LibraryEntry>,
}

/// One `[[library]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryEntry {
    /// Path as written.
    pub path: PathBuf,
    /// Expected SHA-256 of the file, hex.
    pub sha256: Option<String>,
    /// Whether to load it.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    #[serde(default)]
    search_paths: Vec<PathBuf>,
    #[serde(default)]
    library: Vec<LibraryEntry>,
}

/// A registry file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file cannot be read.
    #[error("cannot read registry {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid registry.
    #[error("registry {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with line and column.
        message: String,
    },
}

impl Registry {
    /// Reads and checks a registry file.
    pub fn read(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses registry text read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, RegistryError> {
        let raw: RawRegistry = toml::from_str(text).map_err(|e| RegistryError::Parse {
            path: path.to_path_buf(),
            message: crate::describe_toml_error(&e, text),
        })?;
        for lib in &raw.library {
            if let Some(sum) = &lib.sha256 {
                if sum.len() != 64 || !sum.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(RegistryError::Parse {
                        path: path.to_path_buf(),
                        message: format!(
                            "library {}: sha256 must be 64 hex digits, found `{sum}`",
                            lib.path.display()
                        ),
                    });
                }
            }
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut search_paths = vec![base.clone()];
        search_paths.extend(raw.search_paths.iter().map(|p| base.join(p)));
        Ok(Registry {
            file: Some(path.to_path_buf()),
            search_paths,
            libraries: raw.library,
        })
    }

    /// Where an entry's library is: the path itself if absolute, else the first search path
    /// holding it. `None` if it is nowhere.
    pub fn locate(&self, entry: &LibraryEntry) -> Option<PathBuf> {
        if entry.path.is_absolute() {
            return entry.path.exists().then(|| entry.path.clone());
        }
        self.search_paths
            .iter()
            .map(|dir| dir.join(&entry.path))
            .find(|p| p.exists())
    }
}
