//! bAbI-style tasks (Weston et al., 2015), regenerated: 1 (single supporting fact), 6 (yes/no
//! questions) and 15 (basic deduction), in lm-eval-harness's prompt format
//! `Passage: ...\nQuestion: ...\nAnswer:`.

use std::collections::HashMap;

use assay_sdk::init::Rng;
use assay_sdk::rand::seq::IndexedRandom as _;
use assay_sdk::rand::Rng as _;

use super::Example;

const PEOPLE: [&str; 6] = ["Mary", "John", "Sandra", "Daniel", "Fred", "Julie"];
const PLACES: [&str; 6] = [
    "bathroom", "hallway", "garden", "office", "kitchen", "bedroom",
];
const MOVES: [&str; 4] = ["moved to", "went to", "travelled to", "journeyed to"];

fn story(rng: &mut Rng) -> (Vec<String>, HashMap<&'static str, &'static str>) {
    let mut lines = Vec::new();
    let mut at = HashMap::new();
    for _ in 0..rng.random_range(2..=6) {
        let who = *PEOPLE.choose(rng).unwrap_or(&PEOPLE[0]);
        let place = *PLACES.choose(rng).unwrap_or(&PLACES[0]);
        let verb = MOVES.choose(rng).unwrap_or(&MOVES[0]);
        lines.push(format!("{who} {verb} the {place}."));
        at.insert(who, place);
    }
    (lines, at)
}

fn render(lines: &[String], question: &str) -> String {
    format!(
        "Passage: {}\nQuestion: {question}\nAnswer:",
        lines.join("\n")
    )
}

/// Task 1: where is someone, after a few moves?
pub fn single_supporting_fact(rng: &mut Rng) -> Example {
    let (lines, at) = story(rng);
    let mut people: Vec<&&str> = at.keys().collect();
    people.sort();
    let who = **people.choose(rng).unwrap_or(&people[0]);
    Example {
        prompt: render(&lines, &format!("Where is {who}?")),
        answer: at[who].to_string(),
        choices: PLACES.iter().map(|s| s.to_string()).collect(),
    }
}

/// Task 6: is someone in a given place? Half the questions are true.
pub fn yes_no(rng: &mut Rng) -> Example {
    let (lines, at) = story(rng);
    let mut people: Vec<&&str> = at.keys().collect();
    people.sort();
    let who = **people.choose(rng).unwrap_or(&people[0]);
    let yes = rng.random_bool(0.5);
    let place = if yes {
        at[who]
    } else {
        let others: Vec<&&str> = PLACES.iter().filter(|p| **p != at[who]).collect();
        **others.choose(rng).unwrap_or(&others[0])
    };
    Example {
        prompt: render(&lines, &format!("Is {who} in the {place}?")),
        answer: if yes { "yes" } else { "no" }.to_string(),
        choices: vec!["yes".into(), "no".into()],
    }
}

const ANIMALS: [(&str, &str); 4] = [
    ("mouse", "mice"),
    ("cat", "cats"),
    ("wolf", "wolves"),
    ("sheep", "sheep"),
];
const NAMES: [&str; 6] = ["Gertrude", "Winona", "Jessica", "Emily", "Bernhard", "Lily"];

/// Task 15: `Xs are afraid of Ys. N is an X. What is N afraid of?`
pub fn basic_deduction(rng: &mut Rng) -> Example {
    let mut lines = Vec::new();
    let mut fears = HashMap::new();
    for (singular, plural) in ANIMALS {
        let others: Vec<&(&str, &str)> = ANIMALS.iter().filter(|a| a.0 != singular).collect();
        let feared = others.choose(rng).unwrap_or(&others[0]).1;
        let subject = {
            let mut c = plural.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        };
        lines.push(format!("{subject} are afraid of {feared}."));
        fears.insert(singular, feared);
    }
    let mut kinds = HashMap::new();
    let mut names: Vec<&str> = NAMES.to_vec();
    for _ in 0..rng.random_range(2..=4) {
        let i = rng.random_range(0..names.len());
        let name = names.swap_remove(i);
        let kind = ANIMALS.choose(rng).unwrap_or(&ANIMALS[0]).0;
        lines.push(format!("{name} is a {kind}."));
        kinds.insert(name, kind);
    }
    // Facts in a shuffled order, as in the original.
    let mut order: Vec<usize> = (0..lines.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let lines: Vec<String> = order.iter().map(|&i| lines[i].clone()).collect();
    let mut named: Vec<&&str> = kinds.keys().collect();
    named.sort();
    let who = **named.choose(rng).unwrap_or(&named[0]);
    Example {
        prompt: render(&lines, &format!("What is {who} afraid of?")),
        answer: fears[kinds[who]].to_string(),
        choices: ANIMALS.iter().map(|a| a.1.to_string()).collect(),
    }
}

fn passage_and_question(prompt: &str) -> Option<(Vec<&str>, &str)> {
    let body = prompt.strip_prefix("Passage: ")?;
    let (passage, rest) = body.split_once("\nQuestion: ")?;
    let question = rest.strip_suffix("\nAnswer:")?;
    Some((passage.lines().collect(), question))
}

/// Oracle for tasks 1 and 6: replays the moves in the passage.
pub fn solve_location(prompt: &str) -> Option<String> {
    let (lines, question) = passage_and_question(prompt)?;
    let mut at: HashMap<&str, &str> = HashMap::new();
    for line in lines {
        let words: Vec<&str> = line.trim_end_matches('.').split(' ').collect();
        let (who, place) = (*words.first()?, *words.last()?);
        at.insert(who, place);
    }
    if let Some(who) = question
        .strip_prefix("Where is ")
        .and_then(|q| q.strip_suffix('?'))
    {
        return at.get(who).map(|p| p.to_string());
    }
    let q = question.strip_prefix("Is ")?.strip_suffix('?')?;
    let (who, place) = q.split_once(" in the ")?;
    Some(
        if at.get(who) == Some(&place) {
            "yes"
        } else {
            "no"
        }
        .to_string(),
    )
}

/// Oracle for task 15: reads the fears and the kinds, then answers.
pub fn solve_deduction(prompt: &str) -> Option<String> {
    let (lines, question) = passage_and_question(prompt)?;
    let mut fears: HashMap<String, String> = HashMap::new();
    let mut kinds: HashMap<&str, &str> = HashMap::new();
    for line in lines {
        let line = line.trim_end_matches('.');
        if let Some((subject, feared)) = line.split_once(" are afraid of ") {
            fears.insert(subject.to_lowercase(), feared.to_string());
        } else if let Some((name, kind)) = line.split_once(" is a ") {
            kinds.insert(name, kind);
        }
    }
    let who = question
        .strip_prefix("What is ")?
        .strip_suffix(" afraid of?")?;
    let kind = kinds.get(who)?;
    let plural = ANIMALS.iter().find(|a| a.0 == *kind)?.1;
    fears.get(plural).cloned()
}
