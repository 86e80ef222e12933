//! Worked example: a probe component, registered and exercised.

use assay_sdk::prelude::*;

struct WeightNorms;

impl Probe for WeightNorms {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let mut obs = Observation::default();
        for (name, var) in cx.model.parameters() {
            let l2 = var
                .as_tensor()
                .sqr()?
                .sum_all()?
                .sqrt()?
                .to_scalar::<f32>()?;
            obs = obs.metric(format!("weights/l2/{name}"), f64::from(l2));
        }
        Ok(obs)
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("weight_norms", "0.1.0", |_p, _cx| Ok(Box::new(WeightNorms)))
            .summary("L2 norm of each parameter"),
    );
}

/// A model with one parameter, to observe.
#[cfg(test)]
struct Fixed(Var);

#[cfg(test)]
impl Model for Fixed {
    fn forward(&self, x: &Tensor, _hooks: &mut Hooks) -> Result<Tensor> {
        Ok(x.broadcast_mul(self.0.as_tensor())?)
    }
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![("w".into(), self.0.clone())]
    }
}

/// A dataset with no examples.
#[cfg(test)]
struct Empty;

#[cfg(test)]
impl Dataset for Empty {
    fn info(&self) -> DataInfo {
        DataInfo::features(vec![2], Objective::Regression { outputs: 2 })
    }
    fn len(&self, _split: Split) -> usize {
        0
    }
    fn batch(&self, _split: Split, _indices: &[usize], _device: &Device) -> Result<Batch> {
        Err(PluginError::invalid("empty"))
    }
}

#[test]
fn registers_and_works() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    let mut probe = found[0].build_probe(
        &[],
        &BuildContext {
            seed: 0,
            device: Device::Cpu,
        },
    )?;
    let model = Fixed(Var::new(&[3.0f32, 4.0], &Device::Cpu)?);
    let cx = ProbeContext {
        step: 7,
        is_final: false,
        model: &model,
        dataset: &Empty,
        device: &Device::Cpu,
    };
    let obs = probe.observe(&cx)?;
    assert_eq!(obs.metrics, vec![Metric::new("weights/l2/w", 5.0)]);
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
