//! Seeded matches between two players: N deals, fixed or alternating seats, or duplicate deals
//! (each deal played twice with the players' seats exchanged, so both see the same cards from
//! both sides and card luck cancels), with chips per hand as mean ± 95% confidence interval.
//!
//! A match draws its deals and its players' random choices from two separate streams of its
//! seed ([`SplitMix64::stream`] 0 and 1), so the deals do not depend on how the players play.

use crate::betting::Move;
use crate::cards::{Deal, FirstSeat};
use crate::error::GameError;
use crate::player::Player;
use crate::rng::SplitMix64;
use crate::rules::Rules;
use crate::state::State;

/// Which seat player A takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seating {
    /// A always sits in seat 0.
    Fixed,
    /// A sits in seat 0 for even deals and seat 1 for odd ones.
    Alternate,
    /// Every deal is played twice, A in seat 0 then in seat 1; one sample per deal is the mean
    /// of A's two results.
    Duplicate,
}

/// How to play a match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchConfig {
    /// The rules.
    pub rules: Rules,
    /// Number of deals (a duplicate match plays twice as many hands).
    pub deals: usize,
    /// Fixes the deals and the players' random choices.
    pub seed: u64,
    /// Seat assignment.
    pub seating: Seating,
    /// Who opens each deal (rlcard draws it; Southey's standard game has seat 0 open).
    pub first: FirstSeat,
}

/// One played hand.
#[derive(Debug, Clone, PartialEq)]
pub struct HandResult {
    /// Index of the deal (two hands share one in a duplicate match).
    pub deal_index: usize,
    /// The cards and the opening seat.
    pub deal: Deal,
    /// The seat player A sat in.
    pub seat_a: usize,
    /// Player A's net chips.
    pub payoff_a: f64,
    /// The moves of both rounds.
    pub history: [Vec<Move>; 2],
}

/// Mean of samples with its standard error and 95% half-width (1.96 standard errors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Standard error of the mean (sample standard deviation / √n; NaN below 2 samples).
    pub se: f64,
    /// 1.96 standard errors.
    pub ci95: f64,
}

/// The outcome of a match, from player A's side.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult {
    /// Every hand played, in order.
    pub hands: Vec<HandResult>,
    /// One sample per deal: A's chips (the mean of its two hands in a duplicate match).
    pub samples: Vec<f64>,
    /// Chips per hand for A: mean ± CI over the samples.
    pub summary: Summary,
}

/// Plays one hand of `deal` with `players[s]` in seat `s`; returns the finished hand.
pub fn play_hand(
    rules: Rules,
    deal: Deal,
    players: [&mut dyn Player; 2],
    rng: &mut SplitMix64,
) -> Result<State, GameError> {
    let mut state = State::new(rules, deal)?;
    while let Some(seat) = state.current_player() {
        let view = state.view(seat)?;
        let action = players[seat].act(&view, rng);
        state.apply(action)?;
    }
    let payoffs = state.payoffs()?;
    for (seat, player) in players.into_iter().enumerate() {
        player.hand_over(&state.view(seat)?, payoffs[seat]);
    }
    Ok(state)
}

/// Plays `a` against `b` as `config` says; results are from `a`'s side.
pub fn play_match(
    a: &mut dyn Player,
    b: &mut dyn Player,
    config: &MatchConfig,
) -> Result<MatchResult, GameError> {
    let mut deals = SplitMix64::stream(config.seed, 0);
    let mut actions = SplitMix64::stream(config.seed, 1);
    let mut hands = Vec::new();
    let mut samples = Vec::with_capacity(config.deals);
    for deal_index in 0..config.deals {
        let deal = Deal::random(config.rules.deck(), config.first, &mut deals)?;
        let seats: &[usize] = match config.seating {
            Seating::Fixed => &[0],
            Seating::Alternate if deal_index % 2 == 1 => &[1],
            Seating::Alternate => &[0],
            Seating::Duplicate => &[0, 1],
        };
        let mut total = 0.0;
        for &seat_a in seats {
            let players: [&mut dyn Player; 2] = if seat_a == 0 {
                [&mut *a, &mut *b]
            } else {
                [&mut *b, &mut *a]
            };
            let state = play_hand(config.rules, deal, players, &mut actions)?;
            let payoff_a = state.payoffs()?[seat_a];
            total += payoff_a;
            hands.push(HandResult {
                deal_index,
                deal,
                seat_a,
                payoff_a,
                history: state.history().clone(),
            });
        }
        samples.push(total / seats.len() as f64);
    }
    let summary = summarize(&samples);
    Ok(MatchResult {
        hands,
        samples,
        summary,
    })
}

/// Mean, standard error and 95% half-width of `samples`.
pub fn summarize(samples: &[f64]) -> Summary {
    let n = samples.len();
    let mean = if n == 0 {
        f64::NAN
    } else {
        samples.iter().sum::<f64>() / n as f64
    };
    let se = if n < 2 {
        f64::NAN
    } else {
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (var / n as f64).sqrt()
    };
    Summary {
        n,
        mean,
        se,
        ci95: 1.96 * se,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::player::{RandomPlayer, RuleV1Player};

    #[test]
    fn summary_of_known_samples() {
        let s = summarize(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.n, 4);
        assert!((s.mean - 2.5).abs() < 1e-12);
        let se = (5.0f64 / 3.0 / 4.0).sqrt();
        assert!((s.se - se).abs() < 1e-12 && (s.ci95 - 1.96 * se).abs() < 1e-12);
        assert!(summarize(&[1.0]).se.is_nan());
    }

    #[test]
    fn matches_are_reproducible_and_duplicate_deals_repeat_cards_with_seats_swapped() {
        let config = MatchConfig {
            rules: Rules::rlcard(),
            deals: 50,
            seed: 9,
            seating: Seating::Duplicate,
            first: FirstSeat::Random,
        };
        let one = play_match(&mut RandomPlayer, &mut RuleV1Player, &config).expect("match");
        let two = play_match(&mut RandomPlayer, &mut RuleV1Player, &config).expect("match");
        assert_eq!(one, two);
        assert_eq!(one.hands.len(), 100);
        for pair in one.hands.chunks(2) {
            assert_eq!(pair[0].deal, pair[1].deal);
            assert_eq!((pair[0].seat_a, pair[1].seat_a), (0, 1));
        }
        let alt = MatchConfig {
            seating: Seating::Alternate,
            ..config
        };
        let res = play_match(&mut RandomPlayer, &mut RuleV1Player, &alt).expect("match");
        let seats: Vec<usize> = res.hands.iter().take(4).map(|h| h.seat_a).collect();
        assert_eq!(seats, [0, 1, 0, 1]);
    }
}
