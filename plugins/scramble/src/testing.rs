//! Helpers of the probes' unit tests: a model that answers newlines and breaks on cue, and the
//! shipped dataset.

use std::sync::atomic::{AtomicUsize, Ordering};

use assay_sdk::prelude::*;

/// A next-token model that always predicts a newline and fails after `calls` forward passes.
pub(crate) struct Newline {
    pub(crate) calls: AtomicUsize,
}

impl Model for Newline {
    fn forward(&self, x: &Tensor, _hooks: &mut Hooks) -> Result<Tensor> {
        if self.calls.load(Ordering::SeqCst) == 0 {
            return Err(PluginError::invalid("the model went away"));
        }
        self.calls.fetch_sub(1, Ordering::SeqCst);
        let (b, t) = x.dims2()?;
        let mut logits = vec![0f32; b * t * 257];
        for row in logits.chunks_mut(257) {
            row[usize::from(b'\n')] = 1.0;
        }
        Ok(Tensor::from_vec(logits, (b, t, 257), x.device())?)
    }
    fn parameters(&self) -> Vec<(String, Var)> {
        Vec::new()
    }
}

pub(crate) fn dataset() -> Box<dyn Dataset> {
    let mut found = Vec::new();
    crate::scrambled_text::register(&mut found);
    found[0]
        .build_dataset(
            &[("train_examples", Value::Int(10))],
            &BuildContext {
                seed: 3,
                device: Device::Cpu,
            },
        )
        .unwrap()
}

/// A [`Newline`] model good for `calls` forward passes.
pub(crate) fn newline(calls: usize) -> Newline {
    Newline {
        calls: AtomicUsize::new(calls),
    }
}

/// Runs `probe` once, as the last call of a run.
pub(crate) fn observe(
    p: &mut dyn Probe,
    model: &dyn Model,
    data: &dyn Dataset,
) -> Result<Observation> {
    p.observe(&ProbeContext {
        step: 0,
        is_final: true,
        model,
        dataset: data,
        device: &Device::Cpu,
    })
}

/// The value of metric `name`, if logged.
pub(crate) fn metric(obs: &Observation, name: &str) -> Option<f64> {
    obs.metrics.iter().find(|m| m.name == name).map(|m| m.value)
}

/// A string parameter value.
pub(crate) fn s(v: &str) -> Value {
    Value::Str(v.into())
}
