//! ADOPT (Taniguchi et al., NeurIPS 2024): Adam with the current gradient removed from the
//! second-moment estimate (decorrelation) and normalisation before momentum (reordering).
//!
//! Per element, as the authors' published PyTorch implementation (`adopt.py`, with `clip_lambda`)
//! computes it, in the same order and rounding:
//!
//! - first call: `v = g²`; the parameter does not move.
//! - every later call `t ≥ 1`:
//!   1. decoupled weight decay: `θ = θ − (lr·wd) θ`
//!   2. `ĝ = g / max(√v, ε)` (ε is a floor, not an added term; `v` is still `v_{t−1}`)
//!   3. `ĝ = clamp(ĝ, −t^¼, t^¼)` with `clip = "t^0.25"` (the default), nothing with `clip = "none"`
//!   4. `m = lerp(m, ĝ, 1 − β1)`, that is `m + (1 − β1)(ĝ − m)`, from `m = 0`, with or without
//!      clipping
//!   5. `θ = θ − lr m`
//!   6. `v = β2 v + (1 − β2) g²`
//! - coupled weight decay adds `wd θ` to `g` on every call, the first included.
//!
//! An older reading, in the authors' repository history (and the paper's first version), set
//! `m = ĝ` at the first update instead of blending it in from zero, and multiplied `θ` by
//! `1 − lr·wd`; runs made with assay's `adopt` before version 0.2.0 followed it.
//!
//! Two ablations of the paper, as `variant`:
//! - `no_decorrelation`: step 5 moves before step 1, so `v` already holds `g_t`.
//! - `no_reordering`: momentum of the raw gradient first, normalised after:
//!   `m = β1 m + (1 − β1) g`, `θ −= lr clamp(m / max(√v_{t−1}, ε))`.

use assay_sdk::optimizer::find_state;
use assay_sdk::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Choice)]
enum Variant {
    Adopt,
    NoDecorrelation,
    NoReordering,
}

/// Where the normalised gradient is clipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
enum Clip {
    /// At ±t^0.25 (the paper's default for stability).
    #[choice(name = "t^0.25")]
    QuarterPower,
    /// Not at all (`clip_lambda=None` in the published implementation).
    None,
}

/// The hyperparameters, shared by the tensor and the host-memory paths.
#[derive(Clone, Copy)]
struct Hyper {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    clip: bool,
    weight_decay: f64,
    decoupled: bool,
    variant: Variant,
}

impl Hyper {
    fn new(p: &Params) -> Result<Hyper> {
        Ok(Hyper {
            lr: p.f64("lr")?,
            beta1: p.f64("beta1")?,
            beta2: p.f64("beta2")?,
            eps: p.f64("eps")?,
            clip: assay_sdk::params::read::<Clip>(p, "clip")? != Clip::None,
            weight_decay: p.f64("weight_decay")?,
            decoupled: p.bool("decouple")?,
            variant: assay_sdk::params::read(p, "variant")?,
        })
    }
}

struct Adopt {
    params: Vec<Parameter>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Calls so far (the first only initialises `v`).
    t: u64,
    h: Hyper,
}

impl Adopt {
    fn normalise(&self, x: &Tensor, v: &Tensor) -> Result<Tensor> {
        let denom = v.sqrt()?.maximum(self.h.eps)?;
        let mut y = (x / denom)?;
        if self.h.clip {
            let c = (self.t as f64).powf(0.25);
            y = y.clamp(-c, c)?;
        }
        Ok(y)
    }

    fn ema(&self, old: &Tensor, new: &Tensor, beta: f64) -> Result<Tensor> {
        Ok(((old * beta)? + (new * (1.0 - beta))?)?)
    }

    /// The first moment moved towards `x` by `1 − β1`, rounded as `torch.lerp` rounds it.
    fn momentum(&self, m: &Tensor, x: &Tensor) -> Result<Tensor> {
        let w = 1.0 - self.h.beta1;
        if w < 0.5 {
            Ok((m + ((x - m)? * w)?)?)
        } else {
            Ok((x - ((x - m)? * (1.0 - w))?)?)
        }
    }
}

impl Optimizer for Adopt {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        let first = self.t == 0;
        let lr = self.h.lr * lr_scale;
        for i in 0..self.params.len() {
            let var = self.params[i].var.clone();
            let weight_decay = self.h.weight_decay * self.params[i].weight_decay_scale;
            let Some(g) = grads.get(&var) else { continue };
            // Detached: state computed from a tracked gradient would keep every step's graph alive.
            let mut g = g.detach();
            if weight_decay != 0.0 && !self.h.decoupled {
                g = (g + (var.as_tensor().detach() * weight_decay)?)?;
            }
            let g2 = g.sqr()?;
            if first {
                self.v[i] = g2;
                continue;
            }
            if self.h.variant == Variant::NoDecorrelation {
                self.v[i] = self.ema(&self.v[i], &g2, self.h.beta2)?;
            }
            let update = match self.h.variant {
                Variant::Adopt | Variant::NoDecorrelation => {
                    let gh = self.normalise(&g, &self.v[i])?;
                    self.m[i] = self.momentum(&self.m[i], &gh)?;
                    self.m[i].clone()
                }
                Variant::NoReordering => {
                    self.m[i] = self.momentum(&self.m[i], &g)?;
                    self.normalise(&self.m[i], &self.v[i])?
                }
            };
            let mut theta = var.as_tensor().detach();
            if weight_decay != 0.0 && self.h.decoupled {
                theta = (&theta - (&theta * (lr * weight_decay))?)?;
            }
            var.set(&(theta - (update * lr)?)?)?;
            if self.h.variant != Variant::NoDecorrelation {
                self.v[i] = self.ema(&self.v[i], &g2, self.h.beta2)?;
            }
        }
        self.t += 1;
        Ok(())
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![(
            "t".to_string(),
            Tensor::new(&[self.t as i64], &Device::Cpu)?,
        )];
        for (i, p) in self.params.iter().enumerate() {
            let name = &p.name;
            out.push((format!("m.{name}"), self.m[i].clone()));
            out.push((format!("v.{name}"), self.v[i].clone()));
        }
        Ok(out)
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.t = find_state(state, "t")?.to_vec1::<i64>()?[0] as u64;
        for (i, p) in self.params.iter().enumerate() {
            let name = &p.name;
            self.m[i] = find_state(state, &format!("m.{name}"))?.clone();
            self.v[i] = find_state(state, &format!("v.{name}"))?.clone();
        }
        Ok(())
    }
}

/// The same rule on host vectors, in the order of `tests/reference/optimizers.py`, in either
/// precision.
struct HostAdopt<F> {
    m: Vec<F>,
    v: Vec<F>,
    t: u64,
    h: Hyper,
}

impl<F: HostFloat> HostAdopt<F> {
    fn boxed(p: &Params, dim: usize) -> Result<Box<dyn HostOptimizer>> {
        Ok(Box::new(HostAdopt::<F> {
            m: vec![F::ZERO; dim],
            v: vec![F::ZERO; dim],
            t: 0,
            h: Hyper::new(p)?,
        }))
    }
}

impl<F: HostFloat> HostOptimizer for HostAdopt<F> {
    fn step(&mut self, iterate: Iterate<'_>, lr_scale: f64) -> Result<()> {
        let (theta, grad) = assay_sdk::online::iterate_as::<F>(iterate)?;
        let lr = self.h.lr * lr_scale;
        let (b2, c2) = (F::from_f64(self.h.beta2), F::from_f64(1.0 - self.h.beta2));
        let (eps, c) = (
            F::from_f64(self.h.eps),
            F::from_f64((self.t as f64).powf(0.25)),
        );
        let clip = self.h.clip;
        let normalise = |x: F, v: F| {
            let y = x / v.sqrt().max(eps);
            if clip {
                y.clamp(-c, c)
            } else {
                y
            }
        };
        // `torch.lerp(m, x, w)`, rounded as PyTorch rounds it.
        let w = 1.0 - self.h.beta1;
        let (fw, rest) = (F::from_f64(w), F::from_f64(1.0 - w));
        let momentum = |m: F, x: F| {
            if w < 0.5 {
                m + fw * (x - m)
            } else {
                x - (x - m) * rest
            }
        };
        let wd = F::from_f64(self.h.weight_decay);
        let decay = F::from_f64(lr * self.h.weight_decay);
        let lr = F::from_f64(lr);
        for i in 0..theta.len() {
            let mut g = grad[i];
            if self.h.weight_decay != 0.0 && !self.h.decoupled {
                g += theta[i] * wd;
            }
            let g2 = g * g;
            if self.t == 0 {
                self.v[i] = g2;
                continue;
            }
            if self.h.variant == Variant::NoDecorrelation {
                self.v[i] = self.v[i] * b2 + g2 * c2;
            }
            let update = match self.h.variant {
                Variant::Adopt | Variant::NoDecorrelation => {
                    let gh = normalise(g, self.v[i]);
                    self.m[i] = momentum(self.m[i], gh);
                    self.m[i]
                }
                Variant::NoReordering => {
                    self.m[i] = momentum(self.m[i], g);
                    normalise(self.m[i], self.v[i])
                }
            };
            if self.h.weight_decay != 0.0 && self.h.decoupled {
                theta[i] -= theta[i] * decay;
            }
            theta[i] -= update * lr;
            if self.h.variant != Variant::NoDecorrelation {
                self.v[i] = self.v[i] * b2 + g2 * c2;
            }
        }
        self.t += 1;
        Ok(())
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::optimizer("adopt", "0.2.0", |p, params| {
            let zeros = || -> Result<Vec<Tensor>> {
                params
                    .iter()
                    .map(|p| Ok(p.var.as_tensor().zeros_like()?))
                    .collect()
            };
            Ok(Box::new(Adopt {
                m: zeros()?,
                v: zeros()?,
                params,
                t: 0,
                h: Hyper::new(p)?,
            }))
        })
        .host_optimizer(|p, dim, precision| match precision {
            Precision::F32 => HostAdopt::<f32>::boxed(p, dim),
            Precision::F64 => HostAdopt::<f64>::boxed(p, dim),
        })
        .summary(
            "ADOPT (Taniguchi et al., 2024): decorrelated second moment, normalise then average",
        )
        .param(Param::float("lr", 1e-3, "learning rate").min(0.0))
        .param(Param::float("beta1", 0.9, "momentum").range(0.0, 1.0))
        .param(Param::float("beta2", 0.9999, "decay of the second moment").range(0.0, 1.0))
        .param(Param::float("eps", 1e-6, "floor under sqrt(v)").min(0.0))
        .param(assay_sdk::params::declare::<Clip>(
            "clip",
            Some("t^0.25".into()),
            "clip the normalised gradient at t^0.25, or `none` (the published implementation with clip_lambda=None)",
        ))
        .param(Param::float("weight_decay", 0.0, "weight decay").min(0.0))
        .param(Param::bool(
            "decouple",
            false,
            "decoupled weight decay (theta -= (lr wd) theta before each update) instead of wd theta added to g",
        ))
        .param(assay_sdk::params::declare::<Variant>(
            "variant",
            Some("adopt".into()),
            "the algorithm or one of the paper's ablations",
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(given: &[(&str, Value)], w: &Var) -> Box<dyn Optimizer> {
        let mut found = Vec::new();
        register(&mut found);
        let Factory::Optimizer(f) = &found[0].factory else {
            unreachable!()
        };
        f(
            &found[0].resolve(given).unwrap(),
            vec![Parameter::new("w", w.clone())],
        )
        .unwrap()
    }

    fn grads(w: &Var, g: &[f32]) -> GradStore {
        let gt = Tensor::new(g, &Device::Cpu).unwrap();
        (w.as_tensor() * gt)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
    }

    #[test]
    fn the_first_step_leaves_the_parameters_alone() {
        let w = Var::new(&[0.5f32, -1.0], &Device::Cpu).unwrap();
        let mut opt = make(&[], &w);
        opt.step(&grads(&w, &[3.0, -4.0]), 1.0).unwrap();
        assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), vec![0.5, -1.0]);
    }

    #[test]
    fn clipped_steps_move_at_most_lr_times_the_clip() {
        let w = Var::new(&[0.0f32; 3], &Device::Cpu).unwrap();
        let lr = 0.01;
        let mut opt = make(
            &[("lr", Value::Float(lr)), ("beta1", Value::Float(0.0))],
            &w,
        );
        opt.step(&grads(&w, &[1e-3, 1e-3, 1e-3]), 1.0).unwrap();
        for t in 1..20u32 {
            let before = w.as_tensor().to_vec1::<f32>().unwrap();
            // Huge gradients against a tiny v: the normalised value is clipped at t^0.25.
            opt.step(&grads(&w, &[1e3, -1e3, 5e2]), 1.0).unwrap();
            let after = w.as_tensor().to_vec1::<f32>().unwrap();
            let c = f64::from(t).powf(0.25);
            for (a, b) in before.iter().zip(&after) {
                assert!(
                    f64::from((a - b).abs()) <= lr * c * (1.0 + 1e-5),
                    "t={t}: moved {}",
                    (a - b).abs()
                );
            }
        }
    }

    #[test]
    fn state_round_trips_for_every_variant() {
        let mut found = Vec::new();
        register(&mut found);
        for variant in ["adopt", "no_decorrelation", "no_reordering"] {
            for clip in ["t^0.25", "none"] {
                assay_sdk::conformance::check_optimizer_state_roundtrip(
                    &found[0],
                    &[
                        ("variant", Value::Str(variant.into())),
                        ("clip", Value::Str(clip.into())),
                        ("weight_decay", Value::Float(0.1)),
                    ],
                    &[&[3], &[2, 2]],
                    3,
                )
                .unwrap();
            }
        }
    }

    /// Runs the host rule for 100 steps on a quadratic pulling towards a target, with
    /// decoupled weight decay and no clipping, in precision `F`.
    fn host_trajectory<F: HostFloat>() -> Vec<f64> {
        let found = {
            let mut found = Vec::new();
            register(&mut found);
            found
        };
        let params = found[0]
            .resolve(&[
                ("lr", Value::Float(1e-2)),
                ("clip", Value::Str("none".into())),
                ("weight_decay", Value::Float(0.5)),
                ("decouple", Value::Bool(true)),
            ])
            .unwrap();
        let mut opt = HostAdopt::<F>::boxed(&params, 6).unwrap();
        let target = [0.3, -1.1, 2.5, 0.0, 0.7, -0.2];
        let mut theta: Vec<F> = [0.5, -1.5, 2.0, 0.0, 1e-3, -0.25]
            .iter()
            .map(|&x| F::from_f64(x))
            .collect();
        for _ in 0..100 {
            let grad: Vec<F> = theta
                .iter()
                .zip(target)
                .map(|(&t, c)| t - F::from_f64(c))
                .collect();
            opt.step(F::iterate(&mut theta, &grad), 1.0).unwrap();
        }
        theta.iter().map(|x| x.to_f64()).collect()
    }

    #[test]
    fn decoupled_decay_in_f32_stays_within_5e7_of_f64_over_100_steps() {
        let (a, b) = (host_trajectory::<f32>(), host_trajectory::<f64>());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "f32 drifts {worst:e} from f64");
    }
}
