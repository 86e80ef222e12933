//! A mini Formal Logic Deduction task after FLD (Morishita et al., 2023): facts and rules over
//! nonsense predicates, a hypothesis, and the label PROVED, DISPROVED or UNKNOWN. Proofs are
//! chains of 1-3 rules (`If something is A then it is (not) B.`) from one fact; 0-5
//! distractors use predicates of their own, so they never decide the hypothesis. Labels are
//! balanced.

use std::collections::HashSet;

use assay_sdk::init::Rng;
use assay_sdk::rand::seq::SliceRandom as _;
use assay_sdk::rand::Rng as _;

use super::Example;

/// The labels, in the order the multiple-choice ranking lists them.
pub const LABELS: [&str; 3] = ["PROVED", "DISPROVED", "UNKNOWN"];

const PREDICATES: [&str; 32] = [
    "blorpy", "zentic", "quaffy", "murky", "dribbish", "snorlic", "vexing", "plumbic", "grottic",
    "wuzzy", "fendric", "slithy", "mimsy", "borogic", "frumious", "tulgey", "jubjic", "vorpal",
    "uffish", "manxome", "gimbly", "wabic", "toven", "rathic", "brillig", "kerfic", "lompy",
    "strabic", "quindic", "yarvish", "doltic", "pernish",
];
const THINGS: [&str; 10] = [
    "wug", "dax", "blicket", "toma", "fep", "zorp", "kiki", "bouba", "lorp", "gazzer",
];

fn fact(thing: &str, pred: &str, positive: bool) -> String {
    format!(
        "The {thing} is {}{pred}.",
        if positive { "" } else { "not " }
    )
}

fn rule(premise: &str, conclusion: &str, positive: bool) -> String {
    format!(
        "If something is {premise} then it is {}{conclusion}.",
        if positive { "" } else { "not " }
    )
}

fn example(label: usize, rng: &mut Rng) -> Example {
    let mut preds: Vec<&str> = PREDICATES.to_vec();
    preds.shuffle(rng);
    let mut things: Vec<&str> = THINGS.to_vec();
    things.shuffle(rng);
    let depth = rng.random_range(1..=3);
    let chain: Vec<&str> = preds.drain(..=depth).collect();
    let thing = things[0];
    let mut sentences = vec![fact(thing, chain[0], true)];
    for i in 0..depth - 1 {
        sentences.push(rule(chain[i], chain[i + 1], true));
    }
    let last_positive = rng.random_bool(0.5);
    sentences.push(rule(chain[depth - 1], chain[depth], last_positive));
    let (h_pred, h_positive) = match LABELS[label] {
        "PROVED" => (chain[depth], last_positive),
        "DISPROVED" => (chain[depth], !last_positive),
        _ => {
            // About a predicate nothing concludes, or about the chain's end for another thing.
            if rng.random_bool(0.5) {
                (preds.remove(0), rng.random_bool(0.5))
            } else {
                let other = things[1];
                let h = (chain[depth], rng.random_bool(0.5));
                let hypothesis = fact(other, h.0, h.1);
                return finish(sentences, hypothesis, label, rng, &mut preds, &things[2..]);
            }
        }
    };
    let hypothesis = fact(thing, h_pred, h_positive);
    finish(sentences, hypothesis, label, rng, &mut preds, &things[1..])
}

fn finish(
    mut sentences: Vec<String>,
    hypothesis: String,
    label: usize,
    rng: &mut Rng,
    spare: &mut Vec<&str>,
    others: &[&str],
) -> Example {
    for _ in 0..rng.random_range(0..=5) {
        if spare.len() < 2 {
            break;
        }
        if rng.random_bool(0.5) {
            let (a, b) = (spare.remove(0), spare.remove(0));
            sentences.push(rule(a, b, rng.random_bool(0.5)));
        } else {
            let who = others[rng.random_range(0..others.len())];
            sentences.push(fact(who, spare.remove(0), rng.random_bool(0.5)));
        }
    }
    sentences.shuffle(rng);
    Example {
        prompt: format!(
            "Based on the provided facts, either prove or disprove the hypothesis or state that it is unknown.\nFacts: {}\nHypothesis: {}\nAnswer:",
            sentences.join(" "),
            hypothesis
        ),
        answer: LABELS[label].to_string(),
        choices: LABELS.iter().map(|s| s.to_string()).collect(),
    }
}

/// `n` examples, a third of each label, in a seeded order.
pub fn balanced(n: usize, rng: &mut Rng) -> Vec<Example> {
    let mut out: Vec<Example> = (0..n).map(|i| example(i % 3, rng)).collect();
    out.shuffle(rng);
    out
}

/// Parses `The X is [not] P.` into (thing, predicate, positive).
fn parse_fact(s: &str) -> Option<(String, String, bool)> {
    let s = s.strip_prefix("The ")?.strip_suffix('.')?;
    let (thing, rest) = s.split_once(" is ")?;
    let (pred, positive) = match rest.strip_prefix("not ") {
        Some(p) => (p, false),
        None => (rest, true),
    };
    Some((thing.to_string(), pred.to_string(), positive))
}

/// The oracle: forward chaining over the rendered facts and rules.
pub fn solve(prompt: &str) -> Option<String> {
    let facts_line = prompt.lines().find_map(|l| l.strip_prefix("Facts: "))?;
    let hypothesis = prompt
        .lines()
        .find_map(|l| l.strip_prefix("Hypothesis: "))?;
    let mut known: HashSet<(String, String, bool)> = HashSet::new();
    let mut rules: Vec<(String, String, bool)> = Vec::new();
    for sentence in facts_line.split_inclusive('.') {
        let s = sentence.trim();
        if let Some(r) = s.strip_prefix("If something is ") {
            let (premise, rest) = r.split_once(" then it is ")?;
            let rest = rest.strip_suffix('.')?;
            let (conclusion, positive) = match rest.strip_prefix("not ") {
                Some(c) => (c, false),
                None => (rest, true),
            };
            rules.push((premise.to_string(), conclusion.to_string(), positive));
        } else if !s.is_empty() {
            known.insert(parse_fact(s)?);
        }
    }
    loop {
        let mut added = false;
        let snapshot: Vec<(String, String, bool)> = known.iter().cloned().collect();
        for (thing, pred, positive) in snapshot {
            if !positive {
                continue;
            }
            for (premise, conclusion, pol) in &rules {
                if *premise == pred && known.insert((thing.clone(), conclusion.clone(), *pol)) {
                    added = true;
                }
            }
        }
        if !added {
            break;
        }
    }
    let (thing, pred, positive) = parse_fact(hypothesis)?;
    Some(
        if known.contains(&(thing.clone(), pred.clone(), positive)) {
            "PROVED"
        } else if known.contains(&(thing, pred, !positive)) {
            "DISPROVED"
        } else {
            "UNKNOWN"
        }
        .to_string(),
    )
}
