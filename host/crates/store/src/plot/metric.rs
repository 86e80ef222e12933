//! Curves of one metric against step, one per run or per group of runs.

use std::collections::BTreeMap;

use anyhow::bail;

use super::{Curve, Plot};
use crate::store::Store;

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The curves of `metric` for the runs and groups `args` asks for.
pub fn curves(store: &Store, args: &Plot, metric: &str) -> anyhow::Result<Vec<Curve>> {
    let group = match args.group_by.as_deref() {
        Some(g) => {
            let keys: Vec<String> = g
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| {
                    format!(
                        "'{}=' || COALESCE(CAST(r.{} AS VARCHAR), '-')",
                        k.rsplit('.').next().unwrap_or(k).replace('\'', "''"),
                        quote(k)
                    )
                })
                .collect();
            if keys.len() == 1 {
                format!("COALESCE(CAST(r.{} AS VARCHAR), '-')", quote(g.trim()))
            } else {
                keys.join(" || ', ' || ")
            }
        }
        None => "m.run_id".to_string(),
    };
    let filter = args
        .filter
        .as_deref()
        .map(|f| format!(" AND ({f})"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT m.run_id AS run_id, {group} AS grp, CAST(m.step AS DOUBLE) AS step, m.value AS value \
         FROM metrics m JOIN runs r ON m.run_id = r.id WHERE m.name = '{}'{filter} ORDER BY grp, run_id, step",
        metric.replace('\'', "''")
    );
    let df = crate::tables::query(store, &sql)?;
    if df.height() == 0 {
        bail!("no values of metric `{metric}` in {} (see `assay query \"SELECT DISTINCT name FROM metrics\"`)", store.root().display());
    }
    let grp = df.column("grp")?.str()?.clone();
    let run = df.column("run_id")?.str()?.clone();
    let step = df.column("step")?.f64()?.clone();
    let value = df.column("value")?.f64()?.clone();
    // group -> step -> values (one per run)
    let mut groups: BTreeMap<String, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    let mut runs_per_group: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for i in 0..df.height() {
        let (Some(g), Some(r), Some(s), Some(v)) =
            (grp.get(i), run.get(i), step.get(i), value.get(i))
        else {
            continue;
        };
        if !v.is_finite() || s < 0.0 || (args.logy && v <= 0.0) {
            continue;
        }
        groups
            .entry(g.to_string())
            .or_default()
            .entry(s as u64)
            .or_default()
            .push(v);
        runs_per_group
            .entry(g.to_string())
            .or_default()
            .insert(r.to_string());
    }
    // On a log step axis, step 0 is drawn at half the first logged step (the axis label says so).
    let zero_at = if args.logx {
        groups
            .values()
            .flat_map(|by_step| by_step.keys())
            .filter(|s| **s > 0)
            .min()
            .map(|s| *s as f64 / 2.0)
    } else {
        None
    };
    let at = |s: u64| match (s, zero_at) {
        (0, Some(z)) => z,
        _ => s as f64,
    };
    Ok(groups
        .into_iter()
        .map(|(label, by_step)| {
            let n = runs_per_group.get(&label).map(|s| s.len()).unwrap_or(1);
            let label = value_label(&label);
            let mut points = Vec::new();
            let mut band = Vec::new();
            for (s, vals) in by_step {
                let mean = vals.iter().sum::<f64>() / vals.len() as f64;
                let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
                if s == 0 && args.logx && zero_at.is_none() {
                    continue;
                }
                points.push((at(s), mean));
                if vals.len() > 1 {
                    band.push((at(s), mean - var.sqrt(), mean + var.sqrt()));
                }
            }
            let label = if args.group_by.is_some() {
                format!("{label} (n={n})")
            } else {
                label
            };
            Curve {
                label,
                points,
                band,
                zero_at,
            }
        })
        .collect())
}

/// A group's label as its value: a one-element list (`["add"]`, what a list-valued spec key
/// casts to) reads `add`, a list of several `add, sub`.
fn value_label(raw: &str) -> String {
    let t = raw.trim();
    if t.starts_with('[') && t.ends_with(']') {
        return t[1..t.len() - 1]
            .split(',')
            .map(|v| v.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join(", ");
    }
    raw.to_string()
}

#[cfg(test)]
mod tests {
    use super::value_label;

    #[test]
    fn list_labels_read_as_values() {
        assert_eq!(value_label("[\"add\"]"), "add");
        assert_eq!(value_label("[\"add\", \"sub\"]"), "add, sub");
        assert_eq!(value_label("adam"), "adam");
    }
}
