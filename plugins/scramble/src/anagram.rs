//! The anagram-dictionary recoverer of the notes: each scrambled word is looked up by its
//! letters (sorted, case kept, with its non-letters in place) in a dictionary of known words,
//! and the most frequent word with those letters replaces it. When the scrambler is known to
//! keep the first (KF) or the first and last letters (KFL), only candidates with the same
//! boundary letters count. A word without a candidate stays as it is.

use std::collections::HashMap;

use crate::scramble::Scrambler;
use crate::words;

/// The key under which a word's anagrams are filed: its letters sorted (case kept) and the
/// word with every letter masked, so digits and marks must sit where they were.
fn key(token: &str) -> String {
    let mut letters: Vec<char> = token.chars().filter(|&c| words::is_letter(c)).collect();
    letters.sort_unstable();
    let mask: String = token
        .chars()
        .map(|c| if words::is_letter(c) { '*' } else { c })
        .collect();
    let mut k: String = letters.into_iter().collect();
    k.push('|');
    k.push_str(&mask);
    k
}

/// A dictionary of words filed by their letters.
#[derive(Debug, Clone, Default)]
pub struct AnagramSolver {
    /// Candidates per key, most frequent first (ties: alphabetical).
    by_key: HashMap<String, Vec<String>>,
}

/// The letters a candidate must share with the scrambled word.
fn boundary(token: &str, first: bool, last: bool) -> (Option<char>, Option<char>) {
    let letters: Vec<char> = token.chars().filter(|&c| words::is_letter(c)).collect();
    (
        first.then(|| letters.first().copied()).flatten(),
        last.then(|| letters.last().copied()).flatten(),
    )
}

impl AnagramSolver {
    /// A solver over words and their counts (the closed vocabulary).
    pub fn new<'a>(counts: impl IntoIterator<Item = (&'a String, &'a usize)>) -> Self {
        let mut by_key: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for (word, &count) in counts {
            by_key
                .entry(key(word))
                .or_default()
                .push((count, word.clone()));
        }
        let by_key = by_key
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                (k, v.into_iter().map(|(_, w)| w).collect())
            })
            .collect();
        AnagramSolver { by_key }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The most frequent known word with the letters of `token` (and, under `constraint`, its
    /// first / last letters), if any.
    pub fn solve_word(&self, token: &str, constraint: Option<Scrambler>) -> Option<&str> {
        let (first, last) = match constraint {
            Some(Scrambler::KeepFirst) => (true, false),
            Some(Scrambler::KeepFirstLast) => (true, true),
            _ => (false, false),
        };
        let want = boundary(token, first, last);
        self.by_key
            .get(&key(token))?
            .iter()
            .find(|w| boundary(w, first, last) == want)
            .map(String::as_str)
    }

    /// `sentence` with every word of two letters or more replaced by its solution.
    /// `constraint` is the scrambler when it is known to keep boundary letters.
    pub fn solve(&self, sentence: &str, constraint: Option<Scrambler>) -> String {
        let tokens: Vec<String> = words::split(sentence)
            .into_iter()
            .map(|t| {
                if words::letters(&t) < 2 {
                    return t;
                }
                self.solve_word(&t, constraint)
                    .map_or(t.clone(), str::to_string)
            })
            .collect();
        words::normalise(&tokens.concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;
    use crate::metrics::Distances;
    use crate::scramble::{scramble_corpus, Scrambler};

    fn solver(words: &[(&str, usize)]) -> AnagramSolver {
        let owned: Vec<(String, usize)> = words.iter().map(|(w, c)| (w.to_string(), *c)).collect();
        AnagramSolver::new(owned.iter().map(|(w, c)| (w, c)))
    }

    #[test]
    fn the_most_frequent_anagram_wins_unless_boundaries_rule_it_out() {
        let s = solver(&[("from", 10), ("form", 3), ("The", 5), ("x2y", 1)]);
        assert_eq!(s.solve_word("rfom", None), Some("from"));
        assert_eq!(s.solve_word("form", None), Some("from"));
        // KFL: the candidate must start with f and end with m: both do; KF too.
        assert_eq!(
            s.solve_word("form", Some(Scrambler::KeepFirstLast)),
            Some("from")
        );
        let s = solver(&[("items", 9), ("times", 2)]);
        assert_eq!(
            s.solve_word("tiems", Some(Scrambler::KeepFirst)),
            Some("times")
        );
        assert_eq!(s.solve_word("tiems", None), Some("items"));
        let s = solver(&[("The", 5), ("x2y", 1)]);
        assert_eq!(s.solve_word("hTe", None), Some("The"));
        assert_eq!(s.solve_word("the", None), None, "case is kept");
        assert_eq!(s.solve_word("y2x", None), Some("x2y"));
        assert_eq!(
            s.solve_word("2xy", None),
            None,
            "digits stay where they were"
        );
        assert_eq!(s.solve("hTe y2x, zz!", None), "The x2y, zz!");
    }

    #[test]
    fn in_a_closed_vocabulary_it_recovers_nearly_everything() {
        let sentences = corpus::shipped();
        let s = AnagramSolver::new(&corpus::vocabulary(&sentences));
        for scrambler in [
            Scrambler::Random { tenths: 10 },
            Scrambler::KeepFirst,
            Scrambler::KeepFirstLast,
        ] {
            let scrambled = scramble_corpus(&sentences, scrambler, 10);
            let mut d = Distances::default();
            for (o, x) in sentences.iter().zip(&scrambled.texts) {
                d.add(o, x, &s.solve(x, Some(scrambler)));
            }
            let rr = d.recovery_rate().unwrap();
            assert!(rr >= 90.0, "{scrambler:?}: RR {rr}");
        }
    }
}
