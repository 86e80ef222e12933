//! The `multiplication` dataset: `a*b=c` as character-level next-token data (study 4).
//!
//! Vocabulary of 13 tokens: the digits `0`-`9` (ids 0-9), `*` (10), `=` (11) and the end-of-text
//! token (12). An example is `a*b=c` followed by end-of-text, where `a` has n digits, `b` has m
//! digits (n and m drawn uniformly from `[min_digits, max_digits]`, then `a` and `b` uniformly
//! among the numbers of that many digits, so 1-digit operands are 1-9) and `c = a·b` is written
//! most-significant digit first. Each example is one row of `4·max_digits + 2` input tokens,
//! padded with end-of-text (so that the model also learns to stay there), with the next tokens
//! as targets: `DataInfo::tokens(4·max_digits + 2, 13, NextToken)`.
//!
//! The test split is drawn first: `test_examples` distinct problems, spread evenly over the
//! `(n, m)` pairs, except that a pair gives at most a quarter of its problems (the 81 one-digit
//! products give 20), then shuffled. Training example `i` is drawn from its own generator
//! (seeded by the seed and `i`, so the training set costs no memory), and a problem of the test
//! split is redrawn, so no problem is in both splits. Everything depends only on `seed` (the
//! run's seed when `-1`).

use std::collections::HashSet;
use std::sync::Arc;

use assay_sdk::prelude::*;
use assay_sdk::rand::seq::SliceRandom;
use assay_sdk::rand::Rng as _;

/// Id of `*`.
pub(crate) const TIMES: u32 = 10;
/// Id of `=`.
pub(crate) const EQUALS: u32 = 11;
/// Id of the end-of-text token.
pub(crate) const EOS: u32 = 12;
/// Vocabulary size.
pub(crate) const VOCAB: usize = 13;
/// The most digits an operand may have: products stay below 10^18 and fit a `u64`.
pub(crate) const MAX_DIGITS: u32 = 9;
/// The largest share of a pair's problems that the test split takes.
const MAX_TEST_SHARE: f64 = 0.25;

/// The decimal digits of `x`, most significant first.
pub(crate) fn digits(x: u64) -> Vec<u32> {
    x.to_string().bytes().map(|b| u32::from(b - b'0')).collect()
}

/// The tokens of `a*b=c` followed by end-of-text.
pub(crate) fn encode_problem(a: u64, b: u64) -> Vec<u32> {
    let mut out = digits(a);
    out.push(TIMES);
    out.extend(digits(b));
    out.push(EQUALS);
    out.extend(digits(a * b));
    out.push(EOS);
    out
}

/// The operands of `n`-digit numbers: `[10^(n-1), 10^n)`.
fn operand_range(n: u32) -> (u64, u64) {
    (10u64.pow(n - 1), 10u64.pow(n))
}

/// Number of distinct problems with an n-digit and an m-digit operand.
fn problem_count(n: u32, m: u32) -> u64 {
    let (lo_a, hi_a) = operand_range(n);
    let (lo_b, hi_b) = operand_range(m);
    (hi_a - lo_a) * (hi_b - lo_b)
}

/// Draws an n-digit operand.
fn operand(rng: &mut init::Rng, n: u32) -> u64 {
    let (lo, hi) = operand_range(n);
    rng.random_range(lo..hi)
}

/// The character-level tokenizer of the vocabulary: digits, `*`, `=` and end-of-text.
/// Whitespace is skipped when encoding; any other character is refused.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DigitTokenizer;

impl DigitTokenizer {
    /// The character of a non-special id.
    fn char_of(id: u32) -> Option<char> {
        match id {
            0..=9 => char::from_digit(id, 10),
            TIMES => Some('*'),
            EQUALS => Some('='),
            _ => None,
        }
    }
}

impl Tokenizer for DigitTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '0'..='9' => Ok(c as u32 - '0' as u32),
                '*' => Ok(TIMES),
                '=' => Ok(EQUALS),
                other => Err(PluginError::invalid(format!(
                    "the multiplication vocabulary has no `{other}` (only digits, `*` and `=`)"
                ))),
            })
            .collect()
    }

    fn decode(&self, ids: &[u32]) -> Result<String> {
        ids.iter()
            .filter(|&&id| id != EOS)
            .map(|&id| {
                Self::char_of(id).ok_or_else(|| {
                    PluginError::invalid(format!(
                        "token id {id} is outside the vocabulary of {VOCAB}"
                    ))
                })
            })
            .collect()
    }

    fn vocab_size(&self) -> usize {
        VOCAB
    }

    fn eos(&self) -> Option<u32> {
        Some(EOS)
    }

    /// A word-level model over single characters: whitespace is split off and dropped, every
    /// remaining character is its own token, and decoding fuses the tokens without spaces.
    /// Characters outside the vocabulary become end-of-text there (this tokenizer refuses them).
    fn to_hf_json(&self) -> Option<String> {
        let vocab: Vec<String> = (0..EOS)
            .filter_map(|id| Self::char_of(id).map(|c| format!("\"{c}\": {id}")))
            .chain(std::iter::once(format!("\"<|endoftext|>\": {EOS}")))
            .collect();
        Some(format!(
            r#"{{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {{"id": {EOS}, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}}
  ],
  "normalizer": null,
  "pre_tokenizer": {{
    "type": "Sequence",
    "pretokenizers": [
      {{"type": "WhitespaceSplit"}},
      {{"type": "Split", "pattern": {{"Regex": "."}}, "behavior": "Isolated", "invert": false}}
    ]
  }},
  "post_processor": null,
  "decoder": {{"type": "Fuse"}},
  "model": {{
    "type": "WordLevel",
    "vocab": {{{}}},
    "unk_token": "<|endoftext|>"
  }}
}}
"#,
            vocab.join(", ")
        ))
    }
}

/// The dataset: the test problems, and what draws the training problems.
pub(crate) struct Multiplication {
    min_digits: u32,
    max_digits: u32,
    train_len: usize,
    /// Seed of the training problems' generators.
    seed: u64,
    test: Vec<(u64, u64)>,
    test_set: HashSet<(u64, u64)>,
    /// Input tokens per row.
    width: usize,
}

impl Multiplication {
    /// Draws the test split and sets up the training draws.
    pub(crate) fn new(
        min_digits: u32,
        max_digits: u32,
        train_len: usize,
        test_len: usize,
        seed: u64,
    ) -> Result<Self> {
        if !(1..=MAX_DIGITS).contains(&min_digits)
            || !(min_digits..=MAX_DIGITS).contains(&max_digits)
        {
            return Err(PluginError::param(
                "max_digits",
                format!(
                    "need 1 <= min_digits <= max_digits <= {MAX_DIGITS}, got {min_digits} and {max_digits}"
                ),
            ));
        }
        let pairs: Vec<(u32, u32)> = (min_digits..=max_digits)
            .flat_map(|n| (min_digits..=max_digits).map(move |m| (n, m)))
            .collect();
        let mut rng = init::rng(seed, "multiplication/test");
        let mut test = Vec::with_capacity(test_len);
        let mut test_set = HashSet::with_capacity(test_len);
        for (k, &(n, m)) in pairs.iter().enumerate() {
            let even = test_len / pairs.len() + usize::from(k < test_len % pairs.len());
            let cap = (problem_count(n, m) as f64 * MAX_TEST_SHARE).floor() as usize;
            let quota = even.min(cap);
            let mut taken = 0;
            while taken < quota {
                let p = (operand(&mut rng, n), operand(&mut rng, m));
                if test_set.insert(p) {
                    test.push(p);
                    taken += 1;
                }
            }
        }
        test.shuffle(&mut rng);
        let train_seed = init::rng(seed, "multiplication/train").random::<u64>();
        Ok(Multiplication {
            min_digits,
            max_digits,
            train_len,
            seed: train_seed,
            test,
            test_set,
            width: 4 * max_digits as usize + 2,
        })
    }

    /// Training problem `i`: its own generator draws `(n, m)`, then operands until the problem
    /// is not one of the test split's.
    pub(crate) fn train_problem(&self, i: usize) -> (u64, u64) {
        let mix = (i as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = init::rng(self.seed ^ mix, "multiplication/train");
        let n = rng.random_range(self.min_digits..=self.max_digits);
        let m = rng.random_range(self.min_digits..=self.max_digits);
        loop {
            let p = (operand(&mut rng, n), operand(&mut rng, m));
            if !self.test_set.contains(&p) {
                return p;
            }
        }
    }

    /// Problem `i` of `split`.
    fn problem(&self, split: Split, i: usize) -> Result<(u64, u64)> {
        let beyond =
            || PluginError::invalid(format!("index {i} beyond the {} split", split.as_str()));
        match split {
            Split::Train if i < self.train_len => Ok(self.train_problem(i)),
            Split::Train => Err(beyond()),
            Split::Test => self.test.get(i).copied().ok_or_else(beyond),
        }
    }
}

impl Dataset for Multiplication {
    fn info(&self) -> DataInfo {
        DataInfo::tokens(self.width, VOCAB, Objective::NextToken { vocab: VOCAB })
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
            let (a, b) = self.problem(split, i)?;
            let mut row = encode_problem(a, b);
            row.resize(w + 1, EOS);
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
        Some(Arc::new(DigitTokenizer))
    }
}

fn build(p: &Params, cx: &BuildContext) -> Result<Box<dyn Dataset>> {
    let digits = |key: &str| -> Result<u32> {
        u32::try_from(p.i64(key)?).map_err(|_| PluginError::param(key, "must be at least 1"))
    };
    let seed = match p.i64("seed")? {
        -1 => cx.seed,
        s => u64::try_from(s).map_err(|_| PluginError::param("seed", "-1 or a seed >= 0"))?,
    };
    Ok(Box::new(Multiplication::new(
        digits("min_digits")?,
        digits("max_digits")?,
        p.usize("train_examples")?,
        p.usize("test_examples")?,
        seed,
    )?))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset("multiplication", "0.1.0", build)
            .summary("a*b=c with the product most-significant digit first, character-level next-token rows")
            .param(Param::int("min_digits", 1, "fewest digits of each operand").range(1.0, MAX_DIGITS as f64))
            .param(Param::int("max_digits", 5, "most digits of each operand").range(1.0, MAX_DIGITS as f64))
            .param(Param::int("train_examples", 200_000, "training problems (drawn with replacement, none from the test split)").min(1.0))
            .param(Param::int("test_examples", 12_500, "distinct held-out problems, spread evenly over the digit pairs (at most a quarter of a pair's problems)").min(0.0))
            .param(Param::int("seed", -1, "seed of the problems; -1 = the run's seed").min(-1.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(given: &[(&str, Value)]) -> Box<dyn Dataset> {
        let mut found = Vec::new();
        register(&mut found);
        found[0]
            .build_dataset(
                given,
                &BuildContext {
                    seed: 3,
                    device: Device::Cpu,
                },
            )
            .unwrap()
    }

    fn rows(d: &dyn Dataset, split: Split) -> Vec<(Vec<u32>, Vec<u32>)> {
        let idx: Vec<usize> = (0..d.len(split)).collect();
        let b = d.batch(split, &idx, &Device::Cpu).unwrap();
        let x = b.input.to_vec2::<u32>().unwrap();
        let y = b.target.to_vec2::<u32>().unwrap();
        x.into_iter().zip(y).collect()
    }

    /// `a*b=c` read back from a row with plain string parsing.
    fn parse(d: &dyn Dataset, row: &[u32]) -> (u64, u64, u64) {
        let text = d.tokenizer().unwrap().decode(row).unwrap();
        let (a, rest) = text.split_once('*').unwrap();
        let (b, c) = rest.split_once('=').unwrap();
        (a.parse().unwrap(), b.parse().unwrap(), c.parse().unwrap())
    }

    #[test]
    fn rows_are_products_written_most_significant_digit_first() {
        let d = make(&[
            ("train_examples", Value::Int(500)),
            ("test_examples", Value::Int(300)),
        ]);
        assert_eq!(
            d.info(),
            DataInfo::tokens(22, 13, Objective::NextToken { vocab: 13 })
        );
        for split in [Split::Train, Split::Test] {
            for (x, y) in rows(&*d, split) {
                assert_eq!(x.len(), 22);
                assert_eq!(&x[1..], &y[..21], "targets are the inputs shifted by one");
                let (a, b, c) = parse(&*d, &x);
                assert_eq!(a.checked_mul(b), Some(c), "{a}*{b}");
                assert!((1..100_000).contains(&a) && (1..100_000).contains(&b));
                // The product's digits by repeated division, most significant first.
                let mut by_division = Vec::new();
                let mut v = c;
                while v > 0 {
                    by_division.insert(0, (v % 10) as u32);
                    v /= 10;
                }
                let eq = x.iter().position(|&t| t == EQUALS).unwrap();
                let end = eq + 1 + by_division.len();
                let mut full = x.clone();
                full.push(*y.last().unwrap());
                assert_eq!(&full[eq + 1..end], &by_division[..]);
                assert!(full[end..].iter().all(|&t| t == EOS), "{full:?}");
            }
        }
        // 1-digit by 1-digit: the literal encoding.
        assert_eq!(encode_problem(7, 8), vec![7, TIMES, 8, EQUALS, 5, 6, EOS]);
        assert_eq!(
            encode_problem(12, 3),
            vec![1, 2, TIMES, 3, EQUALS, 3, 6, EOS]
        );
    }

    #[test]
    fn digit_counts_are_uniform_and_in_range() {
        let d = make(&[
            ("min_digits", Value::Int(2)),
            ("max_digits", Value::Int(3)),
            ("train_examples", Value::Int(4000)),
            ("test_examples", Value::Int(400)),
        ]);
        assert_eq!(d.info().input_shape, vec![14]);
        let mut counts = std::collections::BTreeMap::new();
        for (x, _) in rows(&*d, Split::Train) {
            let (a, b, _) = parse(&*d, &x);
            let key = (a.to_string().len(), b.to_string().len());
            *counts.entry(key).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), 4, "{counts:?}");
        for (&(n, m), &c) in &counts {
            assert!((2..=3).contains(&n) && (2..=3).contains(&m));
            assert!((850..=1150).contains(&c), "{counts:?}");
        }
        let mut test_counts = std::collections::BTreeMap::new();
        for (x, _) in rows(&*d, Split::Test) {
            let (a, b, _) = parse(&*d, &x);
            *test_counts
                .entry((a.to_string().len(), b.to_string().len()))
                .or_insert(0usize) += 1;
        }
        assert!(test_counts.values().all(|&c| c == 100), "{test_counts:?}");
    }

    #[test]
    fn splits_are_disjoint_and_small_pairs_keep_most_problems_for_training() {
        let d = make(&[
            ("max_digits", Value::Int(2)),
            ("train_examples", Value::Int(20_000)),
            ("test_examples", Value::Int(4_000)),
        ]);
        let test: HashSet<(u64, u64)> = rows(&*d, Split::Test)
            .iter()
            .map(|(x, _)| {
                let (a, b, _) = parse(&*d, x);
                (a, b)
            })
            .collect();
        // Distinct, and capped at a quarter of each pair: 20 + 202 + 202 + 2025.
        assert_eq!(test.len(), d.len(Split::Test));
        assert_eq!(test.len(), 20 + 202 + 202 + 1000);
        let train: HashSet<(u64, u64)> = rows(&*d, Split::Train)
            .iter()
            .map(|(x, _)| {
                let (a, b, _) = parse(&*d, x);
                (a, b)
            })
            .collect();
        assert!(train.is_disjoint(&test));
        let one_digit = train.iter().filter(|(a, b)| *a < 10 && *b < 10).count();
        assert_eq!(
            one_digit,
            81 - 20,
            "every 1x1 problem not held out is trained on"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let params = |seed: i64| {
            vec![
                ("train_examples", Value::Int(300)),
                ("test_examples", Value::Int(200)),
                ("seed", Value::Int(seed)),
            ]
        };
        let a = make(&params(5));
        let b = make(&params(5));
        let c = make(&params(6));
        for split in [Split::Train, Split::Test] {
            assert_eq!(rows(&*a, split), rows(&*b, split));
            assert_ne!(rows(&*a, split), rows(&*c, split));
        }
        // Example i does not depend on which other examples are asked for.
        let one = a.batch(Split::Train, &[17], &Device::Cpu).unwrap();
        assert_eq!(
            one.input.to_vec2::<u32>().unwrap()[0],
            rows(&*a, Split::Train)[17].0
        );
        // seed = -1 follows the run seed (3 in these tests).
        assert_eq!(
            rows(&*make(&params(-1)), Split::Test),
            rows(&*make(&params(3)), Split::Test)
        );
    }

    #[test]
    fn the_tokenizer_round_trips_and_refuses_other_characters() {
        let t = DigitTokenizer;
        assert_eq!(
            t.encode("12 * 34 =").unwrap(),
            vec![1, 2, TIMES, 3, 4, EQUALS]
        );
        assert_eq!(t.decode(&[4, 0, 8, EOS, EOS]).unwrap(), "408");
        assert_eq!(
            t.decode(&t.encode("987*65=64155").unwrap()).unwrap(),
            "987*65=64155"
        );
        assert!(t.encode("1+2").is_err());
        assert!(t.decode(&[13]).is_err());
        assert_eq!((t.vocab_size(), t.eos()), (13, Some(12)));
        let json = t.to_hf_json().unwrap();
        assert!(
            json.contains(r#""*": 10, "=": 11, "<|endoftext|>": 12"#),
            "{json}"
        );
        assert!(json.contains(r#""0": 0, "1": 1"#));
    }

    #[test]
    fn bad_parameters_are_refused() {
        let mut found = Vec::new();
        register(&mut found);
        let cx = BuildContext {
            seed: 0,
            device: Device::Cpu,
        };
        let err = found[0]
            .build_dataset(
                &[("min_digits", Value::Int(4)), ("max_digits", Value::Int(2))],
                &cx,
            )
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("min_digits <= max_digits"),
            "{err}"
        );
        assert!(found[0]
            .build_dataset(&[("max_digits", Value::Int(12))], &cx)
            .is_err());
    }
}
