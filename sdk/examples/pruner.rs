//! Worked example: a pruner component that keeps the entries farthest from their matrix's mean,
//! registered and exercised the way the host uses it.

use assay_sdk::prelude::*;

struct Outliers;

impl Pruner for Outliers {
    fn scores(&mut self, cx: &mut PruneContext<'_>) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        for (name, var) in &cx.parameters {
            let w = var.as_tensor();
            let mean = w.mean_all()?;
            out.push((name.clone(), w.broadcast_sub(&mean)?.abs()?));
        }
        Ok(out)
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::pruner("outliers", "0.1.0", |_p, _cx| Ok(Box::new(Outliers)))
            .summary("keeps the entries farthest from their matrix's mean"),
    );
}

#[test]
fn registers_and_works() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    let cx = BuildContext {
        seed: 0,
        device: Device::Cpu,
    };
    let mut pruner = found[0].build_pruner(&[], &cx)?;
    let w = Var::new(&[[0.0f32, 1.0], [2.0, 9.0]], &Device::Cpu)?;
    let mut output = || -> Result<Tensor> { Ok(w.as_tensor().sum_all()?) };
    let loss = |o: &Tensor| -> Result<Tensor> { Ok(o.clone()) };
    let mut pcx = PruneContext {
        parameters: vec![("w".into(), w.clone())],
        output: &mut output,
        loss: &loss,
        keep: 0.5,
        rng: cx.rng("outliers"),
        device: Device::Cpu,
    };
    let scores = pruner.scores(&mut pcx)?;
    // What the host does next: keep half of the entries globally, then hold the mask.
    let mask = Mask::keep_top(&scores, 0.5)?;
    mask.apply(&[("w".into(), w.clone())])?;
    assert_eq!(
        w.as_tensor().to_vec2::<f32>()?,
        vec![vec![0.0, 0.0], vec![0.0, 9.0]]
    );
    assert_eq!(mask.kept()?, 2);
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
