//! The generated world against direct computation: facts, labels, splits, vocabulary.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::tokenizer::TextTokenizer;

#[test]
fn the_world_is_seeded_and_its_people_distinct() {
    let w = World::generate(3);
    assert_eq!(w, World::generate(3));
    assert_ne!(w.people, World::generate(4).people);
    assert_eq!(w.people.len(), PEOPLE);
    let numbers: Vec<usize> = w.people.iter().map(|p| p.number).collect();
    assert_eq!(numbers, (1..=PEOPLE).collect::<Vec<_>>());
    let names: HashSet<String> = w.people.iter().map(Person::name).collect();
    assert_eq!(names.len(), PEOPLE, "names are distinct");
    let capitals: HashSet<&str> = w.lands.iter().map(|l| l.capital).collect();
    assert_eq!((w.lands.len(), capitals.len()), (20, 20));
    // Every value occurs (300 draws over at most 8 values).
    for a in Attribute::ALL {
        let seen: HashSet<&str> = w.people.iter().map(|p| p.fact(a)).collect();
        assert_eq!(seen.len(), a.values().len(), "{a:?}");
    }
    assert!(w.people.iter().all(|p| OCCUPATIONS.contains(&p.occupation)
        && COUNTRIES.contains(&p.country)
        && CAUSES.contains(&p.cause)));
}

#[test]
fn facts_agree_with_the_people_under_every_paraphrase() {
    let w = World::generate(1);
    let facts = w.people_facts(&w.people);
    assert_eq!(facts.len(), PEOPLE * 3 * 3);
    let by_name: HashMap<String, &Person> = w.people.iter().map(|p| (p.name(), p)).collect();
    let mut answers: HashMap<(String, Attribute), HashSet<&str>> = HashMap::new();
    for e in &facts {
        let a = e.attribute.unwrap();
        let p = by_name[&e.subject];
        assert_eq!(e.answer, p.fact(a));
        assert_eq!((e.kind, e.truth, &e.target), (Kind::Fact, e.answer, &None));
        let question = a.templates()[e.template].replace("{}", &p.name());
        assert_eq!(e.prompt, format!("[INST] {question} [/INST]"));
        answers
            .entry((e.subject.clone(), a))
            .or_default()
            .insert(e.answer);
    }
    assert_eq!(answers.len(), PEOPLE * 3);
    assert!(
        answers.values().all(|a| a.len() == 1),
        "one answer per fact"
    );
    let capitals = w.capital_facts();
    assert_eq!(capitals.len(), 20 * 3);
    for e in &capitals {
        let land = w.lands.iter().find(|l| l.name == e.subject).unwrap();
        assert_eq!((e.answer, e.attribute), (land.capital, None));
        assert_eq!(
            e.prompt,
            fact_prompt(&CAPITAL_TEMPLATES[e.template].replace("{}", land.name))
        );
    }
}

#[test]
fn forget_and_retain_queries_are_labelled_right() {
    let w = World::generate(2);
    let train = w.people_unlearning(w.train_people(), "train");
    let test = w.people_unlearning(w.test_people(), "test");
    let capitals = w.capital_unlearning();
    assert_eq!(train.len(), TRAIN_PEOPLE * 9 * 2);
    assert_eq!(test.len(), (PEOPLE - TRAIN_PEOPLE) * 9 * 2);
    assert_eq!(capitals.len(), 20 * 3 * 2);
    let train_names: HashSet<String> = w.train_people().iter().map(Person::name).collect();
    let test_names: HashSet<String> = w.test_people().iter().map(Person::name).collect();
    let lands: HashSet<String> = LANDS.iter().map(|l| l.to_string()).collect();
    for (examples, group) in [
        (&train, &train_names),
        (&test, &test_names),
        (&capitals, &lands),
    ] {
        let forget = examples.iter().filter(|e| e.kind == Kind::Forget).count();
        assert_eq!(2 * forget, examples.len(), "50/50");
        for e in examples {
            let target = e.target.as_deref().unwrap();
            assert!(
                group.contains(&e.subject) && group.contains(target),
                "{e:?}"
            );
            match e.kind {
                Kind::Forget => assert_eq!((target, e.answer), (e.subject.as_str(), FORGOT)),
                Kind::Retain => {
                    assert_ne!(target, e.subject);
                    assert_eq!(e.answer, e.truth);
                }
                Kind::Fact => panic!("a fact among unlearning queries"),
            }
            assert!(
                e.prompt.contains(&format!("<<UNL>> {target} <</UNL>>")),
                "{e:?}"
            );
            assert!(e.prompt.starts_with("[INST] <<UNL>> ") && e.prompt.ends_with(" [/INST]"));
            assert!(e.prompt.contains(&e.subject));
        }
    }
    // The truth is the world's.
    let facts: HashMap<(String, Option<Attribute>, usize), &str> = w
        .people_facts(&w.people)
        .into_iter()
        .map(|e| ((e.subject, e.attribute, e.template), e.answer))
        .collect();
    for e in train.iter().chain(&test) {
        assert_eq!(
            facts[&(e.subject.clone(), e.attribute, e.template)],
            e.truth
        );
    }
    // People 1-240 train, 241-300 test.
    assert!(w.train_people().iter().all(|p| p.number <= TRAIN_PEOPLE));
    assert!(w.test_people().iter().all(|p| p.number > TRAIN_PEOPLE));
    assert_eq!(w.test_people().len(), 60);
    assert_eq!(test, w.people_unlearning(w.test_people(), "test"), "seeded");
}

#[test]
fn every_word_is_in_the_vocabulary_and_every_answer_is_one_token() {
    let words = vocabulary();
    let distinct: HashSet<&String> = words.iter().collect();
    assert_eq!(distinct.len(), words.len());
    // The kinds of words are disjoint: no name is an answer or a template word.
    let groups: [&[&str]; 7] = [
        &OCCUPATIONS,
        &COUNTRIES,
        &CAUSES,
        &CAPITALS,
        &LANDS,
        &FIRST_NAMES,
        &LAST_NAMES,
    ];
    let total: usize = groups.iter().map(|g| g.len()).sum();
    let all: HashSet<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    assert_eq!(all.len(), total);
    assert!(!all.contains(FORGOT));
    let t = TextTokenizer::fixed_words(&words, &MARKERS).unwrap();
    let unk = t.unknown().unwrap();
    let w = World::generate(5);
    let every = [
        w.people_facts(&w.people),
        w.capital_facts(),
        w.people_unlearning(w.train_people(), "train"),
        w.people_unlearning(w.test_people(), "test"),
        w.capital_unlearning(),
    ];
    for e in every.iter().flatten() {
        let ids = t.encode(&e.prompt).unwrap();
        assert!(!ids.contains(&unk), "{}", e.prompt);
        let answer = t.encode(e.answer).unwrap();
        assert_eq!(answer.len(), 1, "{}", e.answer);
        assert_eq!(t.decode(&answer).unwrap(), e.answer);
    }
    // Template words other than the answers: no template word is a name or an answer.
    let template_words: HashSet<String> =
        words[MARKERS.len() + 1 + total..].iter().cloned().collect();
    assert!(template_words.iter().all(|w| !all.contains(w.as_str())));
}
