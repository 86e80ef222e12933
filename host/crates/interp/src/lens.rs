//! `assay lens`: the logit lens of prompts as a table.

use anyhow::Context;
use assay_engine::subject::Subject;
use assay_sdk::interp::{logit_lens, LensRowKind};
use assay_sdk::{Column, Table};

/// What to read.
#[derive(Debug, Clone)]
pub struct Request {
    /// The prompts (one lens each).
    pub prompts: Vec<String>,
    /// Tokens whose rank and probability are reported at every layer (each one token).
    pub targets: Vec<String>,
    /// Positions to read (negative counts from the end; empty = every position).
    pub positions: Vec<i64>,
    /// How many of each layer's most probable tokens to list.
    pub top_k: usize,
}

/// One row per (prompt, layer, position, token): columns `prompt`, `layer`, `position`,
/// `input` (the token at that position), `kind` (`top` or `target`), `token`, `token_id`,
/// `rank` (1 = most probable) and `prob`.
pub fn table(subject: &Subject, req: &Request) -> anyhow::Result<Table> {
    let targets: Vec<u32> = req
        .targets
        .iter()
        .map(|t| subject.single_token(t))
        .collect::<anyhow::Result<_>>()?;
    let model: &dyn assay_sdk::Model = &subject.model;
    let decode = |id: u32| {
        subject
            .tokenizer
            .decode(&[id])
            .unwrap_or_else(|_| format!("<{id}>"))
    };
    let mut cols = Columns::default();
    for (i, prompt) in req.prompts.iter().enumerate() {
        let ids = subject.encode(prompt)?;
        let n = ids.len() as i64;
        let positions: Vec<usize> = req
            .positions
            .iter()
            .map(|&p| {
                let q = if p < 0 { n + p } else { p };
                if q < 0 || q >= n {
                    anyhow::bail!("position {p} is outside prompt {i}'s {n} tokens");
                }
                Ok(q as usize)
            })
            .collect::<anyhow::Result<_>>()?;
        let rows = logit_lens(
            model,
            &ids,
            &positions,
            &targets,
            req.top_k,
            &subject.device,
        )
        .with_context(|| format!("the logit lens of {}", subject.label))?;
        for r in rows {
            cols.prompt.push(i as u32);
            cols.layer.push(r.layer as u32);
            cols.position.push(r.position as u32);
            cols.input.push(decode(ids[r.position]));
            cols.kind.push(match r.kind {
                LensRowKind::Top => "top",
                LensRowKind::Target => "target",
            });
            cols.token.push(decode(r.token));
            cols.token_id.push(r.token);
            cols.rank.push(r.rank as u32);
            cols.prob.push(r.prob);
        }
    }
    let ints = |v: Vec<u32>| Column::I64(v.into_iter().map(|x| Some(i64::from(x))).collect());
    let strs = |v: Vec<String>| Column::Str(v.into_iter().map(Some).collect());
    Ok(Table::new("logit_lens")
        .column("prompt", ints(cols.prompt))
        .column("layer", ints(cols.layer))
        .column("position", ints(cols.position))
        .column("input", strs(cols.input))
        .column(
            "kind",
            strs(cols.kind.into_iter().map(String::from).collect()),
        )
        .column("token", strs(cols.token))
        .column("token_id", ints(cols.token_id))
        .column("rank", ints(cols.rank))
        .column(
            "prob",
            Column::F64(cols.prob.into_iter().map(|p| Some(f64::from(p))).collect()),
        ))
}

/// The table's columns as they are filled.
#[derive(Default)]
struct Columns {
    prompt: Vec<u32>,
    layer: Vec<u32>,
    position: Vec<u32>,
    input: Vec<String>,
    kind: Vec<&'static str>,
    token: Vec<String>,
    token_id: Vec<u32>,
    rank: Vec<u32>,
    prob: Vec<f32>,
}
