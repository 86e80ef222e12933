//! Recoverers: what turns scrambled sentences back into text.
//!
//! - `identity` returns the scrambled sentence (Recovery Rate exactly 0);
//! - `oracle` returns the original (exactly 100);
//! - `anagram` is the dictionary solver of [`crate::anagram`];
//! - `model` asks a text model ([`assay_sdk::TextModel`]: the run's own decoder, a Hugging Face
//!   checkpoint loaded as the run's model, or an OpenAI-compatible API) with a
//!   [`Prompter`], greedily.
//!
//! Recovery goes chunk by chunk and keeps what it recovered before a backend failed, so that a
//! probe can report the sentences done when an API goes away midway.

use assay_sdk::{Choice, Result, Sampling, TextModel};

use crate::anagram::AnagramSolver;
use crate::prompts::{PromptStyle, Prompter};
use crate::scramble::Scrambler;

/// One sentence to recover.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The sentence before scrambling (the oracle's answer; never shown to the others).
    pub original: String,
    /// The scrambled sentence.
    pub scrambled: String,
    /// How it was scrambled (the anagram solver's boundary constraints use it).
    pub scrambler: Option<Scrambler>,
}

/// Which recoverer a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum RecovererKind {
    /// The scrambled text as it is.
    Identity,
    /// The original text.
    Oracle,
    /// The anagram-dictionary solver.
    Anagram,
    /// A text model.
    Model,
}

/// A recoverer ready to run.
pub enum Recoverer<'a> {
    /// Returns the scrambled text.
    Identity,
    /// Returns the original text.
    Oracle,
    /// The dictionary solver; `constraints`: use KF/KFL boundary letters.
    Anagram {
        /// The dictionary.
        solver: &'a AnagramSolver,
        /// Whether known boundary letters narrow the candidates.
        constraints: bool,
    },
    /// A text model prompted by `prompter`, `chunk` prompts per call, greedy, at most
    /// `max_tokens` tokens per answer.
    Model {
        /// The backend.
        backend: &'a mut dyn TextModel,
        /// How it is prompted and read.
        prompter: Prompter,
        /// Prompts per call (1 for remote APIs: a failure then loses nothing done).
        chunk: usize,
        /// Most tokens generated per sentence.
        max_tokens: usize,
        /// Where generation stops (besides the end of text).
        stop: Vec<String>,
    },
}

impl Recoverer<'_> {
    /// A name for tables: `identity`, `oracle`, `anagram`, or the backend's name.
    pub fn name(&self) -> String {
        match self {
            Recoverer::Identity => "identity".into(),
            Recoverer::Oracle => "oracle".into(),
            Recoverer::Anagram { .. } => "anagram".into(),
            Recoverer::Model { backend, .. } => backend.name(),
        }
    }

    /// Recovers `cases` in order, appending each answer to `out`. A backend error ends it: the
    /// error is returned and `out` holds the answers of the chunks before it.
    pub fn recover(&mut self, cases: &[Case], out: &mut Vec<String>) -> Result<()> {
        match self {
            Recoverer::Identity => out.extend(cases.iter().map(|c| c.scrambled.clone())),
            Recoverer::Oracle => out.extend(cases.iter().map(|c| c.original.clone())),
            Recoverer::Anagram {
                solver,
                constraints,
            } => out.extend(
                cases
                    .iter()
                    .map(|c| solver.solve(&c.scrambled, c.scrambler.filter(|_| *constraints))),
            ),
            Recoverer::Model {
                backend,
                prompter,
                chunk,
                max_tokens,
                stop,
            } => {
                for part in cases.chunks((*chunk).max(1)) {
                    let prompts: Vec<String> =
                        part.iter().map(|c| prompter.prompt(&c.scrambled)).collect();
                    let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
                    // A trained decoder writes the sentence back at its own length.
                    let longest = part.iter().map(|c| c.scrambled.len()).max().unwrap_or(0);
                    let budget = match prompter.style() {
                        PromptStyle::Trained => (*max_tokens).min(longest + 4),
                        _ => *max_tokens,
                    };
                    let sampling = Sampling {
                        max_tokens: budget,
                        temperature: 0.0,
                        stop: stop.clone(),
                        ..Sampling::default()
                    };
                    let answers = backend.complete(&refs, &sampling)?;
                    if answers.len() != part.len() {
                        return Err(assay_sdk::PluginError::invalid(format!(
                            "{} answered {} of {} prompts",
                            backend.name(),
                            answers.len(),
                            part.len()
                        )));
                    }
                    out.extend(answers.iter().map(|a| prompter.read(a)));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;
    use crate::metrics::Distances;
    use crate::scramble::scramble_corpus;

    /// Answers every prompt with a fixed text; fails after `left` calls.
    struct Scripted {
        answer: String,
        left: usize,
        prompts: Vec<String>,
    }

    impl TextModel for Scripted {
        fn name(&self) -> String {
            "scripted".into()
        }
        fn complete(&mut self, prompts: &[&str], _s: &Sampling) -> Result<Vec<String>> {
            if self.left == 0 {
                return Err(assay_sdk::PluginError::invalid("gone"));
            }
            self.left -= 1;
            self.prompts.extend(prompts.iter().map(|p| p.to_string()));
            Ok(prompts.iter().map(|_| self.answer.clone()).collect())
        }
        fn log_likelihood(&mut self, _c: &str, _k: &str) -> Result<Option<f64>> {
            Ok(None)
        }
    }

    fn cases(scrambler: Scrambler) -> Vec<Case> {
        let sentences = corpus::shipped();
        let scrambled = scramble_corpus(&sentences, scrambler, 10);
        sentences
            .into_iter()
            .zip(scrambled.texts)
            .map(|(original, scrambled)| Case {
                original,
                scrambled,
                scrambler: Some(scrambler),
            })
            .collect()
    }

    fn rr(r: &mut Recoverer<'_>, cases: &[Case]) -> f64 {
        let mut out = Vec::new();
        r.recover(cases, &mut out).unwrap();
        let mut d = Distances::default();
        for (c, o) in cases.iter().zip(&out) {
            d.add(&c.original, &c.scrambled, o);
        }
        d.recovery_rate().unwrap()
    }

    #[test]
    fn identity_scores_exactly_zero_and_the_oracle_exactly_one_hundred() {
        for scrambler in [
            Scrambler::Random { tenths: 2 },
            Scrambler::Random { tenths: 5 },
            Scrambler::Random { tenths: 10 },
            Scrambler::KeepFirst,
            Scrambler::KeepFirstLast,
            Scrambler::Substitute,
        ] {
            let c = cases(scrambler);
            assert_eq!(rr(&mut Recoverer::Identity, &c), 0.0, "{scrambler:?}");
            assert_eq!(rr(&mut Recoverer::Oracle, &c), 100.0, "{scrambler:?}");
        }
    }

    #[test]
    fn a_model_is_prompted_per_chunk_and_keeps_what_it_recovered_before_failing() {
        let c = cases(Scrambler::KeepFirst);
        let mut backend = Scripted {
            answer: " Something else.\nScrambled sentence: more".into(),
            left: 3,
            prompts: Vec::new(),
        };
        let mut r = Recoverer::Model {
            backend: &mut backend,
            prompter: Prompter::new(PromptStyle::ZeroShot, &[], 10),
            chunk: 2,
            max_tokens: 256,
            stop: Vec::new(),
        };
        assert_eq!(r.name(), "scripted");
        let mut out = Vec::new();
        let err = r.recover(&c[..10], &mut out).unwrap_err();
        assert_eq!(err.to_string(), "gone");
        assert_eq!(out, vec!["Something else.".to_string(); 6]);
        assert_eq!(backend.prompts.len(), 6);
        assert!(backend.prompts[0].ends_with(&format!(
            "Scrambled sentence: {}\nRecovered sentence:",
            c[0].scrambled
        )));
    }
}
