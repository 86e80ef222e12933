//! Expanding a `[sweep]` table into the points of a sweep.
//!
//! ```toml
//! [sweep]
//! seeds = 3                                    # or a list: [0, 1, 7]
//! grid = { "optimizer.plugin" = ["adam", "amsgrad"], "optimizer.beta2" = [0.1, 0.999] }
//! zip = { "optimizer.lr" = [1e-3, 1e-2], "train.steps" = [400, 200] }   # stepped together
//! random = { n = 4, seed = 0, "optimizer.lr" = { low = 1e-4, high = 1e-1, log = true } }
//! ```
//!
//! The points are the cartesian product of: every grid combination (keys in sorted order, the
//! last key varying fastest), every zip position, every random sample, and every seed. Each point
//! is a list of `key.path = value` overrides applied to the spec without its `[sweep]` table.

use assay_sdk::rand::Rng as _;

/// One point: overrides in application order.
pub type Point = Vec<(String, toml::Value)>;

/// A `[sweep]` table that cannot be expanded.
#[derive(Debug, thiserror::Error)]
#[error("{file}: sweep.{key}: {message}")]
pub struct SweepError {
    /// The spec file.
    pub file: String,
    /// The key under `[sweep]`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn err(file: &str, key: impl Into<String>, message: impl Into<String>) -> SweepError {
    SweepError {
        file: file.to_string(),
        key: key.into(),
        message: message.into(),
    }
}

fn lists<'a>(
    file: &str,
    section: &str,
    t: &'a toml::Table,
) -> Result<Vec<(&'a String, &'a Vec<toml::Value>)>, SweepError> {
    t.iter()
        .map(|(k, v)| match v {
            toml::Value::Array(items) if !items.is_empty() => Ok((k, items)),
            _ => Err(err(
                file,
                format!("{section}.\"{k}\""),
                "expected a non-empty list of values",
            )),
        })
        .collect()
}

fn product(acc: Vec<Point>, choices: &[Point]) -> Vec<Point> {
    let mut out = Vec::with_capacity(acc.len() * choices.len().max(1));
    for a in &acc {
        for c in choices {
            let mut p = a.clone();
            p.extend(c.iter().cloned());
            out.push(p);
        }
    }
    out
}

/// Expands `sweep` (the `[sweep]` table of `file`); `seed` is the spec's seed, used for random
/// sampling unless `random.seed` is given.
pub fn expand(sweep: &toml::Table, file: &str, seed: u64) -> Result<Vec<Point>, SweepError> {
    for key in sweep.keys() {
        if !["seeds", "grid", "zip", "random"].contains(&key.as_str()) {
            return Err(err(
                file,
                key,
                "unknown key; a sweep has seeds, grid, zip and random",
            ));
        }
    }
    let mut points: Vec<Point> = vec![Vec::new()];

    if let Some(grid) = sweep.get("grid") {
        let t = grid
            .as_table()
            .ok_or_else(|| err(file, "grid", "expected a table of key paths to lists"))?;
        for (key, values) in lists(file, "grid", t)? {
            let choices: Vec<Point> = values
                .iter()
                .map(|v| vec![(key.clone(), v.clone())])
                .collect();
            points = product(points, &choices);
        }
    }

    if let Some(zip) = sweep.get("zip") {
        let t = zip
            .as_table()
            .ok_or_else(|| err(file, "zip", "expected a table of key paths to lists"))?;
        let cols = lists(file, "zip", t)?;
        if let Some((_, first)) = cols.first() {
            let n = first.len();
            if let Some((k, v)) = cols.iter().find(|(_, v)| v.len() != n) {
                return Err(err(
                    file,
                    format!("zip.\"{k}\""),
                    format!(
                        "has {} values, other zip lists {n}; zip lists step together",
                        v.len()
                    ),
                ));
            }
            let choices: Vec<Point> = (0..n)
                .map(|i| {
                    cols.iter()
                        .map(|(k, v)| ((*k).clone(), v[i].clone()))
                        .collect()
                })
                .collect();
            points = product(points, &choices);
        }
    }

    if let Some(random) = sweep.get("random") {
        let t = random
            .as_table()
            .ok_or_else(|| err(file, "random", "expected a table with n and key ranges"))?;
        let n = match t.get("n") {
            Some(toml::Value::Integer(n)) if *n > 0 => *n as usize,
            _ => {
                return Err(err(
                    file,
                    "random.n",
                    "expected a positive number of samples",
                ))
            }
        };
        let rseed = match t.get("seed") {
            None => seed,
            Some(toml::Value::Integer(s)) if *s >= 0 => *s as u64,
            Some(_) => return Err(err(file, "random.seed", "expected a non-negative integer")),
        };
        let mut rng = assay_sdk::init::rng(rseed, "sweep.random");
        let mut dims = Vec::new();
        for (key, v) in t.iter().filter(|(k, _)| *k != "n" && *k != "seed") {
            let path = format!("random.\"{key}\"");
            match v {
                toml::Value::Array(items) if !items.is_empty() => {
                    dims.push((key.clone(), Dim::Choice(items.clone())))
                }
                toml::Value::Table(r) => {
                    let num = |k: &str| {
                        r.get(k)
                            .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                    };
                    let (Some(low), Some(high)) = (num("low"), num("high")) else {
                        return Err(err(
                            file,
                            path,
                            "expected { low = .., high = .. } with optional log and int",
                        ));
                    };
                    let log = r.get("log").and_then(|v| v.as_bool()).unwrap_or(false);
                    let int = r.get("int").and_then(|v| v.as_bool()).unwrap_or(false);
                    if low >= high || (log && low <= 0.0) {
                        return Err(err(
                            file,
                            path,
                            format!(
                                "need low < high{}",
                                if log { " and low > 0 for log" } else { "" }
                            ),
                        ));
                    }
                    dims.push((
                        key.clone(),
                        Dim::Range {
                            low,
                            high,
                            log,
                            int,
                        },
                    ));
                }
                _ => {
                    return Err(err(
                        file,
                        path,
                        "expected a range table or a list of choices",
                    ))
                }
            }
        }
        let samples: Vec<Point> = (0..n)
            .map(|_| {
                dims.iter()
                    .map(|(k, d)| (k.clone(), d.sample(&mut rng)))
                    .collect()
            })
            .collect();
        points = product(points, &samples);
    }

    if let Some(seeds) = sweep.get("seeds") {
        let list: Vec<i64> = match seeds {
            toml::Value::Integer(n) if *n > 0 => (0..*n).collect(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| v.as_integer().filter(|i| *i >= 0))
                .collect::<Option<_>>()
                .ok_or_else(|| err(file, "seeds", "expected non-negative integers"))?,
            _ => return Err(err(file, "seeds", "expected a count or a list of seeds")),
        };
        let choices: Vec<Point> = list
            .into_iter()
            .map(|s| vec![("seed".to_string(), toml::Value::Integer(s))])
            .collect();
        points = product(points, &choices);
    }
    Ok(points)
}

enum Dim {
    Choice(Vec<toml::Value>),
    Range {
        low: f64,
        high: f64,
        log: bool,
        int: bool,
    },
}

impl Dim {
    fn sample(&self, rng: &mut assay_sdk::init::Rng) -> toml::Value {
        match self {
            Dim::Choice(items) => items[rng.random_range(0..items.len())].clone(),
            Dim::Range {
                low,
                high,
                log,
                int,
            } => {
                let u: f64 = rng.random();
                let x = if *log {
                    (low.ln() + u * (high.ln() - low.ln())).exp()
                } else {
                    low + u * (high - low)
                };
                if *int {
                    toml::Value::Integer(x.floor() as i64)
                } else {
                    toml::Value::Float(x)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str::<toml::Table>(text).unwrap()["sweep"]
            .as_table()
            .unwrap()
            .clone()
    }

    #[test]
    fn grid_is_a_cartesian_product_with_seeds_innermost() {
        let pts = expand(
            &table("[sweep]\nseeds = 2\ngrid = { a = [1, 2, 3], b = [\"x\", \"y\"] }"),
            "s.toml",
            0,
        )
        .unwrap();
        assert_eq!(pts.len(), 12);
        assert_eq!(
            pts[0],
            vec![
                ("a".into(), 1.into()),
                ("b".into(), "x".into()),
                ("seed".into(), 0.into())
            ]
        );
        assert_eq!(pts[1][2], ("seed".into(), 1.into()));
        assert_eq!(pts[2][1], ("b".into(), "y".into()));
        assert_eq!(
            pts[11],
            vec![
                ("a".into(), 3.into()),
                ("b".into(), "y".into()),
                ("seed".into(), 1.into())
            ]
        );
    }

    #[test]
    fn zip_steps_lists_together_and_checks_lengths() {
        let pts = expand(
            &table("[sweep]\nzip = { lr = [0.1, 0.2], steps = [10, 20] }"),
            "s.toml",
            0,
        )
        .unwrap();
        assert_eq!(
            pts,
            vec![
                vec![("lr".into(), 0.1.into()), ("steps".into(), 10.into())],
                vec![("lr".into(), 0.2.into()), ("steps".into(), 20.into())],
            ]
        );
        let e = expand(
            &table("[sweep]\nzip = { lr = [0.1, 0.2], steps = [10] }"),
            "s.toml",
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("s.toml: sweep.zip.\"steps\"") && e.contains("1 values"),
            "{e}"
        );
    }

    #[test]
    fn random_samples_are_seeded_and_in_range() {
        let t = table("[sweep]\nrandom = { n = 50, lr = { low = 1e-4, high = 1e-1, log = true }, width = { low = 8, high = 64, int = true }, act = [\"relu\", \"tanh\"] }");
        let a = expand(&t, "s.toml", 7).unwrap();
        assert_eq!(a, expand(&t, "s.toml", 7).unwrap());
        assert_ne!(a, expand(&t, "s.toml", 8).unwrap());
        assert_eq!(a.len(), 50);
        let lrs: Vec<f64> = a
            .iter()
            .map(|p| {
                p.iter()
                    .find(|(k, _)| k == "lr")
                    .unwrap()
                    .1
                    .as_float()
                    .unwrap()
            })
            .collect();
        assert!(lrs.iter().all(|x| (1e-4..1e-1).contains(x)));
        assert!(
            lrs.iter().filter(|x| **x < 1e-2).count() > 25,
            "log-uniform puts two thirds below 1e-2: {lrs:?}"
        );
        assert!(a.iter().all(|p| p
            .iter()
            .any(|(k, v)| k == "width" && (8..64).contains(&v.as_integer().unwrap()))));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = expand(&table("[sweep]\ngrdi = { a = [1] }"), "s.toml", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sweep.grdi: unknown key"), "{e}");
        let e = expand(&table("[sweep]\ngrid = { a = 3 }"), "s.toml", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sweep.grid.\"a\""), "{e}");
    }
}
