//! Worked example: an online problem and an optimizer's host-memory rule, registered and run
//! against each other as the host runs them.

use assay_sdk::prelude::*;
use assay_sdk::rand::Rng as _;

/// f_t(θ) = ½‖θ − c‖² + ξ_t·θ with noise ξ_t ~ U(−σ, σ), on the box [−1, 1]^d.
struct NoisyQuadratic {
    centre: f64,
    noise: f64,
    dim: usize,
    rng: init::Rng,
}

impl OnlineProblem for NoisyQuadratic {
    fn start(&mut self, seed: u64) -> Result<Vec<f64>> {
        self.rng = init::rng(seed, "noisy_quadratic");
        Ok(vec![0.0; self.dim])
    }
    fn round(&mut self, theta: &mut [f64], grad: &mut [f64]) -> Result<f64> {
        let mut loss = 0.0;
        for (x, g) in theta.iter_mut().zip(grad.iter_mut()) {
            *x = x.clamp(-1.0, 1.0);
            let xi = self.rng.random_range(-self.noise..=self.noise);
            loss += 0.5 * (*x - self.centre).powi(2) + xi * *x;
            *g = *x - self.centre + xi;
        }
        Ok(loss)
    }
}

#[derive(Debug, Params)]
struct QuadraticParams {
    /// Where the expected loss is smallest (every coordinate).
    #[param(default = 0.5, range = (-1.0, 1.0))]
    centre: f64,
    /// Half-width of the uniform gradient noise.
    #[param(default = 0.1, min = 0.0)]
    noise: f64,
    /// Dimension.
    #[param(default = 2, min = 1)]
    dim: usize,
}

/// Plain gradient descent on host vectors, generic over the precision.
struct HostDescent<F> {
    lr: f64,
    _precision: std::marker::PhantomData<F>,
}

impl<F: HostFloat> HostOptimizer for HostDescent<F> {
    fn step(&mut self, iterate: Iterate<'_>, lr_scale: f64) -> Result<()> {
        let (theta, grad) = assay_sdk::online::iterate_as::<F>(iterate)?;
        let lr = F::from_f64(self.lr * lr_scale);
        for (x, g) in theta.iter_mut().zip(grad) {
            *x -= *g * lr;
        }
        Ok(())
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::problem_with("noisy_quadratic", "0.1.0", |p: QuadraticParams, _cx| {
            Ok(Box::new(NoisyQuadratic {
                centre: p.centre,
                noise: p.noise,
                dim: p.dim,
                rng: init::rng(0, "noisy_quadratic"),
            }))
        })
        .summary("a noisy quadratic on a box"),
    );
}

#[test]
fn descent_finds_the_centre_in_both_precisions() -> Result<()> {
    let mut theta = solve(200)?;
    assert!(theta.iter().all(|x| (x - 0.5).abs() < 0.1), "{theta:?}");
    let grad = vec![0.0; theta.len()];
    // A rule built for f32 refuses f64 vectors instead of misreading them.
    let mut f32_rule = HostDescent::<f32> {
        lr: 0.1,
        _precision: Default::default(),
    };
    let err = f32_rule
        .step(
            Iterate::F64 {
                theta: &mut theta,
                grad: &grad,
            },
            1.0,
        )
        .unwrap_err();
    assert!(err.to_string().contains("F32"), "{err}");
    Ok(())
}

/// Runs the problem against descent in f64 as the host does: round, then update.
fn solve(rounds: usize) -> Result<Vec<f64>> {
    let mut found = Vec::new();
    register(&mut found);
    let cx = BuildContext {
        seed: 0,
        device: Device::Cpu,
    };
    let mut problem = found[0].build_problem(&[], &cx)?;
    let mut theta = problem.start(7)?;
    let mut grad = vec![0.0; theta.len()];
    let mut rule = HostDescent::<f64> {
        lr: 0.1,
        _precision: Default::default(),
    };
    for _ in 0..rounds {
        problem.round(&mut theta, &mut grad)?;
        rule.step(
            Iterate::F64 {
                theta: &mut theta,
                grad: &grad,
            },
            1.0,
        )?;
    }
    Ok(theta)
}

fn main() -> Result<()> {
    println!("theta after 200 rounds: {:?}", solve(200)?);
    Ok(())
}
