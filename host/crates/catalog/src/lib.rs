//! # assay-catalog
//!
//! Owns the components an assay host can build and the boundary to the code that provides them:
//!
//! - [`catalog`]: every component by kind and name, with where it came from; typed builders
//!   that wrap each built component in a guard.
//! - [`loader`]: opening a plugin library (`.so`), checking its ABI stamp and SDK build, and
//!   explaining a refusal.
//! - [`registry`]: `registry.toml`, the list of libraries a host loads.
//! - [`guard`]: plugin calls behind `catch_unwind`, so a panicking plugin fails its run with a
//!   message naming it instead of taking the host down.
//!
//! Built-in plugin crates are not linked from here: the binary links them and then calls
//! [`Catalog::builtin`], which reads what they registered.

pub mod catalog;
pub mod guard;
pub mod loader;
pub mod registry;
mod toml_error;

pub use catalog::{optimizer_parameters, Catalog, CatalogError, Entry, Origin};
pub use toml_error::describe_toml_error;
