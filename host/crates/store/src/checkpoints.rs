//! Checkpoints of finished runs as other runs name them: which file a `RunRef` points to (the
//! first checkpoint at or after a step or a condition on the metrics), and its model weights.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use assay_sdk::prelude::*;
use assay_spec::{Checkpoint, Condition, RunRef};

use crate::store::{Status, Store};

/// The first step of the run in `dir` at which `cond` holds, from its `metrics.parquet`.
pub fn first_step_where(dir: &Path, cond: &Condition) -> anyhow::Result<Option<u64>> {
    let path = dir.join(crate::layout::METRICS);
    let df = crate::record::read_parquet(&path)?;
    let steps = df.column("step")?.u64()?.clone();
    let names = df.column("name")?.str()?.clone();
    let values = df.column("value")?.f64()?.clone();
    let mut best: Option<u64> = None;
    for ((s, n), v) in steps.iter().zip(names.iter()).zip(values.iter()) {
        if let (Some(s), Some(n), Some(v)) = (s, n, v) {
            if n == cond.metric && cond.holds(v) && best.is_none_or(|b| s < b) {
                best = Some(s);
            }
        }
    }
    Ok(best)
}

impl Store {
    /// The step and file of the checkpoint `r` names. The run must have completed.
    pub fn checkpoint_of(&self, r: &RunRef) -> anyhow::Result<(u64, PathBuf)> {
        let record = self
            .record(&r.id)
            .with_context(|| format!("the referenced run {} is not in the store", r.id))?;
        if record.status != Status::Completed {
            bail!(
                "the referenced run {} is {}, not completed",
                r.id,
                record.status.as_str()
            );
        }
        let checkpoints = self.checkpoints(&r.id)?;
        let at_or_after = |step: u64, what: &str| {
            checkpoints
                .iter()
                .find(|(s, _)| *s >= step)
                .cloned()
                .ok_or_else(|| {
                    anyhow!(
                        "run {} has no checkpoint at or after step {step} ({what}); give it a smaller train.checkpoint_every",
                        r.id
                    )
                })
        };
        match &r.checkpoint {
            Checkpoint::Init => checkpoints
                .first()
                .filter(|(s, _)| *s == 0)
                .cloned()
                .ok_or_else(|| anyhow!("run {} has no step-0 checkpoint", r.id)),
            Checkpoint::Final => checkpoints
                .last()
                .cloned()
                .ok_or_else(|| anyhow!("run {} has no checkpoint", r.id)),
            Checkpoint::Step(s) => at_or_after(*s, "as asked"),
            Checkpoint::First(c) => {
                let dir = self.run_dir(&r.id)?;
                let step = first_step_where(&dir, c)?.ok_or_else(|| {
                    anyhow!("in run {}, {c} never holds at an evaluated step", r.id)
                })?;
                at_or_after(step, &format!("where {c} first holds"))
            }
        }
    }

    /// The model weights of the checkpoint `r` names, by parameter name, and its step.
    pub fn weights(
        &self,
        r: &RunRef,
        device: &Device,
    ) -> anyhow::Result<(u64, HashMap<String, Tensor>)> {
        let (step, path) = self.checkpoint_of(r)?;
        let map = assay_sdk::candle::safetensors::load(&path, device)
            .with_context(|| format!("reading checkpoint {}", path.display()))?;
        let weights = map
            .into_iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(crate::layout::MODEL_KEY)
                    .map(|n| (n.to_string(), v))
            })
            .collect();
        Ok((step, weights))
    }
}
