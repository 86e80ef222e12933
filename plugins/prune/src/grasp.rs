//! `grasp`: Gradient Signal Preservation (Wang, Zhang and Grosse, ICLR 2020). With g the gradient
//! of the loss of the temperature-scaled output f/T and H that loss's Hessian, the score is
//! θ ⊙ Hg and the highest scores are kept (equivalently, GraSP removes the weights with the
//! largest −θ ⊙ Hg). Hg is computed as a central finite difference of gradients,
//! (∇L(θ + εg) − ∇L(θ − εg)) / 2ε with ε = `fd_step` · ‖θ‖ / ‖g‖, because candle has no
//! double backward; the parameters are restored exactly afterwards.

use assay_sdk::prelude::*;

use crate::gradients;

struct Grasp {
    temperature: f64,
    fd_step: f64,
}

impl Grasp {
    fn gradient(&self, cx: &mut PruneContext<'_>) -> Result<Vec<Tensor>> {
        let out = ((cx.output)()? / self.temperature)?;
        let loss = (cx.loss)(&out)?;
        gradients::of(&loss, &cx.parameters)
    }
}

fn sq_norm(ts: &[Tensor]) -> Result<f64> {
    let mut acc = 0.0;
    for t in ts {
        acc += t
            .to_dtype(DType::F64)?
            .sqr()?
            .sum_all()?
            .to_scalar::<f64>()?;
    }
    Ok(acc)
}

impl Pruner for Grasp {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        let saved = gradients::snapshot(&cx.parameters)?;
        let g = self.gradient(cx)?;
        let g_norm = sq_norm(&g)?.sqrt();
        if g_norm == 0.0 {
            return Err(PluginError::invalid(
                "grasp: the gradient is zero at these weights, so GraSP's scores are all zero",
            ));
        }
        let eps = self.fd_step * sq_norm(&saved)?.sqrt().max(1e-12) / g_norm;
        let shifted = |sign: f64, cx: &mut PruneContext<'_>| -> Result<Vec<Tensor>> {
            for (((_, v), t), gi) in cx.parameters.iter().zip(&saved).zip(&g) {
                v.set(&(t + (gi * (sign * eps))?)?)?;
            }
            self.gradient(cx)
        };
        let plus = shifted(1.0, cx)?;
        let minus = shifted(-1.0, cx)?;
        gradients::restore(&cx.parameters, &saved)?;
        let hg: Vec<Tensor> = plus
            .iter()
            .zip(&minus)
            .map(|(p, m)| Ok(((p - m)? / (2.0 * eps))?))
            .collect::<Result<_>>()?;
        gradients::times_weights(&cx.parameters, &hg, false)
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::pruner("grasp", "0.1.0", |p, _cx| {
            Ok(Box::new(Grasp {
                temperature: p.f64("temperature")?,
                fd_step: p.f64("fd_step")?,
            }))
        })
        .summary("GraSP: weight x Hessian-gradient product of the temperature-scaled loss")
        .param(
            Param::float(
                "temperature",
                200.0,
                "the output is divided by T before the loss",
            )
            .range(1e-6, 1e9),
        )
        .param(
            Param::float(
                "fd_step",
                1e-3,
                "finite-difference step for Hg, relative to ||theta|| / ||g||",
            )
            .range(1e-9, 1.0),
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{scores_of, Fixture};

    #[test]
    fn matches_the_hessian_gradient_product_of_a_quadratic() {
        // Loss sum((W x / T)^2)/2: g = (W x) x^T / T^2 and H g = g x x^T / T^2, exactly, so the
        // finite difference must agree up to rounding.
        let f = Fixture::new();
        let s = scores_of("grasp", &f, 0.5);
        let expected = f.expected_grasp(200.0);
        let scale = expected
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let d = (&s[0].1 - &expected)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(
            d.to_scalar::<f32>().unwrap() <= 1e-2 * scale,
            "{d} vs {scale}"
        );
    }
}
