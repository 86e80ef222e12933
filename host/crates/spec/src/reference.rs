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
