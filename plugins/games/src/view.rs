//! What one seat sees of a hand: its own card, the public card once revealed, the chips, the
//! moves so far and its legal actions; rlcard's 36-dimensional observation and a plain-text
//! rendering for language agents are built from it.
//!
//! The observation follows `LeducholdemEnv._extract_state` (`rlcard/envs/leducholdem.py`):
//! index `card2index[hand]` (J 0, Q 1, K 2), `3 + card2index[public]` when the public card is
//! out, `6 + my_chips` and `21 + opponent_chips`, where the chips are everything put in so far
//! (blinds included, 0..=14).

use crate::action::Action;
use crate::betting::Move;
use crate::cards::Card;
use crate::rules::{Rules, Variant};

/// Length of rlcard's Leduc observation.
pub const OBS_LEN: usize = 36;

/// One seat's view of a hand.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The rules of the hand.
    pub rules: Rules,
    /// The seat this view belongs to.
    pub seat: usize,
    /// The opening seat (small blind for rlcard, first to act for Southey).
    pub first: usize,
    /// This seat's private card.
    pub hand: Card,
    /// The public card, once round 2 has started.
    pub public: Option<Card>,
    /// Chips put in by seat 0 and seat 1.
    pub in_chips: [u32; 2],
    /// The moves of round 1 and round 2 so far.
    pub history: [Vec<Move>; 2],
    /// The betting round (0 or 1; 2 once the hand is over).
    pub round: usize,
    /// The seat to act (`None` once the hand is over).
    pub current_player: Option<usize>,
    /// The legal actions of the seat to act (empty when it is not this seat's turn).
    pub legal_actions: Vec<Action>,
}

impl View {
    /// The chips this seat has put in.
    pub fn my_chips(&self) -> u32 {
        self.in_chips[self.seat]
    }

    /// The chips the opponent has put in.
    pub fn opponent_chips(&self) -> u32 {
        self.in_chips[1 - self.seat]
    }

    /// The actions of round 1 and round 2, without seats.
    pub fn actions(&self) -> [Vec<Action>; 2] {
        self.history
            .each_ref()
            .map(|moves| moves.iter().map(|m| m.action).collect())
    }

    /// rlcard's observation (see the module documentation).
    pub fn obs(&self) -> [f32; OBS_LEN] {
        let mut obs = [0.0; OBS_LEN];
        obs[self.hand.rank.index()] = 1.0;
        if let Some(public) = self.public {
            obs[3 + public.rank.index()] = 1.0;
        }
        // Chips never exceed 14: 2 raises per round at most (`Rules::with_max_raises`).
        obs[6 + self.my_chips() as usize] = 1.0;
        obs[21 + self.opponent_chips() as usize] = 1.0;
        obs
    }

    /// What this seat is called: small or big blind (rlcard), first or second to act (Southey).
    pub fn role(&self) -> &'static str {
        match (self.rules.variant(), self.seat == self.first) {
            (Variant::Rlcard, true) => "the small blind",
            (Variant::Rlcard, false) => "the big blind",
            (Variant::Southey, true) => "the first player",
            (Variant::Southey, false) => "the second player",
        }
    }

    /// A plain-text description of the situation, for a language agent: the rules, the cards,
    /// the chips, the moves so far and the legal actions (by their rlcard names).
    pub fn text(&self) -> String {
        let mut lines = vec![
            self.rules.describe(),
            format!("You are seat {}, {}.", self.seat, self.role()),
            format!("Your card: {} ({}).", self.hand.words(), self.hand),
        ];
        lines.push(match self.public {
            Some(card) => format!("Public card: {} ({}).", card.words(), card),
            None => "Public card: not revealed yet.".to_string(),
        });
        lines.push(format!(
            "Chips put in: you {}, opponent {} (pot {}).",
            self.my_chips(),
            self.opponent_chips(),
            self.in_chips[0] + self.in_chips[1]
        ));
        for (round, moves) in self.history.iter().enumerate() {
            if round > self.round.min(1) {
                break;
            }
            let said: Vec<String> = moves
                .iter()
                .map(|m| {
                    let who = if m.seat == self.seat {
                        "you"
                    } else {
                        "opponent"
                    };
                    format!("{who} {}", m.action)
                })
                .collect();
            let said = if said.is_empty() {
                "no actions yet".to_string()
            } else {
                said.join(", ")
            };
            lines.push(format!("Round {}: {said}.", round + 1));
        }
        lines.push(match self.current_player {
            Some(seat) if seat == self.seat => {
                let names: Vec<&str> = self.legal_actions.iter().map(|a| a.name()).collect();
                format!("It is your turn. Legal actions: {}.", names.join(", "))
            }
            Some(_) => "It is the opponent's turn.".to_string(),
            None => "The hand is over.".to_string(),
        });
        lines.join("\n")
    }
}
