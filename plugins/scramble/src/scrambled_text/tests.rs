//! The learned recoverer's data: rows, split, seeding and refusals.

use std::collections::HashSet;

use super::*;
use crate::prompts::original_of;
use crate::words;

fn make(given: &[(&str, Value)]) -> Result<Box<dyn Dataset>> {
    let mut found = Vec::new();
    register(&mut found);
    found[0].build_dataset(
        given,
        &BuildContext {
            seed: 3,
            device: Device::Cpu,
        },
    )
}

/// Each row of `split` as text, with its last target appended.
fn rows(d: &dyn Dataset, split: Split, n: usize) -> Vec<String> {
    let idx: Vec<usize> = (0..n.min(d.len(split))).collect();
    let b = d.batch(split, &idx, &Device::Cpu).unwrap();
    let x = b.input.to_vec2::<u32>().unwrap();
    let y = b.target.to_vec2::<u32>().unwrap();
    let tok = d.tokenizer().unwrap();
    x.iter()
        .zip(&y)
        .map(|(x, y)| {
            assert_eq!(&x[1..], &y[..x.len() - 1], "targets are the inputs shifted");
            let mut ids = x.clone();
            ids.push(*y.last().unwrap());
            tok.decode(&ids).unwrap()
        })
        .collect()
}

fn same_letters(a: &str, b: &str) -> bool {
    let sorted = |s: &str| {
        let mut v: Vec<char> = s.chars().collect();
        v.sort_unstable();
        v
    };
    sorted(a) == sorted(b) && words::split(a).len() == words::split(b).len()
}

#[test]
fn rows_are_scrambled_then_original_and_the_split_is_by_sentence() {
    let d = make(&[("train_examples", Value::Int(3000))]).unwrap();
    let corpus: HashSet<String> = corpus::shipped().into_iter().collect();
    assert_eq!(d.len(Split::Test), 72, "a fifth of 360 sentences");
    let info = d.info();
    assert_eq!(info.input_shape, vec![2 * 72 + 5]);
    assert_eq!(info.objective, Objective::NextToken { vocab: 257 });
    let test = rows(&*d, Split::Test, 100);
    let held: HashSet<String> = test
        .iter()
        .map(|r| original_of(r).unwrap().to_string())
        .collect();
    assert_eq!(held.len(), 72);
    assert!(held.is_subset(&corpus));
    let (mut lists, mut sentences, mut moved) = (0, 0, 0);
    for r in test.iter().chain(&rows(&*d, Split::Train, 3000)) {
        assert!(r.ends_with('\n'), "{r:?}");
        let (scrambled, original) = r.trim_end().split_once(" => ").unwrap();
        assert!(same_letters(scrambled, original), "{r:?}");
        moved += usize::from(scrambled != original);
        if corpus.contains(original) {
            sentences += 1;
            if !test.contains(r) {
                assert!(
                    !held.contains(original),
                    "a held-out sentence in training: {r}"
                );
            }
        } else {
            lists += 1;
        }
    }
    // About 30 % word lists; nearly every row is scrambled.
    assert!((700..1100).contains(&lists), "{lists} word lists");
    assert!(sentences > 1900 && moved > 2900, "{sentences} {moved}");
}

#[test]
fn the_same_seed_gives_the_same_rows_and_facts_join_the_training_text() {
    let a = make(&[("train_examples", Value::Int(50))]).unwrap();
    let b = make(&[("train_examples", Value::Int(50))]).unwrap();
    let c = make(&[("train_examples", Value::Int(50)), ("seed", Value::Int(9))]).unwrap();
    for split in [Split::Train, Split::Test] {
        assert_eq!(rows(&*a, split, 50), rows(&*b, split, 50));
        assert_ne!(rows(&*a, split, 50), rows(&*c, split, 50));
    }
    let one = a.batch(Split::Train, &[17], &Device::Cpu).unwrap();
    let all = a
        .batch(Split::Train, &(0..50).collect::<Vec<_>>(), &Device::Cpu)
        .unwrap();
    assert_eq!(
        one.input.to_vec2::<u32>().unwrap()[0],
        all.input.to_vec2::<u32>().unwrap()[17]
    );
    let facts = make(&[
        ("train_examples", Value::Int(400)),
        ("qa_facts", Value::Int(1000)),
        ("word_lists", Value::Float(0.0)),
    ])
    .unwrap();
    let with_facts = rows(&*facts, Split::Train, 400)
        .iter()
        .filter(|r| r.contains(" => The ") && r.contains(" of ") && r.contains(" is "))
        .count();
    assert!(with_facts > 200, "{with_facts}");
}

#[test]
fn unknown_scramblers_and_bad_rates_name_their_key() {
    let err = |given: &[(&str, Value)]| make(given).err().unwrap().to_string();
    let e = err(&[("scramblers", Value::List(vec![Value::Str("rot13".into())]))]);
    assert!(
        e.contains("`scramblers`") && e.contains("rot13") && e.contains("scrambled_text"),
        "{e}"
    );
    let e = err(&[("rates", Value::List(vec![Value::Float(1.5)]))]);
    assert!(e.contains("`rates`") && e.contains("1.5"), "{e}");
    let e = err(&[("path", Value::Str("/nonexistent/s.txt".into()))]);
    assert!(
        e.contains("`path`") && e.contains("/nonexistent/s.txt"),
        "{e}"
    );
}
