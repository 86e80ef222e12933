//! Tampering: forcing chosen units to fixed values at every position, through the model's hooks
//! (the paper's forward hook that overwrites the selected units with `on_p50`).
//!
//! Units on the last axis of a `[batch, pos, units]` hook point (`o`, `fc1`, `fc2`) are
//! overwritten with [`Hooks::overwrite_units`]. The `[batch, heads, pos, d_head]` hook points
//! (`q`, `k`, `v`), whose unit `head · d_head + i` is not on one axis, get an
//! [`Intervention::Map`](assay_sdk::Intervention::Map) that blends the activation with a
//! `[1, heads, 1, d_head]` mask and value tensor: `x · (1 − m) + v · m`. Either way the forced
//! value holds at every position, in the plain and in the cached forward pass, so every
//! generated token is steered.

use std::collections::BTreeMap;

use assay_sdk::prelude::*;
use assay_sdk::rand::seq::index::sample;

use crate::units::Units;

/// Units and the values they are forced to.
#[derive(Debug, Clone, PartialEq)]
pub struct Forcing {
    /// Global unit numbers.
    pub units: Vec<usize>,
    /// One value per unit.
    pub values: Vec<f32>,
}

/// Hooks that force `forcing`'s units (an unknown unit or a length mismatch is an error).
pub fn hooks_for(units: &Units, forcing: &Forcing, device: &Device) -> Result<Hooks> {
    if forcing.units.len() != forcing.values.len() {
        return Err(PluginError::invalid(format!(
            "{} units but {} values to force them to",
            forcing.units.len(),
            forcing.values.len()
        )));
    }
    // Per hook point: (local index, value).
    let mut by_hook: BTreeMap<usize, Vec<(usize, f32)>> = BTreeMap::new();
    for (&u, &v) in forcing.units.iter().zip(&forcing.values) {
        let r = units.locate(u).ok_or_else(|| {
            PluginError::invalid(format!(
                "unit {u} is beyond the model's {} units",
                units.total
            ))
        })?;
        let h = units
            .hooks
            .iter()
            .position(|h| h.name == r.hook.name)
            .unwrap_or_default();
        by_hook.entry(h).or_default().push((r.index, v));
    }
    let mut hooks = Hooks::none();
    for (h, forced) in by_hook {
        let hook = &units.hooks[h];
        match hook.heads {
            None => {
                let (idx, vals): (Vec<usize>, Vec<f32>) = forced.into_iter().unzip();
                hooks.overwrite_units(hook.name.clone(), idx, vals, None);
            }
            Some((heads, d_head)) => {
                let mut mask = vec![0f32; heads * d_head];
                let mut vals = vec![0f32; heads * d_head];
                for (i, v) in forced {
                    mask[i] = 1.0;
                    vals[i] = v;
                }
                let keep: Vec<f32> = mask.iter().map(|m| 1.0 - m).collect();
                let keep = Tensor::from_vec(keep, (1, heads, 1, d_head), device)?;
                let vals = Tensor::from_vec(vals, (1, heads, 1, d_head), device)?;
                let name = hook.name.clone();
                hooks.intervene(hook.name.clone(), move |x: &Tensor| {
                    let dims = x.dims();
                    if dims.len() != 4 || dims[1] != heads || dims[3] != d_head {
                        return Err(PluginError::invalid(format!(
                            "forcing units at `{name}`: expected [batch, {heads}, pos, {d_head}], found {dims:?}"
                        )));
                    }
                    let keep = keep.to_dtype(x.dtype())?;
                    let vals = vals.to_dtype(x.dtype())?;
                    Ok(x.broadcast_mul(&keep)?.broadcast_add(&vals)?)
                });
            }
        }
    }
    Ok(hooks)
}

/// `count` distinct units drawn uniformly from `0..total`, sorted (the random control).
pub fn random_units(total: usize, count: usize, rng: &mut init::Rng) -> Vec<usize> {
    let mut v = sample(rng, total, count.min(total)).into_vec();
    v.sort_unstable();
    v
}
