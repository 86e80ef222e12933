//! The four betting actions, named and ordered as rlcard names and orders them
//! (`rlcard/envs/leducholdem.py`: `self.actions = ['call', 'raise', 'fold', 'check']`).

use std::fmt;
use std::str::FromStr;

/// A betting action. The discriminant is rlcard's action id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Put in chips up to the highest contribution of the round (only when behind).
    Call = 0,
    /// Match the highest contribution and add the round's raise amount.
    Raise = 1,
    /// Give up the hand and the chips already put in.
    Fold = 2,
    /// Pass without putting in chips (only when level).
    Check = 3,
}

impl Action {
    /// All actions in rlcard's order (its action ids 0..4).
    pub const ALL: [Action; 4] = [Action::Call, Action::Raise, Action::Fold, Action::Check];

    /// rlcard's action id: call 0, raise 1, fold 2, check 3.
    pub fn index(self) -> usize {
        self as usize
    }

    /// rlcard's name: `call`, `raise`, `fold` or `check`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Raise => "raise",
            Action::Fold => "fold",
            Action::Check => "check",
        }
    }

    /// One letter for histories and information-set keys: `c`, `r`, `f`, `k`.
    pub fn letter(self) -> char {
        match self {
            Action::Call => 'c',
            Action::Raise => 'r',
            Action::Fold => 'f',
            Action::Check => 'k',
        }
    }

    /// The action with one-letter code `letter` (see [`Action::letter`]).
    pub fn from_letter(letter: char) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.letter() == letter)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Text that names no action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an action: expected call, raise, fold or check")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    /// Parses rlcard's names, ignoring case and surrounding spaces.
    fn from_str(s: &str) -> Result<Action, UnknownAction> {
        let wanted = s.trim().to_ascii_lowercase();
        Action::ALL
            .into_iter()
            .find(|a| a.name() == wanted)
            .ok_or_else(|| UnknownAction(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_letters_round_trip() {
        for (i, a) in Action::ALL.into_iter().enumerate() {
            assert_eq!(a.index(), i);
            assert_eq!(a.name().parse::<Action>(), Ok(a));
            assert_eq!(Action::from_letter(a.letter()), Some(a));
        }
        assert_eq!(" RAISE ".parse::<Action>(), Ok(Action::Raise));
        assert!("bet".parse::<Action>().is_err());
    }
}
