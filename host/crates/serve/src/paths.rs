//! Files the server reads, named by ids from the request and kept inside the store: an id must
//! pass the store's id check (no `/`, no `..`, no leading dot; axum has already decoded `%2F`,
//! so an encoded slash fails it too), and the resolved path, symlinks followed, must lie under
//! the canonical store root.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;

use crate::App;

/// An error with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// What went wrong, for the page.
    pub message: String,
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 with `message`.
    pub fn missing(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 403 with `message`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }
}

/// `path` resolved (symlinks followed), or 404; 403 when it leaves the store.
pub fn inside(app: &App, path: &Path, what: &str) -> Result<PathBuf, ApiError> {
    let real = path
        .canonicalize()
        .map_err(|_| ApiError::missing(format!("no {what}")))?;
    if !real.starts_with(&app.root) {
        return Err(ApiError::forbidden(format!(
            "{what} resolves outside the store; refused"
        )));
    }
    Ok(real)
}

/// The directory of run `id`.
pub fn run_dir(app: &App, id: &str) -> Result<PathBuf, ApiError> {
    let dir = app
        .store
        .run_dir(id)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    inside(app, &dir, &format!("run {id}"))
}

/// The Parquet file of table `name` of run `id`.
pub fn table_file(app: &App, id: &str, name: &str) -> Result<PathBuf, ApiError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok || name.contains("..") {
        return Err(ApiError::bad(format!("`{name}` is not a table name")));
    }
    let dir = run_dir(app, id)?;
    let file = dir
        .join(assay_store::layout::TABLES)
        .join(format!("{name}.parquet"));
    inside(app, &file, &format!("table {name} of run {id}"))
}

/// The manifest of sweep `id`.
pub fn sweep_file(app: &App, id: &str) -> Result<PathBuf, ApiError> {
    let path = assay_store::manifest::Manifest::path(&app.store, id)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    inside(app, &path, &format!("sweep {id}"))
}
