//! Probe `language_neurons`: study 5's analysis of a trained decoder (or an `hf:` checkpoint).
//!
//! 1. Reads the same catalogs and split as dataset `lang_mixture` (the shared [`DataParams`];
//!    give the probe the dataset's values) and records, for every unit ([`crate::units`]), the
//!    response to each held-out sentence of each language, mean-pooled over its tokens
//!    ([`crate::responses`]). Sentences are tokenized with the model's own tokenizer when it
//!    has one (a Hugging Face checkpoint), else the dataset's; those longer than `max_tokens`
//!    (or the model's context, less one for the leading token) are left out.
//! 2. Scores each unit as a detector of each language by average precision (positives: the
//!    language's sentences; negatives: every other language's) and selects each language's
//!    `top_k` and `bottom_k` units ([`crate::expertise`]).
//! 3. Generates, with the same sampling seed under every condition: `samples` unconditional
//!    samples of `sample_tokens` tokens at `temperature` from the beginning-of-sequence token,
//!    and greedy continuations of the translation prompt for the first `translation_prompts`
//!    held-out English sentences ([`crate::generation`]), without forcing (`none`), with each
//!    language's selected units forced to their median response on the language's sentences
//!    (`forced`, [`crate::tamper`]) and, with `random_control`, as many units drawn at random
//!    (seeded by the run seed) forced to their medians likewise (`random`). With
//!    `force_sizes`, the unconditional samples are repeated with the top-k and bottom-k units
//!    of each further k forced, and as many random ones (the dose response).
//! 4. Identifies the language of every generated text ([`crate::langid`], trained on the
//!    training strings; its accuracy on the held-out strings is reported) and stores the tables
//!    and metrics of [`crate::report`], with the wall time of each stage
//!    (`lang/time/responses_s`: reading the catalogs and recording responses;
//!    `lang/time/analysis_s`: AP, selection and the identifier; `lang/time/generation_s`).

use std::sync::Arc;

use assay_sdk::prelude::*;

use crate::expertise::{expertise, medians, overlaps, select};
use crate::generation::{translations, unconditional, Plan, WithBos};
use crate::langid::LanguageId;
use crate::mixture::DataParams;
use crate::report::{DataRow, Findings};
use crate::shares::{Generation, Generations};
use crate::split::LangSplit;
use crate::tamper::{hooks_for, random_units, Forcing};
use crate::units::Units;

/// The probe's own parameters.
#[derive(Debug, Clone, Params)]
pub struct NeuronParams {
    /// Units of highest AP selected per language.
    #[param(default = 50)]
    pub top_k: usize,
    /// Units of lowest AP selected per language (never one of the top ones).
    #[param(default = 50)]
    pub bottom_k: usize,
    /// Unconditional samples per condition.
    #[param(default = 100)]
    pub samples: usize,
    /// Tokens per unconditional sample (bytes, for the byte tokenizer).
    #[param(default = 64, min = 1)]
    pub sample_tokens: usize,
    /// Temperature of the unconditional samples.
    #[param(default = 0.8, min = 0.0)]
    pub temperature: f64,
    /// Seed of the sampling, the same under every condition.
    #[param(default = 1)]
    pub generation_seed: u64,
    /// Held-out English sentences prompted for translation per condition (0 = none).
    #[param(default = 10)]
    pub translation_prompts: usize,
    /// Greedy tokens per translation (cut at the first newline).
    #[param(default = 128, min = 1)]
    pub translation_tokens: usize,
    /// Leave out sentences longer than this many tokens (the paper: 256).
    #[param(default = 256, min = 1)]
    pub max_tokens: usize,
    /// Sentences per forward pass while recording responses.
    #[param(default = 64, min = 1)]
    pub batch: usize,
    /// Also force as many random units to their medians (the control).
    #[param(default = true)]
    pub random_control: bool,
    /// Further numbers k of top and bottom units (k + k forced) at which the unconditional
    /// samples are repeated, forced and random (the dose response, table `lang_dose`).
    #[param(default = [])]
    pub force_sizes: Vec<usize>,
    /// Store every unit's AP for every language (table `lang_units`).
    #[param(default = true)]
    pub unit_table: bool,
    /// Store every generated text (table `lang_samples`).
    #[param(default = true)]
    pub sample_table: bool,
}

struct LanguageNeurons {
    data: DataParams,
    p: NeuronParams,
    seed: u64,
}

/// Held-out sentences of every language as token ids, within the length limit.
fn encode_held_out(
    split: &LangSplit,
    tokenizer: &dyn Tokenizer,
    max_len: usize,
) -> Result<Vec<Vec<Vec<u32>>>> {
    split
        .languages
        .iter()
        .map(|l| {
            let mut out = Vec::new();
            for s in split.held(l) {
                let ids = tokenizer.encode(s)?;
                if !ids.is_empty() && ids.len() <= max_len {
                    out.push(ids);
                }
            }
            Ok(out)
        })
        .collect()
}

impl LanguageNeurons {
    fn tokenizer(&self, cx: &ProbeContext<'_>) -> Result<Arc<dyn Tokenizer>> {
        cx.model
            .generative()
            .and_then(|g| g.tokenizer())
            .or_else(|| cx.dataset.tokenizer())
            .ok_or_else(|| {
                PluginError::invalid(
                    "language_neurons needs a tokenizer: the model's (a checkpoint's) or the dataset's (lang_mixture)",
                )
            })
    }
}

/// What generating under one condition needs.
struct Conditions<'a, 'c> {
    cx: &'a ProbeContext<'c>,
    tokenizer: &'a WithBos,
    plan: &'a Plan,
    sources: &'a [String],
    id: &'a LanguageId,
    units: &'a Units,
}

impl Conditions<'_, '_> {
    /// The identified texts with `forcing` in every forward pass (`None`: unforced); the
    /// translation prompts only when `translate`.
    fn run(
        &self,
        forcing: Option<&Forcing>,
        target: Option<&str>,
        condition: &'static str,
        translate: bool,
    ) -> Result<Vec<Generation>> {
        let (cx, tok, plan) = (self.cx, self.tokenizer, self.plan);
        let mut hooks = match forcing {
            Some(f) => hooks_for(self.units, f, cx.device)?,
            None => Hooks::none(),
        };
        let mut modes = vec![(
            "unconditional",
            unconditional(cx.model, tok, plan, &mut hooks, cx.device)?,
        )];
        if translate {
            let tr = translations(cx.model, tok, self.sources, plan, &mut hooks, cx.device)?;
            modes.push(("translation", tr));
        }
        Ok(modes
            .into_iter()
            .map(|(mode, texts)| Generation {
                target: target.map(str::to_string),
                condition,
                units: forcing.map_or(0, |f| f.units.len()),
                mode,
                texts: texts
                    .into_iter()
                    .map(|t| {
                        let l = self.id.identify(&t).map(str::to_string);
                        (t, l)
                    })
                    .collect(),
            })
            .collect())
    }
}

impl Probe for LanguageNeurons {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let clock = std::time::Instant::now();
        let split = self.data.load()?;
        let tokenizer = self.tokenizer(cx)?;
        let bos = WithBos::new(tokenizer.clone()).ok_or_else(|| {
            PluginError::invalid(
                "language_neurons: the tokenizer has no end-of-text token to start sequences with",
            )
        })?;
        let context = cx
            .model
            .generative()
            .and_then(|g| g.context_length())
            .unwrap_or(usize::MAX);
        let max_len = self.p.max_tokens.min(context.saturating_sub(1));
        let units = Units::discover(cx.model, cx.device)?;
        let held = encode_held_out(&split, tokenizer.as_ref(), max_len)?;
        let mut responses = Vec::with_capacity(held.len());
        for (l, sentences) in split.languages.iter().zip(&held) {
            if sentences.is_empty() {
                return Err(PluginError::param(
                    "max_tokens",
                    format!(
                        "no held-out sentence of `{l}` fits in {max_len} tokens (model context {context})"
                    ),
                ));
            }
            responses.push(crate::responses::record(
                cx.model,
                &units,
                sentences,
                Some(bos.bos()),
                self.p.batch,
                cx.device,
            )?);
        }
        let responses_s = clock.elapsed().as_secs_f64();
        let exp = expertise(&split.languages, &responses, units.total);
        let selections: Vec<_> = split
            .languages
            .iter()
            .zip(&exp.ap)
            .map(|(l, ap)| select(l, ap, self.p.top_k, self.p.bottom_k))
            .collect();
        let values: Vec<Vec<f32>> = selections
            .iter()
            .zip(&responses)
            .map(|(s, rows)| medians(rows, &s.all()))
            .collect();
        let id = LanguageId::from_split(&split);
        let language_id = id.accuracy(split.languages.iter().map(|l| (l.as_str(), split.held(l))));

        let analysis_s = clock.elapsed().as_secs_f64() - responses_s;
        let plan = Plan {
            samples: self.p.samples,
            sample_tokens: self.p.sample_tokens,
            temperature: self.p.temperature,
            seed: self.p.generation_seed,
            translation_tokens: self.p.translation_tokens,
        };
        let sources: Vec<String> = split
            .held(crate::catalogs::ENGLISH)
            .iter()
            .take(self.p.translation_prompts)
            .cloned()
            .collect();
        let conditions = Conditions {
            cx,
            tokenizer: &bos,
            plan: &plan,
            sources: &sources,
            id: &id,
            units: &units,
        };
        let mut generations = conditions.run(None, None, "none", true)?;
        // (top, bottom, whether it is the selection of the tables and the translations)
        let mut sizes = vec![(self.p.top_k, self.p.bottom_k, true)];
        for &k in &self.p.force_sizes {
            if !sizes.iter().any(|&(t, b, _)| (t, b) == (k, k)) {
                sizes.push((k, k, false));
            }
        }
        for (li, language) in split.languages.iter().enumerate() {
            for &(top, bottom, main) in &sizes {
                let chosen = if main {
                    selections[li].all()
                } else {
                    select(language, &exp.ap[li], top, bottom).all()
                };
                let forced = Forcing {
                    values: medians(&responses[li], &chosen),
                    units: chosen,
                };
                let target = Some(language.as_str());
                generations.extend(conditions.run(Some(&forced), target, "forced", main)?);
                if self.p.random_control {
                    let stream = if main {
                        format!("language_neurons/random/{language}")
                    } else {
                        format!("language_neurons/random/{language}/{}", forced.units.len())
                    };
                    let mut rng = init::rng(self.seed, &stream);
                    let chosen = random_units(units.total, forced.units.len(), &mut rng);
                    let random = Forcing {
                        values: medians(&responses[li], &chosen),
                        units: chosen,
                    };
                    generations.extend(conditions.run(Some(&random), target, "random", main)?);
                }
            }
        }
        let generation_s = clock.elapsed().as_secs_f64() - responses_s - analysis_s;
        let data = split
            .languages
            .iter()
            .zip(&held)
            .map(|(l, h)| DataRow {
                language: l.clone(),
                train: split.training(l).len(),
                held_out: split.held(l).len(),
                used: h.len(),
                train_bytes: split.training(l).iter().map(String::len).sum(),
            })
            .collect();
        let findings = Findings {
            units: &units,
            data,
            expertise: &exp,
            overlaps: overlaps(&selections),
            selections,
            values,
            language_id,
            generations: Generations { all: generations },
            unit_table: self.p.unit_table,
            sample_table: self.p.sample_table,
        };
        let mut metrics = findings.metrics();
        for (name, v) in [
            ("responses", responses_s),
            ("analysis", analysis_s),
            ("generation", generation_s),
        ] {
            metrics.push(Metric::new(format!("lang/time/{name}_s"), v));
        }
        Ok(Observation {
            metrics,
            tables: findings.tables(),
        })
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("language_neurons", "0.1.0", |p, cx| {
            Ok(Box::new(LanguageNeurons {
                data: DataParams::from_params(p)?,
                p: NeuronParams::from_params(p)?,
                seed: cx.seed,
            }) as Box<dyn Probe>)
        })
        .params::<DataParams>()
        .params::<NeuronParams>()
        .summary("study 5: units' average precision as language detectors, top/bottom-k selection, overlaps, and generation with the selected (or random) units forced to their median"),
    );
}
