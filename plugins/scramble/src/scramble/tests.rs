//! The scramblers' invariants over many seeds, and their draws against CPython's.

use super::*;
use crate::corpus;

fn shipped() -> Vec<String> {
    corpus::shipped()
}

/// Tokens of `a` and `b` pair up, non-letters stay in place and each token keeps its letters.
fn assert_same_letters(a: &str, b: &str) {
    let (ta, tb) = (words::split(a), words::split(b));
    assert_eq!(ta.len(), tb.len(), "{a:?} vs {b:?}");
    for (x, y) in ta.iter().zip(&tb) {
        let (mut cx, mut cy): (Vec<char>, Vec<char>) = (x.chars().collect(), y.chars().collect());
        assert_eq!(cx.len(), cy.len(), "{x:?} vs {y:?}");
        for (p, q) in cx.iter().zip(&cy) {
            assert_eq!(words::is_letter(*p), words::is_letter(*q), "{x:?} vs {y:?}");
            if !words::is_letter(*p) {
                assert_eq!(p, q, "non-letters stay: {x:?} vs {y:?}");
            }
        }
        cx.sort_unstable();
        cy.sort_unstable();
        assert_eq!(cx, cy, "letter multiset of {x:?} vs {y:?}");
    }
}

fn round_half_even(x: f64) -> usize {
    x.round_ties_even() as usize
}

#[test]
fn random_scrambles_keep_letters_nest_and_count_by_the_rounding_formula() {
    let corpus = shipped();
    for seed in 0..40u64 {
        let steps = random_steps(&corpus, seed, 10);
        assert_eq!(steps.len(), 10);
        for (s, original) in corpus.iter().enumerate() {
            let n = words::eligible(&words::split(original)).len();
            for (t, step) in steps.iter().enumerate() {
                assert_same_letters(original, &step.texts[s]);
                let want = round_half_even(n as f64 * 0.1 * (t + 1) as f64);
                assert_eq!(step.chosen[s].len(), want, "sentence {s}, step {}", t + 1);
                // Every chosen token is eligible, and chosen once.
                let mut ids = step.chosen[s].clone();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), want);
                // Tokens that were never chosen are untouched.
                let (orig, scr) = (words::split(original), words::split(&step.texts[s]));
                for i in 0..orig.len() {
                    if !step.chosen[s].contains(&i) {
                        assert_eq!(orig[i], scr[i], "unchosen token {i} of sentence {s}");
                    }
                }
            }
            // 20 % within 50 % within 100 %, and earlier shuffles persist unchanged.
            let (rs20, rs50, rs100) = (&steps[1], &steps[4], &steps[9]);
            assert!(rs20.chosen[s].iter().all(|i| rs50.chosen[s].contains(i)));
            assert!(rs50.chosen[s].iter().all(|i| rs100.chosen[s].contains(i)));
            let tokens = |t: &str| words::split(t);
            for &i in &rs20.chosen[s] {
                assert_eq!(tokens(&rs20.texts[s])[i], tokens(&rs100.texts[s])[i]);
            }
            assert_eq!(
                rs100.chosen[s].len(),
                n,
                "RS-100% scrambles every eligible word"
            );
        }
    }
}

#[test]
fn the_rounding_formula_rounds_halves_to_even_as_python_does() {
    // n = 5 at 10 % steps: 0.5 -> 0, 1.0 -> 1, 1.5 -> 2, 2.0, 2.5 -> 2 ...
    let sentence = "aa bb cc dd ee".to_string();
    let steps = random_steps(&[sentence], 10, 10);
    let counts: Vec<usize> = steps.iter().map(|s| s.chosen[0].len()).collect();
    assert_eq!(counts, [0, 1, 2, 2, 2, 3, 4, 4, 4, 5]);
    for n in 1..40usize {
        let s: Vec<String> = vec![(0..n).map(|_| "ab").collect::<Vec<_>>().join(" ")];
        for (t, step) in random_steps(&s, 3, 10).iter().enumerate() {
            assert_eq!(
                step.chosen[0].len(),
                round_half_even(n as f64 * 0.1 * (t + 1) as f64),
                "n = {n}, step {}",
                t + 1
            );
        }
    }
}

#[test]
fn keep_first_and_keep_first_last_keep_their_boundary_letters() {
    let corpus = shipped();
    for seed in 0..40u64 {
        for (scrambler, first, last, min) in [
            (Scrambler::KeepFirst, 1, 0, 3),
            (Scrambler::KeepFirstLast, 1, 1, 4),
        ] {
            let out = scramble_corpus(&corpus, scrambler, seed);
            let mut moved = 0usize;
            for (o, s) in corpus.iter().zip(&out.texts) {
                assert_same_letters(o, s);
                for (a, b) in words::split(o).iter().zip(words::split(s)) {
                    let la: Vec<char> = a.chars().filter(|&c| words::is_letter(c)).collect();
                    let lb: Vec<char> = b.chars().filter(|&c| words::is_letter(c)).collect();
                    if la.len() < min {
                        assert_eq!(a, &b, "{scrambler:?} leaves short words alone");
                        continue;
                    }
                    assert_eq!(la[..first], lb[..first], "{scrambler:?}: {a} -> {b}");
                    assert_eq!(
                        la[la.len() - last..],
                        lb[lb.len() - last..],
                        "{scrambler:?}: {a} -> {b}"
                    );
                    moved += usize::from(a != &b);
                }
            }
            assert!(moved > 1000, "{scrambler:?} moved only {moved} words");
        }
    }
}

#[test]
fn substitution_replaces_every_letter_of_every_eligible_word() {
    let corpus = shipped();
    for seed in [0u64, 10, 99] {
        let out = scramble_corpus(&corpus, Scrambler::Substitute, seed);
        for (o, s) in corpus.iter().zip(&out.texts) {
            for (a, b) in words::split(o).iter().zip(words::split(s)) {
                let eligible = words::letters(a) > 1;
                for (p, q) in a.chars().zip(b.chars()) {
                    if words::is_letter(p) && eligible {
                        assert!(q.is_ascii_alphabetic() && q != p, "{a} -> {b}");
                    } else {
                        assert_eq!(p, q, "{a} -> {b}");
                    }
                }
            }
        }
    }
}

#[test]
fn scrambling_is_seeded() {
    let corpus = shipped();
    for scrambler in [
        Scrambler::Random { tenths: 5 },
        Scrambler::KeepFirst,
        Scrambler::KeepFirstLast,
        Scrambler::Substitute,
    ] {
        let a = scramble_corpus(&corpus, scrambler, 10);
        assert_eq!(a, scramble_corpus(&corpus, scrambler, 10), "{scrambler:?}");
        assert_ne!(a, scramble_corpus(&corpus, scrambler, 11), "{scrambler:?}");
        assert_ne!(a.texts, corpus, "{scrambler:?} changes the text");
    }
}

#[test]
fn two_letter_shuffles_always_swap() {
    let mut rng = PyRandom::new(0);
    for _ in 0..100 {
        assert_eq!(scramble_word("of", &mut rng), "fo");
    }
    assert_eq!(scramble_word("a", &mut rng), "a");
    assert_eq!(keep_first_word("an", &mut rng), "an");
    assert_eq!(keep_first_word("the", &mut rng), "teh");
    assert_eq!(keep_first_last_word("them", &mut rng), "tehm");
}

#[test]
fn scramblers_are_named_and_rates_checked() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let all = Scrambler::parse_all(
        &names(&["random", "keep_first", "keep_first_last", "substitute"]),
        &[0.2, 0.5, 1.0],
    )
    .unwrap();
    let labels: Vec<String> = all.iter().map(Scrambler::label).collect();
    assert_eq!(labels, ["RS-20%", "RS-50%", "RS-100%", "KF", "KFL", "Sub"]);
    assert_eq!(all[1].rate(), Some(0.5));
    assert_eq!(
        Scrambler::parse_all(&names(&["shuffle"]), &[]),
        Err(ScrambleError::Unknown("shuffle".into()))
    );
    for bad in [0.0, -0.1, 1.5, f64::NAN] {
        assert!(matches!(
            Scrambler::random(bad),
            Err(ScrambleError::RateOutOfRange(_))
        ));
    }
    assert_eq!(
        Scrambler::random(0.25),
        Err(ScrambleError::RateNotAStep(0.25))
    );
    // 0.3 is not exactly representable; it is still three steps.
    assert_eq!(Scrambler::random(0.3), Ok(Scrambler::Random { tenths: 3 }));
}

/// The scrambled text CPython's `random` and `re` give for the notes' algorithm
/// (`tests/python_scramble.py`), equal to the port's to the character.
#[test]
fn scrambles_equal_a_python_run_of_the_same_algorithm() {
    let f: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/python_scramble.json")).expect("fixture");
    let sentences: Vec<String> = f["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| s.as_str().expect("text").to_string())
        .collect();
    let seed = f["seed"].as_u64().expect("seed");
    let get = |key: &str| -> Vec<String> {
        f[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}"))
            .iter()
            .map(|s| s.as_str().expect("text").to_string())
            .collect()
    };
    let steps = random_steps(&sentences, seed, 10);
    assert_eq!(steps[1].texts, get("random_20"));
    assert_eq!(steps[4].texts, get("random_50"));
    assert_eq!(steps[9].texts, get("random_100"));
    for (scrambler, key) in [
        (Scrambler::KeepFirst, "keep_first"),
        (Scrambler::KeepFirstLast, "keep_first_last"),
        (Scrambler::Substitute, "substitute"),
    ] {
        assert_eq!(
            scramble_corpus(&sentences, scrambler, seed).texts,
            get(key),
            "{key}"
        );
    }
    let mut rng = PyRandom::new(seed);
    let demos: Vec<String> = sentences
        .iter()
        .map(|s| scramble_sentence_at(s, 0.5, &mut rng).0)
        .collect();
    assert_eq!(demos, get("percent_50"));
}
