//! What is wrong with a spec: every message names the file and, where there is one, the key.

use std::path::PathBuf;

/// A spec that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file cannot be read.
    #[error("cannot read spec {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a source: it would be printed twice in a cause chain).
        cause: std::io::Error,
    },
    /// TOML syntax.
    #[error("{file}:{message}")]
    Syntax {
        /// The file.
        file: String,
        /// `line:column: message`.
        message: String,
    },
    /// A value that does not fit.
    #[error("{file}: {key}: {message}")]
    Key {
        /// The file.
        file: String,
        /// Dotted key path, e.g. `optimizer.lr`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An unknown plugin.
    #[error("{file}: {key}: {error}")]
    Plugin {
        /// The file.
        file: String,
        /// The table, e.g. `optimizer.plugin`.
        key: String,
        /// The catalog's answer, with close names.
        error: Box<assay_catalog::CatalogError>,
    },
    /// An override that cannot be applied: `--set` text without `=`, or a key path through a
    /// value that is not a table or an array of tables.
    #[error("{0}: expected KEY.PATH=VALUE, where each part of KEY.PATH names a table or an index into an array of tables")]
    Override(String),
}
