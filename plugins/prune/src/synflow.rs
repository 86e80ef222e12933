//! `synflow`: Iterative Synaptic Flow Pruning (Tanaka, Kunin, Yamins and Ganguli, NeurIPS 2020).
//! Every scored weight is replaced by its absolute value, R is the sum of the network's output,
//! and the score is θ ⊙ ∂R/∂θ. With `rounds` = n > 1 the mask is built in n rounds with the
//! exponential schedule keep^(k/n), rescoring the surviving weights each round.
//!
//! The paper feeds an all-ones input, which a token model has no counterpart for: here R is
//! summed over one training batch (the network is still evaluated with all-positive weights, so
//! no example cancels another).

use assay_sdk::prelude::*;

use crate::gradients;

struct SynFlow {
    rounds: usize,
}

impl SynFlow {
    fn round(cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        let out = (cx.output)()?;
        let r = out.to_dtype(DType::F64)?.sum_all()?;
        let grads = gradients::of(&r, &cx.parameters)?;
        gradients::times_weights(&cx.parameters, &grads, true)
    }
}

impl Pruner for SynFlow {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        let saved = gradients::snapshot(&cx.parameters)?;
        for ((_, v), t) in cx.parameters.iter().zip(&saved) {
            v.set(&t.abs()?)?;
        }
        let result = (|| {
            let mut scores = Self::round(cx)?;
            for k in 1..self.rounds {
                let keep = cx.keep.powf(k as f64 / self.rounds as f64);
                let mask = Mask::keep_top(&scores, keep)?;
                mask.apply(&cx.parameters)?;
                scores = Self::round(cx)?;
                // Entries pruned in an earlier round stay pruned.
                scores = scores
                    .into_iter()
                    .map(|(name, s)| {
                        let m = mask.get(&name).map(|m| m.to_dtype(s.dtype()));
                        match m {
                            Some(m) => {
                                let m = m?;
                                let floor = (m.ones_like()? - &m)? * -1.0;
                                Ok((name, (s.mul(&m)? + floor)?))
                            }
                            None => Ok((name, s)),
                        }
                    })
                    .collect::<Result<_>>()?;
            }
            Ok(scores)
        })();
        gradients::restore(&cx.parameters, &saved)?;
        result
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::pruner("synflow", "0.1.0", |p, _cx| {
            Ok(Box::new(SynFlow {
                rounds: p.i64("rounds")?.max(1) as usize,
            }))
        })
        .summary("SynFlow: |weight x d(summed output of the |weight| network)/d weight|")
        .param(
            Param::int(
                "rounds",
                1,
                "pruning rounds (exponential schedule); 1 = one shot",
            )
            .range(1.0, 10_000.0),
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{scores_of, Fixture};

    #[test]
    fn scores_are_nonnegative_and_weights_are_restored() {
        let f = Fixture::new();
        let before = f.parameters[0].1.as_tensor().to_vec2::<f32>().unwrap();
        let s = scores_of("synflow", &f, 0.5);
        assert_eq!(
            f.parameters[0].1.as_tensor().to_vec2::<f32>().unwrap(),
            before
        );
        let v = s[0].1.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|x| *x >= 0.0));
        // Several rounds still score every entry and keep earlier prunes at the bottom.
        let s3 = crate::testing::scores_with("synflow", &f, 0.25, &[("rounds", 3)]);
        assert_eq!(s3[0].1.dims(), s[0].1.dims());
    }
}
