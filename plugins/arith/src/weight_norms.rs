//! The `weight_norms` probe: L1 and L2 norm of every parameter, and over all of them.
//!
//! Metrics `weights/l1/NAME`, `weights/l2/NAME`, `weights/l1_total`, `weights/l2_total`.

use assay_sdk::prelude::*;

struct WeightNorms;

impl Probe for WeightNorms {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let mut obs = Observation::default();
        let (mut l1, mut l2sq) = (0.0f64, 0.0f64);
        for (name, var) in cx.model.parameters() {
            let t = var.as_tensor().to_dtype(DType::F64)?;
            let a = t.abs()?.sum_all()?.to_scalar::<f64>()?;
            let s = t.sqr()?.sum_all()?.to_scalar::<f64>()?;
            l1 += a;
            l2sq += s;
            obs = obs
                .metric(format!("weights/l1/{name}"), a)
                .metric(format!("weights/l2/{name}"), s.sqrt());
        }
        Ok(obs
            .metric("weights/l1_total", l1)
            .metric("weights/l2_total", l2sq.sqrt()))
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("weight_norms", "0.1.0", |_p, _cx| Ok(Box::new(WeightNorms)))
            .summary("L1 and L2 norm of every parameter and in total"),
    );
}
