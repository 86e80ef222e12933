//! `magnitude`: score = |θ|. Applied to the weights of a trained run it yields a lottery ticket;
//! applied to a grokked run's final weights, a grokking ticket (Minegishi et al.).

use assay_sdk::prelude::*;

struct Magnitude;

impl Pruner for Magnitude {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        cx.parameters
            .iter()
            .map(|(name, v)| Ok((name.clone(), v.as_tensor().detach().abs()?)))
            .collect()
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::pruner("magnitude", "0.1.0", |_p, _cx| Ok(Box::new(Magnitude)))
            .summary("keeps the largest weights in absolute value (lottery / grokking tickets)"),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{scores_of, Fixture};

    #[test]
    fn scores_are_absolute_values() {
        let f = Fixture::new();
        let s = scores_of("magnitude", &f, 0.5);
        let w = f.parameters[0].1.as_tensor().abs().unwrap();
        let d = (&s[0].1 - &w).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0);
    }
}
