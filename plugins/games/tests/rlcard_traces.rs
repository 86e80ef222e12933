//! Hands replayed action by action against what rlcard (`datamllab/rlcard@d7d0a95`) does with
//! the same cards. Each expected value was derived by reading:
//! - `rlcard/games/leducholdem/game.py` (`init_game`: small blind 1 on the opening seat, big
//!   blind 2, the small blind acts first; `step`: public card and doubled raise amount when
//!   round 1 closes, round 2 opened by the round's advanced `game_pointer`);
//! - `rlcard/games/limitholdem/round.py` (`proceed_round`: call adds `max(raised) − raised`,
//!   raise adds `max(raised) − raised + raise_amount`; `get_legal_actions`: order call, raise,
//!   fold, check, raise removed after 2 raises, check removed when behind, call removed when
//!   level; `is_over`: `not_raise_num >= 2`);
//! - `rlcard/games/leducholdem/judger.py` (winner: the one not folded, else the pair with the
//!   public card, else the higher rank; pot split among winners; payoff = share − own chips).
//!
//! rlcard's environment divides the judger's payoffs by the big blind (2); the values here are
//! the judger's chips.

use assay_games::action::Action::{self, *};
use assay_games::cards::{Card, Deal, Deck};
use assay_games::rules::Rules;
use assay_games::state::State;

fn hand(rules: Rules, seat0: &str, seat1: &str, public: &str, first: usize) -> State {
    let card = |s: &str| s.parse::<Card>().expect("card");
    let deal = Deal::new(
        rules.deck(),
        [card(seat0), card(seat1)],
        card(public),
        first,
    );
    State::new(rules, deal.expect("valid deal")).expect("valid hand")
}

/// Applies `action` and checks the chips, the next seat and its legal actions afterwards.
fn step(s: &mut State, action: Action, chips: [u32; 2], next: Option<usize>, legal: &[Action]) {
    let seat = s.current_player().expect("a seat to act");
    s.apply(action).expect("legal action");
    let what = format!("after seat {seat} {action}");
    assert_eq!(s.in_chips(), chips, "chips {what}");
    assert_eq!(s.current_player(), next, "next seat {what}");
    assert_eq!(s.legal_actions(), legal, "legal actions {what}");
}

#[test]
fn blinds_raises_reraise_cap_and_pair_showdown() {
    let mut s = hand(Rules::rlcard(), "SQ", "HK", "HQ", 0);
    assert_eq!(
        s.in_chips(),
        [1, 2],
        "small blind 1 on seat 0, big blind 2 on seat 1"
    );
    assert_eq!(s.current_player(), Some(0), "the small blind acts first");
    assert_eq!(s.legal_actions(), [Call, Raise, Fold]);
    assert_eq!(s.public_card(), None);
    // Small blind raises from [1, 2]: 2 − 1 + 2 = 3 more.
    step(&mut s, Raise, [4, 2], Some(1), &[Call, Raise, Fold]);
    // Big blind re-raises: 4 − 2 + 2 = 4 more; the second raise caps round 1.
    step(&mut s, Raise, [4, 6], Some(0), &[Call, Fold]);
    // The small blind calls and closes round 1; the big blind (the seat after it) opens round 2.
    step(&mut s, Call, [6, 6], Some(1), &[Raise, Fold, Check]);
    assert_eq!(s.public_card().map(|c| c.to_string()), Some("HQ".into()));
    step(&mut s, Check, [6, 6], Some(0), &[Raise, Fold, Check]);
    // Round 2 raises are 4.
    step(&mut s, Raise, [10, 6], Some(1), &[Call, Raise, Fold]);
    step(&mut s, Raise, [10, 14], Some(0), &[Call, Fold]);
    step(&mut s, Call, [14, 14], None, &[]);
    assert!(s.is_terminal());
    // Seat 0's queen pairs the public queen and beats the king: (28 / 1) − 14.
    assert_eq!(s.payoffs(), Ok([14.0, -14.0]));
}

#[test]
fn small_blind_on_seat_one_folds_at_once() {
    let mut s = hand(Rules::rlcard(), "SK", "HJ", "SQ", 1);
    assert_eq!(s.in_chips(), [2, 1], "seat 1 posts the small blind");
    assert_eq!(s.current_player(), Some(1));
    step(&mut s, Fold, [2, 1], None, &[]);
    // Seat 0 wins the pot of 3 having put in 2; seat 1 loses its small blind.
    assert_eq!(s.payoffs(), Ok([1.0, -1.0]));
    assert_eq!(
        s.public_card(),
        None,
        "no public card is dealt after a round-1 fold"
    );
}

#[test]
fn big_blind_may_fold_when_it_could_check() {
    let mut s = hand(Rules::rlcard(), "SJ", "HJ", "SQ", 0);
    step(&mut s, Call, [2, 2], Some(1), &[Raise, Fold, Check]);
    step(&mut s, Fold, [2, 2], None, &[]);
    assert_eq!(s.payoffs(), Ok([2.0, -2.0]));
}

#[test]
fn higher_card_wins_after_checks_and_small_blind_opens_round_two() {
    let mut s = hand(Rules::rlcard(), "SK", "SQ", "SJ", 0);
    step(&mut s, Call, [2, 2], Some(1), &[Raise, Fold, Check]);
    // The big blind's check closes round 1: the small blind opens round 2.
    step(&mut s, Check, [2, 2], Some(0), &[Raise, Fold, Check]);
    step(&mut s, Check, [2, 2], Some(1), &[Raise, Fold, Check]);
    step(&mut s, Check, [2, 2], None, &[]);
    assert_eq!(s.payoffs(), Ok([2.0, -2.0]));
}

#[test]
fn equal_ranks_without_a_pair_split_the_pot() {
    let mut s = hand(Rules::rlcard(), "SK", "HK", "SJ", 0);
    step(&mut s, Raise, [4, 2], Some(1), &[Call, Raise, Fold]);
    // The big blind's call closes round 1: the small blind opens round 2.
    step(&mut s, Call, [4, 4], Some(0), &[Raise, Fold, Check]);
    step(&mut s, Check, [4, 4], Some(1), &[Raise, Fold, Check]);
    step(&mut s, Raise, [4, 8], Some(0), &[Call, Raise, Fold]);
    step(&mut s, Call, [8, 8], None, &[]);
    // Both win: 16 / 2 − 8 each.
    assert_eq!(s.payoffs(), Ok([0.0, 0.0]));
}

#[test]
fn call_raise_call_lets_the_big_blind_open_round_two_and_lose_to_a_pair() {
    let mut s = hand(Rules::rlcard(), "HJ", "HK", "SJ", 0);
    step(&mut s, Call, [2, 2], Some(1), &[Raise, Fold, Check]);
    step(&mut s, Raise, [2, 4], Some(0), &[Call, Raise, Fold]);
    // The small blind's call closes round 1: the big blind opens round 2.
    step(&mut s, Call, [4, 4], Some(1), &[Raise, Fold, Check]);
    step(&mut s, Raise, [4, 8], Some(0), &[Call, Raise, Fold]);
    step(&mut s, Call, [8, 8], None, &[]);
    assert_eq!(
        s.payoffs(),
        Ok([8.0, -8.0]),
        "the jack pairs the public jack"
    );
}

#[test]
fn round_two_fold_after_a_raise() {
    let mut s = hand(Rules::rlcard(), "SQ", "HK", "SJ", 1);
    assert_eq!(s.in_chips(), [2, 1]);
    step(&mut s, Call, [2, 2], Some(0), &[Raise, Fold, Check]);
    // Seat 0 (the big blind) closes round 1: seat 1 opens round 2.
    step(&mut s, Check, [2, 2], Some(1), &[Raise, Fold, Check]);
    step(&mut s, Raise, [2, 6], Some(0), &[Call, Raise, Fold]);
    step(&mut s, Fold, [2, 6], None, &[]);
    assert_eq!(s.payoffs(), Ok([-2.0, 2.0]));
}

#[test]
fn observation_layout_follows_extract_state() {
    let mut s = hand(Rules::rlcard(), "SQ", "HK", "HQ", 0);
    let obs = s.view(0).expect("seat 0").obs();
    let hot: Vec<usize> = (0..36).filter(|&i| obs[i] == 1.0).collect();
    // Queen → 1; no public card; my chips 1 → 6 + 1; opponent chips 2 → 21 + 2.
    assert_eq!(hot, [1, 7, 23]);
    for a in [Raise, Raise, Call] {
        s.apply(a).expect("legal");
    }
    let obs = s.view(1).expect("seat 1").obs();
    let hot: Vec<usize> = (0..36).filter(|&i| obs[i] == 1.0).collect();
    // King → 2; public queen → 3 + 1; chips 6 and 6 → 12 and 27.
    assert_eq!(hot, [2, 4, 12, 27]);
    assert_eq!(obs.iter().sum::<f32>(), 4.0);
}

#[test]
fn southey_antes_no_free_fold_and_first_player_opens_both_rounds() {
    let mut s = hand(Rules::southey(), "SQ", "HK", "HQ", 0);
    assert_eq!(s.in_chips(), [1, 1]);
    assert_eq!(s.legal_actions(), [Raise, Check], "no fold when level");
    step(&mut s, Check, [1, 1], Some(1), &[Raise, Check]);
    step(&mut s, Raise, [1, 3], Some(0), &[Call, Raise, Fold]);
    step(&mut s, Raise, [5, 3], Some(1), &[Call, Fold]);
    // Seat 1 closes round 1, and seat 0 still opens round 2.
    step(&mut s, Call, [5, 5], Some(0), &[Raise, Check]);
    step(&mut s, Raise, [9, 5], Some(1), &[Call, Raise, Fold]);
    step(&mut s, Call, [9, 9], None, &[]);
    assert_eq!(s.payoffs(), Ok([9.0, -9.0]));
    assert_eq!(Rules::southey().deck(), Deck::LEDUC);
}

#[test]
fn views_hide_the_opponent_card_and_render_text() {
    let mut s = hand(Rules::rlcard(), "SQ", "HK", "HQ", 0);
    s.apply(Call).expect("legal");
    let v = s.view(1).expect("seat 1");
    assert_eq!(v.legal_actions, [Raise, Fold, Check]);
    assert!(s.view(0).expect("seat 0").legal_actions.is_empty());
    let text = v.text();
    assert!(text.contains("King of Hearts (HK)"), "{text}");
    assert!(
        !text.contains("SQ") && !text.contains("Queen of Spades"),
        "{text}"
    );
    assert!(text.contains("Round 1: opponent call."), "{text}");
    assert!(
        text.contains("Legal actions: raise, fold, check."),
        "{text}"
    );
    assert!(s.view(2).is_err());
}
