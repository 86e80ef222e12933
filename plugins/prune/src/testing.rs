//! A one-matrix fixture with closed-form gradients, for the pruners' unit tests.

use assay_sdk::prelude::*;

pub(crate) struct Fixture {
    pub parameters: Vec<(String, Var)>,
    pub x: Tensor,
}

impl Fixture {
    pub fn new() -> Fixture {
        let mut rng = init::rng(7, "fixture");
        let w = init::normal(&mut rng, &[3, 4], 0.0, 1.0, &Device::Cpu).unwrap();
        let x = init::normal(&mut rng, &[4, 1], 0.0, 1.0, &Device::Cpu).unwrap();
        Fixture {
            parameters: vec![("w".into(), Var::from_tensor(&w).unwrap())],
            x,
        }
    }

    fn w(&self) -> Tensor {
        self.parameters[0].1.as_tensor().detach()
    }

    /// W ⊙ dL/dW for L = sum((W x)^2) / 2.
    pub fn expected_weight_times_gradient(&self) -> Tensor {
        let g = self
            .w()
            .matmul(&self.x)
            .unwrap()
            .matmul(&self.x.t().unwrap())
            .unwrap();
        self.w().mul(&g).unwrap()
    }

    /// W ⊙ H g for L = sum((W x / T)^2) / 2.
    pub fn expected_grasp(&self, t: f64) -> Tensor {
        let xxt = self.x.matmul(&self.x.t().unwrap()).unwrap();
        let g = (self.w().matmul(&xxt).unwrap() / (t * t)).unwrap();
        let hg = (g.matmul(&xxt).unwrap() / (t * t)).unwrap();
        self.w().mul(&hg).unwrap()
    }
}

pub(crate) fn scores_with(
    name: &str,
    f: &Fixture,
    keep: f64,
    given: &[(&str, i64)],
) -> Vec<(String, Tensor)> {
    let mut found: Vec<Component> = Vec::new();
    crate::register(&mut found);
    let c = found.iter().find(|c| c.name == name).unwrap();
    let Factory::Pruner(make) = &c.factory else {
        panic!("{name} is not a pruner")
    };
    let given: Vec<(&str, Value)> = given.iter().map(|(k, v)| (*k, Value::Int(*v))).collect();
    let bcx = BuildContext {
        seed: 3,
        device: Device::Cpu,
    };
    let mut pruner = make(&c.resolve(&given).unwrap(), &bcx).unwrap();
    let w = f.parameters[0].1.clone();
    let x = f.x.clone();
    let mut output = move || -> Result<Tensor> { Ok(w.as_tensor().matmul(&x)?) };
    let loss = |o: &Tensor| -> Result<Tensor> { Ok((o.sqr()?.sum_all()? * 0.5)?) };
    let mut cx = PruneContext {
        parameters: f.parameters.clone(),
        output: &mut output,
        loss: &loss,
        keep,
        rng: bcx.rng(name),
        device: Device::Cpu,
    };
    let s = pruner.scores(&mut cx).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1.dims(), f.parameters[0].1.dims());
    s
}

pub(crate) fn scores_of(name: &str, f: &Fixture, keep: f64) -> Vec<(String, Tensor)> {
    scores_with(name, f, keep, &[])
}
