//! The [`Agent`] kind: a player in the episodes of an [`Environment`](crate::Environment).
//!
//! A spec with `[environment]` and one `[[agent]]` table per seat is an *episode run*: the host
//! resets the environment with each episode's seed, hands every [`TimeStep`] to the agent of the
//! seat to act (the step's `player`, seat 0 in single-agent tasks), applies the returned
//! [`Action`], and stores every step in the run's `episodes` table. Agents may keep memory
//! within and across episodes; [`Agent::save_state`] and [`Agent::load_state`] carry it over
//! checkpoints, so a resumed run continues the same match.
//!
//! Language agents explain themselves: every exchange with a text model ([`Exchange`]: the
//! module, its prompt and the reply) handed back by [`Agent::take_exchanges`] is stored in the
//! run's `agent_exchanges` table with the episode and step of the decision. The factory gets an
//! [`AgentContext`](crate::AgentContext).

use crate::environment::{Action, TimeStep};
use crate::error::Result;

/// The start of an episode, as one agent sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeStart {
    /// The episode's index in the run (0-based).
    pub index: u64,
    /// The seat this agent plays in this episode.
    pub seat: usize,
    /// A seed for the agent's own randomness in this episode (derived from the run seed, the
    /// episode and the agent, so that reruns and resumed runs draw the same numbers).
    pub seed: u64,
}

/// One exchange between a language agent and its text model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The agent's module that asked (e.g. `belief`, `plan`, `decision`).
    pub module: String,
    /// The prompt sent.
    pub prompt: String,
    /// The model's reply.
    pub reply: String,
}

/// A player. The host calls [`begin_episode`](Agent::begin_episode) once per episode, then
/// [`act`](Agent::act) whenever the agent's seat is to act, then
/// [`end_episode`](Agent::end_episode) with the final time step (whose `text` may reveal what
/// was hidden during play, such as the opponent's cards).
///
/// An action outside `step.legal_actions`, an error, a panic or a decision slower than the
/// spec's `[episodes] decision_timeout_s` is a *fault*: the host records it and applies the
/// environment's [`forfeit`](crate::Environment::forfeit) rule for the seat (in card games the
/// seat folds and loses the hand); the run goes on.
///
/// # Example: always the first legal action
///
/// (From `sdk/examples/agent.rs`, which `cargo test` compiles and runs.)
#[doc = concat!("```ignore\n", include_str!("../examples/agent.rs"), "```")]
pub trait Agent: Send {
    /// Called at the start of every episode.
    fn begin_episode(&mut self, start: &EpisodeStart) -> Result<()> {
        let _ = start;
        Ok(())
    }

    /// Chooses the action for `step` (the agent's seat is to act).
    fn act(&mut self, step: &TimeStep) -> Result<Action>;

    /// Called when the episode is over, with its last time step.
    fn end_episode(&mut self, last: &TimeStep) -> Result<()> {
        let _ = last;
        Ok(())
    }

    /// The exchanges with a text model since the last call (language agents); the host stores
    /// them with the decision they led to.
    fn take_exchanges(&mut self) -> Vec<Exchange> {
        Vec::new()
    }

    /// The memory to keep across a checkpoint (empty for memoryless agents).
    fn save_state(&self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// Restores what [`save_state`](Agent::save_state) returned.
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let _ = state;
        Ok(())
    }
}
