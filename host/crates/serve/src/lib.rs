//! # assay-serve
//!
//! `assay serve`: a web page and a JSON API over a run store, served by the `assay` binary with
//! no database and nothing to install. The server only reads the store (it never writes, locks
//! or deletes anything), answers from the same Polars scans as `assay query`, and draws charts
//! with the same code as `assay plot` (SVG). The page is three static files compiled into the
//! binary ([`assets`]); it polls the API, so running runs update while they train.
//!
//! Security model: it binds to loopback by default; binding any other address needs a token
//! ([`auth`]), which every request must carry (header, cookie or `?token=`), or it gets 401;
//! every file it reads is named by a checked run or sweep id and resolved inside the store
//! ([`paths`]), so `..`, encoded slashes and symlinks out of the store are refused.
//!
//! API (all `GET`, JSON unless noted):
//! - `/api/runs?where=SQL&sort=COL&desc=1&offset=N&limit=N&group_by=KEY`: a page of the `runs`
//!   table with each run's final metrics as `final:NAME` fields, and `total`; with `group_by`,
//!   ordered by `KEY` first, and `groups`: every group of the filtered table with its number of
//!   runs and its final metrics' mean, std and count.
//! - `/api/runs/ID`: the run's record, resolved spec, components, checkpoints, tables, damage, log and
//!   the command that reproduces it.
//! - `/api/runs/ID/metrics`: its metrics, long format (`step`, `name`, `value`).
//! - `/api/runs/ID/tables/NAME`: one of its probe tables.
//! - `/api/query?sql=SQL&format=json|csv|parquet`: `assay query` (CSV and Parquet as downloads).
//! - `/api/plot.svg?metric=M&where=SQL&group_by=KEY&logx=1&logy=1`: `assay plot` as SVG.
//! - `/api/sweeps`, `/api/sweeps/ID`: manifests and the state of each entry;
//!   `/api/sweeps/ID/report`: `assay report`'s table (final metrics grouped by the swept keys).

pub mod api;
pub mod assets;
pub mod auth;
pub mod paths;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use axum::Router;

use assay_store::Store;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The store.
    pub store: PathBuf,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The token requests must carry (required for a non-loopback address).
    pub token: Option<String>,
}

/// What every handler shares.
pub struct App {
    /// The store, read only.
    pub store: Store,
    /// The canonical store root, for containment checks.
    pub root: PathBuf,
    /// The token, if any.
    pub token: Option<String>,
}

/// The router of the page and the API over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/style.css", get(assets::style))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/runs/{id}/metrics", get(api::metrics))
        .route("/api/runs/{id}/tables/{name}", get(api::table))
        .route("/api/query", get(api::query))
        .route("/api/plot.svg", get(api::plot))
        .route("/api/sweeps", get(api::sweeps))
        .route("/api/sweeps/{id}", get(api::sweep))
        .route("/api/sweeps/{id}/report", get(api::sweep_report))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::check,
        ))
        .with_state(app)
}

/// Serves until the process is stopped. Prints `listening on http://ADDR` (the bound address,
/// so `--addr 127.0.0.1:0` picks a free port) once it accepts connections.
pub fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    auth::check_bind(&opts.addr, opts.token.as_deref())?;
    let root = opts
        .store
        .canonicalize()
        .with_context(|| format!("store {}", opts.store.display()))?;
    let app = Arc::new(App {
        store: Store::at(&root).read_only(),
        root,
        token: opts.token,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()
        .context("starting the server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.addr)
            .await
            .with_context(|| format!("binding {}", opts.addr))?;
        let bound = listener.local_addr()?;
        println!("listening on http://{bound}");
        axum::serve(listener, router(app))
            .await
            .context("serving")?;
        Ok(())
    })
}
