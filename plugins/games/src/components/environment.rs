//! Environment `leduc_holdem`: one hand per episode, two seats, rewards in chips at the end.
//!
//! Each step is for the seat to act: the observation of [`super::encoding`] (rlcard's 36
//! numbers first), the text of [`View::text`] (the rules on its first line), the legal action
//! ids in rlcard's order (call 0, raise 1, fold 2, check 3). The last step has both seats' net
//! chips as rewards and a text that reveals the hands: `Showdown:` when they were shown,
//! `Hindsight:` when the hand ended by a fold (what a language agent may or may not read).
//!
//! Forfeit (an agent faulted): the seat folds when folding is legal (always in rlcard's rules);
//! otherwise (Southey's rules, not facing a raise) the hand ends as if it had folded: it loses
//! what it has put in.

use assay_sdk::prelude::*;

use crate::action::Action as Bet;
use crate::cards::FirstSeat;
use crate::rng::SplitMix64;
use crate::rules::{Rules, Variant};
use crate::state::State;

use super::encoding::encode;

/// Which rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum RulesChoice {
    /// rlcard's environment as the paper's baselines play it (blinds 1/2).
    Rlcard,
    /// Southey et al.'s standard Leduc Hold'em (antes of 1).
    Southey,
}

/// Who opens each hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Opening {
    /// Drawn per deal, as rlcard does.
    Random,
    /// Seat 0 always.
    Seat0,
    /// Seat 1 always.
    Seat1,
}

/// The parameters of `leduc_holdem`.
#[derive(Debug, Params)]
pub struct LeducParams {
    /// rlcard or southey.
    #[param(default = "rlcard")]
    pub rules: RulesChoice,
    /// Who posts the small blind (rlcard) or acts first (Southey): random, seat0 or seat1.
    #[param(default = "random")]
    pub opening: Opening,
}

/// The environment.
pub struct Leduc {
    rules: Rules,
    opening: FirstSeat,
    state: Option<State>,
}

fn game_error(e: impl std::fmt::Display) -> PluginError {
    PluginError::invalid(format!("leduc_holdem: {e}"))
}

impl Leduc {
    /// The environment for `p`.
    pub fn new(p: &LeducParams) -> Leduc {
        Leduc {
            rules: Rules::new(match p.rules {
                RulesChoice::Rlcard => Variant::Rlcard,
                RulesChoice::Southey => Variant::Southey,
            }),
            opening: match p.opening {
                Opening::Random => FirstSeat::Random,
                Opening::Seat0 => FirstSeat::Fixed(0),
                Opening::Seat1 => FirstSeat::Fixed(1),
            },
            state: None,
        }
    }

    fn state(&self) -> Result<&State> {
        self.state
            .as_ref()
            .ok_or_else(|| game_error("no hand in play: reset first"))
    }

    /// The time step of the seat to act, or the final one.
    fn time_step(&self, rewards: Option<[f64; 2]>, forfeited: Option<usize>) -> Result<TimeStep> {
        let s = self.state()?;
        match (s.current_player(), rewards) {
            (Some(seat), None) => {
                let view = s.view(seat).map_err(game_error)?;
                Ok(TimeStep {
                    observation: encode(&view, false),
                    text: Some(view.text()),
                    rewards: vec![0.0, 0.0],
                    done: false,
                    legal_actions: view.legal_actions.iter().map(|a| a.index()).collect(),
                    player: Some(seat),
                })
            }
            (_, rewards) => {
                let rewards = match rewards {
                    Some(r) => r,
                    None => s.payoffs().map_err(game_error)?,
                };
                let view = s.view(0).map_err(game_error)?;
                let (h0, h1) = (
                    s.hand(0).map_err(game_error)?,
                    s.hand(1).map_err(game_error)?,
                );
                let hands = format!("seat 0 held {}, seat 1 held {}", h0.words(), h1.words());
                let ended = match (forfeited, s.betting().folded()) {
                    (Some(p), _) => format!("Seat {p} forfeited the hand.\nHindsight: {hands}."),
                    (None, Some(p)) => format!("Seat {p} folded.\nHindsight: {hands}."),
                    (None, None) => format!("Showdown: {hands}."),
                };
                let public = match s.public_card() {
                    Some(c) => format!("The public card was {}.", c.words()),
                    None => "The public card was not revealed.".to_string(),
                };
                Ok(TimeStep {
                    observation: encode(&view, true),
                    text: Some(format!(
                        "{}\nThe hand is over.\n{ended}\n{public}\nChips won: seat 0 {:+}, seat 1 {:+}.",
                        self.rules.describe(),
                        rewards[0],
                        rewards[1]
                    )),
                    rewards: rewards.to_vec(),
                    done: true,
                    legal_actions: Vec::new(),
                    player: None,
                })
            }
        }
    }
}

impl Environment for Leduc {
    fn reset(&mut self, seed: u64) -> Result<TimeStep> {
        let mut rng = SplitMix64::new(seed);
        self.state = Some(State::random(self.rules, self.opening, &mut rng).map_err(game_error)?);
        self.time_step(None, None)
    }

    fn step(&mut self, action: &Action) -> Result<TimeStep> {
        let Action::Discrete(i) = action else {
            return Err(game_error(
                "actions are discrete ids (call 0, raise 1, fold 2, check 3)",
            ));
        };
        let bet = Bet::ALL.get(*i).copied().ok_or_else(|| {
            game_error(format!(
                "no action id {i} (call 0, raise 1, fold 2, check 3)"
            ))
        })?;
        let state = self
            .state
            .as_mut()
            .ok_or_else(|| game_error("no hand in play: reset first"))?;
        if state.is_terminal() {
            return Err(game_error("the hand is over: reset first"));
        }
        state.apply(bet).map_err(game_error)?;
        self.time_step(None, None)
    }

    fn players(&self) -> usize {
        2
    }

    fn forfeit(&mut self, player: usize) -> Result<TimeStep> {
        let state = self
            .state
            .as_mut()
            .ok_or_else(|| game_error("no hand in play: reset first"))?;
        if state.legal_actions().contains(&Bet::Fold) {
            state.apply(Bet::Fold).map_err(game_error)?;
            return self.time_step(None, Some(player));
        }
        let chips = state.in_chips();
        let lost = chips[player] as f64;
        let mut rewards = [lost, lost];
        rewards[player] = -lost;
        self.time_step(Some(rewards), Some(player))
    }

    fn action_name(&self, action: usize) -> String {
        Bet::ALL
            .get(action)
            .map_or_else(|| action.to_string(), |a| a.name().to_string())
    }
}
