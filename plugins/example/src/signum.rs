//! signSGD with momentum.

use assay_sdk::optimizer::find_state;
use assay_sdk::prelude::*;

struct Signum {
    params: Vec<(String, Var)>,
    momentum: Vec<Tensor>,
    lr: f64,
    beta: f64,
    weight_decay: f64,
}

impl Optimizer for Signum {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        let lr = self.lr * lr_scale;
        for ((_, var), m) in self.params.iter().zip(self.momentum.iter_mut()) {
            let Some(g) = grads.get(var) else { continue };
            // Detached: state computed from a tracked gradient would keep every step's graph alive.
            let g = &g.detach();
            *m = ((&*m * self.beta)? + (g * (1.0 - self.beta))?)?;
            let w = (var.as_tensor().detach() * (1.0 - lr * self.weight_decay))?;
            var.set(&(w - (m.sign()? * lr)?)?)?;
        }
        Ok(())
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(self
            .params
            .iter()
            .zip(&self.momentum)
            .map(|((n, _), m)| (format!("momentum.{n}"), m.clone()))
            .collect())
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        for ((name, _), m) in self.params.iter().zip(self.momentum.iter_mut()) {
            *m = find_state(state, &format!("momentum.{name}"))?.clone();
        }
        Ok(())
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::optimizer("signum", "0.1.0", |p, params| {
            let momentum = params
                .iter()
                .map(|(_, v)| Ok(v.as_tensor().zeros_like()?))
                .collect::<Result<_>>()?;
            Ok(Box::new(Signum {
                params,
                momentum,
                lr: p.f64("lr")?,
                beta: p.f64("beta")?,
                weight_decay: p.f64("weight_decay")?,
            }))
        })
        .summary("signSGD with momentum (Bernstein et al., 2018)")
        .param(Param::float("lr", 1e-3, "step size").min(0.0))
        .param(Param::float("beta", 0.9, "momentum").range(0.0, 1.0))
        .param(Param::float("weight_decay", 0.0, "decoupled weight decay").min(0.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_and_state_are_sound() {
        let mut found = Vec::new();
        register(&mut found);
        assay_sdk::conformance::check_declarations(&found).unwrap();
        assay_sdk::conformance::check_optimizer_state_roundtrip(
            &found[0],
            &[],
            &[&[4], &[2, 3]],
            4,
        )
        .unwrap();
    }

    #[test]
    fn steps_by_lr_in_the_direction_of_the_sign() {
        let mut found = Vec::new();
        register(&mut found);
        let Factory::Optimizer(make) = &found[0].factory else {
            unreachable!()
        };
        let w = Var::new(&[0.5f32, -0.25], &Device::Cpu).unwrap();
        let p = found[0].resolve(&[("lr", Value::Float(0.125))]).unwrap();
        let mut opt = make(&p, vec![("w".into(), w.clone())]).unwrap();
        let grads = w
            .as_tensor()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        opt.step(&grads, 1.0).unwrap();
        assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), vec![0.375, -0.125]);
    }
}
