//! signSGD with momentum.

use assay_sdk::prelude::*;

struct Signum {
    params: Vec<Parameter>,
    momentum: Vec<Tensor>,
    lr: f64,
    beta: f64,
    weight_decay: f64,
}

impl Optimizer for Signum {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        let lr = self.lr * lr_scale;
        for (p, m) in self.params.iter().zip(self.momentum.iter_mut()) {
            let Some(g) = grads.get(&p.var) else { continue };
            // Detached: state computed from a tracked gradient would keep every step's graph alive.
            let g = &g.detach();
            *m = ((&*m * self.beta)? + (g * (1.0 - self.beta))?)?;
            // Decoupled decay, scaled for the parameter's group (0 for roles the spec exempts).
            let decay = 1.0 - lr * self.weight_decay * p.weight_decay_scale;
            let w = (p.var.as_tensor().detach() * decay)?;
            p.var.set(&(w - (m.sign()? * lr)?)?)?;
        }
        Ok(())
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut state = NamedState::new();
        for (p, m) in self.params.iter().zip(&self.momentum) {
            state.put("momentum", &p.name, m.clone());
        }
        Ok(state.into_vec())
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        for (p, m) in self.params.iter().zip(self.momentum.iter_mut()) {
            *m = NamedState::get(state, "momentum", &p.name)?.clone();
        }
        Ok(())
    }
}

/// The parameters of `signum`.
#[derive(Debug, Params)]
struct SignumParams {
    /// Step size.
    #[param(default = 1e-3, min = 0.0)]
    lr: f64,
    /// Momentum.
    #[param(default = 0.9, range = (0.0, 1.0))]
    beta: f64,
    /// Decoupled weight decay.
    #[param(default = 0.0, min = 0.0)]
    weight_decay: f64,
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::optimizer_with("signum", "0.1.0", |p: SignumParams, params| {
            let momentum = params
                .iter()
                .map(|p| Ok(p.var.as_tensor().zeros_like()?))
                .collect::<Result<_>>()?;
            Ok(Box::new(Signum {
                params,
                momentum,
                lr: p.lr,
                beta: p.beta,
                weight_decay: p.weight_decay,
            }))
        })
        .summary("signSGD with momentum (Bernstein et al., 2018)"),
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
        let w = Var::new(&[0.5f32, -0.25], &Device::Cpu).unwrap();
        let mut opt = found[0]
            .build_optimizer(
                &[("lr", Value::Float(0.125))],
                vec![("w".into(), w.clone())],
            )
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
        assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), vec![0.375, -0.125]);
    }
}
