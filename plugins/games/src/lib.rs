//! # assay-games
//!
//! The game core of study 10 (Suspicion-Agent, Guo et al., arXiv 2309.17277): Leduc Hold'em as
//! rlcard plays it (the environment of the paper's baselines) and as Southey et al. define it,
//! with the solvers and measurements the study needs. The game core below depends on nothing but
//! the standard library; [`components`] wraps it as SDK components (environment `leduc_holdem`,
//! agents, solver `leduc_cfr`), and [`suspicion`] is the language agent of the paper.
//!
//! - [`cards`], [`action`], [`rules`], [`betting`], [`state`], [`view`]: the game. A
//!   [`state::State`] is one dealt hand: legal actions in rlcard's order, payoffs in chips, and
//!   per seat a [`view::View`] with rlcard's 36-dimensional observation and a text rendering.
//! - [`infoset`]: information-set keys, perfect recall (full history) or rlcard's imperfect
//!   recall (the observation's chip counts).
//! - [`policy`]: tabular policies, stored and loaded as `(key, action, probability)` rows.
//! - [`tree`], [`tables`]: the public game tree with exact chance, and the solvers' tables.
//! - [`cfr`]: vanilla CFR and CFR+ with full traversal; [`rlcard_cfr`]: rlcard's
//!   chance-sampling CFR keyed by the observation; [`tabular_cfr`]: what both offer (iterate,
//!   average policy, exploitability).
//! - [`best_response`]: exact best response and exploitability in chips per hand.
//! - [`rule_agents`], [`player`], [`matches`]: rlcard's rule agents, players, and seeded
//!   (duplicate) matches with 95% confidence intervals.
//! - [`rng`]: SplitMix64; a seed fixes every deal and every sampled action.
//! - [`components`]: the SDK components; [`suspicion`]: agent `suspicion` (the Suspicion-Agent
//!   pipeline on a scripted or OpenAI-compatible text model).
//!
//! Training CFR+, recording exploitability every 50 iterations, and storing the policy (the
//! example is compiled, not run: test binaries find the SDK's shared libraries, doctests do not;
//! `tests/solvers.rs` runs the same steps):
//!
//! ```no_run
//! use assay_games::best_response::exploitability;
//! use assay_games::cfr::{Cfr, CfrVariant};
//! use assay_games::infoset::Keying;
//! use assay_games::rules::Rules;
//! use assay_games::tabular_cfr::TabularCfr;
//!
//! let mut cfr = Cfr::new(Rules::rlcard(), CfrVariant::Plus, Keying::FullHistory);
//! let mut curve = Vec::new();
//! cfr.run(100, 50, |c| curve.push(exploitability(c.tree(), &c.average_policy())));
//! assert!(curve[1] < curve[0]);
//! // Store the policy as rows; another run loads them with `Policy::from_rows`.
//! let rows = cfr.average_policy().to_rows();
//! assert!(rows.iter().any(|r| r.key == "K-:" && r.action.name() == "raise"));
//! ```

#![warn(missing_docs)]

pub mod action;
pub mod best_response;
pub mod betting;
pub mod cards;
pub mod cfr;
pub mod components;
pub mod error;
pub mod infoset;
pub mod matches;
pub mod player;
pub mod policy;
pub mod rlcard_cfr;
pub mod rng;
pub mod rule_agents;
pub mod rules;
pub mod state;
pub mod suspicion;
pub mod tables;
pub mod tabular_cfr;
pub mod tree;
pub mod view;

pub use action::Action;
pub use error::GameError;

assay_sdk::export_plugin!(components::register);
