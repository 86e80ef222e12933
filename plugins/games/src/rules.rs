//! The two rule sets and the judge.
//!
//! **rlcard** (`datamllab/rlcard@d7d0a95`, as the Suspicion-Agent baselines play it):
//! - blinds instead of antes: the opening seat posts a small blind of 1, the other a big blind
//!   of 2, and the small blind acts first (`rlcard/games/leducholdem/game.py`, `init_game`);
//! - a raise matches the highest contribution of the round and adds 2 in round 1, 4 in round 2
//!   (`raise_amount = big_blind`, doubled for round 2 in `LeducholdemGame.step`);
//! - at most 2 raises per round; the big blind is not a raise
//!   (`rlcard/games/limitholdem/round.py`, `have_raised`, `allowed_raise_num`);
//! - legal actions in the order call, raise, fold, check: call only when behind, check only when
//!   level, fold always, even when checking is free (`LimitHoldemRound.get_legal_actions`);
//! - a round ends once `not_raise_num` reaches 2 (a call or check after the other seat's
//!   check, call or raise), and round 2 opens with the seat after the one that closed round 1
//!   (`LeducholdemGame.step` passes the round's advanced `game_pointer` to `start_new_round`);
//! - payoff in chips: each winner gets pot / #winners minus its own contribution, the others
//!   lose their contribution (`rlcard/games/leducholdem/judger.py`); the rlcard environment
//!   then divides by the big blind (`get_payoffs`), which this crate does not.
//!
//! **Southey** (Southey et al. 2005, "Bayes' Bluff"; as OpenSpiel's `leduc_poker` plays it):
//! both seats ante 1, the opening seat acts first in *both* rounds, raises of 2 and 4, at most 2
//! per round. Folding is legal only when behind: folding when checking is free is dominated, and
//! OpenSpiel allows it only "when under pressure". The same judge settles the hand.

use crate::action::Action;
use crate::cards::{Deck, Rank};
use crate::error::GameError;

/// Which rule set a game follows (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// rlcard's Leduc Hold'em: blinds 1/2, fold always legal, round 2 opened by the seat after
    /// the one that closed round 1.
    Rlcard,
    /// The standard game: antes 1/1, fold only when behind, the opening seat opens both rounds.
    Southey,
}

/// A complete rule set: the variant, the deck and the raise cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rules {
    variant: Variant,
    deck: Deck,
    max_raises: u32,
}

impl Rules {
    /// rlcard's rules with the six-card deck and 2 raises per round.
    pub fn rlcard() -> Rules {
        Rules::new(Variant::Rlcard)
    }

    /// Southey's rules with the six-card deck and 2 raises per round.
    pub fn southey() -> Rules {
        Rules::new(Variant::Southey)
    }

    /// `variant` with the six-card deck and 2 raises per round.
    pub fn new(variant: Variant) -> Rules {
        Rules {
            variant,
            deck: Deck::LEDUC,
            max_raises: 2,
        }
    }

    /// The same rules with another deck (e.g. the reduced four-card deck).
    pub fn with_deck(self, deck: Deck) -> Rules {
        Rules { deck, ..self }
    }

    /// The same rules with at most `max_raises` raises per round (0, 1 or 2).
    pub fn with_max_raises(self, max_raises: u32) -> Result<Rules, GameError> {
        if max_raises > 2 {
            return Err(GameError::MaxRaises(max_raises));
        }
        Ok(Rules { max_raises, ..self })
    }

    /// The variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The deck.
    pub fn deck(&self) -> Deck {
        self.deck
    }

    /// The most raises allowed in one round.
    pub fn max_raises(&self) -> u32 {
        self.max_raises
    }

    /// The chips in before the first action: `[opening seat, other seat]` (blinds 1 and 2 for
    /// rlcard, antes 1 and 1 for Southey).
    pub fn opening_chips(&self) -> [u32; 2] {
        match self.variant {
            Variant::Rlcard => [1, 2],
            Variant::Southey => [1, 1],
        }
    }

    /// The raise amount of round `round` (0-based): 2, then 4.
    pub fn raise_amount(&self, round: usize) -> u32 {
        if round == 0 {
            2
        } else {
            4
        }
    }

    /// Whether a seat that is level (could check) may fold.
    pub fn fold_when_level(&self) -> bool {
        self.variant == Variant::Rlcard
    }

    /// A one-line description for people and language models.
    pub fn describe(&self) -> String {
        let ranks: Vec<String> = self.deck.ranks().iter().map(|r| r.to_string()).collect();
        let deck = format!(
            "{} cards ({} in two suits)",
            self.deck.size(),
            ranks.join(", ")
        );
        match self.variant {
            Variant::Rlcard => format!(
                "Leduc Hold'em as rlcard plays it: {deck}; the small blind puts in 1 and acts first, the big blind puts in 2; raises of 2 in round 1 and 4 in round 2, at most {} per round; folding is always allowed; a pair with the public card wins, otherwise the higher card; equal cards split the pot.",
                self.max_raises
            ),
            Variant::Southey => format!(
                "Leduc Hold'em (Southey et al.): {deck}; both players put in 1; the first player acts first in both rounds; raises of 2 in round 1 and 4 in round 2, at most {} per round; folding only when facing a raise; a pair with the public card wins, otherwise the higher card; equal cards split the pot.",
                self.max_raises
            ),
        }
    }
}

/// Settles a finished hand as rlcard's judger does: the seat that did not fold wins; otherwise
/// the seat whose card pairs the public card, otherwise the higher card, and equal cards split.
/// Returns each seat's net chips: winners get pot / #winners minus their own contribution,
/// the others lose theirs. `public` is needed only at a showdown (`folded` is `None`).
pub fn settle(
    in_chips: [u32; 2],
    folded: Option<usize>,
    hands: [Rank; 2],
    public: Rank,
) -> [f64; 2] {
    let winners: [bool; 2] = match folded {
        Some(seat) => [seat != 0, seat != 1],
        None => {
            let pairs = [hands[0] == public, hands[1] == public];
            if pairs[0] || pairs[1] {
                pairs
            } else {
                [hands[0] >= hands[1], hands[1] >= hands[0]]
            }
        }
    };
    let pot = f64::from(in_chips[0] + in_chips[1]);
    let count = winners.iter().filter(|w| **w).count() as f64;
    let share = pot / count;
    [0, 1].map(|s| {
        let own = f64::from(in_chips[s]);
        if winners[s] {
            share - own
        } else {
            -own
        }
    })
}

/// The legal actions of a seat that has put `own` chips into the round when the highest
/// contribution is `highest` and `raises` raises were made, in rlcard's order.
pub fn legal_actions(rules: &Rules, own: u32, highest: u32, raises: u32) -> Vec<Action> {
    let behind = own < highest;
    let mut legal = Vec::with_capacity(3);
    if behind {
        legal.push(Action::Call);
    }
    if raises < rules.max_raises {
        legal.push(Action::Raise);
    }
    if behind || rules.fold_when_level() {
        legal.push(Action::Fold);
    }
    if !behind {
        legal.push(Action::Check);
    }
    legal
}

/// rlcard's `LeducholdemEnv._decode_action` for agents that act by action id: an action that is
/// not legal becomes `check` when checking is legal, otherwise `fold` (which is then legal, as a
/// seat that cannot check is behind). Raw-action agents get no such mapping in rlcard: their
/// illegal actions raise an exception, as [`crate::betting::Betting::apply`] refuses them.
pub fn rlcard_decode(wanted: Action, legal: &[Action]) -> Action {
    if legal.contains(&wanted) {
        wanted
    } else if legal.contains(&Action::Check) {
        Action::Check
    } else {
        Action::Fold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    #[test]
    fn legal_actions_follow_rlcard_order_and_fold_rule() {
        let r = Rules::rlcard();
        assert_eq!(legal_actions(&r, 1, 2, 0), [Call, Raise, Fold]);
        assert_eq!(legal_actions(&r, 2, 2, 0), [Raise, Fold, Check]);
        assert_eq!(legal_actions(&r, 4, 6, 2), [Call, Fold]);
        let s = Rules::southey();
        assert_eq!(legal_actions(&s, 1, 1, 0), [Raise, Check]);
        assert_eq!(legal_actions(&s, 1, 3, 1), [Call, Raise, Fold]);
        assert!(r.with_max_raises(3).is_err());
    }

    #[test]
    fn rlcard_decoding_maps_illegal_actions_to_check_or_fold() {
        assert_eq!(rlcard_decode(Raise, &[Call, Raise, Fold]), Raise);
        assert_eq!(rlcard_decode(Call, &[Raise, Fold, Check]), Check);
        assert_eq!(rlcard_decode(Check, &[Call, Fold]), Fold);
        assert_eq!(rlcard_decode(Raise, &[Call, Fold]), Fold);
    }

    #[test]
    fn judge_pays_pairs_high_cards_ties_and_folds() {
        // Pair beats a higher card.
        assert_eq!(
            settle([6, 6], None, [Rank::Q, Rank::K], Rank::Q),
            [6.0, -6.0]
        );
        // Higher card wins without a pair.
        assert_eq!(
            settle([2, 2], None, [Rank::J, Rank::K], Rank::Q),
            [-2.0, 2.0]
        );
        // Equal ranks split the pot.
        assert_eq!(
            settle([4, 4], None, [Rank::K, Rank::K], Rank::J),
            [0.0, 0.0]
        );
        // A fold loses the chips put in, whatever the cards.
        assert_eq!(
            settle([1, 2], Some(0), [Rank::K, Rank::J], Rank::K),
            [-1.0, 1.0]
        );
        assert_eq!(
            settle([2, 4], Some(1), [Rank::J, Rank::K], Rank::K),
            [4.0, -4.0]
        );
    }
}
