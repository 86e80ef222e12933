//! References from one run to another run in the store, and conditions on a run's metrics.
//!
//! A spec names another run in `[init]` and `[prune]` with `from` and `checkpoint`:
//!
//! ```toml
//! [init]
//! from = "grokking-dense.toml"   # a spec file, relative to this spec; or "run:ID"
//! set = { "train.steps" = 20000 } # overrides for that spec (optional); its seed is this run's
//! checkpoint = "init"            # "init" (step 0), "final", a step, "memorised", or a condition
//! ```
//!
//! A spec file is resolved like `assay run FILE` would (with this run's seed unless `set`
//! gives one) and replaced by the run id it hashes to, so the canonical spec, and hence the run
//! id, says exactly which run the weights came from. If that run is not finished in the store,
//! it is computed first. `checkpoint` picks the first saved checkpoint at or after the step it
//! names; a condition `METRIC>=VALUE` (or `<=`) names the first evaluated step where it holds,
//! and `memorised` is `train/acc>=1`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use assay_sdk::prelude::*;

use crate::store::{Status, Store};

/// A comparison of a logged metric with a value: `test/acc>=0.95`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Metric name as logged (`train/acc`).
    pub metric: String,
    /// `true` for `>=`, `false` for `<=`.
    pub at_least: bool,
    /// The threshold.
    pub value: f64,
}

impl Condition {
    /// Parses `METRIC>=VALUE` or `METRIC<=VALUE`.
    pub fn parse(s: &str) -> Result<Condition, String> {
        let (metric, value, at_least) = if let Some((m, v)) = s.split_once(">=") {
            (m, v, true)
        } else if let Some((m, v)) = s.split_once("<=") {
            (m, v, false)
        } else {
            return Err(format!(
                "`{s}`: expected METRIC>=VALUE or METRIC<=VALUE, e.g. \"test/acc>=0.99\""
            ));
        };
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{}` is not a number", value.trim()))?;
        let metric = metric.trim();
        if metric.is_empty() {
            return Err(format!("`{s}`: no metric name before the comparison"));
        }
        Ok(Condition {
            metric: metric.to_string(),
            at_least,
            value,
        })
    }

    /// Whether `x` satisfies the condition.
    pub fn holds(&self, x: f64) -> bool {
        if self.at_least {
            x >= self.value
        } else {
            x <= self.value
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = if self.at_least { ">=" } else { "<=" };
        write!(f, "{}{op}{}", self.metric, self.value)
    }
}

/// Which checkpoint of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Checkpoint {
    /// Step 0: the weights before any training.
    Init,
    /// The last checkpoint of a finished run.
    Final,
    /// The first checkpoint at or after this step.
    Step(u64),
    /// The first checkpoint at or after the first evaluated step where the condition holds.
    First(Condition),
}

impl Checkpoint {
    /// Parses a spec value: `"init"`, `"final"`, `"memorised"`, a condition, or a step number.
    pub fn parse(v: &toml::Value) -> Result<Checkpoint, String> {
        match v {
            toml::Value::Integer(i) if *i >= 0 => Ok(Checkpoint::Step(*i as u64)),
            toml::Value::String(s) => match s.as_str() {
                "init" => Ok(Checkpoint::Init),
                "final" => Ok(Checkpoint::Final),
                "memorised" | "memorized" => Ok(Checkpoint::First(Condition {
                    metric: "train/acc".into(),
                    at_least: true,
                    value: 1.0,
                })),
                other => Condition::parse(other).map(Checkpoint::First).map_err(|m| {
                    format!("expected \"init\", \"final\", \"memorised\", a step or a condition: {m}")
                }),
            },
            other => Err(format!(
                "expected \"init\", \"final\", \"memorised\", a step or a condition, found `{other}`"
            )),
        }
    }

    /// The canonical spec value.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            Checkpoint::Init => toml::Value::String("init".into()),
            Checkpoint::Final => toml::Value::String("final".into()),
            Checkpoint::Step(s) => toml::Value::Integer(*s as i64),
            Checkpoint::First(c) => toml::Value::String(c.to_string()),
        }
    }
}

/// A checkpoint of another run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRef {
    /// The run.
    pub id: String,
    /// Which of its checkpoints.
    pub checkpoint: Checkpoint,
}

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

impl RunRef {
    /// The step and file of the referenced checkpoint. The run must have completed.
    pub fn locate(&self, store: &Store) -> anyhow::Result<(u64, PathBuf)> {
        let record = store
            .record(&self.id)
            .with_context(|| format!("the referenced run {} is not in the store", self.id))?;
        if record.status != Status::Completed {
            bail!(
                "the referenced run {} is {}, not completed",
                self.id,
                record.status.as_str()
            );
        }
        let checkpoints = store.checkpoints(&self.id)?;
        let at_or_after = |step: u64, what: &str| {
            checkpoints
                .iter()
                .find(|(s, _)| *s >= step)
                .cloned()
                .ok_or_else(|| {
                    anyhow!(
                        "run {} has no checkpoint at or after step {step} ({what}); give it a smaller train.checkpoint_every",
                        self.id
                    )
                })
        };
        match &self.checkpoint {
            Checkpoint::Init => checkpoints
                .first()
                .filter(|(s, _)| *s == 0)
                .cloned()
                .ok_or_else(|| anyhow!("run {} has no step-0 checkpoint", self.id)),
            Checkpoint::Final => checkpoints
                .last()
                .cloned()
                .ok_or_else(|| anyhow!("run {} has no checkpoint", self.id)),
            Checkpoint::Step(s) => at_or_after(*s, "as asked"),
            Checkpoint::First(c) => {
                let dir = store.run_dir(&self.id)?;
                let step = first_step_where(&dir, c)?.ok_or_else(|| {
                    anyhow!("in run {}, {c} never holds at an evaluated step", self.id)
                })?;
                at_or_after(step, &format!("where {c} first holds"))
            }
        }
    }

    /// The model weights of the referenced checkpoint, by parameter name, and its step.
    pub fn weights(
        &self,
        store: &Store,
        device: &Device,
    ) -> anyhow::Result<(u64, HashMap<String, Tensor>)> {
        let (step, path) = self.locate(store)?;
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

/// Loads `weights` into `model`: every buffer must be there; trained parameters must be too,
/// except a model with buffers (adapters over frozen weights) keeps the fresh initialisation of
/// those missing (its adapters). Returns the names kept fresh.
pub fn load_into(
    model: &dyn Model,
    weights: &HashMap<String, Tensor>,
    origin: &str,
) -> anyhow::Result<Vec<String>> {
    let buffers = model.buffers();
    let mut fresh = Vec::new();
    let mut present = buffers.clone();
    for (name, var) in model.parameters() {
        if weights.contains_key(&name) || buffers.is_empty() {
            present.push((name, var));
        } else {
            fresh.push(name);
        }
    }
    set_parameters(&present, weights, origin)?;
    Ok(fresh)
}

/// Sets every parameter of `parameters` from `weights`, naming the first that is missing or has
/// another shape.
pub fn set_parameters(
    parameters: &[(String, Var)],
    weights: &HashMap<String, Tensor>,
    origin: &str,
) -> anyhow::Result<()> {
    for (name, var) in parameters {
        let t = weights
            .get(name)
            .ok_or_else(|| anyhow!("{origin} has no weights for model parameter `{name}`"))?;
        if t.dims() != var.dims() {
            bail!(
                "{origin}: `{name}` has shape {:?}, but this model's has {:?}",
                t.dims(),
                var.dims()
            );
        }
        var.set(t)
            .with_context(|| format!("{origin}: setting `{name}`"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_and_conditions_parse_and_print_back() {
        for s in ["init", "final", "test/acc>=0.95", "train/loss<=0.01"] {
            let c = Checkpoint::parse(&toml::Value::String(s.into())).unwrap();
            assert_eq!(c.to_toml(), toml::Value::String(s.into()));
        }
        let m = Checkpoint::parse(&toml::Value::String("memorised".into())).unwrap();
        assert_eq!(m.to_toml(), toml::Value::String("train/acc>=1".into()));
        assert_eq!(
            Checkpoint::parse(&toml::Value::Integer(300)).unwrap(),
            Checkpoint::Step(300)
        );
        assert!(Checkpoint::parse(&toml::Value::String("later".into())).is_err());
        assert!(Condition::parse("acc>=x").is_err());
    }
}
