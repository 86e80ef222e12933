//! Adam (Kingma & Ba, 2015) with bias correction, AdamW (Loshchilov & Hutter, 2019), whose
//! weight decay is decoupled from the gradient, and AMSGrad (Reddi et al., 2018), which
//! normalises by the running maximum of the second moment, as PyTorch's `amsgrad=True` does.

use assay_sdk::optimizer::{find_state, update_in_place};
use assay_sdk::prelude::*;
use assay_sdk::rayon::prelude::*;

/// Elements from which one parameter's update spreads over the thread pool.
const PARALLEL_FROM: usize = 1 << 15;

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

    /// The hyperparameters for one parameter: its weight decay scaled by the spec's groups.
    fn for_parameter(&self, p: &Parameter) -> Hyper {
        Hyper {
            weight_decay: self.weight_decay * p.weight_decay_scale,
            ..*self
        }
    }
}

/// One parameter's moments: tensors on accelerators, plain vectors on the CPU, where one fused
/// loop over the elements replaces a dozen tensor operations per step (each allocating its
/// result), which were a third of a small model's training step.
enum Moments {
    Tensors {
        m: Tensor,
        v: Tensor,
        vmax: Option<Tensor>,
    },
    Host {
        m: Vec<f32>,
        v: Vec<f32>,
        vmax: Option<Vec<f32>>,
    },
}

impl Moments {
    fn zeros(var: &Var, amsgrad: bool) -> Result<Moments> {
        if var.device().is_cpu() && var.dtype() == DType::F32 {
            let n = var.elem_count();
            return Ok(Moments::Host {
                m: vec![0.0; n],
                v: vec![0.0; n],
                vmax: amsgrad.then(|| vec![0.0; n]),
            });
        }
        let z = || var.as_tensor().zeros_like();
        Ok(Moments::Tensors {
            m: z()?,
            v: z()?,
            vmax: if amsgrad { Some(z()?) } else { None },
        })
    }
}

struct Adam {
    params: Vec<Parameter>,
    moments: Vec<Moments>,
    t: u64,
    h: Hyper,
}

/// The update of one step on host vectors, in the order of `tests/reference/optimizers.py`;
/// `t` is the 1-based step. Generic over the precision: in `f32` it is the fused CPU path of
/// the tensor optimizer too.
#[allow(clippy::too_many_arguments)]
fn update<F: HostFloat>(
    h: &Hyper,
    t: u64,
    lr_scale: f64,
    theta: &mut [F],
    grad: &[F],
    m: &mut [F],
    v: &mut [F],
    vmax: Option<&mut [F]>,
) {
    // Each element's update depends on that element alone: large parameters split into runs
    // over the pool, which leaves the bits as they are.
    let n = theta.len();
    let threads = assay_sdk::rayon::current_num_threads();
    if n >= PARALLEL_FROM && threads > 1 {
        let per = n.div_ceil(threads);
        let runs = theta
            .par_chunks_mut(per)
            .zip(grad.par_chunks(per))
            .zip(m.par_chunks_mut(per))
            .zip(v.par_chunks_mut(per));
        match vmax {
            None => runs.for_each(|(((theta, grad), m), v)| {
                update_run(h, t, lr_scale, theta, grad, m, v, None)
            }),
            Some(vmax) => {
                runs.zip(vmax.par_chunks_mut(per))
                    .for_each(|((((theta, grad), m), v), vmax)| {
                        update_run(h, t, lr_scale, theta, grad, m, v, Some(vmax))
                    })
            }
        }
        return;
    }
    update_run(h, t, lr_scale, theta, grad, m, v, vmax)
}

/// [`update`] on one run of elements.
#[allow(clippy::too_many_arguments)]
fn update_run<F: HostFloat>(
    h: &Hyper,
    t: u64,
    lr_scale: f64,
    theta: &mut [F],
    grad: &[F],
    m: &mut [F],
    v: &mut [F],
    vmax: Option<&mut [F]>,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { update_avx2(h, t, lr_scale, theta, grad, m, v, vmax) };
        return;
    }
    update_body(h, t, lr_scale, theta, grad, m, v, vmax)
}

/// [`update`] compiled for AVX2: twice the lanes for the square root and divisions. The same
/// operations in the same order (no FMA contraction), so the same bits.
#[allow(clippy::too_many_arguments)]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_avx2<F: HostFloat>(
    h: &Hyper,
    t: u64,
    lr_scale: f64,
    theta: &mut [F],
    grad: &[F],
    m: &mut [F],
    v: &mut [F],
    vmax: Option<&mut [F]>,
) {
    update_body(h, t, lr_scale, theta, grad, m, v, vmax)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn update_body<F: HostFloat>(
    h: &Hyper,
    t: u64,
    lr_scale: f64,
    theta: &mut [F],
    grad: &[F],
    m: &mut [F],
    v: &mut [F],
    vmax: Option<&mut [F]>,
) {
    let lr = h.lr * lr_scale;
    let (b1, b2) = (F::from_f64(h.beta1), F::from_f64(h.beta2));
    let (c1, c2) = (F::from_f64(1.0 - h.beta1), F::from_f64(1.0 - h.beta2));
    let bc1 = F::from_f64(1.0 - h.beta1.powi(t as i32));
    let bc2 = F::from_f64((1.0 - h.beta2.powi(t as i32)).sqrt());
    let decay = F::from_f64(1.0 - lr * h.weight_decay);
    let (wd, eps, lr) = (
        F::from_f64(h.weight_decay),
        F::from_f64(h.eps),
        F::from_f64(lr),
    );
    // One loop per variant, each free of branches and bounds checks, so that it vectorises.
    let moments = |g: F, m: &mut F, v: &mut F| {
        *m = *m * b1 + g * c1;
        *v = *v * b2 + (g * g) * c2;
    };
    let step = |m: F, vi: F| (m / bc1 / (vi.sqrt() / bc2 + eps)) * lr;
    let coupled = h.weight_decay != 0.0 && !h.decoupled;
    if h.weight_decay != 0.0 && h.decoupled {
        theta.iter_mut().for_each(|t| *t *= decay);
    }
    let grad_at = |t: F, g: F| if coupled { g + t * wd } else { g };
    match vmax {
        None => {
            for (((t, &g), m), v) in theta.iter_mut().zip(grad).zip(m).zip(v) {
                moments(grad_at(*t, g), m, v);
                *t -= step(*m, *v);
            }
        }
        Some(vmax) => {
            for ((((t, &g), m), v), vx) in theta.iter_mut().zip(grad).zip(m).zip(v).zip(vmax) {
                moments(grad_at(*t, g), m, v);
                *vx = vx.max(*v);
                *t -= step(*m, *vx);
            }
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        self.t += 1;
        let lr = self.h.lr * lr_scale;
        let bc1 = 1.0 - self.h.beta1.powi(self.t as i32);
        let bc2 = 1.0 - self.h.beta2.powi(self.t as i32);
        for (p, moments) in self.params.iter().zip(self.moments.iter_mut()) {
            let var = &p.var;
            let h = self.h.for_parameter(p);
            let Some(g) = grads.get(var) else { continue };
            // Detached: state computed from a tracked gradient would keep every step's graph alive.
            let mut g = g.detach();
            match moments {
                Moments::Host { m, v, vmax } => {
                    let done = update_in_place(var, &g, |theta, grad| {
                        update(&h, self.t, lr_scale, theta, grad, m, v, vmax.as_deref_mut())
                    })?;
                    if !done {
                        // Host moments are made only for CPU f32 parameters, and a `Var` is
                        // always contiguous: unreachable unless a model hands over another.
                        return Err(PluginError::invalid(format!(
                            "adam: parameter `{}` is not a contiguous CPU f32 tensor",
                            p.name
                        )));
                    }
                }
                Moments::Tensors { m, v, vmax } => {
                    let mut theta = var.as_tensor().detach();
                    if h.weight_decay != 0.0 {
                        if h.decoupled {
                            theta = (&theta * (1.0 - lr * h.weight_decay))?;
                        } else {
                            g = (g + (&theta * h.weight_decay)?)?;
                        }
                    }
                    *m = ((&*m * self.h.beta1)? + (&g * (1.0 - self.h.beta1))?)?;
                    *v = ((&*v * self.h.beta2)? + (g.sqr()? * (1.0 - self.h.beta2))?)?;
                    let v = match vmax {
                        Some(vmax) => {
                            *vmax = vmax.maximum(&*v)?;
                            &*vmax
                        }
                        None => &*v,
                    };
                    let m_hat = (&*m / bc1)?;
                    let denom = ((v.sqrt()? / bc2.sqrt())? + self.h.eps)?;
                    var.set(&(theta - ((m_hat / denom)? * lr)?)?)?;
                }
            }
        }
        Ok(())
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![(
            "t".to_string(),
            Tensor::new(&[self.t as i64], &Device::Cpu)?,
        )];
        for (p, moments) in self.params.iter().zip(&self.moments) {
            let (name, var) = (&p.name, &p.var);
            let mut push = |key: &str, t: Tensor| out.push((format!("{key}.{name}"), t));
            match moments {
                Moments::Tensors { m, v, vmax } => {
                    push("m", m.clone());
                    push("v", v.clone());
                    if let Some(x) = vmax {
                        push("vmax", x.clone());
                    }
                }
                Moments::Host { m, v, vmax } => {
                    let t = |x: &[f32]| Tensor::from_slice(x, var.shape(), var.device());
                    push("m", t(m)?);
                    push("v", t(v)?);
                    if let Some(x) = vmax {
                        push("vmax", t(x)?);
                    }
                }
            }
        }
        Ok(out)
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.t = find_state(state, "t")?.to_vec1::<i64>()?[0] as u64;
        for (p, moments) in self.params.iter().zip(self.moments.iter_mut()) {
            let name = &p.name;
            let get = |key: &str| find_state(state, &format!("{key}.{name}"));
            match moments {
                Moments::Tensors { m, v, vmax } => {
                    *m = get("m")?.clone();
                    *v = get("v")?.clone();
                    if let Some(x) = vmax {
                        *x = get("vmax")?.clone();
                    }
                }
                Moments::Host { m, v, vmax } => {
                    let host = |t: &Tensor| t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>();
                    *m = host(get("m")?)?;
                    *v = host(get("v")?)?;
                    if let Some(x) = vmax {
                        *x = host(get("vmax")?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The same rule on host vectors, for online problems, in either precision.
struct HostAdam<F> {
    m: Vec<F>,
    v: Vec<F>,
    vmax: Option<Vec<F>>,
    t: u64,
    h: Hyper,
}

impl<F: HostFloat> HostAdam<F> {
    fn boxed(
        p: &Params,
        dim: usize,
        decoupled: bool,
        amsgrad: bool,
    ) -> Result<Box<dyn HostOptimizer>> {
        Ok(Box::new(HostAdam::<F> {
            m: vec![F::ZERO; dim],
            v: vec![F::ZERO; dim],
            vmax: amsgrad.then(|| vec![F::ZERO; dim]),
            t: 0,
            h: Hyper::new(p, decoupled)?,
        }))
    }
}

impl<F: HostFloat> HostOptimizer for HostAdam<F> {
    fn step(&mut self, iterate: Iterate<'_>, lr_scale: f64) -> Result<()> {
        let (theta, grad) = assay_sdk::online::iterate_as::<F>(iterate)?;
        self.t += 1;
        update(
            &self.h,
            self.t,
            lr_scale,
            theta,
            grad,
            &mut self.m,
            &mut self.v,
            self.vmax.as_deref_mut(),
        );
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
        let moments = params
            .iter()
            .map(|p| Moments::zeros(&p.var, amsgrad))
            .collect::<Result<_>>()?;
        Ok(Box::new(Adam {
            moments,
            params,
            t: 0,
            h: Hyper::new(p, decoupled)?,
        }))
    })
    .summary(summary)
    .host_optimizer(move |p, dim, precision| match precision {
        Precision::F32 => HostAdam::<f32>::boxed(p, dim, decoupled, amsgrad),
        Precision::F64 => HostAdam::<f64>::boxed(p, dim, decoupled, amsgrad),
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

    /// A large parameter's update split over a pool of three threads: the bits of one run over
    /// all elements, with and without the running maximum (AMSGrad), coupled and decoupled
    /// decay.
    #[test]
    fn an_update_split_over_the_pool_has_the_bits_of_one_run() {
        let n = PARALLEL_FROM * 2 + 13;
        let wave = |k: usize| -> Vec<f32> {
            (0..n)
                .map(|i| ((i * k % 1009) as f32 - 504.0) * 1.3e-3)
                .collect()
        };
        let pool = assay_sdk::rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for (decoupled, amsgrad) in [(true, false), (false, true)] {
            let h = Hyper {
                lr: 1e-2,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.1,
                decoupled,
            };
            let start = || {
                let vmax = amsgrad.then(|| wave(7).iter().map(|x| x * x).collect::<Vec<_>>());
                (
                    wave(3),
                    wave(5),
                    wave(11).iter().map(|x| x * x).collect(),
                    vmax,
                )
            };
            let grad = wave(13);
            let (mut t1, mut m1, mut v1, mut x1): (Vec<f32>, Vec<f32>, Vec<f32>, _) = start();
            pool.install(|| {
                update(
                    &h,
                    4,
                    0.5,
                    &mut t1,
                    &grad,
                    &mut m1,
                    &mut v1,
                    x1.as_deref_mut(),
                )
            });
            let (mut t2, mut m2, mut v2, mut x2): (Vec<f32>, Vec<f32>, Vec<f32>, _) = start();
            update_run(
                &h,
                4,
                0.5,
                &mut t2,
                &grad,
                &mut m2,
                &mut v2,
                x2.as_deref_mut(),
            );
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&t1), bits(&t2));
            assert_eq!(bits(&m1), bits(&m2));
            assert_eq!(bits(&v1), bits(&v2));
            assert_eq!(x1.as_deref().map(bits), x2.as_deref().map(bits));
        }
    }

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
            vec![Parameter::new("w", w.clone())],
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

#[cfg(test)]
mod group_tests {
    use super::*;

    /// AdamW's first step with gradient 1 moves every entry by -lr (bias-corrected moments are
    /// 1 and 1); the weight is also decayed by (1 - lr * wd), the exempt bias is not.
    #[test]
    fn parameters_exempt_from_decay_are_not_decayed() {
        let mut found = Vec::new();
        register(&mut found);
        let adamw = found.iter().find(|c| c.name == "adamw").unwrap();
        let w = Var::new(&[[1.0f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
        let b = Var::new(&[1.0f32, -1.0], &Device::Cpu).unwrap();
        let mut bias = Parameter::new("layer.bias", b.clone());
        assert_eq!(bias.role, Role::Bias);
        bias.weight_decay_scale = 0.0;
        let weight = Parameter::new("layer.w", w.clone());
        assert_eq!(weight.role, Role::Weight);
        let Factory::Optimizer(make) = &adamw.factory else {
            unreachable!()
        };
        let params = adamw
            .resolve(&[
                ("lr", Value::Float(0.1)),
                ("weight_decay", Value::Float(0.5)),
            ])
            .unwrap();
        let mut opt = make(&params, vec![weight, bias]).unwrap();
        let loss = (w.as_tensor().sum_all().unwrap() + b.as_tensor().sum_all().unwrap()).unwrap();
        opt.step(&loss.backward().unwrap(), 1.0).unwrap();
        let close = |got: Vec<f32>, want: &[f32]| {
            assert!(
                got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6),
                "{got:?} vs {want:?}"
            )
        };
        close(
            w.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
            &[0.85, 1.8, 2.75, 3.7],
        );
        close(b.as_tensor().to_vec1().unwrap(), &[0.9, -1.1]);
    }
}
