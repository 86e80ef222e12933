//! Curves from any query: the columns name the roles.
//!
//! `x` and `y` (numbers) are required; `series` (one curve per value), `panel` (one panel per
//! value, stacked) and `lo`/`hi` (a band around the curve, e.g. a bootstrap interval) are
//! optional. Rows keep the query's order of series and panels; points are sorted by `x`.

use anyhow::bail;
use polars::prelude::*;

use super::{Curve, Plot};
use crate::store::Store;

/// The role columns a plot query may return.
const ROLES: [&str; 6] = ["x", "y", "series", "panel", "lo", "hi"];

fn numbers(df: &DataFrame, name: &str) -> anyhow::Result<Option<Vec<Option<f64>>>> {
    let Ok(col) = df.column(name) else {
        return Ok(None);
    };
    let cast = anyhow::Context::with_context(col.cast(&DataType::Float64), || {
        format!("plot query: column `{name}` is not numeric")
    })?;
    Ok(Some(cast.f64()?.iter().collect()))
}

fn labels(df: &DataFrame, name: &str) -> anyhow::Result<Option<Vec<String>>> {
    let Ok(col) = df.column(name) else {
        return Ok(None);
    };
    let cast = col.cast(&DataType::String)?;
    Ok(Some(
        cast.str()?
            .iter()
            .map(|v| v.unwrap_or("-").to_string())
            .collect(),
    ))
}

/// Runs `sql` on `store` and turns its rows into panels of curves (see the module docs).
pub fn query_panels(
    store: &Store,
    sql: &str,
    args: &Plot,
) -> anyhow::Result<Vec<(String, Vec<Curve>)>> {
    let df = crate::tables::query(store, sql)?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    if !names.iter().any(|n| n == "x") || !names.iter().any(|n| n == "y") {
        bail!(
            "a plot query names its columns by role: `x` and `y` are required, `series`, `panel`, `lo` and `hi` optional; this one returns {}",
            names.join(", ")
        );
    }
    if let Some(other) = names.iter().find(|n| !ROLES.contains(&n.as_str())) {
        bail!(
            "plot query: column `{other}` has no role (use x, y, series, panel, lo, hi; rename with AS)"
        );
    }
    if df.height() == 0 {
        bail!("the plot query returned no rows");
    }
    let (Some(x), Some(y)) = (numbers(&df, "x")?, numbers(&df, "y")?) else {
        unreachable!("checked above")
    };
    let (lo, hi) = (numbers(&df, "lo")?, numbers(&df, "hi")?);
    if lo.is_some() != hi.is_some() {
        bail!("plot query: a band needs both `lo` and `hi`");
    }
    let series = labels(&df, "series")?;
    let panel = labels(&df, "panel")?;
    let y_label = args.y_label.clone().unwrap_or_else(|| "y".to_string());

    let mut panels: Vec<(String, Vec<Curve>)> = Vec::new();
    for i in 0..df.height() {
        let (Some(xv), Some(yv)) = (x[i], y[i]) else {
            continue;
        };
        if !xv.is_finite()
            || !yv.is_finite()
            || (args.logx && xv <= 0.0)
            || (args.logy && yv <= 0.0)
        {
            continue;
        }
        let p = panel.as_ref().map_or(y_label.clone(), |p| p[i].clone());
        let s = series.as_ref().map_or(y_label.clone(), |s| s[i].clone());
        let at = match panels.iter().position(|(name, _)| *name == p) {
            Some(at) => at,
            None => {
                panels.push((p, Vec::new()));
                panels.len() - 1
            }
        };
        let curves = &mut panels[at].1;
        let c = match curves.iter().position(|c| c.label == s) {
            Some(c) => c,
            None => {
                curves.push(Curve {
                    label: s,
                    points: Vec::new(),
                    band: Vec::new(),
                    zero_at: None,
                });
                curves.len() - 1
            }
        };
        curves[c].points.push((xv, yv));
        if let (Some(lo), Some(hi)) = (&lo, &hi) {
            if let (Some(l), Some(h)) = (lo[i], hi[i]) {
                if l.is_finite() && h.is_finite() {
                    curves[c].band.push((xv, l, h));
                }
            }
        }
    }
    if panels.is_empty() {
        bail!("the plot query returned no finite (x, y) points");
    }
    for (_, curves) in &mut panels {
        for c in curves.iter_mut() {
            c.points.sort_by(|a, b| a.0.total_cmp(&b.0));
            c.band.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    Ok(panels)
}
