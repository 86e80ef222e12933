//! `online_convex`: the stochastic version of Reddi et al.'s counterexample to Adam, as used in
//! the ADOPT paper. On θ ∈ [−1, 1]^d the loss is f_t(θ) = g_t·θ where each coordinate of g_t is
//! k² with probability 1/k and −k otherwise: E[g] = 1, so the optimum is θ* = −1. Adam with a
//! small β2 forgets the rare large gradients and drifts to +1.
//!
//! An online problem (see `assay_sdk::online`): the host sends θ, the problem projects it onto
//! the box and returns the loss and g_t.

use assay_sdk::prelude::*;
use assay_sdk::rand::Rng as _;

struct OnlineConvex {
    k: f64,
    dim: usize,
    theta0: f64,
    rng: init::Rng,
}

impl OnlineProblem for OnlineConvex {
    fn start(&mut self, seed: u64) -> Result<Vec<f64>> {
        self.rng = init::rng(seed, "online_convex");
        Ok(vec![self.theta0; self.dim])
    }

    fn round(&mut self, theta: &mut [f64], grad: &mut [f64]) -> Result<f64> {
        if theta.len() != self.dim || grad.len() != self.dim {
            return Err(PluginError::invalid(format!(
                "online_convex has dimension {}, got {} values",
                self.dim,
                theta.len()
            )));
        }
        let mut loss = 0.0;
        for (x, g) in theta.iter_mut().zip(grad.iter_mut()) {
            *x = x.clamp(-1.0, 1.0);
            *g = if self.rng.random::<f64>() < 1.0 / self.k {
                self.k * self.k
            } else {
                -self.k
            };
            loss += *g * *x;
        }
        Ok(loss)
    }
}

#[derive(Debug, Params)]
struct OnlineConvexParams {
    /// Gradient scale; E[g] = 1.
    #[param(default = 10.0, min = 1.0)]
    k: f64,
    /// Dimension.
    #[param(default = 1, min = 1)]
    dim: usize,
    /// Starting point (every coordinate).
    #[param(default = 0.0, range = (-1.0, 1.0))]
    theta0: f64,
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::problem_with("online_convex", "0.1.0", |p: OnlineConvexParams, _cx| {
            Ok(Box::new(OnlineConvex {
                k: p.k,
                dim: p.dim,
                theta0: p.theta0,
                rng: init::rng(0, "online_convex"),
            }))
        })
        .summary("online linear loss on [-1,1]^d with gradient k^2 w.p. 1/k else -k (Adam's counterexample)"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_and_draws_k_squared_with_probability_one_over_k() {
        let mut found = Vec::new();
        register(&mut found);
        let cx = BuildContext {
            seed: 0,
            device: Device::Cpu,
        };
        let mut problem = found[0].build_problem(&[], &cx).unwrap();
        assert_eq!(problem.start(3).unwrap(), vec![0.0]);
        let n = 200_000;
        let mut spikes = 0;
        for _ in 0..n {
            let (mut theta, mut grad) = ([2.5], [0.0]);
            let loss = problem.round(&mut theta, &mut grad).unwrap();
            assert_eq!(theta[0], 1.0, "projected onto [-1, 1]");
            assert_eq!(loss, grad[0] * theta[0]);
            if grad[0] == 100.0 {
                spikes += 1;
            } else {
                assert_eq!(grad[0], -10.0);
            }
        }
        // k^2 with probability 1/k: 20,000 expected, binomial standard deviation 134.
        assert!(
            (spikes as f64 - n as f64 / 10.0).abs() < 5.0 * 134.2,
            "{spikes} spikes in {n}"
        );
    }
}
