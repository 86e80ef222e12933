//! Probe `few_shot`: lm-eval-harness-style few-shot evaluation of a next-token model on a
//! generated task (bAbI 1, 6, 15 or mini-FLD).
//!
//! Each test prompt follows `shots` solved demonstrations (`prompt answer`, blank line between).
//! The model's greedy continuation, cut at a newline or `Passage:`, is normalised (first line,
//! whitespace removed) and scored by exact match; it *follows the format* when it is one of the
//! task's answers. Multiple-choice accuracy ranks the answers by the log-likelihood of
//! `" answer"` after the prompt. The examples depend only on `seed`, so every run sees the same
//! test. Metrics `few_shot/TASK/exact_match`, `.../format_rate`, `.../mc_accuracy` and
//! `.../chance`; table `few_shot` with one row per example (for confidence intervals).

use assay_sdk::generate::log_likelihood;
use assay_sdk::prelude::*;
use assay_sdk::Sampling;

use crate::tasks;

struct FewShot {
    task: String,
    shots: usize,
    examples: usize,
    seed: u64,
    max_tokens: usize,
}

impl Probe for FewShot {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let Some(tokenizer) = cx.dataset.tokenizer() else {
            return Err(PluginError::invalid(
                "few_shot needs a dataset with a tokenizer (a text dataset)",
            ));
        };
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
        let (mut exact, mut formatted, mut mc, mut chance) = (0usize, 0usize, 0usize, 0.0f64);
        for (i, ex) in test.iter().enumerate() {
            let prompt = format!("{preamble}{}", ex.prompt);
            let out = assay_sdk::generate(
                cx.model,
                tokenizer.as_ref(),
                &[prompt.as_str()],
                &sampling,
                cx.device,
            )?;
            let said = tasks::normalise(&out[0].text);
            let correct = said == ex.answer;
            let follows = ex.choices.contains(&said);
            let context = tokenizer.encode(&prompt)?;
            let mut best = (f64::NEG_INFINITY, 0usize);
            for (c, choice) in ex.choices.iter().enumerate() {
                let cont = tokenizer.encode(&format!(" {choice}"))?;
                let (lp, _) = log_likelihood(cx.model, &context, &cont, cx.device)?;
                if lp > best.0 {
                    best = (lp, c);
                }
            }
            let mc_correct = ex.choices[best.1] == ex.answer;
            exact += usize::from(correct);
            formatted += usize::from(follows);
            mc += usize::from(mc_correct);
            chance += 1.0 / ex.choices.len() as f64;
            rows.0.push(Some(i as i64));
            rows.1.push(Some(ex.answer.clone()));
            rows.2.push(Some(said));
            rows.3.push(Some(correct));
            rows.4.push(Some(follows));
            rows.5.push(Some(mc_correct));
        }
        let n = test.len().max(1) as f64;
        let key = |m: &str| format!("few_shot/{}/{m}", self.task);
        let table = Table::new("few_shot")
            .column(
                "task",
                Column::Str(vec![Some(self.task.clone()); test.len()]),
            )
            .column("example", Column::I64(rows.0))
            .column("answer", Column::Str(rows.1))
            .column("generated", Column::Str(rows.2))
            .column("exact_match", Column::Bool(rows.3))
            .column("follows_format", Column::Bool(rows.4))
            .column("mc_correct", Column::Bool(rows.5));
        Ok(Observation::default()
            .metric(key("exact_match"), exact as f64 / n)
            .metric(key("format_rate"), formatted as f64 / n)
            .metric(key("mc_accuracy"), mc as f64 / n)
            .metric(key("chance"), chance / n)
            .table(table))
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("few_shot", "0.1.0", |p, _cx| {
            Ok(Box::new(FewShot {
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
        .param(Param::int("max_tokens", 8, "tokens generated per answer").min(1.0)),
    );
}
