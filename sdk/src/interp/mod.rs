//! Reading and changing a language model's activations, written once for every study: the
//! logit lens ([`logit_lens`]), activation patching ([`activation_patching`]) and Monte Carlo
//! dropout scoring ([`mc_dropout`]). They run on any [`Model`] with the standard
//! hook points (`blocks.{i}.hook_resid_post` and the others of [`crate::hooks`]) whose
//! [`Generative::readout`](crate::Generative::readout) gives the final norm and unembedding; the
//! host's `assay lens` and `assay patch` commands and plugin probes call the same functions.

mod lens;
mod mc_dropout;
mod patching;

pub use lens::{logit_lens, LensRow, LensRowKind};
pub use mc_dropout::{mc_dropout, McScores};
pub use patching::{activation_patching, PatchRow, PatchSpec};

use crate::error::{PluginError, Result};
use crate::Model;

/// The layers `i` of `blocks.{i}.{suffix}` among the model's hook points, in order; an error
/// naming the suffix when there are none.
pub fn block_hooks(model: &dyn Model, suffix: &str) -> Result<Vec<(usize, String)>> {
    let points = model.hook_points();
    if points.is_empty() {
        return Err(PluginError::invalid(
            "this model has no hook points, so its activations cannot be read",
        ));
    }
    let mut out: Vec<(usize, String)> = points
        .iter()
        .filter_map(|p| {
            let rest = p.strip_prefix("blocks.")?;
            let (i, s) = rest.split_once('.')?;
            (s == suffix).then(|| i.parse().ok().map(|i| (i, p.clone())))?
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(PluginError::invalid(format!(
            "this model has no hook point `blocks.{{i}}.{suffix}`; its hook points are e.g. {}",
            points
                .iter()
                .take(6)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(out)
}
