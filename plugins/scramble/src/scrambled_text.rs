//! Dataset `scrambled_text`: next-token rows `scrambled => original` (byte-level) that teach a
//! decoder to unscramble, the learned recoverer of study 7.
//!
//! The corpus's sentences are shuffled with the seed and split by sentence (`test_fraction`
//! held out). Training row `i` draws, from its own generator (seeded by the seed and `i`, so the
//! training set costs no memory), either a training sentence or, with probability
//! `word_lists`, a list of 3-10 words of the vocabulary (every word of the corpus, or of the
//! training sentences only: `vocabulary`), then one scrambler of the mixture (`scramblers`,
//! `rates`; a random scramble picks its words anew for each row), and renders
//! `scrambled => original` and a newline. `qa_facts` adds that many ScrQA fact sentences to
//! the training sentences, so that the decoder knows ScrQA's words. Each held-out sentence is
//! one test row, scrambled the same way once. Rows are bytes (the `assay-text` byte tokenizer:
//! 256 byte ids and end-of-text), padded with end-of-text to the longest possible row, with
//! the next tokens as targets.

use std::sync::Arc;

use assay_sdk::prelude::*;
use assay_sdk::rand::seq::SliceRandom;
use assay_text::tokenizer::TextTokenizer;

use crate::corpus::{self, ARROW};
use crate::prompts::training_row;
use crate::pyrandom::PyRandom;
use crate::scramble::{scramble_sentence, Scrambler};
use crate::scrqa;

/// Which words the training word lists draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Vocabulary {
    /// Every word of the corpus (a closed vocabulary, as the anagram solver's).
    All,
    /// The words of the training sentences only.
    Train,
}

/// The dataset's parameters.
#[derive(Debug, Params)]
struct ScrambledTextParams {
    /// File of sentences, one per line, relative to the working directory; empty: the shipped
    /// sample (data/scrambled/sentences.txt).
    #[param(default = "")]
    path: String,
    /// Share of sentences held out for testing.
    #[param(default = 0.2, range = (0.0, 1.0))]
    test_fraction: f64,
    /// Training rows (drawn afresh from the sentences, each with its own scramble).
    #[param(default = 200000, min = 1)]
    train_examples: usize,
    /// Scramblers of the training mixture: random, keep_first, keep_first_last, substitute.
    #[param(default = ["random", "keep_first", "keep_first_last"])]
    scramblers: Vec<String>,
    /// Rates of the random scrambler in the mixture (multiples of 0.1 in (0, 1]).
    #[param(default = [0.2, 0.5, 1.0])]
    rates: Vec<f64>,
    /// Share of training rows that are scrambled lists of vocabulary words.
    #[param(default = 0.3, range = (0.0, 1.0))]
    word_lists: f64,
    /// Words of the word lists: `all` (the corpus's) or `train` (the training sentences').
    #[param(default = "all")]
    vocabulary: Vocabulary,
    /// ScrQA fact sentences added to the training sentences.
    #[param(default = 0, min = 0)]
    qa_facts: usize,
    /// Seed of the split, the rows and the facts; -1 = the run's seed.
    #[param(default = -1, min = -1)]
    seed: i64,
}

struct ScrambledText {
    train: Vec<String>,
    test: Vec<Vec<u32>>,
    words: Vec<String>,
    mixture: Vec<Scrambler>,
    word_lists: f64,
    train_len: usize,
    seed: u64,
    /// Input tokens per row.
    width: usize,
    /// The longest sentence, in bytes (word lists stay within it).
    max_len: usize,
    tokenizer: Arc<TextTokenizer>,
}

/// A generator for row `i` of a stream `salt`.
fn row_rng(seed: u64, salt: u64, i: usize) -> PyRandom {
    let mix = (i as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    PyRandom::new((seed ^ mix ^ salt.rotate_left(32)) & 0x7fff_ffff_ffff_ffff)
}

impl ScrambledText {
    /// The token ids of `scrambled => original`, end-of-text, padded to `width + 1`.
    fn encode(&self, scrambled: &str, original: &str) -> Vec<u32> {
        let eos = self.tokenizer.eos();
        let mut ids: Vec<u32> = training_row(scrambled, original)
            .bytes()
            .map(u32::from)
            .collect();
        ids.truncate(self.width);
        ids.resize(self.width + 1, eos);
        ids
    }

    /// A list of vocabulary words no longer than the longest sentence.
    fn word_list(&self, rng: &mut PyRandom) -> String {
        let n = 3 + rng.randbelow(8);
        let mut out = String::new();
        for _ in 0..n {
            let Some(w) = rng.choice(&self.words) else {
                break;
            };
            if !out.is_empty() && out.len() + 1 + w.len() + 1 > self.max_len {
                break;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
        out.push('.');
        out
    }

    /// Training row `i`.
    fn train_row(&self, i: usize) -> Vec<u32> {
        let mut rng = row_rng(self.seed, 1, i);
        let text = if !self.words.is_empty() && rng.random() < self.word_lists {
            self.word_list(&mut rng)
        } else {
            self.train[rng.randbelow(self.train.len())].clone()
        };
        let scrambler = self.mixture[rng.randbelow(self.mixture.len())];
        let (scrambled, _) = scramble_sentence(&text, scrambler, &mut rng);
        self.encode(&scrambled, &text)
    }
}

impl Dataset for ScrambledText {
    fn info(&self) -> DataInfo {
        let vocab = self.tokenizer.vocab_size();
        DataInfo::tokens(self.width, vocab, Objective::NextToken { vocab })
    }

    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train_len,
            Split::Test => self.test.len(),
        }
    }

    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let w = self.width;
        let mut xs = Vec::with_capacity(indices.len() * w);
        let mut ys = Vec::with_capacity(indices.len() * w);
        for &i in indices {
            let row = match split {
                Split::Train if i < self.train_len => self.train_row(i),
                Split::Test if i < self.test.len() => self.test[i].clone(),
                _ => {
                    return Err(PluginError::invalid(format!(
                        "index {i} beyond the {} split",
                        split.as_str()
                    )))
                }
            };
            xs.extend_from_slice(&row[..w]);
            ys.extend_from_slice(&row[1..]);
        }
        let shape = (indices.len(), w);
        Ok(Batch {
            input: Tensor::from_vec(xs, shape, device)?,
            target: Tensor::from_vec(ys, shape, device)?,
        })
    }

    fn tokenizer(&self) -> Option<Arc<dyn Tokenizer>> {
        Some(self.tokenizer.clone())
    }
}

fn build(p: ScrambledTextParams, cx: &BuildContext) -> Result<Box<dyn Dataset>> {
    let seed = match p.seed {
        -1 => cx.seed,
        s => u64::try_from(s).map_err(|_| PluginError::param("seed", "-1 or a seed >= 0"))?,
    };
    let mixture = Scrambler::from_spec("dataset `scrambled_text`", &p.scramblers, &p.rates)?;
    let mut sentences = corpus::load(&p.path, "path")?;
    sentences.shuffle(&mut init::rng(seed, "scrambled_text/split"));
    let n_test =
        ((sentences.len() as f64 * p.test_fraction).round() as usize).clamp(1, sentences.len() - 1);
    let test_sentences = sentences.split_off(sentences.len() - n_test);
    let mut train = sentences;
    train.extend(scrqa::fact_sentences(p.qa_facts, seed ^ 0x5151));
    let vocabulary = match p.vocabulary {
        Vocabulary::All => corpus::vocabulary(train.iter().chain(&test_sentences)),
        Vocabulary::Train => corpus::vocabulary(&train),
    };
    let words: Vec<String> = vocabulary.into_keys().collect();
    let max_len = train
        .iter()
        .chain(&test_sentences)
        .map(String::len)
        .max()
        .unwrap_or(1);
    let mut data = ScrambledText {
        train,
        test: Vec::new(),
        words,
        mixture,
        word_lists: p.word_lists,
        train_len: p.train_examples,
        seed,
        width: 2 * max_len + ARROW.len() + 1,
        max_len,
        tokenizer: Arc::new(TextTokenizer::bytes()),
    };
    data.test = test_sentences
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut rng = row_rng(seed, 2, i);
            let scrambler = data.mixture[rng.randbelow(data.mixture.len())];
            let (scrambled, _) = scramble_sentence(s, scrambler, &mut rng);
            data.encode(&scrambled, s)
        })
        .collect();
    Ok(Box::new(data))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset_with("scrambled_text", "0.1.0", build).summary(
            "`scrambled => original` byte rows that train a decoder to unscramble sentences (study 7)",
        ),
    );
}

#[cfg(test)]
mod tests;
