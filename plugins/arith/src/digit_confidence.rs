//! The `digit_confidence` probe (study 4, Gambardella et al. 2024): is the first digit of a
//! product easier for a language model than the last, and does the last get easier after the
//! correct higher-order digits?
//!
//! It takes the held-out problems `a*b=c` of the run's dataset (the test split, read through the
//! dataset's tokenizer, so any dataset of such rows works; the `multiplication` dataset is
//! meant), grouped by the digit counts `(n, m)` of `a` and `b` within `[min_digits,
//! max_digits]` (all pairs, or with `pairs = "square"` only those with n = m), the first
//! `problems` of each pair. Every problem runs `passes` stochastic forward passes with the
//! model's dropout on (Monte Carlo dropout; see [`crate::mc_dropout`] for the batching and for
//! the greedy decoding, which uses the mean of the passes because a probe cannot switch dropout
//! off). Dropout is on when the probe runs if the model has any: the host runs probes in
//! training mode, and the `transformer`'s `mc_dropout = true` keeps it on in evaluations too.
//! The metric `digit_confidence/dropout_varies` is 0 when the passes came out identical (no
//! dropout: every confidence is then one pass's).
//!
//! Per problem (table `digit_confidence`): `conf_first` and `first_correct`; `conf_last_own`,
//! `last_own_correct` and `own_prefix_correct` (after the model's own greedy `L-1` digits,
//! L the true product length); `conf_last_gold` and `last_gold_correct` (after the gold
//! prefix). Per pair (table `digit_confidence_summary`): the means with percentile-bootstrap
//! 95 % intervals (`resamples` resamples, seeded by `seed` and the pair), accuracies, the number
//! of problems whose own prefix is wrong and, over those, `gain_wrong_prefix` =
//! mean(`conf_last_gold` − `conf_last_own`) with its interval; and `constant_acc`, the accuracy
//! of always answering the pair's most frequent first digit (the best constant guess). Metrics
//! `digit_confidence/…` pool every pair (`first_constant_acc`: the best constant per pair).

use std::collections::BTreeMap;

use assay_sdk::prelude::*;

use crate::bootstrap::{mean_interval, Interval};
use crate::digit_tables::{problem_table, Row, Summary};
use crate::mc_dropout::{self, Encoded, Scores};

/// Test rows read per batch.
const READ_CHUNK: usize = 4096;

/// Operand pairs `(a, b)` by digit counts `(n, m)`.
type ByPair = BTreeMap<(usize, usize), Vec<(u64, u64)>>;

/// The probe's settings.
struct DigitConfidence {
    min_digits: usize,
    max_digits: usize,
    /// Only pairs with n = m.
    square: bool,
    problems: usize,
    passes: usize,
    resamples: usize,
    seed: u64,
}

/// `a*b=c` from a decoded test row, checked.
fn parse(text: &str) -> Option<(u64, u64)> {
    let (question, answer) = text.split_once('=')?;
    let (a, b) = question.split_once('*')?;
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (answer.parse::<u64>().ok()? == a.checked_mul(b)?).then_some((a, b))
}

/// Number of decimal digits.
fn digit_count(x: u64) -> usize {
    x.to_string().len()
}

impl DigitConfidence {
    /// The test split's problems by `(n, m)`, at most `problems` per pair in range.
    fn problems(&self, dataset: &dyn Dataset, tokenizer: &dyn Tokenizer) -> Result<ByPair> {
        let mut by_pair = ByPair::new();
        let idx: Vec<usize> = (0..dataset.len(Split::Test)).collect();
        for chunk in idx.chunks(READ_CHUNK) {
            let batch = dataset.batch(Split::Test, chunk, &Device::Cpu)?;
            for row in batch.input.to_vec2::<u32>()? {
                let text = tokenizer.decode(&row)?;
                let (a, b) = parse(&text).ok_or_else(|| {
                    PluginError::invalid(format!(
                        "digit_confidence needs a dataset of `a*b=c` rows (the `multiplication` dataset); a test row reads `{text}`"
                    ))
                })?;
                let pair = (digit_count(a), digit_count(b));
                if (self.min_digits..=self.max_digits).contains(&pair.0)
                    && (self.min_digits..=self.max_digits).contains(&pair.1)
                    && (!self.square || pair.0 == pair.1)
                {
                    let list = by_pair.entry(pair).or_default();
                    if list.len() < self.problems {
                        list.push((a, b));
                    }
                }
            }
        }
        Ok(by_pair)
    }

    /// The bootstrap interval of `values` for `(pair, quantity)`.
    fn interval(&self, pair: (usize, usize), quantity: &str, values: &[f64]) -> Option<Interval> {
        let stream = format!("digit_confidence/{}x{}/{quantity}", pair.0, pair.1);
        mean_interval(
            values,
            self.resamples,
            0.95,
            &mut init::rng(self.seed, &stream),
        )
    }
}

/// Token ids of the digits 0-9 under `tokenizer`, each a single token.
fn digit_ids(tokenizer: &dyn Tokenizer) -> Result<[u32; 10]> {
    let mut out = [0u32; 10];
    for (d, slot) in out.iter_mut().enumerate() {
        match tokenizer.encode(&d.to_string())?[..] {
            [id] => *slot = id,
            ref other => {
                return Err(PluginError::invalid(format!(
                    "digit_confidence needs one token per digit; `{d}` is {other:?}"
                )))
            }
        }
    }
    Ok(out)
}

/// The mean; `None` for no values.
fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

impl Probe for DigitConfidence {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let tokenizer = cx.dataset.tokenizer().ok_or_else(|| {
            PluginError::invalid(
                "digit_confidence needs a dataset with a tokenizer (the `multiplication` dataset)",
            )
        })?;
        let digit_id = digit_ids(&*tokenizer)?;
        let pad = tokenizer.eos().unwrap_or(digit_id[0]);
        let problems = self.problems(cx.dataset, &*tokenizer)?;
        if problems.is_empty() {
            return Err(PluginError::invalid(format!(
                "the test split has no problems with {}..={} digit operands",
                self.min_digits, self.max_digits
            )));
        }
        let mut by_pair = BTreeMap::new();
        let mut varies = false;
        for (&pair, list) in &problems {
            let mut encoded = Vec::with_capacity(list.len());
            for &(a, b) in list {
                let product = (a * b).to_string();
                encoded.push(Encoded {
                    prompt: tokenizer.encode(&format!("{a}*{b}="))?,
                    answer: product
                        .bytes()
                        .map(|c| digit_id[usize::from(c - b'0')])
                        .collect(),
                });
            }
            let (scores, v) = mc_dropout::score(cx.model, cx.device, &encoded, self.passes, pad)?;
            varies |= v;
            let rows: Vec<Row> = list
                .iter()
                .zip(scores)
                .map(|(&(a, b), scores)| Row {
                    a,
                    b,
                    first_digit: u32::from((a * b).to_string().as_bytes()[0] - b'0'),
                    scores,
                })
                .collect();
            by_pair.insert(pair, rows);
        }
        let mut summary = Summary::default();
        let mut all_rows = Vec::new();
        let mut constant = 0usize;
        for (&pair, rows) in &by_pair {
            constant += summary.add_pair(pair, rows, &|q, v| self.interval(pair, q, v));
            all_rows.extend(rows.iter().map(|r| r.scores));
        }
        let total = all_rows.len() as f64;
        let pooled = |f: fn(&Scores) -> f64| all_rows.iter().map(f).sum::<f64>() / total;
        let rate = |f: fn(&Scores) -> bool| all_rows.iter().filter(|s| f(s)).count() as f64 / total;
        let gains: Vec<f64> = all_rows
            .iter()
            .filter(|s| !s.own_prefix_correct)
            .map(|s| s.conf_last_gold - s.conf_last_own)
            .collect();
        let key = |m: &str| format!("digit_confidence/{m}");
        let mut obs = Observation::default()
            .metric(key("problems"), total)
            .metric(key("dropout_varies"), f64::from(u8::from(varies)))
            .metric(key("first_acc"), rate(|s| s.first_correct))
            .metric(key("first_constant_acc"), constant as f64 / total)
            .metric(key("conf_first"), pooled(|s| s.conf_first))
            .metric(key("conf_last_own"), pooled(|s| s.conf_last_own))
            .metric(key("conf_last_gold"), pooled(|s| s.conf_last_gold))
            .metric(key("last_own_acc"), rate(|s| s.last_own_correct))
            .metric(key("last_gold_acc"), rate(|s| s.last_gold_correct))
            .metric(key("own_prefix_acc"), rate(|s| s.own_prefix_correct));
        if let Some(g) = mean(&gains) {
            obs = obs.metric(key("gain_wrong_prefix"), g);
        }
        Ok(obs.table(problem_table(&by_pair)).table(summary.table()))
    }
}

fn build(p: &Params, _cx: &BuildContext) -> Result<Box<dyn Probe>> {
    let (min_digits, max_digits) = (p.usize("min_digits")?, p.usize("max_digits")?);
    if min_digits > max_digits {
        return Err(PluginError::param(
            "max_digits",
            format!("{max_digits} is below min_digits {min_digits}"),
        ));
    }
    Ok(Box::new(DigitConfidence {
        min_digits,
        max_digits,
        square: p.str("pairs")? == "square",
        problems: p.usize("problems")?,
        passes: p.usize("passes")?,
        resamples: p.usize("resamples")?,
        seed: p.usize("seed")? as u64,
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("digit_confidence", "0.1.0", build)
            .summary("MC-dropout confidence in the first vs last digit of products, own vs gold prefix (tables `digit_confidence`, `digit_confidence_summary`)")
            .param(Param::int("min_digits", 1, "fewest digits of an operand").range(1.0, 18.0))
            .param(Param::int("max_digits", 5, "most digits of an operand").range(1.0, 18.0))
            .param(
                Param::str("pairs", "all", "`all` (n, m) pairs in range, or only the `square` ones (n = m: 5 of the 25 pairs of 1-5 digits)")
                    .choices(&["all", "square"]),
            )
            .param(Param::int("problems", 500, "test problems per (n, m) pair (fewer where the test split has fewer)").min(1.0))
            .param(Param::int("passes", 32, "Monte Carlo dropout passes T per problem").min(1.0))
            .param(Param::int("resamples", 1000, "bootstrap resamples per interval (0 = none)").min(0.0))
            .param(Param::int("seed", 0, "seed of the bootstrap").min(0.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiplication::{Multiplication, EOS, EQUALS, TIMES, VOCAB};

    /// A next-token "model" that knows multiplication: after `a*b=` and a correct prefix of the
    /// product it gives the next correct token a logit of `margin` (0 elsewhere), except that
    /// it gets the second digit wrong (one higher) when `a` is even, and after a wrong prefix
    /// it knows nothing (all logits 0). With `noise`, every row of a batch is shifted by its own
    /// random amount, so that passes differ as under dropout.
    struct Oracle {
        margin: f32,
        noise: f32,
        rng: std::sync::Mutex<init::Rng>,
    }

    impl Oracle {
        /// The correct (or deliberately wrong) next token after `prefix`, if the oracle knows one.
        fn next(prefix: &[u32]) -> Option<u32> {
            let eq = prefix.iter().position(|&t| t == EQUALS)?;
            let times = prefix.iter().position(|&t| t == TIMES)?;
            let number = |ds: &[u32]| ds.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d));
            let (a, b) = (number(&prefix[..times]), number(&prefix[times + 1..eq]));
            let mut truth: Vec<u32> = crate::multiplication::digits(a * b);
            truth.push(EOS);
            let done = &prefix[eq + 1..];
            let k = done.len();
            if k >= truth.len() || truth[..k] != *done {
                return None;
            }
            Some(if k == 1 && a % 2 == 0 && truth[1] != EOS {
                (truth[1] + 1) % 10
            } else {
                truth[k]
            })
        }
    }

    impl Model for Oracle {
        fn forward(&self, input: &Tensor, _hooks: &mut Hooks) -> Result<Tensor> {
            use assay_sdk::rand::Rng as _;
            let ids = input.to_vec2::<u32>()?;
            let (rows, len) = input.dims2()?;
            let mut rng = self.rng.lock().unwrap();
            let mut v = Vec::with_capacity(rows * len * VOCAB);
            for row in ids {
                let shift = rng.random_range(-1.0f32..=1.0) * self.noise;
                for i in 0..len {
                    let next = Self::next(&row[..=i]);
                    v.extend((0..VOCAB as u32).map(|k| {
                        if Some(k) == next {
                            self.margin + shift
                        } else {
                            0.0
                        }
                    }));
                }
            }
            Ok(Tensor::from_vec(v, (rows, len, VOCAB), &Device::Cpu)?)
        }

        fn parameters(&self) -> Vec<(String, Var)> {
            Vec::new()
        }
    }

    fn observe(noise: f32, probe: &[(&str, Value)]) -> Observation {
        let data = Multiplication::new(1, 3, 10, 600, 4).unwrap();
        let model = Oracle {
            margin: 3.0,
            noise,
            rng: std::sync::Mutex::new(init::rng(0, "oracle")),
        };
        let mut found = Vec::new();
        register(&mut found);
        let mut p = found[0]
            .build_probe(
                probe,
                &BuildContext {
                    seed: 0,
                    device: Device::Cpu,
                },
            )
            .unwrap();
        p.observe(&ProbeContext {
            step: 10,
            is_final: true,
            model: &model,
            dataset: &data,
            device: &Device::Cpu,
        })
        .unwrap()
    }

    fn column<'a>(t: &'a Table, name: &str) -> &'a Column {
        &t.columns.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn floats(t: &Table, name: &str) -> Vec<f64> {
        match column(t, name) {
            Column::F64(v) => v.iter().map(|x| x.unwrap()).collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn ints(t: &Table, name: &str) -> Vec<i64> {
        match column(t, name) {
            Column::I64(v) => v.iter().map(|x| x.unwrap()).collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn flags(t: &Table, name: &str) -> Vec<bool> {
        match column(t, name) {
            Column::Bool(v) => v.iter().map(|x| x.unwrap()).collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn confidences_match_a_model_that_errs_on_purpose() {
        let obs = observe(
            0.0,
            &[
                ("max_digits", Value::Int(2)),
                ("problems", Value::Int(30)),
                ("passes", Value::Int(4)),
                ("resamples", Value::Int(200)),
            ],
        );
        let (rows, summary) = (&obs.tables[0], &obs.tables[1]);
        assert_eq!(rows.name, "digit_confidence");
        let names: Vec<&str> = rows.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "n",
                "m",
                "a",
                "b",
                "conf_first",
                "first_correct",
                "conf_last_own",
                "last_own_correct",
                "own_prefix_correct",
                "conf_last_gold",
                "last_gold_correct"
            ]
        );
        // Pairs 1x1 (20 held-out problems: a quarter of 81), 1x2, 2x1, 2x2 (30 each).
        assert_eq!(ints(summary, "problems"), [20, 30, 30, 30]);
        assert_eq!(ints(summary, "n"), [1, 1, 2, 2]);
        assert_eq!(ints(summary, "m"), [1, 2, 1, 2]);
        let p = 3f64.exp() / (3f64.exp() + 12.0);
        let uniform = 1.0 / 13.0;
        let (a, b) = (ints(rows, "a"), ints(rows, "b"));
        let (first, own, gold) = (
            floats(rows, "conf_first"),
            floats(rows, "conf_last_own"),
            floats(rows, "conf_last_gold"),
        );
        let prefix_ok = flags(rows, "own_prefix_correct");
        for i in 0..a.len() {
            let product = (a[i] * b[i]).to_string();
            let len = product.len();
            // The oracle lies about the second digit of even a's products: the first digit is
            // always right, and the last after the gold prefix too unless it is the second.
            assert!((first[i] - p).abs() < 1e-9, "{}*{}", a[i], b[i]);
            let lies = a[i] % 2 == 0 && len > 1;
            let expect_gold = if lies && len == 2 {
                1.0 / (3f64.exp() + 12.0)
            } else {
                p
            };
            assert!((gold[i] - expect_gold).abs() < 1e-9, "{}*{}", a[i], b[i]);
            // Its own prefix is wrong when it lies before the last digit; then it knows nothing.
            let wrong = lies && len > 2;
            assert_eq!(prefix_ok[i], !wrong, "{}*{}", a[i], b[i]);
            let expect_own = if wrong { uniform } else { expect_gold };
            assert!((own[i] - expect_own).abs() < 1e-9, "{}*{}", a[i], b[i]);
        }
        // Summary: the gain on wrong prefixes is p - 1/13 exactly (no spread, so a point interval).
        let gain = floats_opt(summary, "gain_wrong_prefix");
        let wrong = ints(summary, "wrong_prefix");
        assert_eq!(wrong[0], 0);
        assert!(gain[0].is_none());
        assert!(wrong[3] > 0);
        assert!((gain[3].unwrap() - (p - uniform)).abs() < 1e-9);
        assert_eq!(floats(summary, "first_acc"), [1.0; 4]);
        assert!(floats(summary, "constant_acc").iter().all(|&c| c < 1.0));
        let metric = |name: &str| {
            obs.metrics
                .iter()
                .find(|m| m.name == format!("digit_confidence/{name}"))
                .unwrap()
                .value
        };
        assert_eq!(metric("dropout_varies"), 0.0);
        assert_eq!(metric("problems"), 110.0);
        assert_eq!(metric("first_acc"), 1.0);
        assert!((metric("gain_wrong_prefix") - (p - uniform)).abs() < 1e-9);
    }

    fn floats_opt(t: &Table, name: &str) -> Vec<Option<f64>> {
        match column(t, name) {
            Column::F64(v) => v.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn noisy_passes_give_intervals_around_the_means() {
        let obs = observe(
            2.0,
            &[
                ("min_digits", Value::Int(3)),
                ("max_digits", Value::Int(3)),
                ("problems", Value::Int(40)),
                ("passes", Value::Int(8)),
            ],
        );
        let summary = &obs.tables[1];
        assert_eq!(ints(summary, "n"), [3]);
        for q in [
            "conf_first",
            "conf_last_own",
            "conf_last_gold",
            "gain_wrong_prefix",
        ] {
            let (m, lo, hi) = (
                floats(summary, q)[0],
                floats(summary, &format!("{q}_lo"))[0],
                floats(summary, &format!("{q}_hi"))[0],
            );
            assert!(lo < m && m < hi, "{q}: {lo} {m} {hi}");
        }
        let rows = &obs.tables[0];
        for q in ["conf_first", "conf_last_own", "conf_last_gold"] {
            assert!(floats(rows, q).iter().all(|p| (0.0..=1.0).contains(p)));
        }
        assert!(obs
            .metrics
            .iter()
            .any(|m| m.name == "digit_confidence/dropout_varies" && m.value == 1.0));
    }

    #[test]
    fn square_pairs_only_when_asked() {
        let obs = observe(
            0.0,
            &[
                ("max_digits", Value::Int(3)),
                ("pairs", Value::Str("square".into())),
                ("problems", Value::Int(5)),
                ("passes", Value::Int(2)),
            ],
        );
        let summary = &obs.tables[1];
        assert_eq!(ints(summary, "n"), [1, 2, 3]);
        assert_eq!(ints(summary, "m"), [1, 2, 3]);
        assert_eq!(ints(&obs.tables[0], "n").len(), 15);
    }

    #[test]
    fn rows_that_are_not_products_are_refused() {
        assert_eq!(parse("12*34=408"), Some((12, 34)));
        assert_eq!(parse("12*34=409"), None);
        assert_eq!(parse("12+34=46"), None);
        assert_eq!(parse("*="), None);
    }
}
