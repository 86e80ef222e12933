//! Cards, the deck and seeded deals.
//!
//! Leduc Hold'em is played with six cards: J, Q and K in two suits. rlcard writes a card as suit
//! then rank (`Card.get_index()` in `rlcard/games/base.py`: `SJ`, `HQ`, ...) and builds the deck
//! in the order SJ, HJ, SQ, HQ, SK, HK (`rlcard/games/leducholdem/dealer.py`). A reduced deck
//! (J and Q only, four cards) keeps the rules and makes brute-force checks feasible.

use std::fmt;
use std::str::FromStr;

use crate::error::GameError;
use crate::rng::SplitMix64;

/// A card rank; the order is the poker order (J < Q < K).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rank {
    /// Jack.
    J = 0,
    /// Queen.
    Q = 1,
    /// King.
    K = 2,
}

impl Rank {
    /// The three ranks, lowest first.
    pub const ALL: [Rank; 3] = [Rank::J, Rank::Q, Rank::K];

    /// 0 for J, 1 for Q, 2 for K (rlcard's `card2index.json`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The rank with index `i` (see [`Rank::index`]).
    pub fn from_index(i: usize) -> Option<Rank> {
        Rank::ALL.get(i).copied()
    }

    /// `J`, `Q` or `K`.
    pub fn letter(self) -> char {
        match self {
            Rank::J => 'J',
            Rank::Q => 'Q',
            Rank::K => 'K',
        }
    }

    /// `Jack`, `Queen` or `King`.
    pub fn word(self) -> &'static str {
        match self {
            Rank::J => "Jack",
            Rank::Q => "Queen",
            Rank::K => "King",
        }
    }
}

impl fmt::Display for Rank {
    /// `J`, `Q` or `K`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// A card suit: rlcard's Leduc deck uses spades and hearts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suit {
    /// Spades (`S`).
    S,
    /// Hearts (`H`).
    H,
}

impl Suit {
    /// `S` or `H`.
    pub fn letter(self) -> char {
        match self {
            Suit::S => 'S',
            Suit::H => 'H',
        }
    }

    /// `Spades` or `Hearts`.
    pub fn word(self) -> &'static str {
        match self {
            Suit::S => "Spades",
            Suit::H => "Hearts",
        }
    }
}

/// One card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Card {
    /// Its suit.
    pub suit: Suit,
    /// Its rank.
    pub rank: Rank,
}

impl Card {
    /// The card of `suit` and `rank`.
    pub fn new(suit: Suit, rank: Rank) -> Card {
        Card { suit, rank }
    }

    /// Plain words, e.g. `King of Spades`.
    pub fn words(&self) -> String {
        format!("{} of {}", self.rank.word(), self.suit.word())
    }
}

impl fmt::Display for Card {
    /// rlcard's card string: suit then rank (`SK`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.suit.letter(), self.rank.letter())
    }
}

impl FromStr for Card {
    type Err = GameError;

    /// Parses rlcard's card string (`SJ`, `HK`, ...).
    fn from_str(s: &str) -> Result<Card, GameError> {
        let bad = || GameError::ParseCard(s.to_string());
        let mut chars = s.trim().chars();
        let suit = match chars.next() {
            Some('S') => Suit::S,
            Some('H') => Suit::H,
            _ => return Err(bad()),
        };
        let rank = match chars.next() {
            Some('J') => Rank::J,
            Some('Q') => Rank::Q,
            Some('K') => Rank::K,
            _ => return Err(bad()),
        };
        if chars.next().is_some() {
            return Err(bad());
        }
        Ok(Card::new(suit, rank))
    }
}

/// The deck: the lowest `n` ranks (2 or 3), each in both suits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deck {
    ranks: usize,
}

impl Deck {
    /// The Leduc deck: J, Q, K in two suits (six cards).
    pub const LEDUC: Deck = Deck { ranks: 3 };

    /// A deck of the lowest `ranks` ranks in two suits; `Deck::with_ranks(2)` is the reduced
    /// four-card deck (J, Q).
    pub fn with_ranks(ranks: usize) -> Result<Deck, GameError> {
        if (2..=3).contains(&ranks) {
            Ok(Deck { ranks })
        } else {
            Err(GameError::DeckRanks(ranks))
        }
    }

    /// Its ranks, lowest first.
    pub fn ranks(&self) -> &'static [Rank] {
        &Rank::ALL[..self.ranks]
    }

    /// Number of copies of each rank in the deck (one per suit).
    pub const COPIES: usize = 2;

    /// Number of cards.
    pub fn size(&self) -> usize {
        self.ranks * Deck::COPIES
    }

    /// Its cards in rlcard's order (SJ, HJ, SQ, HQ, SK, HK for the full deck).
    pub fn cards(&self) -> Vec<Card> {
        self.ranks()
            .iter()
            .flat_map(|&r| [Card::new(Suit::S, r), Card::new(Suit::H, r)])
            .collect()
    }

    /// Whether `card` is in this deck.
    pub fn contains(&self, card: Card) -> bool {
        card.rank.index() < self.ranks
    }
}

/// Which seat posts the small blind (rlcard) or acts first (Southey) in a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FirstSeat {
    /// Drawn uniformly per deal, as rlcard's `init_game` does (`np_random.randint(0, 2)`).
    Random,
    /// Always this seat.
    Fixed(usize),
}

/// The cards of one hand and who opens it; fixed before the first action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deal {
    /// The private card of seat 0 and of seat 1.
    pub hands: [Card; 2],
    /// The public card, revealed when round 2 starts.
    pub public: Card,
    /// The seat that posts the small blind and acts first in round 1.
    pub first: usize,
}

impl Deal {
    /// A deal of three distinct cards from `deck`.
    pub fn new(
        deck: Deck,
        hands: [Card; 2],
        public: Card,
        first: usize,
    ) -> Result<Deal, GameError> {
        if first > 1 {
            return Err(GameError::Seat(first));
        }
        let cards = [hands[0], hands[1], public];
        for (i, card) in cards.iter().enumerate() {
            if !deck.contains(*card) {
                let ranks: String = deck.ranks().iter().map(|r| r.letter()).collect();
                return Err(GameError::CardNotInDeck(card.to_string(), ranks));
            }
            if cards[..i].contains(card) {
                return Err(GameError::DuplicateCard(card.to_string()));
            }
        }
        Ok(Deal {
            hands,
            public,
            first,
        })
    }

    /// A uniformly random deal from `deck`; the opening seat is drawn first when random.
    pub fn random(deck: Deck, first: FirstSeat, rng: &mut SplitMix64) -> Result<Deal, GameError> {
        let first = match first {
            FirstSeat::Random => rng.below(2),
            FirstSeat::Fixed(seat) if seat <= 1 => seat,
            FirstSeat::Fixed(seat) => return Err(GameError::Seat(seat)),
        };
        let mut cards = deck.cards();
        rng.shuffle(&mut cards);
        Ok(Deal {
            hands: [cards[0], cards[1]],
            public: cards[2],
            first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_print_and_parse_as_rlcard_writes_them() {
        let deck = Deck::LEDUC.cards();
        let names: Vec<String> = deck.iter().map(|c| c.to_string()).collect();
        assert_eq!(names, ["SJ", "HJ", "SQ", "HQ", "SK", "HK"]);
        for c in &deck {
            assert_eq!(c.to_string().parse::<Card>(), Ok(*c));
        }
        assert!("KS".parse::<Card>().is_err());
        assert!("SKK".parse::<Card>().is_err());
        assert_eq!(
            "HQ".parse::<Card>().map(|c| c.words()),
            Ok("Queen of Hearts".into())
        );
    }

    #[test]
    fn reduced_deck_has_four_cards_and_bad_sizes_are_refused() {
        let d = Deck::with_ranks(2).expect("two ranks");
        assert_eq!(d.size(), 4);
        assert!(!d.contains(Card::new(Suit::S, Rank::K)));
        assert_eq!(Deck::with_ranks(1), Err(GameError::DeckRanks(1)));
        assert_eq!(Deck::with_ranks(4), Err(GameError::DeckRanks(4)));
    }

    #[test]
    fn deals_are_seeded_distinct_and_cover_both_openers() {
        let mut a = SplitMix64::new(11);
        let mut b = SplitMix64::new(11);
        let mut openers = [0; 2];
        for _ in 0..200 {
            let d = Deal::random(Deck::LEDUC, FirstSeat::Random, &mut a).expect("deal");
            assert_eq!(Deal::random(Deck::LEDUC, FirstSeat::Random, &mut b), Ok(d));
            assert_ne!(d.hands[0], d.hands[1]);
            assert_ne!(d.public, d.hands[0]);
            assert_ne!(d.public, d.hands[1]);
            openers[d.first] += 1;
        }
        assert!(openers[0] > 50 && openers[1] > 50, "{openers:?}");
        let fixed = Deal::random(Deck::LEDUC, FirstSeat::Fixed(1), &mut a).expect("deal");
        assert_eq!(fixed.first, 1);
        assert!(Deal::random(Deck::LEDUC, FirstSeat::Fixed(2), &mut a).is_err());
    }

    #[test]
    fn hand_built_deals_are_validated() {
        let sj = Card::new(Suit::S, Rank::J);
        let hk = Card::new(Suit::H, Rank::K);
        assert!(Deal::new(Deck::LEDUC, [sj, hk], sj, 0).is_err());
        assert!(Deal::new(Deck::LEDUC, [sj, hk], Card::new(Suit::H, Rank::J), 2).is_err());
        let reduced = Deck::with_ranks(2).expect("two ranks");
        assert!(Deal::new(reduced, [sj, hk], Card::new(Suit::H, Rank::J), 0).is_err());
    }
}
