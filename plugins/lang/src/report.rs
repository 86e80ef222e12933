//! What probe `language_neurons` found, as the store's tables and the run's metrics.
//!
//! Tables (each with `run_id` and `step` added by the host):
//!
//! - `lang_data`: per language, training and held-out strings, the held-out sentences whose
//!   responses were recorded (those within the token limit), and the training bytes.
//! - `lang_units`: every unit's AP for every language (`language, unit, layer, kind, index, ap`).
//! - `lang_selected`: each language's top-k and bottom-k units with their AP and the value they
//!   are forced to (`on_p50`, the median response on the language's sentences).
//! - `lang_overlap`: for each pair of languages and each set (`top`, `bottom`, `all`), the
//!   shared units and the overlap (shared over the set size).
//! - `lang_layers`: selected units per language, layer and kind (`top_units`,
//!   `bottom_units`).
//! - `lang_id`: the language identifier's accuracy on each language's held-out strings.
//! - `lang_generation`, `lang_samples`, `lang_dose`: the generated texts and their
//!   target-language shares ([`crate::shares`]).
//! - `lang_summary`: one row per language (`position` in the languages' order), the result
//!   table of the study: selected units, best AP, the mean overlap of its top set with the
//!   others', the share of its selected units in the first or last block (`edge_layers`,
//!   reported only), and the target-language shares and gains (forced or random minus none)
//!   with the selected number of units forcing.

use assay_sdk::prelude::*;

use crate::expertise::{mean_overlap, Expertise, Overlap, Selection};
use crate::shares::Generations;
use crate::units::{UnitKind, Units};

/// One language's data counts.
#[derive(Debug, Clone, PartialEq)]
pub struct DataRow {
    /// The language.
    pub language: String,
    /// Training strings.
    pub train: usize,
    /// Held-out strings.
    pub held_out: usize,
    /// Held-out sentences within the token limit (the probe's positives).
    pub used: usize,
    /// Training bytes.
    pub train_bytes: usize,
}

/// Everything the probe measured.
pub struct Findings<'a> {
    /// The model's units.
    pub units: &'a Units,
    /// Data counts per language.
    pub data: Vec<DataRow>,
    /// Every unit's AP.
    pub expertise: &'a Expertise,
    /// Each language's selection, in the languages' order.
    pub selections: Vec<Selection>,
    /// The forced values of each selection's units (`top` then `bottom`).
    pub values: Vec<Vec<f32>>,
    /// Overlaps of the selections.
    pub overlaps: Vec<Overlap>,
    /// `(language, strings, correct)` of the language identifier on held-out strings.
    pub language_id: Vec<(String, usize, usize)>,
    /// Generated texts, every condition.
    pub generations: Generations,
    /// Whether to store `lang_units`.
    pub unit_table: bool,
    /// Whether to store `lang_samples`.
    pub sample_table: bool,
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn i(v: usize) -> Option<i64> {
    Some(v as i64)
}

fn kind_of(units: &Units, u: usize) -> (Option<i64>, Option<String>, Option<i64>) {
    match units.locate(u) {
        Some(r) => (i(r.hook.layer), s(r.hook.kind.name()), i(r.index)),
        None => (None, None, None),
    }
}

impl Findings<'_> {
    /// The share of `mode` texts identified as `language` under `condition` with the
    /// language's selected number of units forced (for `none`, the shared unforced texts).
    pub fn share(&self, language: &str, condition: &str, mode: &str) -> Option<f64> {
        let units = self
            .selections
            .iter()
            .find(|s| s.language == language)
            .map_or(0, |s| s.all().len());
        self.generations.share(language, condition, units, mode)
    }

    /// The best AP of each language, in order.
    pub fn best_ap(&self) -> Vec<f64> {
        self.expertise
            .ap
            .iter()
            .map(|a| a.iter().copied().fold(0.0, f64::max))
            .collect()
    }

    /// Every table (see the module documentation).
    pub fn tables(&self) -> Vec<Table> {
        let mut out = vec![self.data_table()];
        if self.unit_table {
            out.push(self.unit_table());
        }
        out.push(self.selected_table());
        out.push(self.overlap_table());
        out.push(self.layer_table());
        out.push(self.id_table());
        let languages = &self.expertise.languages;
        out.push(self.generations.table(languages));
        out.push(self.generations.dose(languages));
        if self.sample_table {
            out.push(self.generations.samples());
        }
        out.push(self.summary_table());
        out
    }

    fn data_table(&self) -> Table {
        let d = &self.data;
        Table::new("lang_data")
            .column(
                "language",
                Column::Str(d.iter().map(|r| s(&r.language)).collect()),
            )
            .column("train", Column::I64(d.iter().map(|r| i(r.train)).collect()))
            .column(
                "held_out",
                Column::I64(d.iter().map(|r| i(r.held_out)).collect()),
            )
            .column("used", Column::I64(d.iter().map(|r| i(r.used)).collect()))
            .column(
                "train_bytes",
                Column::I64(d.iter().map(|r| i(r.train_bytes)).collect()),
            )
    }

    fn unit_table(&self) -> Table {
        let (mut lang, mut unit, mut layer, mut kind, mut index, mut ap) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (l, row) in self.expertise.languages.iter().zip(&self.expertise.ap) {
            for (u, &a) in row.iter().enumerate() {
                let (ly, k, ix) = kind_of(self.units, u);
                lang.push(s(l));
                unit.push(i(u));
                layer.push(ly);
                kind.push(k);
                index.push(ix);
                ap.push(Some(a));
            }
        }
        Table::new("lang_units")
            .column("language", Column::Str(lang))
            .column("unit", Column::I64(unit))
            .column("layer", Column::I64(layer))
            .column("kind", Column::Str(kind))
            .column("index", Column::I64(index))
            .column("ap", Column::F64(ap))
    }

    fn selected_table(&self) -> Table {
        let mut cols: (
            Vec<_>,
            Vec<_>,
            Vec<_>,
            Vec<_>,
            Vec<_>,
            Vec<_>,
            Vec<_>,
            Vec<_>,
            Vec<_>,
        ) = Default::default();
        for (li, (sel, values)) in self.selections.iter().zip(&self.values).enumerate() {
            let sets = [("top", &sel.top), ("bottom", &sel.bottom)];
            let mut k = 0;
            for (set, list) in sets {
                for (rank, &u) in list.iter().enumerate() {
                    let (ly, kind, ix) = kind_of(self.units, u);
                    cols.0.push(s(&sel.language));
                    cols.1.push(s(set));
                    cols.2.push(i(rank + 1));
                    cols.3.push(i(u));
                    cols.4.push(ly);
                    cols.5.push(kind);
                    cols.6.push(ix);
                    cols.7.push(self.expertise.ap[li].get(u).copied());
                    cols.8.push(values.get(k).map(|&v| f64::from(v)));
                    k += 1;
                }
            }
        }
        Table::new("lang_selected")
            .column("language", Column::Str(cols.0))
            .column("set", Column::Str(cols.1))
            .column("rank", Column::I64(cols.2))
            .column("unit", Column::I64(cols.3))
            .column("layer", Column::I64(cols.4))
            .column("kind", Column::Str(cols.5))
            .column("index", Column::I64(cols.6))
            .column("ap", Column::F64(cols.7))
            .column("value", Column::F64(cols.8))
    }

    fn overlap_table(&self) -> Table {
        let o = &self.overlaps;
        Table::new("lang_overlap")
            .column("set", Column::Str(o.iter().map(|r| s(r.set)).collect()))
            .column(
                "language_a",
                Column::Str(o.iter().map(|r| s(&r.a)).collect()),
            )
            .column(
                "language_b",
                Column::Str(o.iter().map(|r| s(&r.b)).collect()),
            )
            .column(
                "shared",
                Column::I64(o.iter().map(|r| i(r.shared)).collect()),
            )
            .column(
                "overlap",
                Column::F64(o.iter().map(|r| Some(r.overlap)).collect()),
            )
    }

    fn layer_table(&self) -> Table {
        let (mut lang, mut layer, mut kind, mut top, mut bottom) =
            (vec![], vec![], vec![], vec![], vec![]);
        for sel in &self.selections {
            for ((ly, k), (t, b)) in crate::expertise::per_layer(self.units, sel) {
                lang.push(s(&sel.language));
                layer.push(i(ly));
                kind.push(s(UnitKind::name(k)));
                top.push(i(t));
                bottom.push(i(b));
            }
        }
        Table::new("lang_layers")
            .column("language", Column::Str(lang))
            .column("layer", Column::I64(layer))
            .column("kind", Column::Str(kind))
            .column("top_units", Column::I64(top))
            .column("bottom_units", Column::I64(bottom))
    }

    fn id_table(&self) -> Table {
        let a = &self.language_id;
        Table::new("lang_id")
            .column("language", Column::Str(a.iter().map(|r| s(&r.0)).collect()))
            .column("strings", Column::I64(a.iter().map(|r| i(r.1)).collect()))
            .column("correct", Column::I64(a.iter().map(|r| i(r.2)).collect()))
            .column(
                "accuracy",
                Column::F64(
                    a.iter()
                        .map(|r| (r.1 > 0).then(|| r.2 as f64 / r.1 as f64))
                        .collect(),
                ),
            )
    }

    fn summary_table(&self) -> Table {
        let best = self.best_ap();
        let langs = &self.expertise.languages;
        let col = |cond: &str, mode: &str| -> Column {
            Column::F64(langs.iter().map(|l| self.share(l, cond, mode)).collect())
        };
        let gain = |cond: &str| -> Column {
            Column::F64(
                langs
                    .iter()
                    .map(|l| {
                        let base = self.share(l, "none", "unconditional")?;
                        Some(self.share(l, cond, "unconditional")? - base)
                    })
                    .collect(),
            )
        };
        let top_overlap: Vec<Option<f64>> = langs
            .iter()
            .map(|l| {
                let v: Vec<f64> = self
                    .overlaps
                    .iter()
                    .filter(|o| o.set == "top" && (&o.a == l || &o.b == l))
                    .map(|o| o.overlap)
                    .collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            })
            .collect();
        let last = self.units.layers().saturating_sub(1);
        let edge: Vec<Option<f64>> = self
            .selections
            .iter()
            .map(|sel| {
                let all = sel.all();
                let at_edge = all
                    .iter()
                    .filter_map(|&u| self.units.locate(u))
                    .filter(|r| r.hook.layer == 0 || r.hook.layer == last)
                    .count();
                (!all.is_empty()).then(|| at_edge as f64 / all.len() as f64)
            })
            .collect();
        Table::new("lang_summary")
            .column("position", Column::I64((0..langs.len()).map(i).collect()))
            .column("language", Column::Str(langs.iter().map(s).collect()))
            .column(
                "units",
                Column::I64(self.selections.iter().map(|x| i(x.all().len())).collect()),
            )
            .column(
                "best_ap",
                Column::F64(best.iter().map(|&b| Some(b)).collect()),
            )
            .column("top_overlap", Column::F64(top_overlap))
            .column("edge_layers", Column::F64(edge))
            .column("share_none", col("none", "unconditional"))
            .column("share_forced", col("forced", "unconditional"))
            .column("share_random", col("random", "unconditional"))
            .column("gain_forced", gain("forced"))
            .column("gain_random", gain("random"))
            .column("translation_none", col("none", "translation"))
            .column("translation_forced", col("forced", "translation"))
            .column("translation_random", col("random", "translation"))
    }

    /// The run's metrics: per language `lang/{l}/best_ap` and the shares; the mean overlaps,
    /// the identifier's accuracy, and the notes' pass criteria as 0/1 (`lang/pass/best_ap`:
    /// every language's best AP ≥ 0.95; `lang/pass/overlap`: mean top-set overlap ≤ 0.10;
    /// `lang/pass/forcing`: forcing raises the target share by ≥ 0.30 in at least 4 languages
    /// (or all, with fewer than 4); `lang/pass/random`: the random control raises it by < 0.10
    /// in every language).
    pub fn metrics(&self) -> Vec<Metric> {
        let mut m = Vec::new();
        let langs = &self.expertise.languages;
        let best = self.best_ap();
        let (mut raised, mut random_max, mut have_random) = (0usize, f64::NEG_INFINITY, false);
        for (l, b) in langs.iter().zip(&best) {
            m.push(Metric::new(format!("lang/{l}/best_ap"), *b));
            let base = self.share(l, "none", "unconditional");
            for cond in ["none", "forced", "random"] {
                if let Some(v) = self.share(l, cond, "unconditional") {
                    m.push(Metric::new(format!("lang/{l}/share_{cond}"), v));
                }
            }
            if let (Some(b0), Some(f)) = (base, self.share(l, "forced", "unconditional")) {
                raised += usize::from(f - b0 >= 0.30);
            }
            if let (Some(b0), Some(r)) = (base, self.share(l, "random", "unconditional")) {
                random_max = random_max.max(r - b0);
                have_random = true;
            }
        }
        let top = mean_overlap(&self.overlaps, "top");
        m.push(Metric::new("lang/top_overlap_mean", top));
        m.push(Metric::new(
            "lang/all_overlap_mean",
            mean_overlap(&self.overlaps, "all"),
        ));
        let (n, right) = self
            .language_id
            .iter()
            .fold((0, 0), |(n, r), x| (n + x.1, r + x.2));
        if n > 0 {
            m.push(Metric::new("lang/langid_accuracy", right as f64 / n as f64));
        }
        m.push(Metric::new("lang/units", self.units.total as f64));
        m.push(Metric::new("lang/forcing_raised", raised as f64));
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        m.push(Metric::new(
            "lang/pass/best_ap",
            flag(best.iter().all(|&b| b >= 0.95)),
        ));
        m.push(Metric::new("lang/pass/overlap", flag(top <= 0.10)));
        m.push(Metric::new(
            "lang/pass/forcing",
            flag(raised >= langs.len().min(4)),
        ));
        if have_random {
            m.push(Metric::new("lang/random_max_gain", random_max));
            m.push(Metric::new("lang/pass/random", flag(random_max < 0.10)));
        }
        m
    }
}
