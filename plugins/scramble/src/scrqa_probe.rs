//! Probe `scrambled_qa` (ScrQA-mini): multiple-choice questions over templated fact contexts
//! ([`crate::scrqa`]), the context original, scrambled by each scrambler and substituted;
//! accuracy per condition and the paper's Relative Performance Gain
//! `RPG = (acc_scrambled − acc_substituted) / (acc_original − acc_substituted)`.
//!
//! Readers: `raw` and `canonical` (the notes' lexical-overlap readers on raw and on
//! sorted-letter tokens), and `anagram` and `model`, which first recover each context sentence
//! (the dictionary solver over the items' words; a text model such as the run's trained
//! decoder, as in `scramble_recovery`) and then read the recovered context with the raw reader.
//! Metrics `scrqa/LABEL/acc/SLUG` and `scrqa/LABEL/rpg/SLUG` (`SLUG`: `original`, `random_20`,
//! …, `substitute`); table `scrambled_qa`. A `model` reader whose backend fails is handled as in
//! `scramble_recovery`: at once, an error naming the probe and `backend`; midway, the finished
//! conditions are kept and the next call fails.

use assay_sdk::prelude::*;

use crate::anagram::AnagramSolver;
use crate::backend::{self, BackendKind};
use crate::corpus;
use crate::metrics::relative_gain;
use crate::prompts::PromptStyle;
use crate::recover::{Case, Recoverer};
use crate::scramble::{scramble_corpus, Scrambler};
use crate::scrqa::{self, Item, Tokens};

const PROBE: &str = "scrambled_qa";

/// How the context is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum ReaderKind {
    /// Lexical overlap of lower-cased tokens.
    Raw,
    /// Lexical overlap of sorted-letter tokens.
    Canonical,
    /// Recovered by the anagram solver, then read raw.
    Anagram,
    /// Recovered by a text model, then read raw.
    Model,
}

/// The probe's parameters.
#[derive(Debug, Params)]
struct QaParams {
    /// raw, canonical, anagram (recover, then read raw) or model (recover, then read raw).
    #[param(default = "canonical")]
    reader: ReaderKind,
    /// Name of the reader in tables and metric keys; empty: the reader's own name.
    #[param(default = "")]
    label: String,
    /// Questions.
    #[param(default = 200, min = 1)]
    items: usize,
    /// Fact sentences per context.
    #[param(default = 4, range = (2, 12))]
    facts: usize,
    /// Choices per question (at most `facts`).
    #[param(default = 4, range = (2, 12))]
    choices: usize,
    /// Seed of the questions.
    #[param(default = 1234, min = 0)]
    item_seed: u64,
    /// Seed of the scramblers (the paper's default is 10).
    #[param(default = 10, min = 0)]
    seed: u64,
    /// Scramblers of the contexts: random (once per rate), keep_first, keep_first_last; the
    /// original and the substituted context are always read too.
    #[param(default = ["random", "keep_first", "keep_first_last"])]
    scramblers: Vec<String>,
    /// Rates of the random scrambler (multiples of 0.1 in (0, 1]).
    #[param(default = [0.2, 0.5, 1.0])]
    rates: Vec<f64>,
    /// Anagram reader: candidates must keep KF/KFL boundary letters.
    #[param(default = true)]
    constraints: bool,
    /// Model reader: local (the run's model) or openai (OPENAI_BASE_URL, OPENAI_API_KEY).
    #[param(default = "local")]
    backend: BackendKind,
    /// Model name for the openai backend.
    #[param(default = "gpt-4o-mini")]
    openai_model: String,
    /// Model reader's prompt: trained, zero_shot or few_shot.
    #[param(default = "trained")]
    prompt: PromptStyle,
    /// Few-shot demonstrations; empty: three built-in sentences.
    #[param(default = [])]
    demos: Vec<String>,
    /// Most tokens generated per sentence.
    #[param(default = 256, min = 1)]
    max_tokens: usize,
    /// Prompts per generation call with the local backend.
    #[param(default = 32, min = 1)]
    batch: usize,
}

struct ScrambledQa {
    p: QaParams,
    items: Vec<Item>,
    /// `None` is the original context; the substituted one comes last.
    conditions: Vec<Option<Scrambler>>,
    solver: AnagramSolver,
    lost: Option<String>,
}

fn slug(c: Option<Scrambler>) -> String {
    c.map_or("original".into(), |s| s.slug())
}

fn label(c: Option<Scrambler>) -> String {
    c.map_or("original".into(), |s| s.label())
}

impl ScrambledQa {
    /// Each condition's contexts as the reader will see them (the last possibly unfinished,
    /// `None` where a sentence was not recovered), the reader's name and the error that
    /// stopped a model.
    #[allow(clippy::type_complexity)]
    fn contexts(
        &self,
        cx: &ProbeContext<'_>,
    ) -> Result<(Vec<Vec<Option<String>>>, String, Option<PluginError>)> {
        let flat: Vec<String> = self.items.iter().flat_map(|i| i.context.clone()).collect();
        let cells: Vec<Vec<Case>> = self
            .conditions
            .iter()
            .map(|&c| {
                let texts = match c {
                    Some(s) => scramble_corpus(&flat, s, self.p.seed).texts,
                    None => flat.clone(),
                };
                texts
                    .into_iter()
                    .zip(&flat)
                    .map(|(scrambled, original)| Case {
                        original: original.clone(),
                        scrambled,
                        scrambler: c,
                    })
                    .collect()
            })
            .collect();
        let go = |r: &mut Recoverer<'_>| {
            let mut out = Vec::new();
            for cases in &cells {
                let mut got = Vec::new();
                let res = r.recover(cases, &mut got);
                let mut padded: Vec<Option<String>> = got.into_iter().map(Some).collect();
                padded.resize(cases.len(), None);
                out.push(padded);
                if let Err(e) = res {
                    return (out, Some(e));
                }
            }
            (out, None)
        };
        match self.p.reader {
            ReaderKind::Raw | ReaderKind::Canonical => {
                let (out, _) = go(&mut Recoverer::Identity);
                Ok((out, format!("{:?}", self.p.reader).to_lowercase(), None))
            }
            ReaderKind::Anagram => {
                let (out, e) = go(&mut Recoverer::Anagram {
                    solver: &self.solver,
                    constraints: self.p.constraints,
                });
                Ok((out, "anagram".into(), e))
            }
            ReaderKind::Model => {
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

impl Probe for ScrambledQa {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        if let Some(why) = &self.lost {
            return Err(PluginError::param("backend", why.clone()));
        }
        let (contexts, name, failure) = self.contexts(cx)?;
        let per = self.p.facts;
        let done: usize = contexts.iter().flatten().filter(|s| s.is_some()).count();
        if let Some(e) = &failure {
            if done == 0 {
                return Err(backend::unusable(PROBE, &name, e));
            }
            let total = self.conditions.len() * self.items.len() * per;
            let why = backend::lost(PROBE, &name, done, total, &e.to_string());
            eprintln!("warning: {why}");
            self.lost = Some(why);
        }
        let tokens = match self.p.reader {
            ReaderKind::Canonical => Tokens::Canonical,
            _ => Tokens::Raw,
        };
        let tag = if self.p.label.is_empty() {
            format!("{:?}", self.p.reader).to_lowercase()
        } else {
            self.p.label.clone()
        };
        // Accuracy over the items whose whole context was read, per condition.
        let mut acc: Vec<(Option<Scrambler>, usize, usize, bool)> = Vec::new();
        for (&c, texts) in self.conditions.iter().zip(&contexts) {
            let (mut answered, mut correct) = (0, 0);
            for (item, ctx) in self.items.iter().zip(texts.chunks(per)) {
                let Some(ctx) = ctx.iter().cloned().collect::<Option<Vec<String>>>() else {
                    continue;
                };
                answered += 1;
                correct += usize::from(scrqa::read(item, &ctx, tokens) == item.answer);
            }
            acc.push((c, answered, correct, answered == self.items.len()));
        }
        let rate = |(_, n, k, _): &(Option<Scrambler>, usize, usize, bool)| {
            (*n > 0).then(|| *k as f64 / *n as f64)
        };
        let find = |want: Option<Scrambler>| acc.iter().find(|a| a.0 == want && a.3).and_then(rate);
        let (original, substituted) = (find(None), find(Some(Scrambler::Substitute)));
        let mut obs = Observation::default();
        let mut cols = (
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
        );
        for a in &acc {
            let (c, n, k, complete) = *a;
            let accuracy = rate(a);
            let rpg = match (c, accuracy, original, substituted) {
                (Some(s), Some(x), Some(o), Some(u)) if s != Scrambler::Substitute && complete => {
                    relative_gain(x, o, u)
                }
                _ => None,
            };
            if let (Some(x), true) = (accuracy, complete) {
                obs = obs.metric(format!("scrqa/{tag}/acc/{}", slug(c)), x);
            }
            if let Some(g) = rpg {
                obs = obs.metric(format!("scrqa/{tag}/rpg/{}", slug(c)), g);
            }
            cols.0.push(Some(label(c)));
            cols.1
                .push(Some(c.map_or("original", |s| s.name()).to_string()));
            cols.2.push(c.and_then(|s| s.rate()));
            cols.3.push(Some(n as i64));
            cols.4.push(Some(k as i64));
            cols.5.push(accuracy);
            cols.6.push(rpg);
            cols.7.push(Some(complete));
        }
        if failure.is_some() {
            obs = obs.metric(format!("scrqa/{tag}/backend_lost"), 1.0);
        }
        let rows = acc.len();
        Ok(obs.table(
            Table::new("scrambled_qa")
                .column("reader", Column::Str(vec![Some(tag); rows]))
                .column("backend", Column::Str(vec![Some(name); rows]))
                .column("condition", Column::Str(cols.0))
                .column("scrambler", Column::Str(cols.1))
                .column("rate", Column::F64(cols.2))
                .column("items", Column::I64(cols.3))
                .column("correct", Column::I64(cols.4))
                .column("accuracy", Column::F64(cols.5))
                .column("rpg", Column::F64(cols.6))
                .column("complete", Column::Bool(cols.7)),
        ))
    }
}

fn build(p: QaParams, _cx: &BuildContext) -> Result<Box<dyn Probe>> {
    let mut conditions: Vec<Option<Scrambler>> = vec![None];
    conditions.extend(
        Scrambler::from_spec(&format!("probe `{PROBE}`"), &p.scramblers, &p.rates)?
            .into_iter()
            .filter(|&s| s != Scrambler::Substitute)
            .map(Some),
    );
    conditions.push(Some(Scrambler::Substitute));
    if p.choices > p.facts {
        return Err(PluginError::param(
            "choices",
            format!(
                "probe `{PROBE}`: {} choices need at least as many facts per context ({})",
                p.choices, p.facts
            ),
        ));
    }
    let items = scrqa::items(p.items, p.facts, p.choices, p.item_seed);
    let words: Vec<String> = items
        .iter()
        .flat_map(|i| {
            i.context
                .iter()
                .chain(std::iter::once(&i.question))
                .cloned()
        })
        .collect();
    let solver = AnagramSolver::new(&corpus::vocabulary(&words));
    Ok(Box::new(ScrambledQa {
        p,
        items,
        conditions,
        solver,
        lost: None,
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe_with(PROBE, "0.1.0", build).summary(
            "ScrQA-mini: multiple-choice accuracy and RPG over original, scrambled and substituted fact contexts (raw, canonical, anagram or text-model reader)",
        ),
    );
}

#[cfg(test)]
mod tests;
