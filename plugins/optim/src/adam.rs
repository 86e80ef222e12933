//! Adam (Kingma & Ba, 2015) with bias correction, AdamW (Loshchilov & Hutter, 2019), whose
//! weight decay is decoupled from the gradient, and AMSGrad (Reddi et al., 2018), which
//! normalises by the running maximum of the second moment, as PyTorch's `amsgrad=True` does.

use assay_sdk::optimizer::find_state;
use assay_sdk::prelude::*;

/// The hyperparameters, shared by the tensor and the host-memory paths.
#[derive(Clone, Copy)]
struct Hyper {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
}

impl Hyper {
    fn new(p: &Params, decoupled: bool) -> Result<Hyper> {
        Ok(Hyper {
            lr: p.f64("lr")?,
            beta1: p.f64("beta1")?,
            beta2: p.f64("beta2")?,
            eps: p.f64("eps")?,
            weight_decay: p.f64("weight_decay")?,
            decoupled,
        })
    }
}

struct Adam {
    params: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: u64,
    h: Hyper,
    /// AMSGrad's running maximum of `v`, when enabled.
    vmax: Option<Vec<Tensor>>,
}

impl Optimizer for Adam {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        self.t += 1;
        let lr = self.h.lr * lr_scale;
        let bc1 = 1.0 - self.h.beta1.powi(self.t as i32);
        let bc2 = 1.0 - self.h.beta2.powi(self.t as i32);
        for (i, (_, var)) in self.params.iter().enumerate() {
            let Some(g) = grads.get(var) else { continue };
            // Detached: state computed from a tracked gradient would keep every step's graph alive.
            let mut g = g.detach();
            let mut theta = var.as_tensor().detach();
            if self.h.weight_decay != 0.0 {
                if self.h.decoupled {
                    theta = (&theta * (1.0 - lr * self.h.weight_decay))?;
                } else {
                    g = (g + (&theta * self.h.weight_decay)?)?;
                }
            }
            self.m[i] = ((&self.m[i] * self.h.beta1)? + (&g * (1.0 - self.h.beta1))?)?;
            self.v[i] = ((&self.v[i] * self.h.beta2)? + (g.sqr()? * (1.0 - self.h.beta2))?)?;
            let v = match &mut self.vmax {
                Some(vmax) => {
                    vmax[i] = vmax[i].maximum(&self.v[i])?;
                    &vmax[i]
                }
                None => &self.v[i],
            };
            let m_hat = (&self.m[i] / bc1)?;
            let denom = ((v.sqrt()? / bc2.sqrt())? + self.h.eps)?;
            var.set(&(theta - ((m_hat / denom)? * lr)?)?)?;
        }
        Ok(())
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![(
            "t".to_string(),
            Tensor::new(&[self.t as i64], &Device::Cpu)?,
        )];
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((format!("m.{name}"), self.m[i].clone()));
            out.push((format!("v.{name}"), self.v[i].clone()));
            if let Some(vmax) = &self.vmax {
                out.push((format!("vmax.{name}"), vmax[i].clone()));
            }
        }
        Ok(out)
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.t = find_state(state, "t")?.to_vec1::<i64>()?[0] as u64;
        for (i, (name, _)) in self.params.iter().enumerate() {
            self.m[i] = find_state(state, &format!("m.{name}"))?.clone();
            self.v[i] = find_state(state, &format!("v.{name}"))?.clone();
            if let Some(vmax) = &mut self.vmax {
                vmax[i] = find_state(state, &format!("vmax.{name}"))?.clone();
            }
        }
        Ok(())
    }
}

/// The same rule on host vectors, in the order of `tests/reference/optimizers.py`.
struct HostAdam {
    m: Vec<f32>,
    v: Vec<f32>,
    vmax: Option<Vec<f32>>,
    t: i32,
    h: Hyper,
}

impl HostOptimizer for HostAdam {
    fn step(&mut self, theta: &mut [f32], grad: &[f32], lr_scale: f64) -> Result<()> {
        self.t += 1;
        let lr = self.h.lr * lr_scale;
        let (b1, b2) = (self.h.beta1 as f32, self.h.beta2 as f32);
        let (c1, c2) = ((1.0 - self.h.beta1) as f32, (1.0 - self.h.beta2) as f32);
        let bc1 = (1.0 - self.h.beta1.powi(self.t)) as f32;
        let bc2 = (1.0 - self.h.beta2.powi(self.t)).sqrt() as f32;
        for i in 0..theta.len() {
            let mut g = grad[i];
            if self.h.weight_decay != 0.0 {
                if self.h.decoupled {
                    theta[i] *= (1.0 - lr * self.h.weight_decay) as f32;
                } else {
                    g += theta[i] * self.h.weight_decay as f32;
                }
            }
            self.m[i] = self.m[i] * b1 + g * c1;
            self.v[i] = self.v[i] * b2 + (g * g) * c2;
            let v = match &mut self.vmax {
                Some(vmax) => {
                    vmax[i] = vmax[i].max(self.v[i]);
                    vmax[i]
                }
                None => self.v[i],
            };
            let denom = v.sqrt() / bc2 + self.h.eps as f32;
            theta[i] -= (self.m[i] / bc1 / denom) * lr as f32;
        }
        Ok(())
    }
}

fn component(
    name: &str,
    decoupled: bool,
    amsgrad: bool,
    default_wd: f64,
    summary: &str,
) -> Component {
    Component::optimizer(name, "0.1.0", move |p, params| {
        let zeros = || -> Result<Vec<Tensor>> {
            params
                .iter()
                .map(|(_, v)| Ok(v.as_tensor().zeros_like()?))
                .collect()
        };
        Ok(Box::new(Adam {
            m: zeros()?,
            v: zeros()?,
            vmax: if amsgrad { Some(zeros()?) } else { None },
            params,
            t: 0,
            h: Hyper::new(p, decoupled)?,
        }))
    })
    .summary(summary)
    .host_optimizer(move |p, dim| {
        Ok(Box::new(HostAdam {
            m: vec![0.0; dim],
            v: vec![0.0; dim],
            vmax: amsgrad.then(|| vec![0.0; dim]),
            t: 0,
            h: Hyper::new(p, decoupled)?,
        }))
    })
    .param(Param::float("lr", 1e-3, "learning rate").min(0.0))
    .param(Param::float("beta1", 0.9, "decay of the first moment").range(0.0, 1.0))
    .param(Param::float("beta2", 0.999, "decay of the second moment").range(0.0, 1.0))
    .param(Param::float("eps", 1e-8, "added to the denominator").min(0.0))
    .param(Param::float("weight_decay", default_wd, "weight decay").min(0.0))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(component(
        "adam",
        false,
        false,
        0.0,
        "Adam with bias correction; weight decay added to the gradient",
    ));
    r.add(component(
        "adamw",
        true,
        false,
        0.01,
        "AdamW: Adam with decoupled weight decay",
    ));
    r.add(component(
        "amsgrad",
        false,
        true,
        0.0,
        "AMSGrad: Adam normalised by the running maximum of v",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let mut found = Vec::new();
        register(&mut found);
        for c in &found {
            assay_sdk::conformance::check_optimizer_state_roundtrip(
                c,
                &[("weight_decay", Value::Float(0.1))],
                &[&[3], &[2, 2]],
                3,
            )
            .unwrap();
        }
    }

    #[test]
    fn first_adam_step_moves_each_weight_by_lr() {
        let mut found = Vec::new();
        register(&mut found);
        let Factory::Optimizer(make) = &found[0].factory else {
            unreachable!()
        };
        let w = Var::new(&[1.0f32, -2.0], &Device::Cpu).unwrap();
        let mut opt = make(
            &found[0].resolve(&[("lr", Value::Float(0.1))]).unwrap(),
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
        let got = w.as_tensor().to_vec1::<f32>().unwrap();
        assert!(
            (got[0] - 0.9).abs() < 1e-6 && (got[1] + 1.9).abs() < 1e-6,
            "{got:?}"
        );
    }
}
