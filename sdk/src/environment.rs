//! The [`Environment`] kind: interactive tasks such as games and simulators.
//!
//! ## Online optimisation
//!
//! A spec with an `[environment]` table instead of `[dataset]` and `[model]` runs an *online
//! optimisation problem*: the host holds the iterate θ in host memory and drives the optimizer's
//! [`HostOptimizer`](crate::HostOptimizer). The environment owns the feasible set and the
//! gradient oracle:
//!
//! - `reset(seed)` returns the starting point θ₀ as `observation` (its length is the dimension).
//! - `step(Action::Continuous(θ))` projects θ onto the feasible set and returns
//!   `observation = [projected θ, stochastic gradient at it]` (twice the dimension) and the loss
//!   of the point in `rewards[0]`.
//!
//! The host logs the first coordinate as the metric `theta`.

use crate::error::Result;

/// An action taken by an agent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// One of the legal discrete actions.
    Discrete(usize),
    /// A vector of controls (robot joints, ...).
    Continuous(Vec<f32>),
}

/// What the environment shows after a reset or a step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeStep {
    /// Numeric observation for the player to act next.
    pub observation: Vec<f32>,
    /// A textual rendering of the observation, for language agents.
    pub text: Option<String>,
    /// Reward of the last transition, one entry per player (one for single-agent tasks).
    pub rewards: Vec<f64>,
    /// Whether the episode is over.
    pub done: bool,
    /// Discrete actions allowed now (empty for continuous control).
    pub legal_actions: Vec<usize>,
    /// The player to act next, for multi-player games.
    pub player: Option<usize>,
}

/// An interactive task. Episodes are reproducible: the same seed and the same actions give the
/// same time steps.
///
/// # Example: guess a number
///
/// (From `sdk/examples/environment.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/environment.rs"), "```")]
pub trait Environment: Send {
    /// Starts a new episode.
    fn reset(&mut self, seed: u64) -> Result<TimeStep>;

    /// Applies the action of the player to act.
    fn step(&mut self, action: &Action) -> Result<TimeStep>;
}
