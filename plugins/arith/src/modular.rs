//! The `modular` dataset: `f(x, y) mod p` for every pair of operands in `[0, p)`.
//!
//! Vocabulary `p + 5`: the numbers, then `=` (p), `+` (p+1), `-` (p+2), `*` (p+3), `/` (p+4).
//! Each example is three tokens, `[x, op, y]` (`format = "op"`) or `[x, =, y]`
//! (`format = "short"`, the polynomials' format), or two tokens `[x, y]` over a vocabulary of
//! just the p numbers (`format = "pair"`, the grokking-tickets input); the label is `f(x, y) mod p`. Division is
//! `x · y⁻¹` and leaves out `y = 0` (p must be prime). Polynomials have no operator token of
//! their own: they use `=`. The pairs are shuffled with the run seed and the first
//! `⌊train_fraction · N⌋` are the training split.

use assay_sdk::prelude::*;
use assay_sdk::rand::seq::SliceRandom;

/// Every operation by name, with its operator token offset (`0` = `=`).
pub(crate) const OPERATIONS: [&str; 24] = [
    "add",
    "sub",
    "mul",
    "div",
    "x^2+y^2",
    "x^2+xy+y^2",
    "x^2+xy+y^2+x",
    "x^3+xy",
    "x^3+xy^2+y",
    "(x+y)^2",
    "(x+y)^3",
    "(x+y)^4",
    "(x-y)^2",
    "(x-y)^3",
    "(x-y)^4",
    "x^2-y^2",
    "2x+3y",
    "2x-3y",
    "x^3+2y",
    "x^3-2y",
    "xy+y",
    "xy-y",
    "x^2+y",
    "x^2-y",
];

/// `f(x, y) mod p`, or `None` where undefined (division by zero).
pub(crate) fn apply(op: &str, x: i64, y: i64, p: i64) -> Option<i64> {
    let m = |v: i64| v.rem_euclid(p);
    let pow = |b: i64, e: u32| (0..e).fold(1i64, |acc, _| m(acc * m(b)));
    Some(m(match op {
        "add" => x + y,
        "sub" => x - y,
        "mul" => x * y,
        "div" => {
            if m(y) == 0 {
                return None;
            }
            x * pow(y, (p - 2) as u32)
        }
        "x^2+y^2" => pow(x, 2) + pow(y, 2),
        "x^2+xy+y^2" => pow(x, 2) + m(x * y) + pow(y, 2),
        "x^2+xy+y^2+x" => pow(x, 2) + m(x * y) + pow(y, 2) + x,
        "x^3+xy" => pow(x, 3) + m(x * y),
        "x^3+xy^2+y" => pow(x, 3) + m(x * pow(y, 2)) + y,
        "(x+y)^2" => pow(x + y, 2),
        "(x+y)^3" => pow(x + y, 3),
        "(x+y)^4" => pow(x + y, 4),
        "(x-y)^2" => pow(x - y, 2),
        "(x-y)^3" => pow(x - y, 3),
        "(x-y)^4" => pow(x - y, 4),
        "x^2-y^2" => pow(x, 2) - pow(y, 2),
        "2x+3y" => 2 * x + 3 * y,
        "2x-3y" => 2 * x - 3 * y,
        "x^3+2y" => pow(x, 3) + 2 * y,
        "x^3-2y" => pow(x, 3) - 2 * y,
        "xy+y" => x * y + y,
        "xy-y" => x * y - y,
        "x^2+y" => pow(x, 2) + y,
        "x^2-y" => pow(x, 2) - y,
        _ => return None,
    }))
}

/// The operator token of `op` (offset from `p`).
fn token(op: &str) -> u32 {
    match op {
        "add" => 1,
        "sub" => 2,
        "mul" => 3,
        "div" => 4,
        _ => 0,
    }
}

fn is_prime(p: i64) -> bool {
    p >= 2 && (2..).take_while(|d| d * d <= p).all(|d| p % d != 0)
}

struct Modular {
    /// Rows of `[x, op, y]` tokens and the label.
    examples: Vec<([u32; 3], u32)>,
    train: usize,
    p: usize,
    /// `format = "pair"`: only `[x, y]`, over a vocabulary of the p numbers.
    pair: bool,
}

impl Dataset for Modular {
    fn info(&self) -> DataInfo {
        let classes = Objective::Classification { classes: self.p };
        if self.pair {
            DataInfo::tokens(2, self.p, classes)
        } else {
            DataInfo::tokens(3, self.p + 5, classes)
        }
    }

    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train,
            Split::Test => self.examples.len() - self.train,
        }
    }

    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let offset = if split == Split::Train { 0 } else { self.train };
        let mut xs = Vec::with_capacity(indices.len() * 3);
        let mut ys = Vec::with_capacity(indices.len());
        for &i in indices {
            let (x, y) = self
                .examples
                .get(offset + i)
                .filter(|_| i < self.len(split))
                .ok_or_else(|| {
                    PluginError::invalid(format!("index {i} beyond the {} split", split.as_str()))
                })?;
            if self.pair {
                xs.extend_from_slice(&[x[0], x[2]]);
            } else {
                xs.extend_from_slice(x);
            }
            ys.push(*y);
        }
        let width = if self.pair { 2 } else { 3 };
        Ok(Batch {
            input: Tensor::from_vec(xs, (indices.len(), width), device)?,
            target: Tensor::from_vec(ys, indices.len(), device)?,
        })
    }
}

fn build(params: &Params, cx: &BuildContext) -> Result<Box<dyn Dataset>> {
    let p = params.i64("p")?;
    let ops: Vec<String> = params.str_list("operations")?;
    if ops.is_empty() {
        return Err(PluginError::param(
            "operations",
            "name at least one operation",
        ));
    }
    for op in &ops {
        if !OPERATIONS.contains(&op.as_str()) {
            return Err(PluginError::param(
                "operations",
                format!("unknown operation `{op}`; known: {}", OPERATIONS.join(", ")),
            ));
        }
        if op == "div" && !is_prime(p) {
            return Err(PluginError::param(
                "p",
                format!("division needs a prime modulus, {p} is not prime"),
            ));
        }
    }
    let pair = params.str("format")? == "pair";
    let short = params.str("format")? == "short" || pair;
    if ops.len() > 1 && (short || ops.iter().filter(|o| token(o) == 0).count() > 1) {
        return Err(PluginError::param("operations", "a mixture needs format = \"op\" and at most one operation without its own operator token"));
    }
    let symmetric = params.bool("symmetric")?;
    let mut examples = Vec::new();
    for op in &ops {
        let op_token = (p as u32) + if short { 0 } else { token(op) };
        for x in 0..p {
            for y in 0..p {
                if symmetric && x > y {
                    continue;
                }
                if let Some(v) = apply(op, x, y, p) {
                    examples.push(([x as u32, op_token, y as u32], v as u32));
                }
            }
        }
    }
    examples.shuffle(&mut cx.rng("modular"));
    let train = (params.f64("train_fraction")? * examples.len() as f64).floor() as usize;
    if train == 0 {
        return Err(PluginError::param(
            "train_fraction",
            format!("leaves no training pairs out of {}", examples.len()),
        ));
    }
    Ok(Box::new(Modular {
        examples,
        train,
        p: p as usize,
        pair,
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset("modular", "0.2.0", build)
            .summary("f(x, y) mod p for +, -, *, / and modular polynomials, as 3-token sequences")
            .param(Param::int("p", 97, "modulus; operands run over [0, p)").range(2.0, 10_000.0))
            .param(Param::list(
                "operations",
                ParamType::StrList,
                vec![Value::Str("add".into())],
                "operations (several make a mixture): add, sub, mul, div, x^2+y^2, ...",
            ))
            .param(
                Param::str(
                    "format",
                    "op",
                    "`op`: [x, op, y]; `short`: [x, =, y]; `pair`: [x, y] over a vocabulary of p (the tickets MLP)",
                )
                .choices(&["op", "short", "pair"]),
            )
            .param(
                Param::float("train_fraction", 0.3, "share of pairs used for training")
                    .range(0.0, 1.0),
            )
            .param(Param::bool(
                "symmetric",
                false,
                "only pairs with x <= y (the grokking-tickets setup)",
            )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(given: &[(&str, Value)]) -> Box<dyn Dataset> {
        let mut found = Vec::new();
        register(&mut found);
        found[0]
            .build_dataset(
                given,
                &BuildContext {
                    seed: 1,
                    device: Device::Cpu,
                },
            )
            .unwrap()
    }

    fn all_rows(d: &dyn Dataset) -> Vec<(Vec<u32>, u32)> {
        let mut out = Vec::new();
        for split in [Split::Train, Split::Test] {
            let idx: Vec<usize> = (0..d.len(split)).collect();
            let b = d.batch(split, &idx, &Device::Cpu).unwrap();
            let x = b.input.to_vec2::<u32>().unwrap();
            let y = b.target.to_vec1::<u32>().unwrap();
            out.extend(x.into_iter().zip(y));
        }
        out
    }

    #[test]
    fn every_operation_has_the_right_size_and_labels() {
        let p = 7i64;
        for op in OPERATIONS {
            let d = make(&[
                ("p", Value::Int(p)),
                ("operations", Value::List(vec![Value::Str(op.into())])),
                ("train_fraction", Value::Float(0.5)),
            ]);
            let rows = all_rows(&*d);
            let expected = if op == "div" { p * (p - 1) } else { p * p } as usize;
            assert_eq!(rows.len(), expected, "{op}");
            assert_eq!(d.len(Split::Train), expected / 2, "{op}");
            for (x, label) in rows {
                let (a, b) = (i64::from(x[0]), i64::from(x[2]));
                // Direct computation with plain integers.
                let direct = match op {
                    "add" => a + b,
                    "sub" => a - b,
                    "mul" => a * b,
                    "div" => (0..p).find(|q| (q * b).rem_euclid(p) == a).unwrap(),
                    "x^2+y^2" => a * a + b * b,
                    "x^3+xy" => a * a * a + a * b,
                    "(x+y)^4" => (a + b).pow(4),
                    "x^2-y^2" => a * a - b * b,
                    "2x-3y" => 2 * a - 3 * b,
                    "xy-y" => a * b - b,
                    _ => apply(op, a, b, p).unwrap(),
                }
                .rem_euclid(p);
                assert_eq!(i64::from(label), direct, "{op}({a}, {b})");
                assert_eq!(x[1], p as u32 + token(op));
            }
        }
    }

    #[test]
    fn short_format_symmetric_pairs_and_mixtures() {
        let d = make(&[
            ("p", Value::Int(11)),
            ("format", Value::Str("short".into())),
            ("symmetric", Value::Bool(true)),
            ("train_fraction", Value::Float(0.3)),
        ]);
        let rows = all_rows(&*d);
        assert_eq!(rows.len(), 11 * 12 / 2);
        assert!(rows.iter().all(|(x, _)| x[0] <= x[2] && x[1] == 11));
        let mix = make(&[
            ("p", Value::Int(5)),
            (
                "operations",
                Value::List(vec![Value::Str("add".into()), Value::Str("mul".into())]),
            ),
        ]);
        let rows = all_rows(&*mix);
        assert_eq!(rows.len(), 50);
        assert_eq!(rows.iter().filter(|(x, _)| x[1] == 5 + 3).count(), 25);
        assert_eq!(
            mix.info(),
            DataInfo::tokens(3, 10, Objective::Classification { classes: 5 })
        );
    }

    #[test]
    fn pair_format_is_the_tickets_input() {
        // p = 67, symmetric pairs: 67·68/2 = 2,278 pairs, 40 % of them for training.
        let d = make(&[
            ("p", Value::Int(67)),
            ("format", Value::Str("pair".into())),
            ("symmetric", Value::Bool(true)),
            ("train_fraction", Value::Float(0.4)),
        ]);
        assert_eq!(
            d.info(),
            DataInfo::tokens(2, 67, Objective::Classification { classes: 67 })
        );
        assert_eq!(d.len(Split::Train), 911);
        let rows = all_rows(&*d);
        assert_eq!(rows.len(), 2278);
        assert!(rows
            .iter()
            .all(|(x, y)| x.len() == 2 && x[0] <= x[1] && *y == (x[0] + x[1]) % 67));
    }

    #[test]
    fn the_split_is_seeded() {
        let a = all_rows(&*make(&[("p", Value::Int(13))]));
        let b = all_rows(&*make(&[("p", Value::Int(13))]));
        assert_eq!(a, b);
    }
}
