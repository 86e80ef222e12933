//! Stochastic gradient descent with momentum, Nesterov momentum and coupled weight decay, as
//! PyTorch's `torch.optim.SGD` defines them.

use assay_sdk::optimizer::find_state;
use assay_sdk::prelude::*;

struct Sgd {
    params: Vec<Parameter>,
    velocity: Vec<Option<Tensor>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
}

impl Optimizer for Sgd {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        let lr = self.lr * lr_scale;
        for (p, vel) in self.params.iter().zip(self.velocity.iter_mut()) {
            let var = &p.var;
            let Some(g) = grads.get(var) else { continue };
            // Detached: state computed from a tracked gradient would keep every step's graph alive.
            let mut g = g.detach();
            let weight_decay = self.weight_decay * p.weight_decay_scale;
            if weight_decay != 0.0 {
                g = (g + (var.as_tensor().detach() * weight_decay)?)?;
            }
            if self.momentum != 0.0 {
                let v = match vel.take() {
                    None => g.clone(),
                    Some(v) => ((v * self.momentum)? + (&g * (1.0 - self.dampening))?)?,
                };
                g = if self.nesterov {
                    (g + (&v * self.momentum)?)?
                } else {
                    v.clone()
                };
                *vel = Some(v);
            }
            var.set(&(var.as_tensor() - (g * lr)?)?)?;
        }
        Ok(())
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(self
            .params
            .iter()
            .zip(&self.velocity)
            .filter_map(|(p, v)| {
                v.as_ref()
                    .map(|v| (format!("velocity.{}", p.name), v.clone()))
            })
            .collect())
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        for (p, vel) in self.params.iter().zip(self.velocity.iter_mut()) {
            *vel = find_state(state, &format!("velocity.{}", p.name))
                .ok()
                .cloned();
        }
        Ok(())
    }
}

/// The same rule on host vectors, for online problems, in either precision.
struct HostSgd<F> {
    velocity: Option<Vec<F>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
}

impl<F: HostFloat> HostOptimizer for HostSgd<F> {
    fn step(&mut self, iterate: Iterate<'_>, lr_scale: f64) -> Result<()> {
        let (theta, grad) = assay_sdk::online::iterate_as::<F>(iterate)?;
        let lr = F::from_f64(self.lr * lr_scale);
        let (wd, mom) = (F::from_f64(self.weight_decay), F::from_f64(self.momentum));
        let keep = F::from_f64(1.0 - self.dampening);
        let first = self.velocity.is_none();
        let velocity = self
            .velocity
            .get_or_insert_with(|| vec![F::ZERO; theta.len()]);
        for i in 0..theta.len() {
            let mut g = grad[i];
            if self.weight_decay != 0.0 {
                g += theta[i] * wd;
            }
            if self.momentum != 0.0 {
                velocity[i] = if first {
                    g
                } else {
                    velocity[i] * mom + g * keep
                };
                g = if self.nesterov {
                    g + velocity[i] * mom
                } else {
                    velocity[i]
                };
            }
            theta[i] -= g * lr;
        }
        Ok(())
    }
}

/// Checks the Nesterov condition and reads the hyperparameters.
fn hyper(p: &Params) -> Result<(f64, f64, f64, bool, f64)> {
    let nesterov = p.bool("nesterov")?;
    let (momentum, dampening) = (p.f64("momentum")?, p.f64("dampening")?);
    if nesterov && (momentum <= 0.0 || dampening != 0.0) {
        return Err(PluginError::param(
            "nesterov",
            "needs momentum > 0 and dampening = 0",
        ));
    }
    Ok((
        p.f64("lr")?,
        momentum,
        dampening,
        nesterov,
        p.f64("weight_decay")?,
    ))
}

fn host<F: HostFloat>(p: &Params) -> Result<Box<dyn HostOptimizer>> {
    let (lr, momentum, dampening, nesterov, weight_decay) = hyper(p)?;
    Ok(Box::new(HostSgd::<F> {
        velocity: None,
        lr,
        momentum,
        dampening,
        nesterov,
        weight_decay,
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::optimizer("sgd", "0.1.0", |p, params| {
            let (lr, momentum, dampening, nesterov, weight_decay) = hyper(p)?;
            let velocity = vec![None; params.len()];
            Ok(Box::new(Sgd {
                params,
                velocity,
                lr,
                momentum,
                dampening,
                nesterov,
                weight_decay,
            }))
        })
        .host_optimizer(|p, _dim, precision| match precision {
            Precision::F32 => host::<f32>(p),
            Precision::F64 => host::<f64>(p),
        })
        .summary("stochastic gradient descent with momentum, Nesterov and weight decay")
        .param(Param::float("lr", 0.01, "learning rate").min(0.0))
        .param(Param::float("momentum", 0.0, "momentum factor").range(0.0, 1.0))
        .param(Param::float("dampening", 0.0, "dampening of momentum").range(0.0, 1.0))
        .param(Param::bool("nesterov", false, "Nesterov momentum"))
        .param(Param::float("weight_decay", 0.0, "L2 penalty added to the gradient").min(0.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let mut found = Vec::new();
        register(&mut found);
        assay_sdk::conformance::check_optimizer_state_roundtrip(
            &found[0],
            &[
                ("momentum", Value::Float(0.9)),
                ("nesterov", Value::Bool(true)),
            ],
            &[&[3], &[2, 2]],
            3,
        )
        .unwrap();
    }

    #[test]
    fn plain_step_is_gradient_descent() {
        let mut found = Vec::new();
        register(&mut found);
        let w = Var::new(&[1.0f32, -2.0], &Device::Cpu).unwrap();
        let mut opt = found[0]
            .build_optimizer(&[("lr", Value::Float(0.5))], vec![("w".into(), w.clone())])
            .unwrap();
        let grads = w
            .as_tensor()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        opt.step(&grads, 1.0).unwrap();
        assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), vec![0.0, 0.0]);
    }
}
