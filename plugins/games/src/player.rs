//! Players: anything that picks an action from a seat's view. A random player, a tabular policy
//! and rlcard's rule agents are provided; the SDK wrapper adds language agents.

use crate::action::Action;
use crate::policy::Policy;
use crate::rng::SplitMix64;
use crate::rule_agents::{rule_v1, rule_v2, V2Reading};
use crate::view::View;

/// Something that plays a seat.
pub trait Player {
    /// A name for tables and logs.
    fn name(&self) -> String;

    /// The action for the decision in `view` (whose `legal_actions` are not empty); any
    /// randomness must come from `rng` so that a seed fixes the match.
    fn act(&mut self, view: &View, rng: &mut SplitMix64) -> Action;

    /// Called once per hand after it ends, with the player's final view (the opponent's card
    /// stays hidden). Players that learn or log across hands override it.
    fn hand_over(&mut self, _view: &View, _payoff: f64) {}
}

/// Uniform over the legal actions.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomPlayer;

impl Player for RandomPlayer {
    fn name(&self) -> String {
        "random".to_string()
    }

    fn act(&mut self, view: &View, rng: &mut SplitMix64) -> Action {
        let legal = &view.legal_actions;
        legal
            .get(rng.below(legal.len()))
            .copied()
            .unwrap_or(Action::Fold)
    }
}

/// Samples from a tabular policy under the policy's keying.
#[derive(Debug, Clone)]
pub struct PolicyPlayer {
    name: String,
    policy: Policy,
}

impl PolicyPlayer {
    /// A player called `name` that samples from `policy`.
    pub fn new(name: &str, policy: Policy) -> PolicyPlayer {
        PolicyPlayer {
            name: name.to_string(),
            policy,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl Player for PolicyPlayer {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, view: &View, rng: &mut SplitMix64) -> Action {
        let key = self.policy.keying().key(view);
        self.policy
            .sample(&key, &view.legal_actions, rng)
            .unwrap_or(Action::Fold)
    }
}

/// rlcard's rule agent V1 (always raise, else call, else check).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleV1Player;

impl Player for RuleV1Player {
    fn name(&self) -> String {
        "rule-v1".to_string()
    }

    fn act(&mut self, view: &View, _rng: &mut SplitMix64) -> Action {
        rule_v1(&view.legal_actions)
    }
}

/// rlcard's rule agent V2, reading its card as written or as intended.
#[derive(Debug, Clone, Copy)]
pub struct RuleV2Player(pub V2Reading);

impl Player for RuleV2Player {
    fn name(&self) -> String {
        match self.0 {
            V2Reading::AsWritten => "rule-v2".to_string(),
            V2Reading::ByRank => "rule-v2-by-rank".to_string(),
        }
    }

    fn act(&mut self, view: &View, _rng: &mut SplitMix64) -> Action {
        rule_v2(view, self.0)
    }
}
