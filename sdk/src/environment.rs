//! The [`Environment`] kind: interactive tasks such as games and simulators.

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
/// ```
/// use assay_sdk::prelude::*;
///
/// struct Guess { secret: usize, range: usize }
///
/// impl Environment for Guess {
///     fn reset(&mut self, seed: u64) -> Result<TimeStep> {
///         self.secret = (seed as usize) % self.range;
///         Ok(TimeStep { observation: vec![0.0], legal_actions: (0..self.range).collect(), ..Default::default() })
///     }
///     fn step(&mut self, action: &Action) -> Result<TimeStep> {
///         let Action::Discrete(a) = action else { return Err(PluginError::invalid("discrete actions only")) };
///         let hint = (*a as f32 - self.secret as f32).signum();
///         Ok(TimeStep {
///             observation: vec![hint],
///             rewards: vec![if hint == 0.0 { 1.0 } else { 0.0 }],
///             done: hint == 0.0,
///             legal_actions: (0..self.range).collect(),
///             ..Default::default()
///         })
///     }
/// }
///
/// fn register(r: &mut dyn Registrar) {
///     r.add(Component::environment("guess", "0.1.0", |p, _cx| {
///         Ok(Box::new(Guess { secret: 0, range: p.usize("range")? }))
///     })
///     .param(Param::int("range", 10, "numbers to guess from").min(1.0)));
/// }
///
/// let mut found = Vec::new();
/// register(&mut found);
/// let Factory::Environment(make) = &found[0].factory else { unreachable!() };
/// let mut env = make(&found[0].resolve(&[])?, &BuildContext { seed: 0, device: Device::Cpu })?;
/// env.reset(7)?;
/// assert!(env.step(&Action::Discrete(7))?.done);
/// # Ok::<(), assay_sdk::PluginError>(())
/// ```
pub trait Environment: Send {
    /// Starts a new episode.
    fn reset(&mut self, seed: u64) -> Result<TimeStep>;

    /// Applies the action of the player to act.
    fn step(&mut self, action: &Action) -> Result<TimeStep>;
}
