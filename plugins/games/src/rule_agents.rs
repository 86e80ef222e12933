//! rlcard's Leduc rule agents (`rlcard/models/leducholdem_rule_models.py`).
//!
//! **V1** raises whenever it may, else calls, else checks, else folds.
//!
//! **V2** decides from its card. rlcard reads the card from the raw state's `hand`, a string of
//! suit then rank (`SK`, from `Card.get_index()`), and tests `hand[0] == 'K'` and
//! `hand[0] == 'Q'` before the public card: `hand[0]` is the *suit*, so neither test ever holds
//! and V2 as written wants to fold every hand in round 1 (fold is always legal under rlcard's
//! rules, so it does fold: V2 never reaches round 2). After the public card it compares ranks
//! correctly (`public_card[1] == hand[1]`): raise with a pair, fold otherwise. When the wanted
//! action is not legal it substitutes: raise → call, check → fold, call → raise.
//!
//! [`V2Reading::AsWritten`] reproduces this; [`V2Reading::ByRank`] reads the rank as the code
//! evidently intended (K raise, Q check, J fold in round 1). Under Southey's rules, where folding
//! when level is not allowed, a wanted fold that is illegal becomes a check (rlcard never meets
//! this case); that is the only departure from rlcard's code.

use crate::action::Action;
use crate::cards::Rank;
use crate::view::View;

/// How V2 reads its card in round 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V2Reading {
    /// As rlcard's code does: it tests the suit letter, so it folds every hand in round 1.
    AsWritten,
    /// As the code meant: K raises, Q checks, J folds in round 1.
    ByRank,
}

/// rlcard's `LeducHoldemRuleAgentV1.step`: raise, else call, else check, else fold.
pub fn rule_v1(legal: &[Action]) -> Action {
    [Action::Raise, Action::Call, Action::Check]
        .into_iter()
        .find(|a| legal.contains(a))
        .unwrap_or(Action::Fold)
}

/// rlcard's `LeducHoldemRuleAgentV2.step` for the seat of `view` (see the module documentation).
pub fn rule_v2(view: &View, reading: V2Reading) -> Action {
    let legal = &view.legal_actions;
    let wanted = match view.public {
        Some(public) if public.rank == view.hand.rank => Action::Raise,
        Some(_) => Action::Fold,
        None => {
            // rlcard tests `hand[0]`, the suit letter, against 'K' and 'Q'.
            let tested = match reading {
                V2Reading::AsWritten => view.hand.suit.letter(),
                V2Reading::ByRank => view.hand.rank.letter(),
            };
            if tested == Rank::K.letter() {
                Action::Raise
            } else if tested == Rank::Q.letter() {
                Action::Check
            } else {
                Action::Fold
            }
        }
    };
    let chosen = if legal.contains(&wanted) {
        wanted
    } else {
        match wanted {
            Action::Raise => Action::Call,
            Action::Check => Action::Fold,
            Action::Call => Action::Raise,
            Action::Fold => Action::Fold,
        }
    };
    if chosen == Action::Fold && !legal.contains(&Action::Fold) && legal.contains(&Action::Check) {
        return Action::Check;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cards::{Card, Deal, Deck, Suit};
    use crate::rules::Rules;
    use crate::state::State;
    use Action::*;

    fn card(s: &str) -> Card {
        s.parse().expect("card")
    }

    #[test]
    fn v1_prefers_raise_then_call_then_check() {
        assert_eq!(rule_v1(&[Call, Raise, Fold]), Raise);
        assert_eq!(rule_v1(&[Call, Fold]), Call);
        assert_eq!(rule_v1(&[Raise, Fold, Check]), Raise);
        assert_eq!(rule_v1(&[Fold, Check]), Check);
    }

    #[test]
    fn v2_as_written_folds_every_first_round_hand() {
        for hand in Deck::LEDUC.cards() {
            let other = if hand.rank == Rank::J {
                card("SQ")
            } else {
                card("SJ")
            };
            let public = Deck::LEDUC
                .cards()
                .into_iter()
                .find(|c| *c != hand && *c != other)
                .expect("a third card");
            let deal = Deal::new(Deck::LEDUC, [hand, other], public, 0).expect("deal");
            let state = State::new(Rules::rlcard(), deal).expect("state");
            let view = state.view(0).expect("seat 0");
            assert_eq!(rule_v2(&view, V2Reading::AsWritten), Fold, "{hand}");
        }
    }

    #[test]
    fn v2_by_rank_raises_kings_checks_queens_and_substitutes_illegal_wants() {
        let deal = |h: &str| Deal::new(Deck::LEDUC, [card(h), card("HJ")], card("SJ"), 0);
        // Small blind facing the big blind: check is not legal, so a queen's check becomes fold.
        let s = State::new(Rules::rlcard(), deal("SK").expect("deal")).expect("state");
        assert_eq!(rule_v2(&s.view(0).expect("seat"), V2Reading::ByRank), Raise);
        let s = State::new(Rules::rlcard(), deal("SQ").expect("deal")).expect("state");
        assert_eq!(rule_v2(&s.view(0).expect("seat"), V2Reading::ByRank), Fold);
        // Under Southey's antes the queen may check.
        let s = State::new(Rules::southey(), deal("SQ").expect("deal")).expect("state");
        assert_eq!(rule_v2(&s.view(0).expect("seat"), V2Reading::ByRank), Check);
        // Round 2: a pair raises; without one, a wanted fold that is illegal becomes a check.
        let mut s = State::new(Rules::southey(), deal("HQ").expect("deal")).expect("state");
        s.apply(Check).expect("legal");
        s.apply(Check).expect("legal");
        assert_eq!(
            rule_v2(&s.view(0).expect("seat"), V2Reading::AsWritten),
            Check
        );
        let pair = Deal::new(Deck::LEDUC, [card("HJ"), card("SK")], card("SJ"), 0);
        let mut s = State::new(Rules::rlcard(), pair.expect("deal")).expect("state");
        s.apply(Call).expect("legal");
        s.apply(Check).expect("legal");
        assert_eq!(s.view(0).expect("seat").hand.suit, Suit::H);
        assert_eq!(
            rule_v2(&s.view(0).expect("seat"), V2Reading::AsWritten),
            Raise
        );
    }
}
