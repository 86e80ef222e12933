//! The betting of one hand without its cards: whose turn it is, the chips in, the raises, the
//! rounds and the action history. The game tree and a dealt hand both run on it.
//!
//! The round logic is rlcard's (`rlcard/games/limitholdem/round.py`): a call or a check adds one
//! to `not_raise_num`, a raise sets it back to 1 and counts one raise, and the round is over when
//! it reaches 2. Contributions within a round (`raised`) start from the blinds or antes in round 1
//! and from zero in round 2; a raise brings the raiser to the round's highest contribution plus
//! the raise amount.

use crate::action::Action;
use crate::error::GameError;
use crate::rules::{legal_actions, Rules, Variant};

/// One action and the seat that took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Move {
    /// The seat that acted.
    pub seat: usize,
    /// What it did.
    pub action: Action,
}

/// The betting state of a hand, by seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Betting {
    rules: Rules,
    first: usize,
    round: usize,
    pointer: usize,
    in_chips: [u32; 2],
    raised: [u32; 2],
    raises: u32,
    not_raise: u32,
    folded: Option<usize>,
    history: [Vec<Move>; 2],
}

impl Betting {
    /// The betting before the first action, with `first` as the opening seat (small blind for
    /// rlcard, first to act for Southey).
    pub fn new(rules: Rules, first: usize) -> Result<Betting, GameError> {
        if first > 1 {
            return Err(GameError::Seat(first));
        }
        let [opening, other] = rules.opening_chips();
        let mut in_chips = [0; 2];
        in_chips[first] = opening;
        in_chips[1 - first] = other;
        Ok(Betting {
            rules,
            first,
            round: 0,
            pointer: first,
            in_chips,
            raised: in_chips,
            raises: 0,
            not_raise: 0,
            folded: None,
            history: [Vec::new(), Vec::new()],
        })
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The opening seat (small blind for rlcard, first to act for Southey).
    pub fn first(&self) -> usize {
        self.first
    }

    /// The betting round: 0 before the public card, 1 after it, 2 once both are over.
    pub fn round(&self) -> usize {
        self.round
    }

    /// Whether the hand is over (a fold, or both rounds closed).
    pub fn is_terminal(&self) -> bool {
        self.folded.is_some() || self.round >= 2
    }

    /// The seat to act, `None` once the hand is over.
    pub fn current_player(&self) -> Option<usize> {
        (!self.is_terminal()).then_some(self.pointer)
    }

    /// The chips each seat has put in so far (blinds or antes included).
    pub fn in_chips(&self) -> [u32; 2] {
        self.in_chips
    }

    /// The seat that folded, if one did.
    pub fn folded(&self) -> Option<usize> {
        self.folded
    }

    /// Raises made in the current round.
    pub fn raises(&self) -> u32 {
        self.raises
    }

    /// The moves of round 1 and of round 2.
    pub fn history(&self) -> &[Vec<Move>; 2] {
        &self.history
    }

    /// The actions of round 1 and of round 2, without the seats.
    pub fn actions(&self) -> [Vec<Action>; 2] {
        self.history
            .each_ref()
            .map(|moves| moves.iter().map(|m| m.action).collect())
    }

    /// The legal actions of the seat to act, in rlcard's order; empty once the hand is over.
    pub fn legal_actions(&self) -> Vec<Action> {
        if self.is_terminal() {
            return Vec::new();
        }
        let highest = self.raised[0].max(self.raised[1]);
        legal_actions(&self.rules, self.raised[self.pointer], highest, self.raises)
    }

    /// Plays `action` for the seat to act.
    pub fn apply(&mut self, action: Action) -> Result<(), GameError> {
        let seat = self.current_player().ok_or(GameError::HandOver)?;
        let legal = self.legal_actions();
        if !legal.contains(&action) {
            return Err(GameError::IllegalAction {
                action,
                seat,
                legal,
            });
        }
        let highest = self.raised[0].max(self.raised[1]);
        match action {
            Action::Call => {
                self.in_chips[seat] += highest - self.raised[seat];
                self.raised[seat] = highest;
                self.not_raise += 1;
            }
            Action::Raise => {
                let target = highest + self.rules.raise_amount(self.round);
                self.in_chips[seat] += target - self.raised[seat];
                self.raised[seat] = target;
                self.raises += 1;
                self.not_raise = 1;
            }
            Action::Fold => self.folded = Some(seat),
            Action::Check => self.not_raise += 1,
        }
        self.history[self.round].push(Move { seat, action });
        self.pointer = 1 - seat;
        if self.folded.is_none() && self.not_raise >= 2 {
            self.close_round();
        }
        Ok(())
    }

    /// Ends the current round; round 2 starts with fresh contributions and raise counts.
    fn close_round(&mut self) {
        self.round += 1;
        self.raised = [0, 0];
        self.raises = 0;
        self.not_raise = 0;
        // rlcard keeps the pointer it advanced past the seat that closed the round; Southey's
        // (and OpenSpiel's) opening seat opens every round.
        if self.rules.variant() == Variant::Southey {
            self.pointer = self.first;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    fn play(rules: Rules, first: usize, actions: &[Action]) -> Betting {
        let mut b = Betting::new(rules, first).expect("seat");
        for a in actions {
            b.apply(*a).expect("legal");
        }
        b
    }

    #[test]
    fn rlcard_round_two_opens_after_the_seat_that_closed_round_one() {
        // Closed by the big blind (seat 1): the small blind opens round 2.
        assert_eq!(
            play(Rules::rlcard(), 0, &[Call, Check]).current_player(),
            Some(0)
        );
        assert_eq!(
            play(Rules::rlcard(), 0, &[Raise, Call]).current_player(),
            Some(0)
        );
        // Closed by the small blind: the big blind opens round 2.
        assert_eq!(
            play(Rules::rlcard(), 0, &[Call, Raise, Call]).current_player(),
            Some(1)
        );
        assert_eq!(
            play(Rules::rlcard(), 0, &[Raise, Raise, Call]).current_player(),
            Some(1)
        );
    }

    #[test]
    fn southey_opening_seat_opens_both_rounds() {
        let b = play(Rules::southey(), 1, &[Check, Raise, Call]);
        assert_eq!(b.round(), 1);
        assert_eq!(b.current_player(), Some(1));
        assert_eq!(b.in_chips(), [3, 3]);
    }

    #[test]
    fn actions_after_the_end_and_illegal_actions_are_refused() {
        let mut b = play(Rules::rlcard(), 0, &[Fold]);
        assert_eq!(b.apply(Check), Err(GameError::HandOver));
        let mut b = Betting::new(Rules::rlcard(), 0).expect("seat");
        let err = b.apply(Check).expect_err("small blind is behind");
        assert_eq!(
            err,
            GameError::IllegalAction {
                action: Check,
                seat: 0,
                legal: vec![Call, Raise, Fold]
            }
        );
        assert_eq!(b.in_chips(), [1, 2], "a refused action changes nothing");
        assert!(Betting::new(Rules::rlcard(), 2).is_err());
    }
}
