//! The [`Environment`] kind: interactive tasks such as games and simulators.
//!
//! Episodes: `reset` starts one, `step` applies the acting player's action. The host plays
//! them with one [`Agent`](crate::Agent) per seat (an *episode run*: `[environment]` and
//! `[[agent]]` in a spec). (Online optimisation problems, which earlier SDKs ran through this
//! trait, have their own kind: [`OnlineProblem`](crate::OnlineProblem).)

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

    /// How many seats (players) an episode has; 1 for single-agent tasks.
    fn players(&self) -> usize {
        1
    }

    /// What happens when the agent of `player` faults (an illegal action, an error, a panic or
    /// a timeout) while it is to act: the environment's documented rule, applied as a step (in
    /// a card game the player folds). The default ends nothing and is an error, which stops
    /// the run; environments for untrusted agents override it.
    fn forfeit(&mut self, player: usize) -> Result<TimeStep> {
        Err(crate::PluginError::invalid(format!(
            "player {player} faulted and this environment has no forfeit rule"
        )))
    }

    /// A readable name of a discrete action, for tables and prompts (default: its number).
    fn action_name(&self, action: usize) -> String {
        action.to_string()
    }
}
