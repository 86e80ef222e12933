//! The tables of the `digit_confidence` probe: one row per problem (`digit_confidence`) and one
//! per digit-count pair (`digit_confidence_summary`: means with bootstrap intervals, accuracies,
//! the best constant first digit's accuracy, and the gain of the gold prefix where the model's
//! own prefix is wrong).

use std::collections::BTreeMap;

use assay_sdk::prelude::*;

use crate::bootstrap::Interval;
use crate::mc_dropout::Scores;

/// A scored problem: its operands, the first digit of its product, and its scores.
pub(crate) struct Row {
    pub a: u64,
    pub b: u64,
    pub first_digit: u32,
    pub scores: Scores,
}

/// The share of true flags; `None` for none.
pub(crate) fn share(flags: impl Iterator<Item = bool>) -> Option<f64> {
    let (mut yes, mut n) = (0usize, 0usize);
    for f in flags {
        yes += usize::from(f);
        n += 1;
    }
    (n > 0).then(|| yes as f64 / n as f64)
}

/// Share of `rows` whose first digit is their most frequent one.
fn constant_hits(rows: &[Row]) -> usize {
    let mut counts = [0usize; 10];
    for r in rows {
        counts[r.first_digit as usize] += 1;
    }
    counts.into_iter().max().unwrap_or(0)
}

/// Columns of the per-problem table.
pub(crate) fn problem_table(by_pair: &BTreeMap<(usize, usize), Vec<Row>>) -> Table {
    let rows: Vec<(&(usize, usize), &Row)> = by_pair
        .iter()
        .flat_map(|(pair, rs)| rs.iter().map(move |r| (pair, r)))
        .collect();
    let int = |f: &dyn Fn(&(usize, usize), &Row) -> i64| {
        Column::I64(rows.iter().map(|(p, r)| Some(f(p, r))).collect())
    };
    let float = |f: &dyn Fn(&Scores) -> f64| {
        Column::F64(rows.iter().map(|(_, r)| Some(f(&r.scores))).collect())
    };
    let flag = |f: &dyn Fn(&Scores) -> bool| {
        Column::Bool(rows.iter().map(|(_, r)| Some(f(&r.scores))).collect())
    };
    Table::new("digit_confidence")
        .column("n", int(&|p, _| p.0 as i64))
        .column("m", int(&|p, _| p.1 as i64))
        .column("a", int(&|_, r| r.a as i64))
        .column("b", int(&|_, r| r.b as i64))
        .column("conf_first", float(&|s| s.conf_first))
        .column("first_correct", flag(&|s| s.first_correct))
        .column("conf_last_own", float(&|s| s.conf_last_own))
        .column("last_own_correct", flag(&|s| s.last_own_correct))
        .column("own_prefix_correct", flag(&|s| s.own_prefix_correct))
        .column("conf_last_gold", float(&|s| s.conf_last_gold))
        .column("last_gold_correct", flag(&|s| s.last_gold_correct))
}

/// The summary table, built one row (pair) at a time.
#[derive(Default)]
pub(crate) struct Summary {
    /// Columns in order of first use.
    columns: Vec<(String, Column)>,
}

impl Summary {
    /// The column `name`, created as `empty` on first use.
    fn column(&mut self, name: &str, empty: Column) -> &mut Column {
        let i = match self.columns.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.columns.push((name.to_string(), empty));
                self.columns.len() - 1
            }
        };
        &mut self.columns[i].1
    }

    /// Appends `v` to the integer column `name`.
    fn int(&mut self, name: &str, v: i64) {
        if let Column::I64(c) = self.column(name, Column::I64(Vec::new())) {
            c.push(Some(v));
        }
    }

    /// Appends `v` to the float column `name`.
    fn float(&mut self, name: &str, v: Option<f64>) {
        if let Column::F64(c) = self.column(name, Column::F64(Vec::new())) {
            c.push(v);
        }
    }

    /// The columns `name` (the mean), `name_lo` and `name_hi`.
    fn interval(&mut self, name: &str, ci: Option<Interval>) {
        self.float(name, ci.map(|c| c.mean));
        self.float(&format!("{name}_lo"), ci.map(|c| c.lo));
        self.float(&format!("{name}_hi"), ci.map(|c| c.hi));
    }

    /// Adds the row of pair `pair` (`ci_of` gives the bootstrap interval of a quantity's
    /// values); returns how many of its problems the best constant first digit gets right.
    pub(crate) fn add_pair(
        &mut self,
        pair: (usize, usize),
        rows: &[Row],
        ci_of: &dyn Fn(&str, &[f64]) -> Option<Interval>,
    ) -> usize {
        let col = |f: fn(&Scores) -> f64| rows.iter().map(|r| f(&r.scores)).collect::<Vec<_>>();
        let rate = |f: fn(&Scores) -> bool| share(rows.iter().map(|r| f(&r.scores)));
        let gains: Vec<f64> = rows
            .iter()
            .filter(|r| !r.scores.own_prefix_correct)
            .map(|r| r.scores.conf_last_gold - r.scores.conf_last_own)
            .collect();
        let hits = constant_hits(rows);
        self.int("n", pair.0 as i64);
        self.int("m", pair.1 as i64);
        self.int("problems", rows.len() as i64);
        self.float("first_acc", rate(|s| s.first_correct));
        self.float("constant_acc", Some(hits as f64 / rows.len().max(1) as f64));
        for (name, f) in [
            ("conf_first", (|s| s.conf_first) as fn(&Scores) -> f64),
            ("conf_last_own", |s| s.conf_last_own),
            ("conf_last_gold", |s| s.conf_last_gold),
        ] {
            self.interval(name, ci_of(name, &col(f)));
        }
        self.float("last_own_acc", rate(|s| s.last_own_correct));
        self.float("last_gold_acc", rate(|s| s.last_gold_correct));
        self.float("own_prefix_acc", rate(|s| s.own_prefix_correct));
        self.int("wrong_prefix", gains.len() as i64);
        self.interval("gain_wrong_prefix", ci_of("gain_wrong_prefix", &gains));
        hits
    }

    /// The finished table.
    pub(crate) fn table(self) -> Table {
        self.columns
            .into_iter()
            .fold(Table::new("digit_confidence_summary"), |t, (name, col)| {
                t.column(name, col)
            })
    }
}
