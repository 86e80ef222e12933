//! # assay-sdk
//!
//! The contract between the `assay` host and its plugins. A plugin library provides named,
//! versioned **components** of six kinds — [`Optimizer`], [`Model`], [`Dataset`], [`Probe`],
//! [`Environment`] and [`Pruner`] — each declaring its parameters ([`Param`]) so that the host can check a spec
//! before anything runs. Probes hand back [`Metric`]s and small [`Table`]s; models expose
//! TransformerLens-style hook points ([`Hooks`]).
//!
//! A library is one crate with one registration function and one macro call:
//!
//! (From `sdk/examples/plugin.rs`, which `cargo test` compiles and runs.)
#![doc = concat!("```ignore\n", include_str!("../examples/plugin.rs"), "```")]
//!
//! Build the crate with `crate-type = ["rlib", "dylib"]` and list the library in the host's
//! `registry.toml`, or link it into a host binary, where it registers itself through
//! `inventory`. `assay new-plugin NAME --kind KIND` scaffolds such a crate. Each kind's trait
//! has a worked example: [`Optimizer`], [`Model`], [`Dataset`], [`Probe`], [`Environment`].
//!
//! ## Compatibility
//!
//! Host and plugins share one copy of this crate and of candle: the SDK is built as a Rust
//! `dylib` that both link, so tensors, gradients and trait objects cross the boundary as they
//! are. That requires the same compiler, SDK version, candle version and features; every
//! library carries an [`abi::AbiStamp`] that the host checks before it uses anything else, and a
//! mismatch is refused with the fields that differ. See the crate's README for the reasons.
//!
//! Loading a library runs its code: only list libraries you trust in `registry.toml`.

pub mod abi;
pub mod component;
pub mod conformance;
pub mod dataset;
pub mod environment;
pub mod error;
pub mod generate;
pub mod hooks;
pub mod init;
pub mod metrics;
pub mod model;
pub mod optimizer;
pub mod params;
pub mod probe;
pub mod prune;
pub mod text;

pub use candle_core as candle;
pub use candle_nn as nn;
#[doc(hidden)]
pub use inventory;
pub use rand;

pub use component::{
    BuildContext, Component, DatasetFactory, EnvironmentFactory, Factory, Kind, ModelContext,
    ModelFactory, OptimizerFactory, ProbeFactory, PrunerFactory, Registrar,
};
pub use dataset::{Batch, DataInfo, Dataset, InputKind, Objective, Split};
pub use environment::{Action, Environment, TimeStep};
pub use error::{PluginError, Result};
pub use generate::{generate, Generated, Sampling};
pub use hooks::{names as hook_names, Hooks};
pub use metrics::{Column, Metric, Table};
pub use model::Model;
pub use optimizer::{HostOptimizer, Optimizer};
pub use params::{Param, ParamType, Params, Value};
pub use probe::{Observation, Probe, ProbeContext};
pub use prune::{Mask, PruneContext, Pruner};
pub use text::{KvCache, LocalTextModel, TextModel, Tokenizer};

/// Everything a plugin usually needs, in one import.
pub mod prelude {
    pub use crate::candle::backprop::GradStore;
    pub use crate::candle::{DType, Device, Module, Tensor, Var, D};
    pub use crate::{
        hook_names, init, Action, Batch, BuildContext, Column, Component, DataInfo, Dataset,
        Environment, Factory, Hooks, HostOptimizer, InputKind, Kind, Mask, Metric, Model,
        ModelContext, Objective, Observation, Optimizer, Param, ParamType, Params, PluginError,
        Probe, ProbeContext, PruneContext, Pruner, Registrar, Result, Split, Table, TimeStep,
        Tokenizer, Value,
    };
}
