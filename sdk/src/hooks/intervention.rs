//! What an intervention does to the activation at a hook point.
//!
//! Axes follow the hook points' shapes: the **last axis** holds units (the residual width, an
//! MLP's hidden units, a head's dimensions) and, for activations of rank 3 or more, the axis
//! before it holds **positions** (queries, for attention scores and patterns). Positions are
//! absolute: during cached generation a model tells [`super::Hooks`] where the new positions
//! start, so "position 0" always means the sequence's first token.

use candle_core::Tensor;

use crate::error::{PluginError, Result};

/// A function that replaces the activation at a hook point.
pub type MapFn = Box<dyn Fn(&Tensor) -> Result<Tensor> + Send>;

/// One change to the activation at a hook point. Every kind keeps the activation's shape (a
/// replacement of another shape is an error naming the hook point and both shapes).
pub enum Intervention {
    /// The given tensor instead of the activation. It must have the activation's shape, or the
    /// shape without the leading batch axis (then it is used for every example).
    Replace(Tensor),
    /// `f(activation)`.
    Map(MapFn),
    /// Zero ablation: every value 0.
    Zero,
    /// Mean ablation: each unit's mean. `None` takes the mean over every axis but the last of the
    /// activation itself (the batch and positions at hand); `Some(m)` uses the given means (for
    /// instance collected over a dataset), broadcast over the activation (`[units]`, or any shape
    /// that broadcasts to it).
    Mean(Option<Tensor>),
    /// Overwrites the units `units` (indices on the last axis) with `values` (one per unit), at
    /// every position, or at the given absolute positions only.
    Units {
        /// Indices on the last axis.
        units: Vec<usize>,
        /// The value for each unit, in the same order.
        values: Vec<f32>,
        /// Absolute positions (the axis before the last); `None` = all.
        positions: Option<Vec<usize>>,
    },
    /// Zeroes whole attention heads: axis 1 of a `[batch, heads, positions, d_head]` activation
    /// (`attn.hook_q`, `hook_k`, `hook_v`, `hook_z`) or of a `[batch, heads, query, key]` one
    /// (`hook_attn_scores`, `hook_pattern`).
    ZeroHeads(Vec<usize>),
}

impl std::fmt::Debug for Intervention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Intervention::Replace(t) => write!(f, "Replace({:?})", t.dims()),
            Intervention::Map(_) => write!(f, "Map(..)"),
            Intervention::Zero => write!(f, "Zero"),
            Intervention::Mean(m) => write!(f, "Mean({:?})", m.as_ref().map(|m| m.dims())),
            Intervention::Units {
                units, positions, ..
            } => write!(f, "Units({units:?} at {positions:?})"),
            Intervention::ZeroHeads(h) => write!(f, "ZeroHeads({h:?})"),
        }
    }
}

fn shape_error(hook: &str, what: &str, want: &[usize], got: &[usize]) -> PluginError {
    PluginError::invalid(format!(
        "intervention at hook point `{hook}`: {what} has shape {got:?}, but the activation is {want:?}"
    ))
}

impl Intervention {
    /// Applies the intervention to `x`, the activation at hook point `hook`, whose axis before
    /// the last starts at absolute position `offset`.
    pub(crate) fn apply(&self, hook: &str, x: &Tensor, offset: usize) -> Result<Tensor> {
        let dims = x.dims();
        let out = match self {
            Intervention::Replace(t) => {
                if t.dims() == dims {
                    t.to_dtype(x.dtype())?
                } else if t.dims() == &dims[1.min(dims.len())..] {
                    t.to_dtype(x.dtype())?.broadcast_as(dims)?.contiguous()?
                } else {
                    return Err(shape_error(hook, "the replacement", dims, t.dims()));
                }
            }
            Intervention::Map(f) => f(x)?,
            Intervention::Zero => x.zeros_like()?,
            Intervention::Mean(None) => {
                let units = dims.last().copied().unwrap_or(1);
                let rows = x.elem_count() / units.max(1);
                x.reshape((rows, units))?
                    .mean_keepdim(0)?
                    .reshape(
                        vec![1; dims.len().saturating_sub(1)]
                            .into_iter()
                            .chain([units])
                            .collect::<Vec<_>>(),
                    )?
                    .broadcast_as(dims)?
                    .contiguous()?
            }
            Intervention::Mean(Some(m)) => m
                .to_dtype(x.dtype())?
                .broadcast_as(dims)
                .map_err(|_| shape_error(hook, "the mean", dims, m.dims()))?
                .contiguous()?,
            Intervention::Units {
                units,
                values,
                positions,
            } => overwrite_units(hook, x, units, values, positions.as_deref(), offset)?,
            Intervention::ZeroHeads(heads) => zero_heads(hook, x, heads)?,
        };
        if out.dims() != dims {
            return Err(shape_error(
                hook,
                "the replaced activation",
                dims,
                out.dims(),
            ));
        }
        Ok(out)
    }
}

/// A `{0, 1}` mask of `x`'s shape, built on the host, applied as `x · (1 - m) + v · m`.
fn overwrite_units(
    hook: &str,
    x: &Tensor,
    units: &[usize],
    values: &[f32],
    positions: Option<&[usize]>,
    offset: usize,
) -> Result<Tensor> {
    let dims = x.dims();
    if units.len() != values.len() {
        return Err(PluginError::invalid(format!(
            "intervention at hook point `{hook}`: {} units but {} values",
            units.len(),
            values.len()
        )));
    }
    let width = dims.last().copied().unwrap_or(0);
    if let Some(u) = units.iter().find(|&&u| u >= width) {
        return Err(PluginError::invalid(format!(
            "intervention at hook point `{hook}`: unit {u} is beyond the last axis ({width} units; activation {dims:?})"
        )));
    }
    let n_pos = if dims.len() >= 3 {
        dims[dims.len() - 2]
    } else {
        1
    };
    if positions.is_some() && dims.len() < 3 {
        return Err(PluginError::invalid(format!(
            "intervention at hook point `{hook}`: the activation {dims:?} has no position axis, so positions cannot be chosen"
        )));
    }
    // Which local positions are overwritten (positions outside this call's window are skipped:
    // during cached generation each call sees only the new positions).
    let chosen: Vec<bool> = (0..n_pos)
        .map(|p| positions.is_none_or(|ps| ps.contains(&(p + offset))))
        .collect();
    let mut mask = vec![0f32; x.elem_count()];
    let mut vals = vec![0f32; x.elem_count()];
    for (row, (m, v)) in mask
        .chunks_mut(width.max(1))
        .zip(vals.chunks_mut(width.max(1)))
        .enumerate()
    {
        if !chosen[row % n_pos] {
            continue;
        }
        for (&u, &value) in units.iter().zip(values) {
            m[u] = 1.0;
            v[u] = value;
        }
    }
    let dev = x.device();
    let mask = Tensor::from_vec(mask, dims, dev)?.to_dtype(x.dtype())?;
    let vals = Tensor::from_vec(vals, dims, dev)?.to_dtype(x.dtype())?;
    let keep = (1.0 - &mask)?;
    Ok(((x * keep)? + vals)?)
}

fn zero_heads(hook: &str, x: &Tensor, heads: &[usize]) -> Result<Tensor> {
    let dims = x.dims();
    if dims.len() != 4 {
        return Err(PluginError::invalid(format!(
            "intervention at hook point `{hook}`: heads can be zeroed only in a [batch, heads, positions, ...] activation; this one is {dims:?}"
        )));
    }
    let n = dims[1];
    if let Some(h) = heads.iter().find(|&&h| h >= n) {
        return Err(PluginError::invalid(format!(
            "intervention at hook point `{hook}`: head {h} is beyond the {n} heads"
        )));
    }
    let keep: Vec<f32> = (0..n)
        .map(|h| if heads.contains(&h) { 0.0 } else { 1.0 })
        .collect();
    let keep = Tensor::from_vec(keep, (1, n, 1, 1), x.device())?.to_dtype(x.dtype())?;
    Ok(x.broadcast_mul(&keep)?)
}

/// Whether `name` matches the glob `pattern` (`*` = any run of characters, `?` = one).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// The names among `known` that match any of `patterns` (globs), in `known`'s order; a pattern
/// that matches nothing is an error naming it and the closest known name.
pub fn select(patterns: &[String], known: &[String]) -> Result<Vec<String>> {
    for p in patterns {
        if !known.iter().any(|k| glob_match(p, k)) {
            return Err(unknown_hook(p, known));
        }
    }
    Ok(known
        .iter()
        .filter(|k| patterns.iter().any(|p| glob_match(p, k)))
        .cloned()
        .collect())
}

/// "no hook point `name`" with the closest known name.
pub(crate) fn unknown_hook(name: &str, known: &[String]) -> PluginError {
    if known.is_empty() {
        return PluginError::invalid(format!(
            "no hook point `{name}`: this model has no hook points"
        ));
    }
    let closest = known
        .iter()
        .min_by_key(|k| crate::params::edit_distance(name, k))
        .cloned()
        .unwrap_or_default();
    PluginError::invalid(format!(
        "no hook point `{name}` in this model (closest: `{closest}`; {} hook points, e.g. {})",
        known.len(),
        known.iter().take(4).cloned().collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t3() -> Tensor {
        // [batch 2, positions 2, units 3]
        Tensor::new(
            &[
                [[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]],
                [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]],
            ],
            &Device::Cpu,
        )
        .unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn globs_select_hook_names_and_unknown_patterns_are_errors() {
        let known: Vec<String> = [
            "hook_embed",
            "blocks.0.hook_resid_post",
            "blocks.1.hook_resid_post",
            "blocks.1.mlp.hook_post",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            select(&["blocks.*.hook_resid_post".into()], &known).unwrap(),
            &known[1..3]
        );
        assert!(glob_match("blocks.?.mlp.*", "blocks.1.mlp.hook_post"));
        let err = select(&["blocks.*.hook_resid_pots".into()], &known)
            .unwrap_err()
            .to_string();
        assert!(err.contains("hook_resid_pots"), "{err}");
        assert!(unknown_hook("x", &[])
            .to_string()
            .contains("no hook points"));
    }

    #[test]
    fn units_are_overwritten_at_chosen_absolute_positions() {
        let i = Intervention::Units {
            units: vec![0, 2],
            values: vec![-1.0, -2.0],
            positions: Some(vec![3]),
        };
        // The activation's positions start at 2 (a cached pass): position 3 is local row 1.
        let y = i.apply("h", &t3(), 2).unwrap();
        assert_eq!(
            flat(&y),
            vec![1.0, 2.0, 3.0, -1.0, 5.0, -2.0, 7.0, 8.0, 9.0, -1.0, 11.0, -2.0]
        );
        let all = Intervention::Units {
            units: vec![1],
            values: vec![0.5],
            positions: None,
        };
        assert_eq!(
            flat(&all.apply("h", &t3(), 0).unwrap()),
            vec![1.0, 0.5, 3.0, 4.0, 0.5, 6.0, 7.0, 0.5, 9.0, 10.0, 0.5, 12.0]
        );
    }

    #[test]
    fn mean_zero_and_replacement_keep_the_shape() {
        let m = Intervention::Mean(None).apply("h", &t3(), 0).unwrap();
        assert_eq!(flat(&m)[..3], [5.5, 6.5, 7.5]);
        assert_eq!(flat(&m)[9..], [5.5, 6.5, 7.5]);
        let given = Tensor::new(&[1.0f32, 2.0, 3.0], &Device::Cpu).unwrap();
        let m = Intervention::Mean(Some(given))
            .apply("h", &t3(), 0)
            .unwrap();
        assert_eq!(flat(&m)[3..6], [1.0, 2.0, 3.0]);
        assert_eq!(
            flat(&Intervention::Zero.apply("h", &t3(), 0).unwrap()),
            vec![0.0; 12]
        );
        // A replacement without the batch axis serves every example.
        let one = Tensor::ones((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let r = Intervention::Replace(one).apply("h", &t3(), 0).unwrap();
        assert_eq!(flat(&r), vec![1.0; 12]);
        let wrong = Tensor::ones((2, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = Intervention::Replace(wrong)
            .apply("blocks.0.hook_z", &t3(), 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("blocks.0.hook_z") && err.contains("[2, 4]") && err.contains("[2, 2, 3]"),
            "{err}"
        );
        let shrink = Intervention::Map(Box::new(|t: &Tensor| Ok(t.narrow(2, 0, 1)?)));
        assert!(shrink.apply("h", &t3(), 0).is_err());
        let heads = Intervention::ZeroHeads(vec![0]);
        assert!(
            heads.apply("h", &t3(), 0).is_err(),
            "rank 3 has no heads axis"
        );
        let t4 = t3().reshape((1, 2, 2, 3)).unwrap();
        let z = heads.apply("h", &t4, 0).unwrap();
        assert_eq!(flat(&z)[..6], [0.0; 6]);
        assert_eq!(flat(&z)[6..], [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
    }
}
