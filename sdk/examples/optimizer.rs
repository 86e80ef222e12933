//! Worked example: an optimizer component, registered and exercised.

use assay_sdk::prelude::*;

struct SignMomentum {
    params: Vec<Parameter>,
    buf: Vec<Tensor>,
    lr: f64,
    beta: f64,
}

impl Optimizer for SignMomentum {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        for (p, buf) in self.params.iter().zip(self.buf.iter_mut()) {
            let var = &p.var;
            let Some(g) = grads.get(var) else { continue };
            // Detached: state computed from a tracked gradient would keep every step's graph alive.
            let g = &g.detach();
            *buf = ((&*buf * self.beta)? + (g * (1.0 - self.beta))?)?;
            var.set(&(var.as_tensor() - (buf.sign()? * (self.lr * lr_scale))?)?)?;
        }
        Ok(())
    }
    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut state = NamedState::new();
        for (p, b) in self.params.iter().zip(&self.buf) {
            state.put("buf", &p.name, b.clone());
        }
        Ok(state.into_vec())
    }
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        for (p, buf) in self.params.iter().zip(self.buf.iter_mut()) {
            *buf = NamedState::get(state, "buf", &p.name)?.clone();
        }
        Ok(())
    }
}

/// The parameters, declared once: names, types, defaults, bounds and docs come from the fields.
#[derive(Debug, Params)]
struct SignMomentumParams {
    /// Step size.
    #[param(default = 1e-3, min = 0.0)]
    lr: f64,
    /// Momentum.
    #[param(default = 0.9, range = (0.0, 1.0))]
    beta: f64,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::optimizer_with("sign_momentum", "0.1.0", |p: SignMomentumParams, params| {
            let buf = params
                .iter()
                .map(|p| p.var.zeros_like())
                .collect::<assay_sdk::candle::Result<_>>()?;
            Ok(Box::new(SignMomentum {
                params,
                buf,
                lr: p.lr,
                beta: p.beta,
            }))
        })
        .summary("sign of an exponential moving average of gradients"),
    );
}

#[test]
fn registers_and_works() -> Result<()> {
    // Two steps on f(w) = sum(w^2):
    let mut found = Vec::new();
    register(&mut found);
    let w = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
    let mut opt =
        found[0].build_optimizer(&[("lr", Value::Float(0.5))], vec![("w".into(), w.clone())])?;
    for _ in 0..2 {
        let grads = w.as_tensor().sqr()?.sum_all()?.backward()?;
        opt.step(&grads, 1.0)?;
    }
    assert_eq!(w.as_tensor().to_vec1::<f32>()?, vec![0.0, -1.0]);
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
