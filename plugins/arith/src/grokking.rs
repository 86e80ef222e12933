//! The `grokking` probe: when a run memorises and when it generalises.
//!
//! Each time it runs it measures accuracy on the full train and test splits and remembers the
//! first step at which train accuracy reached `train_threshold` (1.0) and test accuracy reached
//! `test_threshold` (0.95). After the last step it emits the run-level table `grokking` with the
//! columns `train_acc_1_step` and `test_acc_095_step` (null where never reached). The steps are
//! as fine as the probe's schedule: give it `every` equal to the run's `eval_every`.

use assay_sdk::prelude::*;

struct Grokking {
    train_threshold: f64,
    test_threshold: f64,
    memorised: Option<u64>,
    generalised: Option<u64>,
}

fn accuracy(cx: &ProbeContext<'_>, split: Split) -> Result<Option<f64>> {
    let n = cx.dataset.len(split);
    if n == 0 {
        return Ok(None);
    }
    let mut correct = 0.0;
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(4096) {
        let batch = cx.dataset.batch(split, chunk, cx.device)?;
        let logits = cx.model.forward(&batch.input, &mut Hooks::none())?;
        let hits = logits
            .argmax(D::Minus1)?
            .eq(&batch.target)?
            .to_dtype(DType::F64)?
            .sum_all()?;
        correct += hits.to_scalar::<f64>()?;
    }
    Ok(Some(correct / n as f64))
}

impl Probe for Grokking {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        if self.memorised.is_none()
            && accuracy(cx, Split::Train)?.is_some_and(|a| a >= self.train_threshold - 1e-12)
        {
            self.memorised = Some(cx.step);
        }
        if self.generalised.is_none()
            && accuracy(cx, Split::Test)?.is_some_and(|a| a >= self.test_threshold)
        {
            self.generalised = Some(cx.step);
        }
        let mut obs = Observation::default();
        if cx.is_final {
            obs = obs.table(
                Table::new("grokking")
                    .column(
                        "train_acc_1_step",
                        Column::I64(vec![self.memorised.map(|s| s as i64)]),
                    )
                    .column(
                        "test_acc_095_step",
                        Column::I64(vec![self.generalised.map(|s| s as i64)]),
                    ),
            );
        }
        Ok(obs)
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("grokking", "0.1.0", |p, _cx| {
            Ok(Box::new(Grokking {
                train_threshold: p.f64("train_threshold")?,
                test_threshold: p.f64("test_threshold")?,
                memorised: None,
                generalised: None,
            }))
        })
        .summary("first steps at which train accuracy reaches 1.0 and test accuracy 0.95 (table `grokking`)")
        .param(Param::float("train_threshold", 1.0, "train accuracy that counts as memorised").range(0.0, 1.0))
        .param(Param::float("test_threshold", 0.95, "test accuracy that counts as generalised").range(0.0, 1.0)),
    );
}
