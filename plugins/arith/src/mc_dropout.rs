//! Monte Carlo dropout scores of arithmetic answers, in batches: each problem is repeated once
//! per pass in one batch, so that T passes over a few hundred problems are a few forward passes.
//!
//! Each row (one problem, one pass) runs the prompt `a*b=` once; its distribution at the
//! prompt's end is that of the first answer token. From there the rows continue twice:
//!
//! - **gold**: `answer[..L-1]` (teacher forcing) in one step; the distribution at its end is
//!   that of the last token after the gold prefix. Rows are right-padded to the batch's longest,
//!   which a causal model does not see at earlier positions.
//! - **own**: greedy decoding of `L-1` tokens, then the distribution of token L. Each step
//!   appends, for every pass of a problem, the argmax of the passes' mean probabilities (the
//!   probe cannot switch the model's dropout off, so the MC mean stands in for the
//!   deterministic model).
//!
//! Both continuations go through the model's key/value cache when it has one
//! ([`Generative::forward_cached`]; the gold one from a copy of the prompt's cache, so a row's
//! prompt positions share their dropout sample in both), else recompute the whole sequence.
//!
//! Confidence is the mean over passes of the softmax probability of the correct token; the
//! prediction is the argmax of the mean (over the whole vocabulary).

use assay_sdk::prelude::*;
use assay_sdk::KvCache;

/// Rows (problems × passes) per forward pass: bounds the activations' memory.
const ROWS_PER_BATCH: usize = 8192;

/// One problem as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encoded {
    /// `a*b=`.
    pub prompt: Vec<u32>,
    /// The answer's tokens (at least one), most significant digit first.
    pub answer: Vec<u32>,
}

/// What the passes say about one problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scores {
    /// Mean probability of the correct first token after the prompt.
    pub conf_first: f64,
    /// Whether the argmax of the mean is the correct first token.
    pub first_correct: bool,
    /// Mean probability of the correct last token after the model's own greedy prefix.
    pub conf_last_own: f64,
    /// Whether the argmax of that mean is the correct last token.
    pub last_own_correct: bool,
    /// Whether the greedy prefix equals the gold one.
    pub own_prefix_correct: bool,
    /// Mean probability of the correct last token after the gold prefix.
    pub conf_last_gold: f64,
    /// Whether the argmax of that mean is the correct last token.
    pub last_gold_correct: bool,
}

/// Scores of `problems` from `passes` stochastic forward passes each, and whether the passes
/// differed at all (they do not when dropout is off). `pad` fills rows out to equal length.
pub(crate) fn score(
    model: &dyn Model,
    device: &Device,
    problems: &[Encoded],
    passes: usize,
    pad: u32,
) -> Result<(Vec<Scores>, bool)> {
    if passes == 0 {
        return Err(PluginError::param("passes", "at least one pass"));
    }
    if let Some(p) = problems
        .iter()
        .find(|p| p.answer.is_empty() || p.prompt.is_empty())
    {
        return Err(PluginError::invalid(format!(
            "a problem needs a prompt and an answer: {p:?}"
        )));
    }
    let per_batch = (ROWS_PER_BATCH / passes).max(1);
    let mut out = Vec::with_capacity(problems.len());
    let mut varies = false;
    // Greedy decoding starts all rows of a batch together, so a batch holds one prompt length.
    let mut order: Vec<usize> = (0..problems.len()).collect();
    order.sort_by_key(|&i| problems[i].prompt.len());
    let mut scored: Vec<Option<Scores>> = vec![None; problems.len()];
    for group in order.chunk_by(|&i, &j| problems[i].prompt.len() == problems[j].prompt.len()) {
        for chunk in group.chunks(per_batch) {
            let batch: Vec<&Encoded> = chunk.iter().map(|&i| &problems[i]).collect();
            let (scores, v) = batch_scores(model, device, &batch, passes, pad)?;
            varies |= v;
            for (&i, s) in chunk.iter().zip(scores) {
                scored[i] = Some(s);
            }
        }
    }
    for s in scored {
        out.push(s.ok_or_else(|| PluginError::invalid("a problem was not scored"))?);
    }
    Ok((out, varies))
}

/// Logits as `[rows, positions, vocab]` floats on the host.
struct Logits {
    values: Vec<f32>,
    positions: usize,
    vocab: usize,
}

impl Logits {
    fn new(t: &Tensor) -> Result<Self> {
        let (positions, vocab) = match t.dims() {
            [_, p, v] => (*p, *v),
            [_, v] => (1, *v),
            d => {
                return Err(PluginError::invalid(format!(
                    "expected [batch, positions, vocab] logits from the model, got {d:?}"
                )))
            }
        };
        Ok(Logits {
            values: t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
            positions,
            vocab,
        })
    }

    /// Softmax probabilities at `(row, position)`, added into `acc`.
    fn add_probs(&self, row: usize, position: usize, acc: &mut [f64]) {
        let start = (row * self.positions + position) * self.vocab;
        let z = &self.values[start..start + self.vocab];
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f64> = z.iter().map(|&v| f64::from(v - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        for (a, e) in acc.iter_mut().zip(exp) {
            *a += e / sum;
        }
    }

    /// Mean probabilities over the `passes` rows of problem `i` at `position`.
    fn mean_probs(&self, i: usize, passes: usize, position: usize) -> Vec<f64> {
        let mut acc = vec![0.0; self.vocab];
        for r in i * passes..(i + 1) * passes {
            self.add_probs(r, position, &mut acc);
        }
        acc.iter_mut().for_each(|a| *a /= passes as f64);
        acc
    }

    /// Whether rows `r` and `s` differ at `position`.
    fn differ(&self, r: usize, s: usize, position: usize) -> bool {
        let at = |row: usize| {
            let start = (row * self.positions + position) * self.vocab;
            &self.values[start..start + self.vocab]
        };
        at(r) != at(s)
    }
}

/// The index of the largest value (the first among equals).
fn argmax(p: &[f64]) -> u32 {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best as u32
}

/// The mean probability of `token` and whether it is the argmax.
fn judge(mean: &[f64], token: u32) -> (f64, bool) {
    (
        mean.get(token as usize).copied().unwrap_or(0.0),
        argmax(mean) == token,
    )
}

/// `rows` (each repeated `passes` times) as a `[rows·passes, width]` tensor, right-padded.
fn tile(rows: &[Vec<u32>], passes: usize, pad: u32, device: &Device) -> Result<Tensor> {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(rows.len() * passes * width);
    for r in rows {
        for _ in 0..passes {
            ids.extend_from_slice(r);
            ids.extend(std::iter::repeat_n(pad, width - r.len()));
        }
    }
    Ok(Tensor::from_vec(ids, (rows.len() * passes, width), device)?)
}

/// How a continuation gets its logits: from a key/value cache, or by recomputing the sequence.
#[derive(Clone)]
enum Stepper<'a> {
    Cached(&'a dyn Generative, KvCache),
    Full(&'a dyn Model, Option<Tensor>),
}

impl<'a> Stepper<'a> {
    fn new(model: &'a dyn Model) -> Self {
        match model.generative() {
            Some(g) => Stepper::Cached(g, KvCache::new()),
            None => Stepper::Full(model, None),
        }
    }

    /// Logits at the positions `new` (`[rows, k]`) appends.
    fn step(&mut self, new: &Tensor) -> Result<Logits> {
        let k = new.dim(1)?;
        let out = match self {
            Stepper::Cached(g, cache) => g.forward_cached(new, cache)?,
            Stepper::Full(model, tokens) => {
                let all = match tokens.take() {
                    Some(t) => Tensor::cat(&[&t, new], 1)?,
                    None => new.clone(),
                };
                let out = model.forward(&all, &mut Hooks::none())?;
                *tokens = Some(all);
                match out.dims() {
                    [_, p, _] if *p >= k => out.narrow(1, p - k, k)?,
                    _ => out,
                }
            }
        };
        let logits = Logits::new(&out)?;
        if logits.positions != k {
            return Err(PluginError::invalid(format!(
                "digit confidence needs logits at every position (a next-token model): got {} for {k} new tokens",
                logits.positions
            )));
        }
        Ok(logits)
    }
}

/// The scores of one batch of problems that share a prompt length, and whether passes differed.
fn batch_scores(
    model: &dyn Model,
    device: &Device,
    batch: &[&Encoded],
    passes: usize,
    pad: u32,
) -> Result<(Vec<Scores>, bool)> {
    let n = batch.len();
    let mut own = Stepper::new(model);
    let prompts: Vec<Vec<u32>> = batch.iter().map(|p| p.prompt.clone()).collect();
    let prompt = own.step(&tile(&prompts, passes, pad, device)?)?;
    let end = prompt.positions - 1;
    let varies = passes > 1 && prompt.differ(0, 1, end);
    let first: Vec<Vec<f64>> = (0..n).map(|i| prompt.mean_probs(i, passes, end)).collect();

    // Gold: the whole gold prefix at once, from a copy of the prompt's state.
    let gold_rows: Vec<Vec<u32>> = batch
        .iter()
        .map(|p| p.answer[..p.answer.len() - 1].to_vec())
        .collect();
    let gold = if gold_rows.iter().any(|r| !r.is_empty()) {
        Some(own.clone().step(&tile(&gold_rows, passes, pad, device)?)?)
    } else {
        None
    };
    let last_gold = |i: usize| match (&gold, gold_rows[i].len()) {
        (Some(g), len) if len > 0 => g.mean_probs(i, passes, len - 1),
        _ => first[i].clone(),
    };

    // Own: greedy steps; `dist[i]` is problem i's current mean distribution.
    let mut dist = first.clone();
    let mut decoded: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut last_own: Vec<Option<Vec<f64>>> = vec![None; n];
    let steps = batch.iter().map(|p| p.answer.len()).max().unwrap_or(0);
    for step in 0..steps {
        let mut next = Vec::with_capacity(n);
        for (i, p) in batch.iter().enumerate() {
            if step + 1 < p.answer.len() {
                let token = argmax(&dist[i]);
                decoded[i].push(token);
                next.push(vec![token]);
            } else {
                if step + 1 == p.answer.len() {
                    last_own[i] = Some(dist[i].clone());
                }
                next.push(vec![pad]);
            }
        }
        if step + 1 < steps {
            let logits = own.step(&tile(&next, passes, pad, device)?)?;
            dist = (0..n).map(|i| logits.mean_probs(i, passes, 0)).collect();
        }
    }

    let mut out = Vec::with_capacity(n);
    for (i, p) in batch.iter().enumerate() {
        let len = p.answer.len();
        let own_last = last_own[i]
            .as_ref()
            .ok_or_else(|| PluginError::invalid("a problem was not decoded"))?;
        let (conf_first, first_correct) = judge(&first[i], p.answer[0]);
        let (conf_last_own, last_own_correct) = judge(own_last, p.answer[len - 1]);
        let (conf_last_gold, last_gold_correct) = judge(&last_gold(i), p.answer[len - 1]);
        out.push(Scores {
            conf_first,
            first_correct,
            conf_last_own,
            last_own_correct,
            own_prefix_correct: decoded[i][..] == p.answer[..len - 1],
            conf_last_gold,
            last_gold_correct,
        });
    }
    Ok((out, varies))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A next-token "model" over 4 tokens whose logits at each position depend on the token
    /// there: token t favours t + 1 (mod 4) by `margin`, and gets a random bump of ±`noise` in
    /// each row, like dropout.
    struct Toy {
        margin: f32,
        noise: f32,
        rng: std::sync::Mutex<init::Rng>,
        /// Offer a key/value cache (the toy needs none: its logits depend on the token alone).
        cached: bool,
    }

    impl Generative for Toy {
        fn forward_cached(&self, input: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
            let (rows, new) = input.dims2()?;
            let kv = Tensor::zeros((rows, 1, new, 1), DType::F32, &Device::Cpu)?;
            cache.append(0, kv.clone(), kv)?;
            self.forward(input, &mut Hooks::none())
        }
    }

    impl Model for Toy {
        fn forward(&self, input: &Tensor, _hooks: &mut Hooks) -> Result<Tensor> {
            use assay_sdk::rand::Rng as _;
            let ids = input.to_vec2::<u32>()?;
            let (rows, len) = input.dims2()?;
            let mut rng = self.rng.lock().unwrap();
            let mut v = Vec::with_capacity(rows * len * 4);
            for row in ids {
                for t in row {
                    for k in 0..4u32 {
                        let base = if k == (t + 1) % 4 { self.margin } else { 0.0 };
                        v.push(base + rng.random_range(-1.0f32..=1.0) * self.noise);
                    }
                }
            }
            Ok(Tensor::from_vec(v, (rows, len, 4), &Device::Cpu)?)
        }

        fn parameters(&self) -> Vec<(String, Var)> {
            Vec::new()
        }

        fn generative(&self) -> Option<&dyn Generative> {
            self.cached.then_some(self as &dyn Generative)
        }
    }

    fn toy(margin: f32, noise: f32) -> Toy {
        Toy {
            margin,
            noise,
            rng: std::sync::Mutex::new(init::rng(0, "toy")),
            cached: false,
        }
    }

    #[test]
    fn a_deterministic_model_is_scored_exactly() {
        // Without noise p(t + 1 | t) = e^m / (e^m + 3).
        let m = 2.0f32;
        let p = f64::from(m).exp() / (f64::from(m).exp() + 3.0);
        // Prompt ends in 1: the model says 2, 3, 0, ... The answer [2, 3, 0] is what it says;
        // [2, 0, 1] is wrong at the second token, so its own prefix (2, 3) is wrong and it
        // scores the last token after 3 (says 0, not 1), while after the gold prefix (2, 0)
        // it says 1.
        let problems = vec![
            Encoded {
                prompt: vec![0, 1],
                answer: vec![2, 3, 0],
            },
            Encoded {
                prompt: vec![3, 1],
                answer: vec![2, 0, 1],
            },
            Encoded {
                prompt: vec![0, 0, 3],
                answer: vec![1],
            },
        ];
        let (s, varies) = score(&toy(m, 0.0), &Device::Cpu, &problems, 3, 0).unwrap();
        assert!(!varies);
        // Through the cache, the same scores.
        let cached = Toy {
            cached: true,
            ..toy(m, 0.0)
        };
        assert_eq!(score(&cached, &Device::Cpu, &problems, 3, 0).unwrap().0, s);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let q = (1.0 - p) / 3.0;
        assert!(close(s[0].conf_first, p) && s[0].first_correct);
        assert!(close(s[0].conf_last_own, p) && s[0].last_own_correct && s[0].own_prefix_correct);
        assert!(close(s[0].conf_last_gold, p) && s[0].last_gold_correct);
        assert!(!s[1].own_prefix_correct);
        assert!(close(s[1].conf_last_own, q) && !s[1].last_own_correct);
        assert!(close(s[1].conf_last_gold, p) && s[1].last_gold_correct);
        // A one-token answer: first = last, the own prefix is empty and so correct.
        assert!(close(s[2].conf_first, q) && !s[2].first_correct);
        assert!(close(s[2].conf_last_own, q) && s[2].own_prefix_correct);
        assert!(close(s[2].conf_last_gold, q));
    }

    #[test]
    fn noisy_passes_vary_and_average_toward_the_clean_probability() {
        let problems: Vec<Encoded> = (0..50)
            .map(|i| Encoded {
                prompt: vec![i % 4, 1],
                answer: vec![2, 3],
            })
            .collect();
        let (s, varies) = score(&toy(3.0, 1.0), &Device::Cpu, &problems, 64, 0).unwrap();
        assert!(varies);
        let mean = s.iter().map(|x| x.conf_first).sum::<f64>() / s.len() as f64;
        // E[softmax] under the noise is a little below the clean e^3 / (e^3 + 3) = 0.870.
        assert!((0.75..0.88).contains(&mean), "{mean}");
        assert!(s.iter().all(|x| x.first_correct && x.last_gold_correct));
    }

    #[test]
    fn batches_of_mixed_prompt_lengths_keep_the_problems_order() {
        let problems: Vec<Encoded> = (0..40u32)
            .map(|i| Encoded {
                prompt: vec![0; 1 + (i % 3) as usize]
                    .into_iter()
                    .chain([i % 4])
                    .collect(),
                answer: vec![(i % 4 + 1) % 4, (i % 4 + 2) % 4],
            })
            .collect();
        for cached in [false, true] {
            let model = Toy {
                cached,
                ..toy(1.0, 0.0)
            };
            let (s, _) = score(&model, &Device::Cpu, &problems, 300, 3).unwrap();
            assert_eq!(s.len(), 40);
            assert!(s
                .iter()
                .all(|x| x.first_correct && x.own_prefix_correct && x.last_own_correct));
        }
        assert!(score(&toy(1.0, 0.0), &Device::Cpu, &problems, 0, 3).is_err());
    }
}
