//! Probe `scramble_recovery` (ScrRec): scrambles sentences with each scrambler and rate,
//! recovers them with one recoverer and reports the paper's Recovery Rate.
//!
//! The sentences are the held-out sentences of the run's `scrambled_text` dataset (read back
//! through its tokenizer, so a learned recoverer is scored on text it never trained on), or
//! the corpus (`sentences = "corpus"`), at most `limit` of them. Each scrambler runs over them
//! with the paper's seeding (`seed`, default 10). Metrics `scramble/LABEL/rr/SLUG` (`SLUG`:
//! `random_20`, `keep_first`, …); table `scramble_recovery` (one row per scrambler: summed
//! edit distances and RR) and table `scramble_items` (one row per sentence).
//!
//! A `model` recoverer whose backend fails on its first request fails the run with an error
//! naming the probe and `backend`. One that fails later stops there: the rows and metrics of
//! what it recovered are kept (the unfinished scrambler's row has `complete = false` and the
//! error; metric `scramble/LABEL/backend_lost` = 1), and the probe's next call fails the run.

use assay_sdk::prelude::*;

use crate::anagram::AnagramSolver;
use crate::backend::{self, BackendKind};
use crate::corpus;
use crate::metrics::{edit_distance, Distances};
use crate::prompts::{original_of, PromptStyle};
use crate::recover::{Case, Recoverer, RecovererKind};
use crate::scramble::{scramble_corpus, Scrambler};

const PROBE: &str = "scramble_recovery";

/// Where the sentences come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Sentences {
    /// The held-out sentences of the run's `scrambled_text` dataset.
    Dataset,
    /// Every sentence of `corpus`.
    Corpus,
}

/// The probe's parameters.
#[derive(Debug, Params)]
struct RecoveryParams {
    /// identity, oracle, anagram (the dictionary solver) or model (a text model).
    #[param(default = "anagram")]
    recoverer: RecovererKind,
    /// Name of the recoverer in tables and metric keys; empty: the recoverer's own name.
    #[param(default = "")]
    label: String,
    /// Scramblers: random (once per rate), keep_first, keep_first_last, substitute.
    #[param(default = ["random", "keep_first", "keep_first_last"])]
    scramblers: Vec<String>,
    /// Rates of the random scrambler (multiples of 0.1 in (0, 1]).
    #[param(default = [0.2, 0.5, 1.0])]
    rates: Vec<f64>,
    /// Seed of the scramblers (the paper's default is 10).
    #[param(default = 10, min = 0)]
    seed: u64,
    /// dataset (the run's held-out sentences) or corpus (every sentence of `corpus`).
    #[param(default = "dataset")]
    sentences: Sentences,
    /// File of sentences for the anagram dictionary and for sentences = "corpus"; empty: the
    /// shipped sample.
    #[param(default = "")]
    corpus: String,
    /// At most this many sentences (0 = all).
    #[param(default = 0, min = 0)]
    limit: usize,
    /// Anagram solver: candidates must keep the first (KF) or first and last (KFL) letters.
    #[param(default = true)]
    constraints: bool,
    /// Model recoverer: local (the run's model) or openai (OPENAI_BASE_URL, OPENAI_API_KEY).
    #[param(default = "local")]
    backend: BackendKind,
    /// Model name for the openai backend.
    #[param(default = "gpt-4o-mini")]
    openai_model: String,
    /// Model recoverer's prompt: trained (`scrambled => `), zero_shot or few_shot (the paper's).
    #[param(default = "trained")]
    prompt: PromptStyle,
    /// Few-shot demonstrations (scrambled at 50 % with `seed`); empty: three built-in sentences.
    #[param(default = [])]
    demos: Vec<String>,
    /// Most tokens generated per sentence.
    #[param(default = 256, min = 1)]
    max_tokens: usize,
    /// Prompts per generation call with the local backend.
    #[param(default = 32, min = 1)]
    batch: usize,
}

struct ScrambleRecovery {
    p: RecoveryParams,
    scramblers: Vec<Scrambler>,
    solver: Option<AnagramSolver>,
    corpus: Vec<String>,
    /// Why the backend was lost at an earlier call.
    lost: Option<String>,
}

/// The held-out sentences of a `scrambled_text` dataset, read back from its test rows.
fn dataset_sentences(cx: &ProbeContext<'_>) -> Result<Vec<String>> {
    let not_ours = |why: &str| {
        PluginError::param(
            "sentences",
            format!(
                "probe `{PROBE}`: {why}; train on dataset `scrambled_text` or set sentences = \"corpus\""
            ),
        )
    };
    let tokenizer = cx
        .dataset
        .tokenizer()
        .ok_or_else(|| not_ours("the run's dataset has no tokenizer"))?;
    let n = cx.dataset.len(Split::Test);
    if n == 0 {
        return Err(not_ours("the run's dataset has no test rows"));
    }
    let batch = cx
        .dataset
        .batch(Split::Test, &(0..n).collect::<Vec<_>>(), cx.device)?;
    let (x, y) = (
        batch
            .input
            .to_vec2::<u32>()
            .map_err(|_| not_ours("its rows are not token rows"))?,
        batch
            .target
            .to_vec2::<u32>()
            .map_err(|_| not_ours("its rows are not token rows"))?,
    );
    x.into_iter()
        .zip(y)
        .map(|(mut ids, y)| {
            ids.extend(y.last());
            let text = tokenizer.decode(&ids)?;
            original_of(&text)
                .map(str::to_string)
                .ok_or_else(|| not_ours("its test rows are not `scrambled => original` lines"))
        })
        .collect()
}

/// Rows of table `scramble_recovery`.
#[derive(Default)]
struct Rows {
    scrambler: Vec<Option<String>>,
    rate: Vec<Option<f64>>,
    condition: Vec<Option<String>>,
    sentences: Vec<Option<i64>>,
    ed_scrambled: Vec<Option<i64>>,
    ed_recovered: Vec<Option<i64>>,
    rr: Vec<Option<f64>>,
    complete: Vec<Option<bool>>,
    error: Vec<Option<String>>,
}

/// Rows of table `scramble_items`.
#[derive(Default)]
struct Items {
    condition: Vec<Option<String>>,
    sentence: Vec<Option<i64>>,
    original: Vec<Option<String>>,
    scrambled: Vec<Option<String>>,
    recovered: Vec<Option<String>>,
    ed_scrambled: Vec<Option<i64>>,
    ed_recovered: Vec<Option<i64>>,
}

impl ScrambleRecovery {
    /// Runs the recoverer over each scrambler's cases; the answers per scrambler (the last one
    /// possibly short), the recoverer's name and the error that stopped it.
    fn run(
        &self,
        cx: &ProbeContext<'_>,
        cells: &[Vec<Case>],
    ) -> Result<(Vec<Vec<String>>, String, Option<PluginError>)> {
        let go = |r: &mut Recoverer<'_>| {
            let mut answers = Vec::new();
            for cases in cells {
                let mut out = Vec::new();
                let res = r.recover(cases, &mut out);
                answers.push(out);
                if let Err(e) = res {
                    return (answers, Some(e));
                }
            }
            (answers, None)
        };
        let plain = |mut r: Recoverer<'_>| {
            let name = r.name();
            let (a, e) = go(&mut r);
            Ok((a, name, e))
        };
        match self.p.recoverer {
            RecovererKind::Identity => plain(Recoverer::Identity),
            RecovererKind::Oracle => plain(Recoverer::Oracle),
            RecovererKind::Anagram => plain(Recoverer::Anagram {
                solver: self.solver.as_ref().ok_or_else(|| {
                    PluginError::invalid(format!("probe `{PROBE}`: no anagram dictionary"))
                })?,
                constraints: self.p.constraints,
            }),
            RecovererKind::Model => {
                let setup = backend::ModelSetup {
                    kind: self.p.backend,
                    openai_model: &self.p.openai_model,
                    batch: self.p.batch,
                    prompt: self.p.prompt,
                    demos: &self.p.demos,
                    seed: self.p.seed,
                    max_tokens: self.p.max_tokens,
                };
                backend::with_model_recoverer(&setup, cx, PROBE, go)
            }
        }
    }
}

impl Probe for ScrambleRecovery {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        if let Some(why) = &self.lost {
            return Err(PluginError::param("backend", why.clone()));
        }
        let mut sentences = match self.p.sentences {
            Sentences::Dataset => dataset_sentences(cx)?,
            Sentences::Corpus => self.corpus.clone(),
        };
        if self.p.limit > 0 {
            sentences.truncate(self.p.limit);
        }
        let cells: Vec<Vec<Case>> = self
            .scramblers
            .iter()
            .map(|&s| {
                scramble_corpus(&sentences, s, self.p.seed)
                    .texts
                    .into_iter()
                    .zip(&sentences)
                    .map(|(scrambled, original)| Case {
                        original: original.clone(),
                        scrambled,
                        scrambler: Some(s),
                    })
                    .collect()
            })
            .collect();
        let (answers, name, failure) = self.run(cx, &cells)?;
        let done: usize = answers.iter().map(Vec::len).sum();
        let total = cells.len() * sentences.len();
        if let Some(e) = &failure {
            if done == 0 {
                return Err(backend::unusable(PROBE, &name, e));
            }
            let why = backend::lost(PROBE, &name, done, total, &e.to_string());
            eprintln!("warning: {why}");
            self.lost = Some(why);
        }
        let label = if self.p.label.is_empty() {
            name
        } else {
            self.p.label.clone()
        };
        let (mut rows, mut items) = (Rows::default(), Items::default());
        let mut obs = Observation::default();
        for (k, (scrambler, (cases, got))) in self
            .scramblers
            .iter()
            .zip(cells.iter().zip(&answers))
            .enumerate()
        {
            let mut d = Distances::default();
            for (i, (c, r)) in cases.iter().zip(got).enumerate() {
                d.add(&c.original, &c.scrambled, r);
                items.condition.push(Some(scrambler.label()));
                items.sentence.push(Some(i as i64));
                items.original.push(Some(c.original.clone()));
                items.scrambled.push(Some(c.scrambled.clone()));
                items.recovered.push(Some(r.clone()));
                items
                    .ed_scrambled
                    .push(Some(edit_distance(&c.original, &c.scrambled) as i64));
                items
                    .ed_recovered
                    .push(Some(edit_distance(&c.original, r) as i64));
            }
            let complete = got.len() == cases.len();
            let rr = d.recovery_rate();
            rows.scrambler.push(Some(scrambler.name().to_string()));
            rows.rate.push(scrambler.rate());
            rows.condition.push(Some(scrambler.label()));
            rows.sentences.push(Some(d.sentences as i64));
            rows.ed_scrambled.push(Some(d.scrambled as i64));
            rows.ed_recovered.push(Some(d.recovered as i64));
            rows.rr.push(rr);
            rows.complete.push(Some(complete));
            let last = k + 1 == answers.len();
            rows.error.push(
                failure
                    .as_ref()
                    .filter(|_| last && !complete)
                    .map(ToString::to_string),
            );
            if let (Some(rr), true) = (rr, complete) {
                obs = obs.metric(format!("scramble/{label}/rr/{}", scrambler.slug()), rr);
            }
        }
        if failure.is_some() {
            obs = obs
                .metric(format!("scramble/{label}/backend_lost"), 1.0)
                .metric(format!("scramble/{label}/recovered"), done as f64);
        }
        let n = rows.rr.len();
        let m = items.sentence.len();
        let named = |v: &String, n: usize| Column::Str(vec![Some(v.clone()); n]);
        Ok(obs
            .table(
                Table::new("scramble_recovery")
                    .column("recoverer", named(&label, n))
                    .column("scrambler", Column::Str(rows.scrambler))
                    .column("rate", Column::F64(rows.rate))
                    .column("condition", Column::Str(rows.condition))
                    .column("sentences", Column::I64(rows.sentences))
                    .column("ed_scrambled", Column::I64(rows.ed_scrambled))
                    .column("ed_recovered", Column::I64(rows.ed_recovered))
                    .column("rr", Column::F64(rows.rr))
                    .column("complete", Column::Bool(rows.complete))
                    .column("error", Column::Str(rows.error)),
            )
            .table(
                Table::new("scramble_items")
                    .column("recoverer", named(&label, m))
                    .column("condition", Column::Str(items.condition))
                    .column("sentence", Column::I64(items.sentence))
                    .column("original", Column::Str(items.original))
                    .column("scrambled", Column::Str(items.scrambled))
                    .column("recovered", Column::Str(items.recovered))
                    .column("ed_scrambled", Column::I64(items.ed_scrambled))
                    .column("ed_recovered", Column::I64(items.ed_recovered)),
            ))
    }
}

fn build(p: RecoveryParams, _cx: &BuildContext) -> Result<Box<dyn Probe>> {
    let scramblers = Scrambler::from_spec(&format!("probe `{PROBE}`"), &p.scramblers, &p.rates)?;
    let corpus = corpus::load(&p.corpus, "corpus")?;
    let solver = (p.recoverer == RecovererKind::Anagram)
        .then(|| AnagramSolver::new(&corpus::vocabulary(&corpus)));
    Ok(Box::new(ScrambleRecovery {
        p,
        scramblers,
        solver,
        corpus,
        lost: None,
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe_with(PROBE, "0.1.0", build).summary(
            "Recovery Rate of scrambled sentences per scrambler and rate (ScrRec): identity, oracle, anagram dictionary or a text model",
        ),
    );
}

#[cfg(test)]
mod tests;
