//! Worked example: a model component, registered and exercised.

use assay_sdk::prelude::*;

struct Linear {
    w: Var,
    b: Var,
}

impl Model for Linear {
    fn forward(&self, x: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        let logits = x
            .matmul(self.w.as_tensor())?
            .broadcast_add(self.b.as_tensor())?;
        hooks.point(hook_names::LOGITS, logits)
    }
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![("w".into(), self.w.clone()), ("b".into(), self.b.clone())]
    }
    fn hook_points(&self) -> Vec<String> {
        vec![hook_names::LOGITS.into()]
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::model("linear", "0.1.0", |_p, cx| {
            let inputs = cx.data.input_shape.iter().product::<usize>();
            let outputs = cx.data.objective.outputs();
            let mut rng = cx.build.rng("linear");
            let w = init::kaiming_uniform(&mut rng, inputs, &[inputs, outputs], &cx.build.device)?;
            let b = Tensor::zeros(outputs, DType::F32, &cx.build.device)?;
            Ok(Box::new(Linear {
                w: Var::from_tensor(&w)?,
                b: Var::from_tensor(&b)?,
            }))
        })
        .summary("logistic regression"),
    );
}

#[test]
fn registers_and_works() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    let cx = ModelContext {
        build: BuildContext {
            seed: 0,
            device: Device::Cpu,
        },
        data: DataInfo::features(vec![4], Objective::Classification { classes: 3 }),
    };
    let model = found[0].build_model(&[], &cx)?;
    let out = model.forward(
        &Tensor::ones((2, 4), DType::F32, &Device::Cpu)?,
        &mut Hooks::none(),
    )?;
    assert_eq!(out.dims(), &[2, 3]);
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
