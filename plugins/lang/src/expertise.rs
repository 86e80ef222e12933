//! Expertise: how well each unit's response detects each language (average precision, positives
//! one language's held-out sentences, negatives every other language's), the top-k and
//! bottom-k units of each language, how much the languages' sets overlap, and where the units
//! sit.

use std::collections::{BTreeMap, HashSet};

use assay_sdk::rayon::prelude::*;

use crate::average_precision::average_precision_by_class;
use crate::responses::median;
use crate::units::{UnitKind, Units};

/// Every unit's AP for every language.
#[derive(Debug, Clone, PartialEq)]
pub struct Expertise {
    /// The languages, in the order of `ap`.
    pub languages: Vec<String>,
    /// `ap[language][unit]`.
    pub ap: Vec<Vec<f64>>,
}

/// The AP of every unit for every language. `responses[l]` holds language `l`'s sentences'
/// responses (`[sentence][unit]`); each unit is sorted once and scored for all languages. A
/// language without sentences gets AP 0 everywhere.
pub fn expertise(languages: &[String], responses: &[Vec<Vec<f32>>], units: usize) -> Expertise {
    let classes: Vec<usize> = responses
        .iter()
        .enumerate()
        .flat_map(|(l, rows)| std::iter::repeat_n(l, rows.len()))
        .collect();
    let rows: Vec<&Vec<f32>> = responses.iter().flatten().collect();
    let n = languages.len();
    let by_unit: Vec<Vec<f64>> = (0..units)
        .into_par_iter()
        .map(|u| {
            let scores: Vec<f32> = rows.iter().map(|r| r[u]).collect();
            average_precision_by_class(&scores, &classes, n)
                .into_iter()
                .map(|a| a.unwrap_or(0.0))
                .collect()
        })
        .collect();
    let ap = (0..n)
        .map(|l| by_unit.iter().map(|a| a[l]).collect())
        .collect();
    Expertise {
        languages: languages.to_vec(),
        ap,
    }
}

/// One language's selected units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The language.
    pub language: String,
    /// The `top_k` units of highest AP, best first.
    pub top: Vec<usize>,
    /// The `bottom_k` units of lowest AP, lowest first (never one of `top`).
    pub bottom: Vec<usize>,
}

impl Selection {
    /// Top and bottom units together.
    pub fn all(&self) -> Vec<usize> {
        self.top.iter().chain(&self.bottom).copied().collect()
    }
}

/// The top-k and bottom-k units of `ap` (ties broken by the lower unit number).
pub fn select(language: &str, ap: &[f64], top_k: usize, bottom_k: usize) -> Selection {
    let mut order: Vec<usize> = (0..ap.len()).collect();
    order.sort_by(|&a, &b| ap[b].total_cmp(&ap[a]).then(a.cmp(&b)));
    let top: Vec<usize> = order.iter().take(top_k).copied().collect();
    let taken: HashSet<usize> = top.iter().copied().collect();
    order.sort_by(|&a, &b| ap[a].total_cmp(&ap[b]).then(a.cmp(&b)));
    let bottom = order
        .into_iter()
        .filter(|u| !taken.contains(u))
        .take(bottom_k)
        .collect();
    Selection {
        language: language.to_string(),
        top,
        bottom,
    }
}

/// The overlap of two languages' sets of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    /// `top`, `bottom` or `all` (both).
    pub set: &'static str,
    /// First language.
    pub a: String,
    /// Second language.
    pub b: String,
    /// Units in both sets.
    pub shared: usize,
    /// `shared` over the smaller set's size (0 for empty sets).
    pub overlap: f64,
}

/// Overlaps of every pair of languages, for the top, bottom and combined sets.
pub fn overlaps(selections: &[Selection]) -> Vec<Overlap> {
    let mut out = Vec::new();
    for (set, pick) in [
        (
            "top",
            (|s: &Selection| s.top.clone()) as fn(&Selection) -> Vec<usize>,
        ),
        ("bottom", |s: &Selection| s.bottom.clone()),
        ("all", |s: &Selection| s.all()),
    ] {
        for (i, a) in selections.iter().enumerate() {
            for b in &selections[i + 1..] {
                let (x, y) = (pick(a), pick(b));
                let xs: HashSet<usize> = x.iter().copied().collect();
                let shared = y.iter().filter(|u| xs.contains(u)).count();
                let size = x.len().min(y.len());
                out.push(Overlap {
                    set,
                    a: a.language.clone(),
                    b: b.language.clone(),
                    shared,
                    overlap: if size == 0 {
                        0.0
                    } else {
                        shared as f64 / size as f64
                    },
                });
            }
        }
    }
    out
}

/// The mean overlap of the pairs of one set kind (0 without pairs).
pub fn mean_overlap(overlaps: &[Overlap], set: &str) -> f64 {
    let v: Vec<f64> = overlaps
        .iter()
        .filter(|o| o.set == set)
        .map(|o| o.overlap)
        .collect();
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// `(layer, kind) -> (top, bottom)` counts of a selection.
pub fn per_layer(units: &Units, s: &Selection) -> BTreeMap<(usize, UnitKind), (usize, usize)> {
    let mut out: BTreeMap<(usize, UnitKind), (usize, usize)> = units
        .hooks
        .iter()
        .map(|h| ((h.layer, h.kind), (0, 0)))
        .collect();
    for (list, top) in [(&s.top, true), (&s.bottom, false)] {
        for &u in list {
            if let Some(r) = units.locate(u) {
                let c = out.entry((r.hook.layer, r.hook.kind)).or_default();
                if top {
                    c.0 += 1;
                } else {
                    c.1 += 1;
                }
            }
        }
    }
    out
}

/// The median response over `rows` (one language's sentences) of each of `units`: the values
/// the paper forces them to (`on_p50`). 0 when there are no rows.
pub fn medians(rows: &[Vec<f32>], units: &[usize]) -> Vec<f32> {
    units
        .iter()
        .map(|&u| {
            let mut v: Vec<f32> = rows.iter().map(|r| r[u]).collect();
            median(&mut v).unwrap_or(0.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_that_fires_for_one_language_is_its_top_unit() {
        let langs: Vec<String> = ["a", "b"].map(String::from).to_vec();
        // Unit 0 is high for language a, unit 1 low for a, unit 2 noise.
        let a: Vec<Vec<f32>> = (0..4)
            .map(|i| vec![5.0 + i as f32, -5.0, (i % 2) as f32])
            .collect();
        let b: Vec<Vec<f32>> = (0..4)
            .map(|i| vec![i as f32, 1.0 + i as f32, (i % 2) as f32])
            .collect();
        let e = expertise(&langs, &[a.clone(), b], 3);
        assert_eq!(e.ap[0][0], 1.0);
        assert!(e.ap[0][1] <= 0.5 && e.ap[1][1] == 1.0);
        assert_eq!(e.ap[0][2], 0.5, "ties everywhere: the positives' share");
        let s = select("a", &e.ap[0], 1, 1);
        assert_eq!((s.top.clone(), s.bottom.clone()), (vec![0], vec![1]));
        assert_eq!(medians(&a, &s.all()), vec![6.5, -5.0]);
        let t = select("b", &e.ap[1], 1, 1);
        let o = overlaps(&[s, t]);
        assert_eq!(o.len(), 3);
        assert_eq!((o[0].set, o[0].shared), ("top", 0));
        assert_eq!(o[2].overlap, 1.0, "all: {{0, 1}} for both");
        assert_eq!(mean_overlap(&o, "top"), 0.0);
    }

    #[test]
    fn bottom_never_repeats_top() {
        let ap = [0.5, 0.5, 0.5];
        let s = select("x", &ap, 2, 2);
        assert_eq!(s.top, vec![0, 1]);
        assert_eq!(s.bottom, vec![2]);
    }
}
