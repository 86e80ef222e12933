//! `snip`: connection sensitivity |θ ⊙ ∂L/∂θ| on one training batch (Lee, Ajanthan and Torr,
//! "SNIP: Single-shot network pruning based on connection sensitivity", ICLR 2019).

use assay_sdk::prelude::*;

use crate::gradients;

struct Snip;

impl Pruner for Snip {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        let out = (cx.output)()?;
        let loss = (cx.loss)(&out)?;
        let grads = gradients::of(&loss, &cx.parameters)?;
        gradients::times_weights(&cx.parameters, &grads, true)
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::pruner("snip", "0.1.0", |_p, _cx| Ok(Box::new(Snip)))
            .summary("SNIP: |weight x gradient of the loss| on one training batch"),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{scores_of, Fixture};

    #[test]
    fn scores_match_weight_times_gradient() {
        // The fixture's loss is sum((W x)^2)/2 for a fixed x, so dL/dW = (W x) x^T.
        let f = Fixture::new();
        let s = scores_of("snip", &f, 0.5);
        let expected = f.expected_weight_times_gradient().abs().unwrap();
        let d = (&s[0].1 - &expected)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-5);
    }
}
