//! The one error type of the crate: what the caller did wrong and what to do instead.

use crate::action::{Action, UnknownAction};

/// Everything that can go wrong when a caller builds a game, plays it or loads a policy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GameError {
    /// An action that the rules do not allow at this point of the hand.
    #[error("illegal action `{action}` for seat {seat}: the legal actions are {}", names(.legal))]
    IllegalAction {
        /// The action that was tried.
        action: Action,
        /// The seat that tried it.
        seat: usize,
        /// The actions that were legal instead.
        legal: Vec<Action>,
    },
    /// An action after the hand ended.
    #[error("the hand is over: no seat is to act; start a new hand")]
    HandOver,
    /// Payoffs asked for before the hand ended.
    #[error("the hand is not over: payoffs exist only once it has ended (fold or showdown)")]
    NotTerminal,
    /// A seat index other than 0 or 1.
    #[error("seat {0} does not exist: Leduc Hold'em has seats 0 and 1")]
    Seat(usize),
    /// A deck with an unsupported number of ranks.
    #[error("a deck needs 2 or 3 ranks (J, Q[, K]), each in two suits; got {0} ranks")]
    DeckRanks(usize),
    /// More raises per round than the 36-dimensional observation can encode.
    #[error("at most 2 raises per round are supported (the rlcard observation encodes chips 0..=14); got {0}")]
    MaxRaises(u32),
    /// A deal that uses a card twice.
    #[error("the deal uses card {0} twice; each card exists once")]
    DuplicateCard(String),
    /// A deal with a card the deck does not hold.
    #[error("card {0} is not in this deck (its ranks are {1})")]
    CardNotInDeck(String, String),
    /// Text that is not a card.
    #[error("`{0}` is not a card: write the suit then the rank, as rlcard does (SJ, HQ, SK, ...)")]
    ParseCard(String),
    /// Text that is not an action.
    #[error(transparent)]
    ParseAction(#[from] UnknownAction),
    /// A policy entry that cannot be a probability table.
    #[error("policy entry for key `{key}`: {reason}")]
    PolicyEntry {
        /// The information-set key of the entry.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Sampling from an empty set of legal actions.
    #[error("no legal actions to choose from (the hand is over)")]
    NoLegalActions,
}

fn names(actions: &[Action]) -> String {
    let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
    format!("[{}]", names.join(", "))
}
