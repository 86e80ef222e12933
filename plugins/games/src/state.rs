//! A dealt hand: the deal plus its betting, with payoffs in chips and each seat's view.

use crate::action::Action;
use crate::betting::{Betting, Move};
use crate::cards::{Card, Deal, FirstSeat};
use crate::error::GameError;
use crate::rng::SplitMix64;
use crate::rules::{settle, Rules};
use crate::view::View;

/// One hand of Leduc Hold'em.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    deal: Deal,
    betting: Betting,
}

impl State {
    /// The hand of `deal` under `rules`, before the first action.
    pub fn new(rules: Rules, deal: Deal) -> Result<State, GameError> {
        let deal = Deal::new(rules.deck(), deal.hands, deal.public, deal.first)?;
        Ok(State {
            betting: Betting::new(rules, deal.first)?,
            deal,
        })
    }

    /// A hand with a random deal drawn from `rng`.
    pub fn random(
        rules: Rules,
        first: FirstSeat,
        rng: &mut SplitMix64,
    ) -> Result<State, GameError> {
        State::new(rules, Deal::random(rules.deck(), first, rng)?)
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        self.betting.rules()
    }

    /// The deal (all cards, including hidden ones).
    pub fn deal(&self) -> &Deal {
        &self.deal
    }

    /// The betting so far.
    pub fn betting(&self) -> &Betting {
        &self.betting
    }

    /// The seat to act, `None` once the hand is over.
    pub fn current_player(&self) -> Option<usize> {
        self.betting.current_player()
    }

    /// The legal actions of the seat to act, in rlcard's order (call, raise, fold, check).
    pub fn legal_actions(&self) -> Vec<Action> {
        self.betting.legal_actions()
    }

    /// Plays `action` for the seat to act.
    pub fn apply(&mut self, action: Action) -> Result<(), GameError> {
        self.betting.apply(action)
    }

    /// Whether the hand is over.
    pub fn is_terminal(&self) -> bool {
        self.betting.is_terminal()
    }

    /// The public card once round 2 has started (rlcard deals it when round 1 closes).
    pub fn public_card(&self) -> Option<Card> {
        (self.betting.round() >= 1).then_some(self.deal.public)
    }

    /// The private card of `seat`.
    pub fn hand(&self, seat: usize) -> Result<Card, GameError> {
        self.deal
            .hands
            .get(seat)
            .copied()
            .ok_or(GameError::Seat(seat))
    }

    /// Chips put in by seat 0 and seat 1.
    pub fn in_chips(&self) -> [u32; 2] {
        self.betting.in_chips()
    }

    /// The moves of round 1 and round 2.
    pub fn history(&self) -> &[Vec<Move>; 2] {
        self.betting.history()
    }

    /// Net chips of seat 0 and seat 1 once the hand is over (rlcard's judger; the rlcard
    /// environment would divide these by the big blind, 2).
    pub fn payoffs(&self) -> Result<[f64; 2], GameError> {
        if !self.is_terminal() {
            return Err(GameError::NotTerminal);
        }
        let hands = self.deal.hands.map(|c| c.rank);
        Ok(settle(
            self.in_chips(),
            self.betting.folded(),
            hands,
            self.deal.public.rank,
        ))
    }

    /// What `seat` sees.
    pub fn view(&self, seat: usize) -> Result<View, GameError> {
        let hand = self.hand(seat)?;
        let current = self.current_player();
        Ok(View {
            rules: *self.rules(),
            seat,
            first: self.deal.first,
            hand,
            public: self.public_card(),
            in_chips: self.in_chips(),
            history: self.history().clone(),
            round: self.betting.round(),
            current_player: current,
            legal_actions: if current == Some(seat) {
                self.legal_actions()
            } else {
                Vec::new()
            },
        })
    }
}
