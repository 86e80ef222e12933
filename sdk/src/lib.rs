//! # assay-sdk
//!
//! The contract between the `assay` host and its plugins. A plugin library provides named,
//! versioned **components** of nine kinds — [`Optimizer`], [`Model`], [`Dataset`], [`Probe`],
//! [`Environment`], [`Pruner`], [`OnlineProblem`], [`Agent`] and [`Solver`] — each declaring its
//! parameters ([`Param`]) so that the host can check a spec before anything runs. Probes hand back [`Metric`]s and small [`Table`]s; models expose
//! TransformerLens-style hook points ([`Hooks`]).
//!
//! A library is one crate with one registration function and one macro call:
//!
//! (From `sdk/examples/plugin.rs`, which `cargo test` compiles and runs.)
#![doc = concat!("```ignore\n", include_str!("../examples/plugin.rs"), "```")]
//!
//! Build the crate with `crate-type = ["rlib", "cdylib"]` and list the library in the host's
//! `registry.toml`, or link it into a host binary, where it registers itself through
//! `inventory`. `assay new-plugin NAME --kind KIND` scaffolds such a crate anywhere, and
//! `assay plugins build DIR` builds it against the running host's SDK. Each kind's trait has a
//! worked example: [`Optimizer`], [`Model`], [`Dataset`], [`Probe`], [`Environment`],
//! [`Pruner`], [`OnlineProblem`], [`Agent`], [`Solver`].
//!
//! ## Depending on the SDK
//!
//! Crates depend on `assay-sdk-link` under the name `assay_sdk`
//! (`assay-sdk = { package = "assay-sdk-link", path = "DIST/link" }`, where DIST is the SDK
//! distribution that `assay plugins sdk` prints) and build with `-C prefer-dynamic`.
//!
//! ## Compatibility
//!
//! Host and plugins share one copy of this crate and of candle: the SDK is a Rust `dylib`,
//! built once in its own workspace and frozen into a distribution that both link, so tensors,
//! gradients and trait objects cross the boundary as they are. Every library carries an
//! [`abi::AbiStamp`] (compiler, SDK version and build, candle version, features, panic
//! strategy) that the host checks before it uses anything else; a mismatch is refused with the
//! fields that differ and the command that rebuilds the library. See the crate's README for the
//! reasons.
//!
//! Loading a library runs its code: only list libraries you trust in `registry.toml`.

// The derive macros name the SDK as `::assay_sdk`, in dependents and here alike.
extern crate self as assay_sdk;

pub mod abi;
pub mod agent;
pub mod backend;
pub mod component;
pub mod conformance;
pub mod dataset;
pub mod environment;
pub mod error;
pub mod generate;
pub mod hooks;
pub mod init;
pub mod interp;
pub mod metrics;
pub mod model;
pub mod online;
pub mod ops;
pub mod optimizer;
pub mod params;
pub mod probe;
pub mod prune;
pub mod solver;
pub mod splitmix;
pub mod text;

pub use candle_core as candle;
pub use candle_nn as nn;
#[doc(hidden)]
pub use inventory;
pub use rand;
/// candle's thread pool: use this `rayon` so that plugin code shares the pool with candle's.
pub use rayon;
/// The `safetensors` crate that candle's `Tensor` implements `View` for: serialise tensors with
/// `assay_sdk::safetensors::serialize`.
pub use safetensors;

pub use agent::{Agent, EpisodeStart, Exchange};
pub use component::{
    AgentContext, AgentFactory, BuildContext, Component, DatasetFactory, EnvironmentFactory,
    Factory, Kind, ModelContext, ModelFactory, OptimizerFactory, ProbeFactory, PrunerFactory,
    Registrar, SharedModel, SharedTextModel, SolverFactory,
};
pub use dataset::{Batch, DataInfo, Dataset, InputKind, Objective, Split};
pub use environment::{Action, Environment, TimeStep};
pub use error::{PluginError, Result};
pub use generate::{generate, generate_with_hooks, Generated, Sampling};
pub use hooks::{names as hook_names, Hooks, Intervention};
pub use metrics::{Column, Metric, Table};
pub use model::{Generative, Model};
pub use online::{HostFloat, HostOptimizer, Iterate, OnlineProblem, Precision};
pub use optimizer::{NamedState, Optimizer, Parameter, Role};
pub use params::{Choice, Param, ParamType, ParamValue, Params, TypedParams, Value};
pub use solver::Solver;
pub use splitmix::SplitMix64;

/// Derives [`TypedParams`] for a struct of parameters: each field is one parameter, declared
/// from the field's name, type and doc comment and read back typed, so declaration and use
/// cannot drift apart.
///
/// Field types: `bool`, `i64`/`i32`/`u64`/`u32`/`usize` (unsigned types declare a minimum of
/// 0), `f64`/`f32`, `String`, `Vec` of numbers or strings, and enums deriving [`Choice`].
/// Settings in `#[param(...)]`: `default = LITERAL` (a number, string, bool or list; without it
/// the parameter is required), `min = N`, `max = N`, `range = (MIN, MAX)`, `name = "spec_key"`.
/// Every field needs a doc comment: it is what `assay plugins info` shows.
///
/// ```ignore
/// use assay_sdk::prelude::*;
///
/// #[derive(Debug, Clone, Copy, PartialEq, Choice)]
/// enum Activation { Relu, GeluTanh }
///
/// #[derive(Debug, Params)]
/// struct MlpParams {
///     /// Hidden layer widths.
///     #[param(default = [64, 64])]
///     hidden: Vec<usize>,
///     /// Nonlinearity between layers.
///     #[param(default = "relu")]
///     activation: Activation,
///     /// Scale of the initial weights.
///     #[param(default = 1.0, min = 0.0)]
///     init_scale: f64,
/// }
///
/// let component = Component::model_with("my_mlp", "0.1.0", |p: MlpParams, cx| { /* build */ });
/// ```
pub use assay_sdk_derive::Params;

/// Derives [`Choice`] (and [`ParamValue`]) for an enum of unit variants, spelt in snake case in
/// specs (`#[choice(name = "…")]` overrides a spelling). See [`Params`](derive@Params).
pub use assay_sdk_derive::Choice;
pub use backend::{LocalTextModel, TextModel};
pub use probe::{Observation, Probe, ProbeContext};
pub use prune::{Mask, PruneContext, Pruner};
pub use text::{KvCache, Tokenizer};

/// Everything a plugin usually needs, in one import.
pub mod prelude {
    pub use crate::candle::backprop::GradStore;
    pub use crate::candle::{DType, Device, Module, Tensor, Var, D};
    pub use crate::{
        hook_names, init, Action, Agent, AgentContext, Batch, BuildContext, Column, Component,
        DataInfo, Dataset, Environment, EpisodeStart, Exchange, Factory, Generative, Hooks,
        HostFloat, HostOptimizer, InputKind, Iterate, Kind, Mask, Metric, Model, ModelContext,
        NamedState, Objective, Observation, OnlineProblem, Optimizer, Param, ParamType, Parameter,
        Params, PluginError, Precision, Probe, ProbeContext, PruneContext, Pruner, Registrar,
        Result, Role, Solver, Split, Table, TimeStep, Tokenizer, TypedParams, Value,
    };
    // The trait and its derive macro share the name.
    pub use crate::Choice;
}
