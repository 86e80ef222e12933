//! Weights from elsewhere (another run's checkpoint) set into a model's parameters.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context};
use assay_sdk::prelude::*;

/// Loads `weights` into `model`: every buffer must be there; trained parameters must be too,
/// except a model with buffers (adapters over frozen weights) keeps the fresh initialisation of
/// those missing (its adapters). Returns the names kept fresh.
pub fn load_into(
    model: &dyn Model,
    weights: &HashMap<String, Tensor>,
    origin: &str,
) -> anyhow::Result<Vec<String>> {
    let buffers = model.buffers();
    let mut fresh = Vec::new();
    let mut present = buffers.clone();
    for (name, var) in model.parameters() {
        if weights.contains_key(&name) || buffers.is_empty() {
            present.push((name, var));
        } else {
            fresh.push(name);
        }
    }
    set_parameters(&present, weights, origin)?;
    Ok(fresh)
}

/// Sets every parameter of `parameters` from `weights`, naming the first that is missing or has
/// another shape.
pub fn set_parameters(
    parameters: &[(String, Var)],
    weights: &HashMap<String, Tensor>,
    origin: &str,
) -> anyhow::Result<()> {
    for (name, var) in parameters {
        let t = weights
            .get(name)
            .ok_or_else(|| anyhow!("{origin} has no weights for model parameter `{name}`"))?;
        if t.dims() != var.dims() {
            bail!(
                "{origin}: `{name}` has shape {:?}, but this model's has {:?}",
                t.dims(),
                var.dims()
            );
        }
        var.set(t)
            .with_context(|| format!("{origin}: setting `{name}`"))?;
    }
    Ok(())
}
