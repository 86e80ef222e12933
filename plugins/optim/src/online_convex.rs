//! `online_convex`: the stochastic version of Reddi et al.'s counterexample to Adam, as used in
//! the ADOPT paper. On θ ∈ [−1, 1]^d the loss is f_t(θ) = g_t·θ where each coordinate of g_t is
//! k² with probability 1/k and −k otherwise: E[g] = 1, so the optimum is θ* = −1. Adam with a
//! small β2 forgets the rare large gradients and drifts to +1.
//!
//! An online problem (see `assay_sdk::environment`): the host sends θ, the environment projects it
//! onto the box and returns `[projected θ, g_t]`.

use assay_sdk::prelude::*;
use assay_sdk::rand::Rng as _;

struct OnlineConvex {
    k: f64,
    dim: usize,
    theta0: f32,
    rng: init::Rng,
}

impl Environment for OnlineConvex {
    fn reset(&mut self, seed: u64) -> Result<TimeStep> {
        self.rng = init::rng(seed, "online_convex");
        Ok(TimeStep {
            observation: vec![self.theta0; self.dim],
            rewards: vec![0.0],
            ..Default::default()
        })
    }

    fn step(&mut self, action: &Action) -> Result<TimeStep> {
        let Action::Continuous(theta) = action else {
            return Err(PluginError::invalid(
                "online_convex takes the iterate as a continuous action",
            ));
        };
        if theta.len() != self.dim {
            return Err(PluginError::invalid(format!(
                "online_convex has dimension {}, got {} values",
                self.dim,
                theta.len()
            )));
        }
        let mut observation: Vec<f32> = theta.iter().map(|x| x.clamp(-1.0, 1.0)).collect();
        let mut loss = 0.0;
        for i in 0..self.dim {
            let g = if self.rng.random::<f64>() < 1.0 / self.k {
                self.k * self.k
            } else {
                -self.k
            };
            loss += g * f64::from(observation[i]);
            observation.push(g as f32);
        }
        Ok(TimeStep {
            observation,
            rewards: vec![loss],
            ..Default::default()
        })
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::environment("online_convex", "0.1.0", |p, _cx| {
            Ok(Box::new(OnlineConvex {
                k: p.f64("k")?,
                dim: p.usize("dim")?,
                theta0: p.f64("theta0")? as f32,
                rng: init::rng(0, "online_convex"),
            }))
        })
        .summary("online linear loss on [-1,1]^d with gradient k^2 w.p. 1/k else -k (Adam's counterexample)")
        .param(Param::float("k", 10.0, "gradient scale; E[g] = 1").min(1.0))
        .param(Param::int("dim", 1, "dimension").min(1.0))
        .param(Param::float("theta0", 0.0, "starting point").range(-1.0, 1.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_and_draws_k_squared_with_probability_one_over_k() {
        let mut found = Vec::new();
        register(&mut found);
        let Factory::Environment(make) = &found[0].factory else {
            unreachable!()
        };
        let mut env = make(
            &found[0].resolve(&[]).unwrap(),
            &BuildContext {
                seed: 0,
                device: Device::Cpu,
            },
        )
        .unwrap();
        assert_eq!(env.reset(3).unwrap().observation, vec![0.0]);
        let n = 200_000;
        let mut spikes = 0;
        for _ in 0..n {
            let ts = env.step(&Action::Continuous(vec![2.5])).unwrap();
            assert_eq!(ts.observation[0], 1.0, "projected onto [-1, 1]");
            let g = ts.observation[1];
            if g == 100.0 {
                spikes += 1;
            } else {
                assert_eq!(g, -10.0);
            }
        }
        // k^2 with probability 1/k: 20,000 expected, binomial standard deviation 134.
        assert!(
            (spikes as f64 - n as f64 / 10.0).abs() < 5.0 * 134.2,
            "{spikes} spikes in {n}"
        );
    }
}
