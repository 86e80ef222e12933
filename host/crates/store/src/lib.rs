//! # assay-store
//!
//! Owns the run store and everything in it: the run-directory format (its file names in
//! [`layout`], nowhere else), written atomically and locked; what is recorded while a run trains;
//! and every table, plot and report read back from it. The only crate of the host that depends
//! on Polars and plotters.
//!
//! - [`store`]: the store and its run directories (`run.json`, heartbeats, listing, removal,
//!   garbage collection); [`lock`] and [`identity`]: who computes a run, and whether it lives.
//! - [`record`]: metrics and probe tables as a run logs them, flushed to Parquet.
//! - [`checkpoints`]: the checkpoint another run names, and its weights.
//! - [`manifest`]: a sweep's runs frozen in the store before any starts.
//! - [`tables`] (Polars SQL across runs, read through the [`index`] of finished runs' metrics, join conditions made safe by [`sql`]), [`export`] (text, CSV, JSON, Markdown, LaTeX,
//!   Parquet), [`plot`] and [`report`].

pub mod checkpoints;
pub mod damage;
pub mod export;
pub mod identity;
pub mod index;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod plot;
pub mod record;
pub mod report;
pub mod results;
pub mod sql;
pub mod store;
pub mod sweep_state;
pub mod tables;

pub use store::{ComponentRecord, RunRecord, Status, Store, StoreError};
