//! The components of a training run, built from its spec.

use anyhow::{anyhow, bail, Context};
use assay_catalog::guard::{GuardedDataset, GuardedModel};
use assay_sdk::prelude::*;
use assay_spec::{ProbeSchedule, Spec};

/// Everything built for a run.
pub(crate) struct Parts {
    pub device: Device,
    pub dataset: GuardedDataset,
    pub model: GuardedModel,
    pub optimizer: Box<dyn Optimizer>,
    pub probes: Vec<(ProbeSchedule, Box<dyn Probe>)>,
}

/// The dataset and model of a training spec, built as a run builds them (fresh weights), and the
/// device: what `assay generate` loads a finished run's checkpoint into.
pub fn build_data_and_model(spec: &Spec) -> anyhow::Result<(GuardedDataset, GuardedModel, Device)> {
    let parts = build(spec)?;
    Ok((parts.dataset, parts.model, parts.device))
}

/// The dataset of a training spec and the device, without building anything else: what
/// `assay cache --dataset` reads examples from.
pub fn build_dataset(spec: &Spec) -> anyhow::Result<(GuardedDataset, Device)> {
    let device = assay_spec::device::open(&spec.device).map_err(|m| anyhow!("device: {m}"))?;
    let Some(dspec) = &spec.dataset else {
        bail!("the spec has no [dataset]");
    };
    let d = &dspec.entry;
    let cx = BuildContext {
        seed: spec.seed,
        device: device.clone(),
    };
    let dataset = d
        .build_dataset(&dspec.params, &cx)
        .with_context(|| format!("building {}", d.label()))?;
    Ok((dataset, device))
}

/// Builds every component of a training spec, each from the catalog entry it was resolved
/// against.
pub(crate) fn build(spec: &Spec) -> anyhow::Result<Parts> {
    let device = assay_spec::device::open(&spec.device).map_err(|m| anyhow!("device: {m}"))?;
    let cx = BuildContext {
        seed: spec.seed,
        device: device.clone(),
    };
    let (Some(dspec), Some(mspec)) = (&spec.dataset, &spec.model) else {
        bail!("a training run needs [dataset] and [model]");
    };
    let d = &dspec.entry;
    let dataset = d
        .build_dataset(&dspec.params, &cx)
        .with_context(|| format!("building {}", d.label()))?;
    if dataset.len(Split::Train) == 0 {
        bail!("{} has no training examples", d.label());
    }
    let m = &mspec.entry;
    let model = m
        .build_model(
            &mspec.params,
            &ModelContext {
                build: cx.clone(),
                data: dataset.info(),
            },
        )
        .with_context(|| format!("building {}", m.label()))?;
    let ospec = spec
        .optimizer
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no [optimizer]"))?;
    let o = &ospec.entry;
    let optimizer = o
        .build_optimizer(
            &ospec.params,
            assay_catalog::optimizer_parameters(&model, &spec.no_decay),
        )
        .with_context(|| format!("building {}", o.label()))?;
    let mut probes = Vec::new();
    for p in &spec.probes {
        let e = &p.component.entry;
        let probe = e
            .build_probe(&p.component.params, &cx)
            .with_context(|| format!("building {}", e.label()))?;
        probes.push((p.schedule.clone(), probe));
    }
    Ok(Parts {
        device,
        dataset,
        model,
        optimizer,
        probes,
    })
}
