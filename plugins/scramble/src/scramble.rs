//! The paper's four scramblers (`process.py` of Cao et al., 2023), ported call for call onto
//! [`PyRandom`] so that the same seed gives the same scrambled text as the authors' code.
//!
//! A sentence is split with `re.split(r"(\W)")`; only tokens with more than one letter are
//! touched, and only their letters move (digits, `_` and everything else stay in place).
//!
//! - **Random Scramble** at rate r (RS-r%): built in 10 % steps. Before step t the generator is
//!   reseeded; each sentence then draws `round(0.1·n·t) − round(0.1·n·(t−1))` of its n
//!   eligible words among those not yet scrambled (`random.sample` over their sorted indices)
//!   and shuffles each. Earlier steps' shuffles stay, so the scrambled sets nest
//!   (20 % ⊂ 50 % ⊂ 100 %) and RS-r% scrambles `round(0.1·n·10r)` words (Python's `round`:
//!   halves to even).
//! - **KeepFirst** (KF): every word with three letters or more is shuffled except its first
//!   letter.
//! - **KeepFirstLast** (KFL): every word with four letters or more is shuffled except its first
//!   and last letters.
//! - **Substitute**: every letter of every eligible word becomes a random other ASCII letter
//!   (the information-free baseline).
//!
//! Shuffles are `shuffle_different`: a Fisher–Yates pass in which one random position is forced
//! to swap with an earlier one. The output's whitespace is normalised as the paper's is.

use crate::pyrandom::PyRandom;
use crate::words;

/// The ASCII letters, in `string.ascii_letters` order.
const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyz\
                             ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A scrambler named wrongly or a rate it cannot use.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScrambleError {
    /// Not one of the scramblers.
    #[error("unknown scrambler `{0}`; expected random, keep_first, keep_first_last or substitute")]
    Unknown(String),
    /// A random-scramble rate outside (0, 1].
    #[error("rate {0} is outside (0, 1]")]
    RateOutOfRange(f64),
    /// A random-scramble rate that is not a whole number of 10 % steps.
    #[error("rate {0} is not a multiple of 0.1 (random scrambles are built in 10 % steps)")]
    RateNotAStep(f64),
}

/// One way of scrambling text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scrambler {
    /// Random Scramble of `tenths`/10 of the eligible words (1..=10).
    Random {
        /// The rate in 10 % steps.
        tenths: u32,
    },
    /// Every word of 3+ letters shuffled except the first letter.
    KeepFirst,
    /// Every word of 4+ letters shuffled except the first and last letters.
    KeepFirstLast,
    /// Every letter of every eligible word replaced by a random other letter.
    Substitute,
}

impl Scrambler {
    /// A random scramble at `rate`, which must be a multiple of 0.1 in (0, 1].
    pub fn random(rate: f64) -> Result<Self, ScrambleError> {
        if !(rate > 0.0 && rate <= 1.0 + 1e-9) {
            return Err(ScrambleError::RateOutOfRange(rate));
        }
        let tenths = (rate * 10.0).round();
        if (rate * 10.0 - tenths).abs() > 1e-6 {
            return Err(ScrambleError::RateNotAStep(rate));
        }
        Ok(Scrambler::Random {
            tenths: tenths as u32,
        })
    }

    /// The scramblers a spec names: `random` once per rate, the others once each. Every rate
    /// is checked.
    pub fn parse_all(names: &[String], rates: &[f64]) -> Result<Vec<Self>, ScrambleError> {
        // A bad rate is refused even when `random` is not among the names.
        let randoms = rates
            .iter()
            .map(|&r| Scrambler::random(r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        for name in names {
            match name.as_str() {
                "random" => out.extend(&randoms),
                "keep_first" => out.push(Scrambler::KeepFirst),
                "keep_first_last" => out.push(Scrambler::KeepFirstLast),
                "substitute" => out.push(Scrambler::Substitute),
                other => return Err(ScrambleError::Unknown(other.to_string())),
            }
        }
        Ok(out)
    }

    /// [`Scrambler::parse_all`] for a component's parameters `scramblers` and `rates`: an error
    /// names `component` and the key at fault, and an empty list is refused.
    pub fn from_spec(
        component: &str,
        names: &[String],
        rates: &[f64],
    ) -> assay_sdk::Result<Vec<Self>> {
        let list = Scrambler::parse_all(names, rates).map_err(|e| {
            let key = match e {
                ScrambleError::Unknown(_) => "scramblers",
                _ => "rates",
            };
            assay_sdk::PluginError::param(key, format!("{component}: {e}"))
        })?;
        if list.is_empty() {
            return Err(assay_sdk::PluginError::param(
                "scramblers",
                format!("{component}: name at least one scrambler (and a rate for random)"),
            ));
        }
        Ok(list)
    }

    /// The spec's name: `random`, `keep_first`, `keep_first_last` or `substitute`.
    pub fn name(&self) -> &'static str {
        match self {
            Scrambler::Random { .. } => "random",
            Scrambler::KeepFirst => "keep_first",
            Scrambler::KeepFirstLast => "keep_first_last",
            Scrambler::Substitute => "substitute",
        }
    }

    /// The random scramble's rate; `None` for the others.
    pub fn rate(&self) -> Option<f64> {
        match self {
            Scrambler::Random { tenths } => Some(f64::from(*tenths) / 10.0),
            _ => None,
        }
    }

    /// A name for metric keys: `random_20`, `keep_first`, `keep_first_last`, `substitute`.
    pub fn slug(&self) -> String {
        match self {
            Scrambler::Random { tenths } => format!("random_{}", tenths * 10),
            other => other.name().to_string(),
        }
    }

    /// The paper's column label: `RS-20%`, `KF`, `KFL`, `Sub`.
    pub fn label(&self) -> String {
        match self {
            Scrambler::Random { tenths } => format!("RS-{}%", tenths * 10),
            Scrambler::KeepFirst => "KF".into(),
            Scrambler::KeepFirstLast => "KFL".into(),
            Scrambler::Substitute => "Sub".into(),
        }
    }
}

/// `shuffle_different`: Fisher–Yates from the back, where position `slc` (drawn first, in
/// 1..len) swaps with a strictly earlier position. `x` needs two elements or more.
fn shuffle_different(x: &mut [char], rng: &mut PyRandom) {
    if x.len() < 2 {
        return;
    }
    let slc = 1 + rng.randbelow(x.len() - 1);
    for i in (1..x.len()).rev() {
        let bound = if i == slc { i } else { i + 1 };
        let j = (rng.random() * bound as f64) as usize;
        x.swap(i, j);
    }
}

/// `word` with its letters at positions `keep_first..len-keep_last` (counted among letters)
/// shuffled, when it has more than `min_letters - 1` letters.
fn shuffle_letters(
    word: &str,
    keep_first: usize,
    keep_last: usize,
    min_letters: usize,
    rng: &mut PyRandom,
) -> String {
    let letters: Vec<char> = word.chars().filter(|&c| words::is_letter(c)).collect();
    if letters.len() < min_letters {
        return word.to_string();
    }
    let mut middle: Vec<char> = letters[keep_first..letters.len() - keep_last].to_vec();
    shuffle_different(&mut middle, rng);
    let mut next = middle.into_iter();
    let mut seen = 0;
    word.chars()
        .map(|c| {
            if !words::is_letter(c) {
                return c;
            }
            seen += 1;
            if seen <= keep_first || seen > letters.len() - keep_last {
                c
            } else {
                next.next().unwrap_or(c)
            }
        })
        .collect()
}

/// `scramble_word`: all letters of a word with two or more shuffled.
pub fn scramble_word(word: &str, rng: &mut PyRandom) -> String {
    shuffle_letters(word, 0, 0, 2, rng)
}

/// `scramble_word_keepfirst`: letters after the first shuffled, for three letters or more.
pub fn keep_first_word(word: &str, rng: &mut PyRandom) -> String {
    shuffle_letters(word, 1, 0, 3, rng)
}

/// `scramble_word_keepfirstlast`: letters between the first and last shuffled, for four
/// letters or more.
pub fn keep_first_last_word(word: &str, rng: &mut PyRandom) -> String {
    shuffle_letters(word, 1, 1, 4, rng)
}

/// `substitute_word`: each letter of a word with two or more replaced by a random ASCII letter
/// other than itself.
pub fn substitute_word(word: &str, rng: &mut PyRandom) -> String {
    if words::letters(word) <= 1 {
        return word.to_string();
    }
    word.chars()
        .map(|c| {
            if !words::is_letter(c) {
                return c;
            }
            let others: Vec<char> = ASCII_LETTERS.chars().filter(|&l| l != c).collect();
            rng.choice(&others).copied().unwrap_or(c)
        })
        .collect()
}

/// Scrambled sentences and, per sentence, the indices (into [`words::split`]) of the tokens
/// each random step chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrambled {
    /// The scrambled sentences, in corpus order.
    pub texts: Vec<String>,
    /// Per sentence, the tokens chosen for scrambling (random scrambles and substitution;
    /// empty for KF and KFL, which touch every word long enough).
    pub chosen: Vec<Vec<usize>>,
}

/// Random Scramble of a corpus, step by step: one [`Scrambled`] per 10 % step up to `tenths`
/// (so `out[1]` is RS-20%, `out[4]` RS-50%, `out[9]` RS-100%). The generator is reseeded with
/// `seed` before every step, as in the paper's `create.py`.
pub fn random_steps(sentences: &[String], seed: u64, tenths: u32) -> Vec<Scrambled> {
    let mut texts: Vec<String> = sentences.to_vec();
    let mut chosen: Vec<Vec<usize>> = vec![Vec::new(); sentences.len()];
    let mut out = Vec::new();
    for step in 1..=tenths {
        let mut rng = PyRandom::new(seed);
        for (text, done) in texts.iter_mut().zip(chosen.iter_mut()) {
            let mut tokens = words::split(text);
            let eligible = words::eligible(&tokens);
            let step_len = eligible.len() as f64 * 0.1;
            let k = (step_len * f64::from(step)).round_ties_even()
                - (step_len * f64::from(step - 1)).round_ties_even();
            let remaining: Vec<usize> =
                eligible.into_iter().filter(|i| !done.contains(i)).collect();
            let picked = rng.sample(&remaining, k.max(0.0) as usize);
            for &i in &picked {
                tokens[i] = scramble_word(&tokens[i], &mut rng);
            }
            *text = words::normalise(&tokens.concat());
            done.extend(picked);
        }
        out.push(Scrambled {
            texts: texts.clone(),
            chosen: chosen.clone(),
        });
    }
    out
}

/// `scramble_sentence_percent` (one sentence, not stepwise): `round(n·rate)` eligible words
/// drawn with `random.sample` and shuffled. The paper scrambles its few-shot demonstrations so;
/// the training data of the learned recoverer too.
pub fn scramble_sentence_at(sentence: &str, rate: f64, rng: &mut PyRandom) -> (String, Vec<usize>) {
    let mut tokens = words::split(sentence);
    let eligible = words::eligible(&tokens);
    let k = (eligible.len() as f64 * rate).round_ties_even().max(0.0) as usize;
    let picked = rng.sample(&eligible, k);
    for &i in &picked {
        tokens[i] = scramble_word(&tokens[i], rng);
    }
    (words::normalise(&tokens.concat()), picked)
}

/// One sentence through KF, KFL or Substitute with `rng` (a random scramble goes through
/// [`scramble_sentence_at`]).
pub fn scramble_sentence(
    sentence: &str,
    scrambler: Scrambler,
    rng: &mut PyRandom,
) -> (String, Vec<usize>) {
    let mut tokens = words::split(sentence);
    let mut picked = Vec::new();
    match scrambler {
        Scrambler::Random { tenths } => {
            return scramble_sentence_at(sentence, f64::from(tenths) / 10.0, rng)
        }
        Scrambler::KeepFirst => tokens.iter_mut().for_each(|t| *t = keep_first_word(t, rng)),
        Scrambler::KeepFirstLast => tokens
            .iter_mut()
            .for_each(|t| *t = keep_first_last_word(t, rng)),
        Scrambler::Substitute => {
            let eligible = words::eligible(&tokens);
            picked = rng.sample(&eligible, eligible.len());
            for &i in &picked {
                tokens[i] = substitute_word(&tokens[i], rng);
            }
        }
    }
    (words::normalise(&tokens.concat()), picked)
}

/// A whole corpus through one scrambler with the paper's seeding: the generator seeded once
/// with `seed` and run over the sentences in order (random scrambles step by step).
pub fn scramble_corpus(sentences: &[String], scrambler: Scrambler, seed: u64) -> Scrambled {
    if let Scrambler::Random { tenths } = scrambler {
        return random_steps(sentences, seed, tenths)
            .pop()
            .unwrap_or_else(|| Scrambled {
                texts: sentences.to_vec(),
                chosen: vec![Vec::new(); sentences.len()],
            });
    }
    let mut rng = PyRandom::new(seed);
    let (texts, chosen) = sentences
        .iter()
        .map(|s| scramble_sentence(s, scrambler, &mut rng))
        .unzip();
    Scrambled { texts, chosen }
}

#[cfg(test)]
mod tests;
