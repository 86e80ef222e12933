//! Probe `few_shot`: lm-eval-harness-style few-shot evaluation of a next-token model on a
//! generated task (bAbI 1, 6, 15 or mini-FLD).
//!
//! Each test prompt follows `shots` solved demonstrations (`prompt answer`, blank line between).
//! The model's greedy continuation, cut at a newline or `Passage:`, is normalised (first line,
//! whitespace removed) and scored by exact match; it *follows the format* when it is one of the
//! task's answers. Multiple-choice accuracy ranks the answers by the log-likelihood of
//! `" answer"` after the prompt (when the backend can score text). `backend = "openai"` asks an
//! OpenAI-compatible API instead of the run's model. The examples depend only on `seed`, so every run sees the same
//! test. Metrics `few_shot/TASK/exact_match`, `.../format_rate`, `.../mc_accuracy` and
//! `.../chance`; table `few_shot` with one row per example (for confidence intervals).

use assay_sdk::prelude::*;
use assay_sdk::{LocalTextModel, Sampling, TextModel};

use crate::openai::OpenAiChat;
use crate::tasks;

struct FewShot {
    backend: String,
    openai_model: String,
    task: String,
    shots: usize,
    examples: usize,
    seed: u64,
    max_tokens: usize,
}

impl Probe for FewShot {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let tokenizer = cx
            .dataset
            .tokenizer()
            .or_else(|| cx.model.generative().and_then(|g| g.tokenizer()));
        let mut local;
        let mut remote;
        let backend: &mut dyn TextModel = match self.backend.as_str() {
            "openai" => {
                remote = OpenAiChat::from_env(&self.openai_model);
                &mut remote
            }
            _ => {
                let Some(tokenizer) = tokenizer.as_deref() else {
                    return Err(PluginError::invalid(
                        "few_shot needs a tokenizer: a text dataset, or a model that has one",
                    ));
                };
                local = LocalTextModel {
                    model: cx.model,
                    tokenizer,
                    device: cx.device.clone(),
                    label: "local".into(),
                };
                &mut local
            }
        };
        self.score(backend)
    }
}

impl FewShot {
    fn score(&self, backend: &mut dyn TextModel) -> Result<Observation> {
        let test = tasks::generate(&self.task, self.examples, self.seed)
            .map_err(|m| PluginError::param("task", m))?;
        let demos = tasks::generate(&self.task, self.shots, self.seed.wrapping_add(1))
            .map_err(|m| PluginError::param("task", m))?;
        let preamble: String = demos
            .iter()
            .map(|d| format!("{} {}\n\n", d.prompt, d.answer))
            .collect();
        let sampling = Sampling {
            max_tokens: self.max_tokens,
            stop: vec!["\n".into(), "Passage:".into()],
            ..Sampling::default()
        };
        let mut rows = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let (mut exact, mut formatted, mut mc, mut scored, mut chance) =
            (0usize, 0usize, 0usize, 0usize, 0.0f64);
        for (i, ex) in test.iter().enumerate() {
            let prompt = format!("{preamble}{}", ex.prompt);
            let out = backend.complete(&[prompt.as_str()], &sampling)?;
            let said = tasks::normalise(out.first().map_or("", String::as_str));
            let correct = said == ex.answer;
            let follows = ex.choices.contains(&said);
            let mut best: Option<(f64, usize)> = None;
            for (c, choice) in ex.choices.iter().enumerate() {
                match backend.log_likelihood(&prompt, &format!(" {choice}"))? {
                    Some(lp) if best.is_none_or(|(b, _)| lp > b) => best = Some((lp, c)),
                    Some(_) => {}
                    None => {
                        best = None;
                        break;
                    }
                }
            }
            let mc_correct = best.map(|(_, c)| ex.choices[c] == ex.answer);
            exact += usize::from(correct);
            formatted += usize::from(follows);
            if let Some(m) = mc_correct {
                scored += 1;
                mc += usize::from(m);
            }
            chance += 1.0 / ex.choices.len() as f64;
            rows.0.push(Some(i as i64));
            rows.1.push(Some(ex.answer.clone()));
            rows.2.push(Some(said));
            rows.3.push(Some(correct));
            rows.4.push(Some(follows));
            rows.5.push(mc_correct);
        }
        let n = test.len().max(1) as f64;
        let key = |m: &str| format!("few_shot/{}/{m}", self.task);
        let table = Table::new("few_shot")
            .column(
                "task",
                Column::Str(vec![Some(self.task.clone()); test.len()]),
            )
            .column(
                "backend",
                Column::Str(vec![Some(backend.name()); test.len()]),
            )
            .column("example", Column::I64(rows.0))
            .column("answer", Column::Str(rows.1))
            .column("generated", Column::Str(rows.2))
            .column("exact_match", Column::Bool(rows.3))
            .column("follows_format", Column::Bool(rows.4))
            .column("mc_correct", Column::Bool(rows.5));
        let mut obs = Observation::default()
            .metric(key("exact_match"), exact as f64 / n)
            .metric(key("format_rate"), formatted as f64 / n)
            .metric(key("chance"), chance / n);
        if scored > 0 {
            obs = obs.metric(key("mc_accuracy"), mc as f64 / scored as f64);
        }
        Ok(obs.table(table))
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("few_shot", "0.1.0", |p, _cx| {
            Ok(Box::new(FewShot {
                backend: p.str("backend")?.to_string(),
                openai_model: p.str("openai_model")?.to_string(),
                task: p.str("task")?.to_string(),
                shots: p.usize("shots")?,
                examples: p.usize("examples")?,
                seed: p.i64("seed")? as u64,
                max_tokens: p.usize("max_tokens")?,
            }))
        })
        .summary("few-shot exact match, format-following and multiple-choice accuracy on bAbI 1/6/15 or mini-FLD")
        .param(
            Param::str("task", "babi1", "babi1, babi6, babi15 or fld")
                .choices(&["babi1", "babi6", "babi15", "fld"]),
        )
        .param(Param::int("shots", 3, "solved demonstrations before each prompt").min(0.0))
        .param(Param::int("examples", 100, "test examples").min(1.0))
        .param(Param::int("seed", 1234, "seed of the generated examples (not the run's)").min(0.0))
        .param(Param::int("max_tokens", 8, "tokens generated per answer").min(1.0))
        .param(
            Param::str(
                "backend",
                "local",
                "`local`: the run's model; `openai`: an OpenAI-compatible API (OPENAI_BASE_URL, OPENAI_API_KEY from the environment)",
            )
            .choices(&["local", "openai"]),
        )
        .param(Param::str("openai_model", "gpt-4o-mini", "model name for the `openai` backend")),
    );
}
