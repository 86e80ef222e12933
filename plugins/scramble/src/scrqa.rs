//! ScrQA-mini: templated fact contexts, a question about one fact, multiple choice, and the
//! notes' lexical-overlap readers.
//!
//! An item's context is `facts` sentences `The {object} of {name} is {value}.` about one
//! object (city, colour, pet, fruit, instrument or sport) and distinct names and values; the
//! question `What is the {object} of {name}?` asks about one of them, and the choices are that
//! value and `choices − 1` other values of the context, shuffled. Only the context is
//! scrambled, as in the paper.
//!
//! A reader scores each choice by the largest overlap between a context sentence's tokens and
//! the tokens of the question and the choice together, and picks the best (the first on ties,
//! so that a reader that sees nothing answers at chance). The **raw** reader compares
//! lower-cased tokens; the **canonical** reader compares canonical tokens (letters sorted, see
//! [`words::canonical`]), which no permutation of letters changes.

use std::collections::HashSet;

use crate::pyrandom::PyRandom;
use crate::words;

/// The names facts are about (no two with the same letters).
const NAMES: [&str; 26] = [
    "Alice", "Bruno", "Carla", "Diego", "Elena", "Farid", "Greta", "Hiroshi", "Ingrid", "Jamal",
    "Keiko", "Lars", "Maria", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tomas",
    "Ursula", "Victor", "Wanda", "Xavier", "Yusuf", "Zofia",
];

/// Objects and their values (no two words of the vocabulary with the same letters).
const OBJECTS: [(&str, [&str; 12]); 6] = [
    (
        "city",
        [
            "Lisbon", "Oslo", "Cairo", "Lima", "Quito", "Dublin", "Madrid", "Vienna", "Prague",
            "Nairobi", "Hanoi", "Denver",
        ],
    ),
    (
        "colour",
        [
            "amber",
            "crimson",
            "violet",
            "indigo",
            "olive",
            "teal",
            "maroon",
            "silver",
            "golden",
            "scarlet",
            "ivory",
            "turquoise",
        ],
    ),
    (
        "pet",
        [
            "parrot", "rabbit", "turtle", "hamster", "kitten", "puppy", "goldfish", "lizard",
            "ferret", "canary", "pony", "gecko",
        ],
    ),
    (
        "fruit",
        [
            "mango", "peach", "cherry", "lemon", "apricot", "banana", "grape", "papaya", "plum",
            "kiwi", "guava", "fig",
        ],
    ),
    (
        "instrument",
        [
            "violin", "cello", "flute", "guitar", "piano", "trumpet", "harp", "drums", "banjo",
            "oboe", "tuba", "sitar",
        ],
    ),
    (
        "sport",
        [
            "tennis", "rugby", "hockey", "cricket", "golf", "rowing", "karate", "judo", "fencing",
            "cycling", "skiing", "boxing",
        ],
    ),
];

/// The most facts a context can hold (names and values per object).
pub const MAX_FACTS: usize = 12;

/// One multiple-choice item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The context's sentences.
    pub context: Vec<String>,
    /// The question.
    pub question: String,
    /// The choices.
    pub choices: Vec<String>,
    /// The index of the right choice.
    pub answer: usize,
}

/// One fact sentence.
fn fact(object: &str, name: &str, value: &str) -> String {
    format!("The {object} of {name} is {value}.")
}

/// `n` distinct indices below `len`, in random order.
fn pick(rng: &mut PyRandom, len: usize, n: usize) -> Vec<usize> {
    let all: Vec<usize> = (0..len).collect();
    rng.sample(&all, n)
}

/// `n` items of `facts` facts and `choices` choices each (`2 <= choices <= facts <=
/// MAX_FACTS`), from `seed`.
pub fn items(n: usize, facts: usize, choices: usize, seed: u64) -> Vec<Item> {
    let facts = facts.clamp(2, MAX_FACTS);
    let choices = choices.clamp(2, facts);
    let mut rng = PyRandom::new(seed);
    (0..n)
        .map(|_| {
            let (object, values) = OBJECTS[rng.randbelow(OBJECTS.len())];
            let names = pick(&mut rng, NAMES.len(), facts);
            let vals = pick(&mut rng, values.len(), facts);
            let context: Vec<String> = names
                .iter()
                .zip(&vals)
                .map(|(&n, &v)| fact(object, NAMES[n], values[v]))
                .collect();
            let target = rng.randbelow(facts);
            let mut options: Vec<usize> = vec![target];
            let others: Vec<usize> = (0..facts).filter(|&i| i != target).collect();
            options.extend(rng.sample(&others, choices - 1));
            let order = pick(&mut rng, choices, choices);
            let choices: Vec<String> = order
                .iter()
                .map(|&o| values[vals[options[o]]].to_string())
                .collect();
            let answer = order.iter().position(|&o| o == 0).unwrap_or(0);
            Item {
                context,
                question: format!("What is the {object} of {}?", NAMES[names[target]]),
                choices,
                answer,
            }
        })
        .collect()
}

/// `n` random fact sentences from `seed` (training text for a learned recoverer that should
/// know ScrQA's words).
pub fn fact_sentences(n: usize, seed: u64) -> Vec<String> {
    let mut rng = PyRandom::new(seed);
    (0..n)
        .map(|_| {
            let (object, values) = OBJECTS[rng.randbelow(OBJECTS.len())];
            let name = NAMES[rng.randbelow(NAMES.len())];
            fact(object, name, values[rng.randbelow(values.len())])
        })
        .collect()
}

/// How a reader compares tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// Lower-cased as written.
    Raw,
    /// Letters sorted (scramble-invariant).
    Canonical,
}

/// The set of tokens with a letter or digit in `text`.
fn token_set(text: &str, how: Tokens) -> HashSet<String> {
    words::split(text)
        .into_iter()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(|t| match how {
            Tokens::Raw => t.to_lowercase(),
            Tokens::Canonical => words::canonical(&t),
        })
        .collect()
}

/// The lexical-overlap reader's choice for `item` read over `context` (the item's context,
/// scrambled or recovered).
pub fn read(item: &Item, context: &[String], how: Tokens) -> usize {
    let question = token_set(&item.question, how);
    let sentences: Vec<HashSet<String>> = context.iter().map(|s| token_set(s, how)).collect();
    let mut best = (0usize, 0usize);
    for (c, choice) in item.choices.iter().enumerate() {
        let mut wanted = question.clone();
        wanted.extend(token_set(choice, how));
        let score = sentences
            .iter()
            .map(|s| s.intersection(&wanted).count())
            .max()
            .unwrap_or(0);
        if score > best.1 || c == 0 {
            best = (c, score);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scramble::{scramble_corpus, Scrambler};

    #[test]
    fn no_two_words_of_the_vocabulary_are_anagrams() {
        let mut all: Vec<&str> = NAMES.to_vec();
        for (o, values) in OBJECTS {
            all.push(o);
            all.extend(values);
        }
        all.extend(["The", "of", "is", "What"]);
        let keys: HashSet<String> = all.iter().map(|w| words::canonical(w)).collect();
        assert_eq!(keys.len(), all.len());
    }

    #[test]
    fn items_are_well_formed_and_seeded() {
        let it = items(300, 4, 4, 7);
        for i in &it {
            assert_eq!(i.context.len(), 4);
            assert_eq!(i.choices.len(), 4);
            let right = &i.choices[i.answer];
            let name = i.question.trim_end_matches('?').rsplit(' ').next().unwrap();
            let fact = i
                .context
                .iter()
                .find(|s| s.contains(&format!(" {name} ")))
                .unwrap();
            assert!(fact.ends_with(&format!(" {right}.")), "{i:?}");
            let distinct: HashSet<&String> = i.choices.iter().collect();
            assert_eq!(distinct.len(), 4);
            assert!(i
                .choices
                .iter()
                .all(|c| i.context.iter().any(|s| s.contains(c.as_str()))));
        }
        // The right answer sits at every position about equally often.
        let mut at = [0usize; 4];
        it.iter().for_each(|i| at[i.answer] += 1);
        assert!(at.iter().all(|&n| (45..=105).contains(&n)), "{at:?}");
        assert_eq!(it, items(300, 4, 4, 7));
        assert_ne!(it, items(300, 4, 4, 8));
        assert_eq!(fact_sentences(5, 1), fact_sentences(5, 1));
    }

    fn accuracy(it: &[Item], scrambler: Option<Scrambler>, how: Tokens) -> f64 {
        let flat: Vec<String> = it.iter().flat_map(|i| i.context.clone()).collect();
        let texts = match scrambler {
            Some(s) => scramble_corpus(&flat, s, 10).texts,
            None => flat,
        };
        let right = it
            .iter()
            .zip(texts.chunks(it[0].context.len()))
            .filter(|(i, ctx)| read(i, ctx, how) == i.answer)
            .count();
        right as f64 / it.len() as f64
    }

    #[test]
    fn the_canonical_reader_survives_scrambling_and_the_raw_one_does_not() {
        let it = items(400, 4, 4, 1234);
        for how in [Tokens::Raw, Tokens::Canonical] {
            assert_eq!(accuracy(&it, None, how), 1.0, "{how:?} on the original");
            let sub = accuracy(&it, Some(Scrambler::Substitute), how);
            assert!(
                (0.15..0.35).contains(&sub),
                "{how:?} on substituted text: {sub}"
            );
        }
        let rs100 = Some(Scrambler::Random { tenths: 10 });
        assert_eq!(accuracy(&it, rs100, Tokens::Canonical), 1.0);
        assert!(accuracy(&it, rs100, Tokens::Raw) < 0.4);
    }
}
