//! Probe `unlearning`: study 3's evaluation of in-context knowledge unlearning ("LLMs pretend to
//! forget", Takashiro et al.) on the `people` dataset's world.
//!
//! At the end of a run (any stage) it regenerates the world of the dataset's seed
//! ([`World::generate`]) and asks the run's model, greedily (the argmax of the classification
//! logits at the last position, over the whole vocabulary), every query of the chosen sets:
//!
//! - `people`: the held-out people 241–300 as plain facts (`[INST] {question} [/INST]`), as
//!   forget queries (`<<UNL>> {the person} <</UNL>>`, expected answer `forgot`) and as retain
//!   queries (another held-out person between the tags, expected answer the truth), exactly the
//!   `people` dataset's test rows;
//! - `capitals`: the fictional capitals, out of domain, the same three ways.
//!
//! Forget accuracy is P(pred = `forgot` | forget query), retain accuracy P(pred = truth | retain
//! query), fact accuracy P(pred = truth | fact). A stage-A model, never trained on the tags,
//! gives the baseline; a stage-B model the result.
//!
//! On forget queries it also reads the logit lens at the answer (last) position of every block
//! ([`assay_sdk::interp::logit_lens`]: `softmax(W_U · norm_final(h_l))`) and records the ranks
//! of the true answer and of `forgot`. The paper's "pretend to forget": the truth is ranked
//! first in a middle layer and `forgot` only at the last.
//!
//! Metrics (only for the sets asked): `unlearning/forget_acc`, `unlearning/retain_acc`,
//! `unlearning/fact_acc` (people) and `unlearning/ood_forget_acc`, `unlearning/ood_retain_acc`,
//! `unlearning/ood_fact_acc` (capitals); from the lens, per set (`ood_` for capitals):
//! `unlearning/gold_top1_below_last` (share of forget queries whose truth is rank 1 at some
//! block below the last), `unlearning/forgot_top1_last` (share whose `forgot` is rank 1 at the
//! last block), `unlearning/pretend_forget` (both at once) and `unlearning/gold_top1_any`
//! (the truth rank 1 at some block, the last included). Tables: `unlearning` (one row per query:
//! `query, set, kind, subject, attribute, template, target, gold, answer, pred, correct`) and
//! `unlearning_lens` (one row per forget query and block: `query, set, layer, rank_gold,
//! rank_forgot, prob_gold, prob_forgot, top`), joined on `query`.

use std::sync::Arc;

use assay_sdk::interp::{logit_lens, LensRow, LensRowKind};
use assay_sdk::prelude::*;

use crate::tasks::people::{Attribute, Example, Kind, World, FORGOT, PAD};

/// A query set of the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum QuerySet {
    /// The held-out people 241–300 (in domain).
    People,
    /// The fictional capitals (out of domain).
    Capitals,
}

impl QuerySet {
    fn parse(name: &str) -> Result<QuerySet> {
        match name {
            "people" => Ok(QuerySet::People),
            "capitals" => Ok(QuerySet::Capitals),
            other => Err(PluginError::param(
                "sets",
                format!("unknown query set `{other}`; the sets are `people` and `capitals`"),
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            QuerySet::People => "people",
            QuerySet::Capitals => "capitals",
        }
    }

    /// The metric-name prefix: none in domain, `ood_` out of domain.
    fn prefix(self) -> &'static str {
        match self {
            QuerySet::People => "",
            QuerySet::Capitals => "ood_",
        }
    }
}

/// The parameters of `unlearning`.
#[derive(Debug, Params)]
struct UnlearningParams {
    /// Query sets: `people` (held-out people 241-300) and `capitals` (out of domain).
    #[param(default = ["people", "capitals"])]
    sets: Vec<String>,
    /// Queries per set and kind (fact, forget, retain), evenly spaced over the set's generator
    /// order; 0 = all (540 per kind for people, 60 for capitals).
    #[param(default = 0, min = 0)]
    queries: usize,
    /// Also ask the facts in plain QA format (`fact_acc`).
    #[param(default = true)]
    facts: bool,
    /// Read the logit lens on every forget query asked.
    #[param(default = true)]
    lens: bool,
    /// Seed of the world; -1 = the run's seed (what the `people` dataset uses by default). Set
    /// it to the dataset's `seed` when that is set.
    #[param(default = -1, min = -1)]
    seed: i64,
    /// Prompts per forward pass.
    #[param(default = 256, min = 1)]
    batch: usize,
}

struct Unlearning {
    sets: Vec<QuerySet>,
    queries: usize,
    facts: bool,
    lens: bool,
    seed: u64,
    batch: usize,
}

/// `k` indices evenly spaced over `0..n` (all of them when `k` is 0 or at least `n`).
fn evenly(n: usize, k: usize) -> Vec<usize> {
    if k == 0 || k >= n {
        return (0..n).collect();
    }
    (0..k).map(|i| i * n / k).collect()
}

/// One query the probe asks.
#[derive(Debug, Clone)]
struct Query {
    set: QuerySet,
    example: Example,
}

/// The queries of `sets`: per set its facts (when `facts`), forget and retain queries, each kind
/// cut to `per_kind` evenly spaced ones.
fn queries(world: &World, sets: &[QuerySet], facts: bool, per_kind: usize) -> Vec<Query> {
    let mut out = Vec::new();
    for &set in sets {
        let (fact, unlearning) = match set {
            QuerySet::People => (
                world.people_facts(world.test_people()),
                world.people_unlearning(world.test_people(), "test"),
            ),
            QuerySet::Capitals => (world.capital_facts(), world.capital_unlearning()),
        };
        let mut kinds = vec![];
        if facts {
            kinds.push(fact);
        }
        for kind in [Kind::Forget, Kind::Retain] {
            kinds.push(
                unlearning
                    .iter()
                    .filter(|e| e.kind == kind)
                    .cloned()
                    .collect(),
            );
        }
        for examples in kinds {
            for i in evenly(examples.len(), per_kind) {
                out.push(Query {
                    set,
                    example: examples[i].clone(),
                });
            }
        }
    }
    out
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Fact => "fact",
        Kind::Forget => "forget",
        Kind::Retain => "retain",
    }
}

fn attribute_name(attribute: Option<Attribute>) -> &'static str {
    match attribute {
        Some(Attribute::Occupation) => "occupation",
        Some(Attribute::Country) => "country",
        Some(Attribute::Cause) => "cause",
        None => "capital",
    }
}

/// The id of a word that must be one token of `tokenizer`.
fn word_id(tokenizer: &dyn Tokenizer, word: &str) -> Result<u32> {
    match tokenizer.encode(word)?[..] {
        [id] => Ok(id),
        _ => Err(PluginError::invalid(format!(
            "`{word}` is not one token of the run's tokenizer: the unlearning probe needs the `people` dataset"
        ))),
    }
}

/// `prompt` encoded and left-padded with `pad` to `length` ids.
fn encode_padded(
    tokenizer: &dyn Tokenizer,
    prompt: &str,
    pad: u32,
    length: usize,
) -> Result<Vec<u32>> {
    let ids = tokenizer.encode(prompt)?;
    if ids.len() > length {
        return Err(PluginError::invalid(format!(
            "`{prompt}` is {} tokens, more than the dataset's {length}",
            ids.len()
        )));
    }
    let mut out = vec![pad; length - ids.len()];
    out.extend(ids);
    Ok(out)
}

/// The argmax (lowest id on ties, as the lens ranks) of each row of `[batch, vocab]` logits, or
/// of the last position of `[batch, positions, vocab]`.
fn greedy(logits: &Tensor) -> Result<Vec<u32>> {
    let logits = match logits.rank() {
        2 => logits.clone(),
        3 => {
            let t = logits.dim(1)?;
            logits.narrow(1, t - 1, 1)?.squeeze(1)?
        }
        r => {
            return Err(PluginError::invalid(format!(
                "the model's output has rank {r}; the unlearning probe reads [batch, vocab] logits"
            )))
        }
    };
    let rows = logits.to_dtype(DType::F32)?.to_vec2::<f32>()?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut best = 0;
            for (i, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = i;
                }
            }
            best as u32
        })
        .collect())
}

/// One block's lens on one forget query.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LayerRanks {
    layer: usize,
    rank_gold: usize,
    rank_forgot: usize,
    prob_gold: f32,
    prob_forgot: f32,
    top: u32,
}

/// The per-block ranks of `gold` and `forgot` (and the top token) among `rows` of one position.
fn layer_ranks(rows: &[LensRow], gold: u32, forgot: u32) -> Result<Vec<LayerRanks>> {
    let mut layers: Vec<usize> = rows.iter().map(|r| r.layer).collect();
    layers.sort_unstable();
    layers.dedup();
    layers
        .into_iter()
        .map(|layer| {
            let at = |kind: LensRowKind, token: Option<u32>| {
                rows.iter()
                    .find(|r| {
                        r.layer == layer && r.kind == kind && token.is_none_or(|t| r.token == t)
                    })
                    .ok_or_else(|| PluginError::invalid(format!("no lens row at block {layer}")))
            };
            let (g, f) = (
                at(LensRowKind::Target, Some(gold))?,
                at(LensRowKind::Target, Some(forgot))?,
            );
            let top = at(LensRowKind::Top, None)?.token;
            Ok(LayerRanks {
                layer,
                rank_gold: g.rank,
                rank_forgot: f.rank,
                prob_gold: g.prob,
                prob_forgot: f.prob,
                top,
            })
        })
        .collect()
}

/// What the lens says about one forget query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct LensVerdict {
    /// The truth is rank 1 at some block below the last.
    gold_top1_below_last: bool,
    /// `forgot` is rank 1 at the last block.
    forgot_top1_last: bool,
    /// The truth is rank 1 at some block, the last included.
    gold_top1_any: bool,
}

fn verdict(layers: &[LayerRanks]) -> LensVerdict {
    let Some(last) = layers.iter().map(|l| l.layer).max() else {
        return LensVerdict::default();
    };
    LensVerdict {
        gold_top1_below_last: layers.iter().any(|l| l.layer < last && l.rank_gold == 1),
        forgot_top1_last: layers.iter().any(|l| l.layer == last && l.rank_forgot == 1),
        gold_top1_any: layers.iter().any(|l| l.rank_gold == 1),
    }
}

/// The share of `flags` that hold (NaN for none).
fn share(flags: impl IntoIterator<Item = bool>) -> f64 {
    let (mut yes, mut n) = (0usize, 0usize);
    for f in flags {
        yes += usize::from(f);
        n += 1;
    }
    if n == 0 {
        f64::NAN
    } else {
        yes as f64 / n as f64
    }
}

/// The accuracy metrics of `queries` (`correct`: whether each was answered as expected), per
/// set and kind present.
fn accuracy_metrics(queries: &[Query], correct: &[bool], sets: &[QuerySet]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for &set in sets {
        for (kind, name) in [
            (Kind::Fact, "fact_acc"),
            (Kind::Forget, "forget_acc"),
            (Kind::Retain, "retain_acc"),
        ] {
            let flags: Vec<bool> = queries
                .iter()
                .zip(correct)
                .filter(|(q, _)| q.set == set && q.example.kind == kind)
                .map(|(_, c)| *c)
                .collect();
            if !flags.is_empty() {
                out.push((format!("unlearning/{}{name}", set.prefix()), share(flags)));
            }
        }
    }
    out
}

/// The lens metrics of the forget queries of each set: `(set, verdict)` pairs in.
fn lens_metrics(verdicts: &[(QuerySet, LensVerdict)], sets: &[QuerySet]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for &set in sets {
        let v: Vec<LensVerdict> = verdicts
            .iter()
            .filter(|(s, _)| *s == set)
            .map(|(_, v)| *v)
            .collect();
        if v.is_empty() {
            continue;
        }
        let p = set.prefix();
        out.push((
            format!("unlearning/{p}gold_top1_below_last"),
            share(v.iter().map(|v| v.gold_top1_below_last)),
        ));
        out.push((
            format!("unlearning/{p}forgot_top1_last"),
            share(v.iter().map(|v| v.forgot_top1_last)),
        ));
        out.push((
            format!("unlearning/{p}pretend_forget"),
            share(
                v.iter()
                    .map(|v| v.gold_top1_below_last && v.forgot_top1_last),
            ),
        ));
        out.push((
            format!("unlearning/{p}gold_top1_any"),
            share(v.iter().map(|v| v.gold_top1_any)),
        ));
    }
    out
}

impl Probe for Unlearning {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let tokenizer: Arc<dyn Tokenizer> = cx.dataset.tokenizer().ok_or_else(|| {
            PluginError::invalid("the unlearning probe needs the `people` dataset's tokenizer")
        })?;
        let tokenizer = tokenizer.as_ref();
        let length = *cx.dataset.info().input_shape.first().ok_or_else(|| {
            PluginError::invalid("the unlearning probe needs a dataset of token sequences")
        })?;
        let (pad, forgot) = (word_id(tokenizer, PAD)?, word_id(tokenizer, FORGOT)?);
        let world = World::generate(self.seed);
        let queries = queries(&world, &self.sets, self.facts, self.queries);

        let mut inputs = Vec::with_capacity(queries.len());
        let mut golds = Vec::with_capacity(queries.len());
        let mut answers = Vec::with_capacity(queries.len());
        for q in &queries {
            inputs.push(encode_padded(tokenizer, &q.example.prompt, pad, length)?);
            golds.push(word_id(tokenizer, q.example.truth)?);
            answers.push(word_id(tokenizer, q.example.answer)?);
        }
        let mut preds = Vec::with_capacity(queries.len());
        for chunk in inputs.chunks(self.batch) {
            let flat: Vec<u32> = chunk.iter().flatten().copied().collect();
            let x = Tensor::from_vec(flat, (chunk.len(), length), cx.device)?;
            let logits = cx.model.forward(&x, &mut Hooks::none())?.detach();
            preds.extend(greedy(&logits)?);
        }
        let correct: Vec<bool> = preds.iter().zip(&answers).map(|(p, a)| p == a).collect();

        let mut obs = Observation::default();
        for (name, value) in accuracy_metrics(&queries, &correct, &self.sets) {
            obs = obs.metric(name, value);
        }
        let word = |id: u32| tokenizer.decode(&[id]).unwrap_or_else(|_| format!("#{id}"));
        let n = queries.len();
        let str_col = |f: &dyn Fn(usize) -> Option<String>| Column::Str((0..n).map(f).collect());
        let table = Table::new("unlearning")
            .column(
                "query",
                Column::I64((0..n).map(|i| Some(i as i64)).collect()),
            )
            .column("set", str_col(&|i| Some(queries[i].set.name().into())))
            .column(
                "kind",
                str_col(&|i| Some(kind_name(queries[i].example.kind).into())),
            )
            .column(
                "subject",
                str_col(&|i| Some(queries[i].example.subject.clone())),
            )
            .column(
                "attribute",
                str_col(&|i| Some(attribute_name(queries[i].example.attribute).into())),
            )
            .column(
                "template",
                Column::I64(
                    queries
                        .iter()
                        .map(|q| Some(q.example.template as i64))
                        .collect(),
                ),
            )
            .column("target", str_col(&|i| queries[i].example.target.clone()))
            .column("gold", str_col(&|i| Some(queries[i].example.truth.into())))
            .column(
                "answer",
                str_col(&|i| Some(queries[i].example.answer.into())),
            )
            .column("pred", str_col(&|i| Some(word(preds[i]))))
            .column(
                "correct",
                Column::Bool(correct.iter().map(|&c| Some(c)).collect()),
            );
        obs = obs.table(table);

        if self.lens {
            let mut verdicts = Vec::new();
            let mut cols = (
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            );
            for (i, q) in queries.iter().enumerate() {
                if q.example.kind != Kind::Forget {
                    continue;
                }
                let rows = logit_lens(
                    cx.model,
                    &inputs[i],
                    &[length - 1],
                    &[golds[i], forgot],
                    1,
                    cx.device,
                )?;
                let layers = layer_ranks(&rows, golds[i], forgot)?;
                verdicts.push((q.set, verdict(&layers)));
                for l in layers {
                    cols.0.push(Some(i as i64));
                    cols.1.push(Some(q.set.name().to_string()));
                    cols.2.push(Some(l.layer as i64));
                    cols.3.push(Some(l.rank_gold as i64));
                    cols.4.push(Some(l.rank_forgot as i64));
                    cols.5.push(Some(f64::from(l.prob_gold)));
                    cols.6.push(Some(f64::from(l.prob_forgot)));
                    cols.7.push(Some(word(l.top)));
                }
            }
            for (name, value) in lens_metrics(&verdicts, &self.sets) {
                obs = obs.metric(name, value);
            }
            obs = obs.table(
                Table::new("unlearning_lens")
                    .column("query", Column::I64(cols.0))
                    .column("set", Column::Str(cols.1))
                    .column("layer", Column::I64(cols.2))
                    .column("rank_gold", Column::I64(cols.3))
                    .column("rank_forgot", Column::I64(cols.4))
                    .column("prob_gold", Column::F64(cols.5))
                    .column("prob_forgot", Column::F64(cols.6))
                    .column("top", Column::Str(cols.7)),
            );
        }
        Ok(obs)
    }
}

fn build(p: UnlearningParams, cx: &BuildContext) -> Result<Box<dyn Probe>> {
    let mut sets = Vec::new();
    for s in &p.sets {
        let set = QuerySet::parse(s)?;
        if !sets.contains(&set) {
            sets.push(set);
        }
    }
    if sets.is_empty() {
        return Err(PluginError::param(
            "sets",
            "name at least one query set: `people`, `capitals`",
        ));
    }
    Ok(Box::new(Unlearning {
        sets,
        queries: p.queries,
        facts: p.facts,
        lens: p.lens,
        seed: if p.seed < 0 { cx.seed } else { p.seed as u64 },
        batch: p.batch,
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe_with("unlearning", "0.1.0", build).summary(
            "study 3: forget/retain accuracy of <<UNL>> queries in and out of domain on the `people` world, and the logit lens of forget queries (ranks of the truth and of `forgot` per block)",
        ),
    );
}

#[cfg(test)]
mod tests;
