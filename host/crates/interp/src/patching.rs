//! `assay patch`: activation patching from a clean into a corrupted prompt, as a table.

use anyhow::Context;
use assay_engine::subject::Subject;
use assay_sdk::interp::{activation_patching, PatchSpec};
use assay_sdk::{Column, Table};

/// What to patch.
#[derive(Debug, Clone)]
pub struct Request {
    /// The prompt whose activations are copied.
    pub clean: String,
    /// The prompt they are copied into (the same number of tokens).
    pub corrupted: String,
    /// The hook name within each block (`hook_resid_pre`, `attn.hook_z`, ...).
    pub hook: String,
    /// One row per position instead of the whole activation.
    pub per_position: bool,
    /// The metric is `logit(answer) - logit(wrong)` at the last position; each one token.
    pub answer: String,
    /// See `answer`.
    pub wrong: String,
}

/// One row per block (and position): `layer`, `position` (null for the whole activation),
/// `patched`, `clean`, `corrupted` (logit differences) and `restored`
/// (`(patched - corrupted) / (clean - corrupted)`).
pub fn table(subject: &Subject, req: &Request) -> anyhow::Result<Table> {
    let spec = PatchSpec {
        hook: req.hook.clone(),
        per_position: req.per_position,
        answer: subject.single_token(&req.answer)?,
        wrong: subject.single_token(&req.wrong)?,
    };
    let clean = subject.encode(&req.clean)?;
    let corrupted = subject.encode(&req.corrupted)?;
    let model: &dyn assay_sdk::Model = &subject.model;
    let rows = activation_patching(model, &clean, &corrupted, &spec, &subject.device)
        .with_context(|| format!("patching {}", subject.label))?;
    let floats = |f: fn(&assay_sdk::interp::PatchRow) -> f32| {
        Column::F64(rows.iter().map(|r| Some(f64::from(f(r)))).collect())
    };
    Ok(Table::new("activation_patching")
        .column(
            "layer",
            Column::I64(rows.iter().map(|r| Some(r.layer as i64)).collect()),
        )
        .column(
            "position",
            Column::I64(rows.iter().map(|r| r.position.map(|p| p as i64)).collect()),
        )
        .column("patched", floats(|r| r.patched))
        .column("clean", floats(|r| r.clean))
        .column("corrupted", floats(|r| r.corrupted))
        .column("restored", floats(|r| r.restored)))
}
