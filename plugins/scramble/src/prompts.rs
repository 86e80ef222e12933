//! How a text model is asked to recover a scrambled sentence, and how its answer is read.
//!
//! - **zero-shot** (the paper's): the instruction, then `Scrambled sentence: …` and
//!   `Recovered sentence:`.
//! - **few-shot** (the paper's): three demonstrations scrambled at 50 % (`Scrambled Sentence: …`
//!   / `Recovered Sentence: …`, blank line after each; the paper's demonstrations are three
//!   wikiQA sentences, these default to three sentences written for this crate, and `demos`
//!   sets others), then the same two lines as zero-shot.
//! - **trained**: the learned recoverer's own format, `scrambled => ` continued by the model.
//!
//! Answers are cut at `Scrambled sentence:` (a model that goes on with another example) and
//! trimmed, as the paper's `answer_cleansing` does; a trained model's at the end of the line.

use assay_sdk::Choice;

use crate::corpus::ARROW;
use crate::pyrandom::PyRandom;
use crate::scramble::scramble_sentence_at;
use crate::words;

/// The paper's zero-shot instruction.
pub const INSTRUCTION: &str = "The following sentence contains words with scrambled letters. \
                               Please recover the original sentence from it.";

/// The default few-shot demonstrations (three sentences of varied length, with digits and
/// brackets, written for this crate).
pub const DEFAULT_DEMOS: [&str; 3] = [
    "The museum stayed open until the last visitors had left.",
    "It was first built in the 1990s by a small team of engineers and later sold to a larger company.",
    "According to the survey, most households (about 70 percent) now own at least one bicycle.",
];

/// How the recoverer prompts a text model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum PromptStyle {
    /// The learned recoverer's rows: `scrambled => `.
    Trained,
    /// The paper's zero-shot instruction.
    ZeroShot,
    /// The paper's three demonstrations scrambled at 50 %.
    FewShot,
}

/// A prompt style with its demonstrations rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompter {
    style: PromptStyle,
    demos: String,
}

impl Prompter {
    /// `style`, with `demos` (few-shot) scrambled at 50 % by a generator seeded with `seed`,
    /// as the paper's `generate_demo_rec`.
    pub fn new(style: PromptStyle, demos: &[String], seed: u64) -> Self {
        let mut rng = PyRandom::new(seed);
        let demos = match style {
            PromptStyle::FewShot => demos
                .iter()
                .map(|d| {
                    let (scrambled, _) = scramble_sentence_at(d, 0.5, &mut rng);
                    format!(
                        "Scrambled Sentence: {scrambled}\nRecovered Sentence: {}\n\n",
                        words::normalise(d)
                    )
                })
                .collect(),
            _ => String::new(),
        };
        Prompter { style, demos }
    }

    /// The style.
    pub fn style(&self) -> PromptStyle {
        self.style
    }

    /// The prompt for one scrambled sentence.
    pub fn prompt(&self, scrambled: &str) -> String {
        match self.style {
            PromptStyle::Trained => format!("{scrambled}{ARROW}"),
            PromptStyle::ZeroShot => {
                format!("{INSTRUCTION}\nScrambled sentence: {scrambled}\nRecovered sentence:")
            }
            PromptStyle::FewShot => {
                format!(
                    "{}Scrambled sentence: {scrambled}\nRecovered sentence:",
                    self.demos
                )
            }
        }
    }

    /// The recovered sentence in a model's answer.
    pub fn read(&self, answer: &str) -> String {
        let cut = match self.style {
            PromptStyle::Trained => answer.split('\n').next(),
            _ => answer.split("Scrambled sentence:").next(),
        };
        words::normalise(cut.unwrap_or_default().trim())
    }
}

/// One row of the learned recoverer's data: `scrambled => original` and a newline.
pub fn training_row(scrambled: &str, original: &str) -> String {
    format!("{scrambled}{ARROW}{original}\n")
}

/// The original sentence of a [`training_row`] (without its newline), if `row` is one.
pub fn original_of(row: &str) -> Option<&str> {
    let (_, original) = row.split_once(ARROW)?;
    Some(original.strip_suffix('\n').unwrap_or(original))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demos() -> Vec<String> {
        DEFAULT_DEMOS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn zero_shot_is_the_papers_prompt() {
        let p = Prompter::new(PromptStyle::ZeroShot, &demos(), 10);
        assert_eq!(
            p.prompt("hTe cat"),
            "The following sentence contains words with scrambled letters. Please recover the \
             original sentence from it.\nScrambled sentence: hTe cat\nRecovered sentence:"
        );
        assert_eq!(p.read(" The cat \nScrambled sentence: more"), "The cat");
        assert_eq!(p.read("The cat.Scrambled sentence: x"), "The cat.");
    }

    #[test]
    fn few_shot_shows_three_demonstrations_scrambled_at_half_rate() {
        let p = Prompter::new(PromptStyle::FewShot, &demos(), 10);
        let text = p.prompt("hTe cat");
        assert_eq!(text.matches("Scrambled Sentence: ").count(), 3);
        assert_eq!(text.matches("Recovered Sentence: ").count(), 3);
        assert!(text.ends_with("\n\nScrambled sentence: hTe cat\nRecovered sentence:"));
        for d in DEFAULT_DEMOS {
            assert!(
                text.contains(&format!("Recovered Sentence: {d}\n\n")),
                "{text}"
            );
            assert!(
                !text.contains(&format!("Scrambled Sentence: {d}\n")),
                "{text}"
            );
        }
        assert_eq!(p, Prompter::new(PromptStyle::FewShot, &demos(), 10));
        assert_ne!(p, Prompter::new(PromptStyle::FewShot, &demos(), 11));
    }

    #[test]
    fn the_trained_format_round_trips() {
        let p = Prompter::new(PromptStyle::Trained, &[], 0);
        assert_eq!(p.prompt("hTe cat."), "hTe cat. => ");
        assert_eq!(p.read("The cat.\nhTe"), "The cat.");
        let row = training_row("hTe cat.", "The cat.");
        assert_eq!(row, "hTe cat. => The cat.\n");
        assert_eq!(original_of(&row), Some("The cat."));
        assert_eq!(original_of("no arrow"), None);
    }
}
