//! Summary statistics of every parameter.

use assay_sdk::prelude::*;

struct WeightStats;

impl Probe for WeightStats {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let (mut names, mut means, mut stds, mut maxabs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut total_sq = 0.0f64;
        for (name, var) in cx.model.parameters() {
            let v: Vec<f32> = var
                .as_tensor()
                .flatten_all()?
                .to_dtype(DType::F32)?
                .to_vec1()?;
            let n = v.len().max(1) as f64;
            let mean = v.iter().map(|x| f64::from(*x)).sum::<f64>() / n;
            let sq = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>();
            total_sq += sq;
            names.push(Some(name));
            means.push(Some(mean));
            stds.push(Some((sq / n - mean * mean).max(0.0).sqrt()));
            maxabs.push(Some(
                v.iter().fold(0.0f64, |m, x| m.max(f64::from(x.abs()))),
            ));
        }
        Ok(Observation::default()
            .metric("weights/l2_total", total_sq.sqrt())
            .table(
                Table::new("weight_stats")
                    .column("parameter", Column::Str(names))
                    .column("mean", Column::F64(means))
                    .column("std", Column::F64(stds))
                    .column("max_abs", Column::F64(maxabs)),
            ))
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("weight_stats", "0.1.0", |_p, _cx| Ok(Box::new(WeightStats)))
            .summary("mean, std and largest magnitude of each parameter; total L2 norm"),
    );
}
