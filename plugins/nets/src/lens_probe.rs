//! The `logit_lens` probe: the logit lens of fixed prompts during training, so that one run's
//! table shows how each layer's prediction forms as it trains (the same computation as
//! `assay lens`, [`assay_sdk::interp::logit_lens`]).
//!
//! Table `logit_lens`: `prompt`, `layer`, `position`, `kind` (`top` or `target`), `token`,
//! `token_id`, `rank`, `prob`; metrics `lens/TARGET/rank_last_layer` (mean over prompts at the
//! last position read) for each target.

use assay_sdk::interp::{logit_lens, LensRowKind};
use assay_sdk::prelude::*;

/// The probe's parameters.
#[derive(Debug, Params)]
struct LensParams {
    /// Prompts to read the lens of.
    prompts: Vec<String>,
    /// Tokens whose rank and probability to report (each must be one token).
    #[param(default = [])]
    targets: Vec<String>,
    /// Positions to read; negative counts from the end (-1 = the last).
    #[param(default = [-1])]
    positions: Vec<i64>,
    /// Most probable tokens listed per layer and position.
    #[param(default = 5, min = 0)]
    top_k: usize,
}

struct LogitLens(LensParams);

impl Probe for LogitLens {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let Some(tokenizer) = cx
            .dataset
            .tokenizer()
            .or_else(|| cx.model.generative().and_then(|g| g.tokenizer()))
        else {
            return Err(PluginError::invalid(
                "logit_lens needs a tokenizer: a text dataset, or a model that has one",
            ));
        };
        let p = &self.0;
        let mut targets = Vec::new();
        for t in &p.targets {
            match tokenizer.encode(t)?.as_slice() {
                [id] => targets.push(*id),
                ids => {
                    return Err(PluginError::param(
                        "targets",
                        format!("`{t}` is {} tokens, not one", ids.len()),
                    ))
                }
            }
        }
        let (mut prompt, mut layer, mut position, mut kind) = (vec![], vec![], vec![], vec![]);
        let (mut token, mut token_id, mut rank, mut prob) = (vec![], vec![], vec![], vec![]);
        let mut last_rank: Vec<(f64, usize)> = vec![(0.0, 0); targets.len()];
        for (i, text) in p.prompts.iter().enumerate() {
            let ids = tokenizer.encode(text)?;
            let n = ids.len() as i64;
            let positions = p
                .positions
                .iter()
                .map(|&q| {
                    let r = if q < 0 { n + q } else { q };
                    if r < 0 || r >= n {
                        Err(PluginError::param(
                            "positions",
                            format!("position {q} is outside prompt {i}'s {n} tokens"),
                        ))
                    } else {
                        Ok(r as usize)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let rows = logit_lens(cx.model, &ids, &positions, &targets, p.top_k, cx.device)?;
            let top_layer = rows.iter().map(|r| r.layer).max().unwrap_or(0);
            for r in rows {
                if r.kind == LensRowKind::Target && r.layer == top_layer {
                    if let Some(j) = targets.iter().position(|&t| t == r.token) {
                        last_rank[j].0 += r.rank as f64;
                        last_rank[j].1 += 1;
                    }
                }
                prompt.push(Some(i as i64));
                layer.push(Some(r.layer as i64));
                position.push(Some(r.position as i64));
                kind.push(Some(
                    match r.kind {
                        LensRowKind::Top => "top",
                        LensRowKind::Target => "target",
                    }
                    .to_string(),
                ));
                token.push(Some(tokenizer.decode(&[r.token])?));
                token_id.push(Some(i64::from(r.token)));
                rank.push(Some(r.rank as i64));
                prob.push(Some(f64::from(r.prob)));
            }
        }
        let mut obs = Observation::default().table(
            Table::new("logit_lens")
                .column("prompt", Column::I64(prompt))
                .column("layer", Column::I64(layer))
                .column("position", Column::I64(position))
                .column("kind", Column::Str(kind))
                .column("token", Column::Str(token))
                .column("token_id", Column::I64(token_id))
                .column("rank", Column::I64(rank))
                .column("prob", Column::F64(prob)),
        );
        for (t, (sum, n)) in p.targets.iter().zip(last_rank) {
            if n > 0 {
                obs = obs.metric(format!("lens/{}/rank_last_layer", t.trim()), sum / n as f64);
            }
        }
        Ok(obs)
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe_with("logit_lens", "0.1.0", |p: LensParams, _cx| {
            if p.prompts.is_empty() {
                return Err(PluginError::param("prompts", "give at least one prompt"));
            }
            Ok(Box::new(LogitLens(p)))
        })
        .summary("the logit lens of fixed prompts: each layer's top tokens and the targets' ranks"),
    );
}
