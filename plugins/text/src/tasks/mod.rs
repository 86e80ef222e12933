//! Generated reasoning tasks for few-shot evaluation (study 2): bAbI tasks 1, 6 and 15 and a
//! mini-FLD, seeded, each with an oracle that recomputes the answer from the rendered text; and
//! study 3's synthetic people and their facts ([`people`]).

pub mod babi;
pub mod fld;
pub mod people;

/// One evaluation example, rendered as lm-eval-harness renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The prompt, ending where the answer starts (`...\nAnswer:`).
    pub prompt: String,
    /// The gold answer, without the leading space the model is expected to write.
    pub answer: String,
    /// Every answer the task allows (multiple-choice ranking and format-following).
    pub choices: Vec<String>,
}

/// A task by name: `babi1`, `babi6`, `babi15` or `fld`.
pub fn generate(task: &str, n: usize, seed: u64) -> Result<Vec<Example>, String> {
    let mut rng = assay_sdk::init::rng(seed, &format!("task/{task}"));
    Ok(match task {
        "babi1" => (0..n)
            .map(|_| babi::single_supporting_fact(&mut rng))
            .collect(),
        "babi6" => (0..n).map(|_| babi::yes_no(&mut rng)).collect(),
        "babi15" => (0..n).map(|_| babi::basic_deduction(&mut rng)).collect(),
        "fld" => fld::balanced(n, &mut rng),
        other => {
            return Err(format!(
                "unknown task `{other}`; known: babi1, babi6, babi15, fld"
            ))
        }
    })
}

/// The oracle's answer to a rendered example (parsing its text), by task.
pub fn oracle(task: &str, prompt: &str) -> Option<String> {
    match task {
        "babi1" | "babi6" => babi::solve_location(prompt),
        "babi15" => babi::solve_deduction(prompt),
        "fld" => fld::solve(prompt),
        _ => None,
    }
}

/// Normalises an answer for exact match: the first line, whitespace removed, as lm-eval's
/// FLD and bAbI scoring do.
pub fn normalise(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_sdk::rand::Rng as _;

    #[test]
    fn the_oracle_scores_one_and_a_random_answerer_scores_chance() {
        for task in ["babi1", "babi6", "babi15", "fld"] {
            let examples = generate(task, 3000, 11).unwrap();
            let oracle_right = examples
                .iter()
                .filter(|e| oracle(task, &e.prompt).as_deref() == Some(e.answer.as_str()))
                .count();
            assert_eq!(
                oracle_right,
                examples.len(),
                "{task}: the oracle disagrees with a key"
            );
            let mut rng = assay_sdk::init::rng(5, "random answerer");
            let random_right = examples
                .iter()
                .filter(|e| e.choices[rng.random_range(0..e.choices.len())] == e.answer)
                .count();
            let chance = examples
                .iter()
                .map(|e| 1.0 / e.choices.len() as f64)
                .sum::<f64>()
                / examples.len() as f64;
            let got = random_right as f64 / examples.len() as f64;
            assert!(
                (got - chance).abs() < 0.05,
                "{task}: random {got} vs chance {chance}"
            );
            assert!(examples.iter().all(|e| e.choices.contains(&e.answer)));
            assert!(examples.iter().all(|e| e.prompt.ends_with("\nAnswer:")));
        }
        // Seeded.
        assert_eq!(
            generate("fld", 5, 1).unwrap(),
            generate("fld", 5, 1).unwrap()
        );
        assert_ne!(
            generate("fld", 5, 1).unwrap(),
            generate("fld", 5, 2).unwrap()
        );
        assert_eq!(normalise(" PROVED \nmore"), "PROVED");
    }
}
