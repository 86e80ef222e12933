//! Information-set keys: what a seat can condition its decision on, written as a short string
//! so that a policy can be stored as a table.
//!
//! - **Full history** (perfect recall): own rank, public rank, and every action of both rounds,
//!   e.g. `K-:c` (a King, no public card, the small blind has called) or `KQ:rc/k` (round 1
//!   went raise-call, the public card is a Queen, round 2 began with a check). Whose turn it is
//!   follows from the history, so the seat is not part of the key and one table serves both.
//! - **Obs** (rlcard's imperfect recall, `rlcard/agents/cfr_agent.py` keys its tables by
//!   `obs.tostring()`): own rank, public rank and the two chip counts of the 36-dimensional
//!   observation, no history, e.g. `K-|1|2` or `KQ|6|10`. Different histories with the same
//!   chips share one entry.
//!
//! Suits never matter for play, so keys use ranks only (as rlcard's observation does).

use crate::action::Action;
use crate::cards::Rank;
use crate::view::View;

/// How decisions are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keying {
    /// Own rank, public rank and the whole action history (perfect recall).
    FullHistory,
    /// Own rank, public rank and both chip counts, as rlcard's CFR keys by its observation.
    Obs,
}

impl Keying {
    /// `full_history` or `obs` (for storage next to a policy table).
    pub fn name(self) -> &'static str {
        match self {
            Keying::FullHistory => "full_history",
            Keying::Obs => "obs",
        }
    }

    /// The keying called `name` (see [`Keying::name`]).
    pub fn from_name(name: &str) -> Option<Keying> {
        [Keying::FullHistory, Keying::Obs]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// The key of the decision `view` is facing.
    pub fn key(self, view: &View) -> String {
        let public = view.public.map(|c| c.rank);
        match self {
            Keying::FullHistory => full_history_key(view.hand.rank, public, &view.actions()),
            Keying::Obs => obs_key(
                view.hand.rank,
                public,
                view.my_chips(),
                view.opponent_chips(),
            ),
        }
    }

    /// Whether `key` is written the way this keying writes keys.
    pub fn accepts(self, key: &str) -> bool {
        let chars: Vec<char> = key.chars().collect();
        if chars.len() < 3 || Rank::ALL.iter().all(|r| r.letter() != chars[0]) {
            return false;
        }
        let public = chars[1];
        let has_public = Rank::ALL.iter().any(|r| r.letter() == public);
        if !has_public && public != '-' {
            return false;
        }
        let rest: String = chars[3..].iter().collect();
        match self {
            Keying::FullHistory => {
                let rounds: Vec<&str> = rest.split('/').collect();
                chars[2] == ':'
                    && rounds.len() == if has_public { 2 } else { 1 }
                    && rounds
                        .iter()
                        .all(|r| r.chars().all(|c| Action::from_letter(c).is_some()))
            }
            Keying::Obs => {
                let chips: Vec<&str> = rest.split('|').collect();
                chars[2] == '|'
                    && chips.len() == 2
                    && chips
                        .iter()
                        .all(|c| c.parse::<u32>().is_ok_and(|n| n <= 14))
            }
        }
    }
}

/// The perfect-recall key: `{rank}{public or -}:{round 1 letters}` and, once the public card is
/// out, `/{round 2 letters}` (letters from [`Action::letter`]).
pub fn full_history_key(hand: Rank, public: Option<Rank>, actions: &[Vec<Action>; 2]) -> String {
    let letters = |round: &Vec<Action>| round.iter().map(|a| a.letter()).collect::<String>();
    let mut key = format!(
        "{}{}:{}",
        hand.letter(),
        public_letter(public),
        letters(&actions[0])
    );
    if public.is_some() {
        key.push('/');
        key.push_str(&letters(&actions[1]));
    }
    key
}

/// rlcard's imperfect-recall key: `{rank}{public or -}|{my chips}|{opponent chips}`.
pub fn obs_key(hand: Rank, public: Option<Rank>, my_chips: u32, opponent_chips: u32) -> String {
    format!(
        "{}{}|{my_chips}|{opponent_chips}",
        hand.letter(),
        public_letter(public)
    )
}

fn public_letter(public: Option<Rank>) -> char {
    public.map_or('-', |r| r.letter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    #[test]
    fn keys_are_written_as_documented_and_accepted_by_their_keying_only() {
        let k = full_history_key(Rank::K, None, &[vec![Call], vec![]]);
        assert_eq!(k, "K-:c");
        let k2 = full_history_key(Rank::K, Some(Rank::Q), &[vec![Raise, Call], vec![Check]]);
        assert_eq!(k2, "KQ:rc/k");
        let o = obs_key(Rank::J, Some(Rank::K), 6, 10);
        assert_eq!(o, "JK|6|10");
        for key in [&k, &k2, &"Q-:".to_string(), &"QJ:ck/".to_string()] {
            assert!(Keying::FullHistory.accepts(key), "{key}");
            assert!(!Keying::Obs.accepts(key), "{key}");
        }
        assert!(Keying::Obs.accepts(&o));
        assert!(!Keying::FullHistory.accepts(&o));
        for bad in ["", "X-:c", "K-:c/", "KQ:c", "K-:x", "K-|1", "K-|1|99"] {
            assert!(
                !Keying::FullHistory.accepts(bad) && !Keying::Obs.accepts(bad),
                "{bad}"
            );
        }
        assert_eq!(Keying::from_name("obs"), Some(Keying::Obs));
    }
}
