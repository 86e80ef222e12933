//! The observation environment `leduc_holdem` hands to agents, and its decoding back into a
//! seat's [`View`], so that agents built on the game core ([`crate::player::Player`]) play
//! through the SDK exactly as they play in [`crate::matches`].
//!
//! Layout (53 numbers): entries 0..36 are rlcard's observation ([`View::obs`]); then the seat
//! (36), the opening seat (37), the betting round (38), the variant (39: 0 rlcard, 1 Southey),
//! the number of ranks in the deck (40), the raise cap (41), and the moves of round 1 (42..47)
//! and round 2 (47..52) as `1 + 4 * seat + action id` (0: no move), action ids in rlcard's
//! order (call 0, raise 1, fold 2, check 3); entry 52 is 1 when the hand is over.

use assay_sdk::{PluginError, Result};

use crate::action::Action;
use crate::betting::Move;
use crate::cards::{Card, Deck, Rank, Suit};
use crate::rules::{Rules, Variant};
use crate::view::{View, OBS_LEN};

/// Length of the observation.
pub const LEN: usize = OBS_LEN + 17;
const MOVES: usize = 5;

/// The observation of `view` (see the module documentation).
pub fn encode(view: &View, over: bool) -> Vec<f32> {
    let mut x = view.obs().to_vec();
    x.push(view.seat as f32);
    x.push(view.first as f32);
    x.push(view.round as f32);
    x.push(match view.rules.variant() {
        Variant::Rlcard => 0.0,
        Variant::Southey => 1.0,
    });
    x.push(view.rules.deck().ranks().len() as f32);
    x.push(view.rules.max_raises() as f32);
    for round in &view.history {
        for i in 0..MOVES {
            x.push(
                round
                    .get(i)
                    .map_or(0.0, |m| (1 + 4 * m.seat + m.action.index()) as f32),
            );
        }
    }
    x.push(if over { 1.0 } else { 0.0 });
    x
}

fn bad(what: &str) -> PluginError {
    PluginError::invalid(format!(
        "not a leduc_holdem observation ({what}); agents of this library play environment `leduc_holdem`"
    ))
}

fn one_hot(x: &[f32], from: usize, n: usize) -> Option<usize> {
    (0..n).find(|&i| x[from + i] > 0.5)
}

/// The seat's view behind an observation made by [`encode`], with `legal` (action ids) as its
/// legal actions.
pub fn decode(x: &[f32], legal: &[usize]) -> Result<View> {
    if x.len() != LEN {
        return Err(bad(&format!("{} numbers, not {LEN}", x.len())));
    }
    let int = |i: usize| x[i].round().max(0.0) as usize;
    let variant = match int(39) {
        0 => Variant::Rlcard,
        1 => Variant::Southey,
        _ => return Err(bad("variant")),
    };
    let deck = Deck::with_ranks(int(40)).map_err(|e| bad(&e.to_string()))?;
    let rules = Rules::new(variant)
        .with_deck(deck)
        .with_max_raises(int(41) as u32)
        .map_err(|e| bad(&e.to_string()))?;
    let rank = |i: Option<usize>| i.and_then(Rank::from_index);
    let hand = rank(one_hot(x, 0, 3)).ok_or_else(|| bad("no hand"))?;
    let public = rank(one_hot(x, 3, 3));
    let mine = one_hot(x, 6, 15).ok_or_else(|| bad("chips"))? as u32;
    let theirs = one_hot(x, 21, 15).ok_or_else(|| bad("chips"))? as u32;
    let seat = int(36);
    if seat > 1 || int(37) > 1 {
        return Err(bad("seat"));
    }
    let mut in_chips = [0; 2];
    in_chips[seat] = mine;
    in_chips[1 - seat] = theirs;
    let mut history: [Vec<Move>; 2] = [Vec::new(), Vec::new()];
    for (r, moves) in history.iter_mut().enumerate() {
        for i in 0..MOVES {
            let code = int(42 + r * MOVES + i);
            if code == 0 {
                break;
            }
            let action = Action::ALL
                .get((code - 1) % 4)
                .copied()
                .ok_or_else(|| bad("move"))?;
            moves.push(Move {
                seat: (code - 1) / 4,
                action,
            });
        }
    }
    let legal_actions = legal
        .iter()
        .map(|&i| Action::ALL.get(i).copied().ok_or_else(|| bad("action id")))
        .collect::<Result<Vec<_>>>()?;
    let over = x[52] > 0.5;
    Ok(View {
        rules,
        seat,
        first: int(37),
        hand: Card::new(Suit::S, hand),
        public: public.map(|r| Card::new(Suit::H, r)),
        in_chips,
        history,
        round: int(38),
        current_player: (!over).then_some(seat),
        legal_actions,
    })
}
