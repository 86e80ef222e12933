//! `random`: uniform random scores, i.e. a random mask of the requested density, drawn from the
//! run seed (pruning at initialisation's weakest baseline).

use assay_sdk::prelude::*;

struct Random;

impl Pruner for Random {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::with_capacity(cx.parameters.len());
        for (name, v) in &cx.parameters {
            let s = init::uniform(&mut cx.rng, v.dims(), 0.0, 1.0, &cx.device)?;
            out.push((name.clone(), s));
        }
        Ok(out)
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::pruner("random", "0.1.0", |_p, _cx| Ok(Box::new(Random)))
            .summary("uniform random scores: a random mask of the same density"),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{scores_of, Fixture};

    #[test]
    fn scores_are_seeded_and_in_unit_interval() {
        let f = Fixture::new();
        let a = scores_of("random", &f, 0.5);
        let b = scores_of("random", &f, 0.5);
        let va = a[0].1.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let vb = b[0].1.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(va, vb);
        assert!(va.iter().all(|x| (0.0..1.0).contains(x)));
    }
}
