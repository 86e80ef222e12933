//! The `csv` dataset.
//!
//! The file holds one example per line: numeric features and one label column (the last by
//! default). A first line with any non-numeric field is a header. Labels may be integers or
//! strings; classes are the distinct labels in sorted order. Files starting with the gzip magic
//! bytes are decompressed, whatever their name. Features are standardised with the training
//! split's mean and standard deviation unless `standardize = false`.

use std::collections::BTreeSet;
use std::io::Read;

use assay_sdk::prelude::*;
use assay_sdk::rand::seq::SliceRandom;
use assay_sdk::rand::Rng as _;

struct Tabular {
    x: Vec<f32>,
    y: Vec<u32>,
    dim: usize,
    classes: usize,
    train: Vec<usize>,
    test: Vec<usize>,
}

impl Dataset for Tabular {
    fn info(&self) -> DataInfo {
        DataInfo::features(
            vec![self.dim],
            Objective::Classification {
                classes: self.classes,
            },
        )
    }

    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train.len(),
            Split::Test => self.test.len(),
        }
    }

    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let rows = match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        };
        let mut xs = Vec::with_capacity(indices.len() * self.dim);
        let mut ys = Vec::with_capacity(indices.len());
        for &i in indices {
            let r = *rows.get(i).ok_or_else(|| {
                PluginError::invalid(format!(
                    "index {i} beyond the {} split ({} rows)",
                    split.as_str(),
                    rows.len()
                ))
            })?;
            xs.extend_from_slice(&self.x[r * self.dim..(r + 1) * self.dim]);
            ys.push(self.y[r]);
        }
        Ok(Batch {
            input: Tensor::from_vec(xs, (indices.len(), self.dim), device)?,
            target: Tensor::from_vec(ys, indices.len(), device)?,
        })
    }
}

/// Rows of text fields.
fn read_rows(path: &str) -> Result<Vec<Vec<String>>> {
    let bytes = std::fs::read(path).map_err(|e| PluginError::io(path, e))?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .map_err(|e| PluginError::invalid(format!("{path}: not valid gzip text: {e}")))?;
        s
    } else {
        String::from_utf8(bytes)
            .map_err(|_| PluginError::invalid(format!("{path}: not UTF-8 text")))?
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| f.trim().trim_matches('"').to_string())
                .collect()
        })
        .collect())
}

/// Features, labels (as strings) and feature count from the CSV rows.
fn parse(
    path: &str,
    rows: Vec<Vec<String>>,
    label_column: &str,
) -> Result<(Vec<f32>, Vec<String>, usize)> {
    let mut rows = rows.into_iter().peekable();
    let first = rows
        .peek()
        .ok_or_else(|| PluginError::invalid(format!("{path}: empty file")))?
        .clone();
    let header = first.iter().any(|f| f.parse::<f64>().is_err());
    let width = first.len();
    if width < 2 {
        return Err(PluginError::invalid(format!(
            "{path}: need at least one feature and a label per line"
        )));
    }
    let label_idx = if label_column.is_empty() {
        width - 1
    } else if let Ok(i) = label_column.parse::<usize>() {
        i
    } else if header {
        first
            .iter()
            .position(|h| h == label_column)
            .ok_or_else(|| {
                PluginError::param(
                    "label_column",
                    format!("{path}: no column `{label_column}` in the header"),
                )
            })?
    } else {
        return Err(PluginError::param(
            "label_column",
            format!("{path} has no header; give a column index"),
        ));
    };
    if label_idx >= width {
        return Err(PluginError::param(
            "label_column",
            format!("{path}: column {label_idx} does not exist ({width} columns)"),
        ));
    }
    if header {
        rows.next();
    }
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for (n, row) in rows.enumerate() {
        let line = n + 1 + usize::from(header);
        if row.len() != width {
            return Err(PluginError::invalid(format!(
                "{path}:{line}: {} fields, expected {width}",
                row.len()
            )));
        }
        for (j, f) in row.iter().enumerate() {
            if j == label_idx {
                labels.push(f.clone());
            } else {
                let v: f32 = f.parse().map_err(|_| {
                    PluginError::invalid(format!(
                        "{path}:{line}: field {} `{f}` is not a number",
                        j + 1
                    ))
                })?;
                x.push(v);
            }
        }
    }
    Ok((x, labels, width - 1))
}

/// Three Gaussian blobs in `dim` dimensions.
fn blobs(rng: &mut init::Rng, n: usize, dim: usize) -> (Vec<f32>, Vec<String>) {
    let centers: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..dim).map(|_| rng.random_range(-3.0..3.0)).collect())
        .collect();
    let mut x = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        for &m in &centers[c] {
            // Irwin-Hall approximation of a unit normal: the sum of 12 uniforms minus 6.
            let z: f32 = (0..12).map(|_| rng.random::<f32>()).sum::<f32>() - 6.0;
            x.push(m + z);
        }
        labels.push(c.to_string());
    }
    (x, labels)
}

fn build(p: &Params, cx: &BuildContext) -> Result<Box<dyn Dataset>> {
    let path = p.str("path")?;
    let mut rng = cx.rng("csv");
    let (mut x, labels, dim) = if path.is_empty() {
        let dim = p.usize("blob_dim")?;
        let (x, l) = blobs(&mut rng, p.usize("blob_examples")?, dim);
        (x, l, dim)
    } else {
        parse(path, read_rows(path)?, p.str("label_column")?)?
    };
    let n = labels.len();
    let distinct: BTreeSet<&String> = labels.iter().collect();
    let numeric = distinct.iter().all(|l| l.parse::<i64>().is_ok());
    let mut classes: Vec<&String> = distinct.into_iter().collect();
    if numeric {
        classes.sort_by_key(|l| l.parse::<i64>().unwrap_or(0));
    }
    let y: Vec<u32> = labels
        .iter()
        .map(|l| classes.iter().position(|c| *c == l).unwrap_or(0) as u32)
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let n_test = ((n as f64) * p.f64("test_fraction")?).round() as usize;
    let (test, train) = order.split_at(n_test.min(n));
    let (test, train) = (test.to_vec(), train.to_vec());
    if train.is_empty() {
        return Err(PluginError::param(
            "test_fraction",
            format!("leaves no training rows out of {n}"),
        ));
    }
    if p.bool("standardize")? {
        for j in 0..dim {
            let vals: Vec<f64> = train.iter().map(|&r| f64::from(x[r * dim + j])).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let sd =
                (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
            let sd = if sd > 0.0 { sd } else { 1.0 };
            for r in 0..n {
                x[r * dim + j] = ((f64::from(x[r * dim + j]) - mean) / sd) as f32;
            }
        }
    }
    Ok(Box::new(Tabular {
        x,
        y,
        dim,
        classes: classes.len(),
        train,
        test,
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset("csv", "0.1.0", build)
            .summary(
                "CSV of numeric features and a label (plain or gzip); synthetic blobs when no path",
            )
            .param(Param::str(
                "path",
                "",
                "CSV file; empty generates Gaussian blobs from the seed",
            ))
            .param(Param::str(
                "label_column",
                "",
                "label column: header name or 0-based index; empty = last",
            ))
            .param(
                Param::float("test_fraction", 0.2, "share of rows held out for testing")
                    .range(0.0, 0.95),
            )
            .param(Param::bool(
                "standardize",
                true,
                "z-score features with training-split statistics",
            ))
            .param(Param::int("blob_examples", 600, "rows of the synthetic table").min(3.0))
            .param(Param::int("blob_dim", 8, "features of the synthetic table").min(1.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(given: &[(&str, Value)]) -> Result<Box<dyn Dataset>> {
        let mut found = Vec::new();
        register(&mut found);
        let Factory::Dataset(f) = &found[0].factory else {
            unreachable!()
        };
        f(
            &found[0].resolve(given)?,
            &BuildContext {
                seed: 5,
                device: Device::Cpu,
            },
        )
    }

    #[test]
    fn reads_header_string_labels_and_gzip() {
        let dir = std::env::temp_dir().join(format!("assay-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n9,10,cat\n";
        let plain = dir.join("t.csv");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.join("t.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for p in [&plain, &gz] {
            let d = make(&[
                ("path", Value::Str(p.display().to_string())),
                ("test_fraction", Value::Float(0.4)),
            ])
            .unwrap();
            assert_eq!(d.info().objective, Objective::Classification { classes: 2 });
            assert_eq!((d.len(Split::Train), d.len(Split::Test)), (3, 2));
            assert_eq!(
                d.batch(Split::Test, &[0, 1], &Device::Cpu)
                    .unwrap()
                    .input
                    .dims(),
                &[2, 2]
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let dir = std::env::temp_dir().join(format!("assay-csv-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.csv");
        std::fs::write(&p, "1,2,0\n3,x,1\n").unwrap();
        let err = make(&[("path", Value::Str(p.display().to_string()))])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("bad.csv:2") && err.contains("`x`"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn blobs_without_a_file_are_seeded() {
        let a = make(&[]).unwrap();
        let b = make(&[]).unwrap();
        let xa = a
            .batch(Split::Train, &[0, 1, 2], &Device::Cpu)
            .unwrap()
            .input
            .to_vec2::<f32>()
            .unwrap();
        let xb = b
            .batch(Split::Train, &[0, 1, 2], &Device::Cpu)
            .unwrap()
            .input
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(xa, xb);
        assert_eq!(a.info().objective.outputs(), 3);
    }

    #[test]
    fn reads_the_digits_file_when_present() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/digits.csv.gz"
        );
        if !std::path::Path::new(path).exists() {
            eprintln!("skipping: {path} not present");
            return;
        }
        let d = make(&[("path", Value::Str(path.into()))]).unwrap();
        assert_eq!(
            d.info(),
            DataInfo::features(vec![64], Objective::Classification { classes: 10 })
        );
        assert_eq!(d.len(Split::Train) + d.len(Split::Test), 1797);
    }
}
