//! Average precision, as scikit-learn's `average_precision_score` computes it: the area under
//! the precision-recall step curve, AP = Σₙ (Rₙ − Rₙ₋₁) · Pₙ, with one threshold per distinct
//! score (tied scores enter together), highest first.
//!
//! [`average_precision_by_class`] gives every class's AP (one class against the rest) from one
//! sort of the scores, which is how the probe scores each unit as a detector of each language.

/// AP of `scores` as a detector of the `positive` examples. `None` when there is no positive
/// (scikit-learn warns and returns a meaningless value there) or the lengths differ.
pub fn average_precision(scores: &[f32], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() {
        return None;
    }
    let classes: Vec<usize> = positive.iter().map(|&p| usize::from(p)).collect();
    average_precision_by_class(scores, &classes, 2)[1]
}

/// For every class `c < n_classes`, the AP of `scores` as a detector of the examples whose
/// class is `c` against all others (`None` for a class without examples). Examples with a class
/// of `n_classes` or more count as negatives for every class.
pub fn average_precision_by_class(
    scores: &[f32],
    classes: &[usize],
    n_classes: usize,
) -> Vec<Option<f64>> {
    let n = scores.len().min(classes.len());
    let mut order: Vec<usize> = (0..n).collect();
    // Highest score first; NaN (never produced by a finite model) sorts last.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut positives = vec![0usize; n_classes];
    for &c in &classes[..n] {
        if c < n_classes {
            positives[c] += 1;
        }
    }
    let mut tp = vec![0usize; n_classes];
    let mut last_recall = vec![0f64; n_classes];
    let mut ap = vec![0f64; n_classes];
    let mut seen = 0usize;
    let mut i = 0;
    while i < n {
        // One threshold: every example tied with order[i].
        let s = scores[order[i]];
        while i < n && scores[order[i]].total_cmp(&s).is_eq() {
            let c = classes[order[i]];
            if c < n_classes {
                tp[c] += 1;
            }
            seen += 1;
            i += 1;
        }
        for c in 0..n_classes {
            if positives[c] == 0 {
                continue;
            }
            let recall = tp[c] as f64 / positives[c] as f64;
            if recall > last_recall[c] {
                let precision = tp[c] as f64 / seen as f64;
                ap[c] += (recall - last_recall[c]) * precision;
                last_recall[c] = recall;
            }
        }
    }
    (0..n_classes)
        .map(|c| (positives[c] > 0).then_some(ap[c]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from scikit-learn 1.9.1's `average_precision_score(y_true, y_score)`,
    /// computed once with
    ///
    /// ```text
    /// python3 -m venv target/sklearn-venv && target/sklearn-venv/bin/pip install scikit-learn
    /// target/sklearn-venv/bin/python -c 'from sklearn.metrics import average_precision_score as ap; print(repr(ap(Y, S)))'
    /// ```
    ///
    /// for each `(Y, S)` below (ties within and across classes; the last two drawn with Python's
    /// `random.seed(5)`, scores in quarters), and hard-coded here: sklearn is not needed to run
    /// the test.
    const CASES: &[(&[u8], &[f32], f64)] = &[
        (&[1, 0, 1, 0], &[0.5, 0.5, 0.5, 0.5], 0.5),
        (
            &[1, 1, 0, 0, 1],
            &[3.0, 3.0, 2.0, 2.0, 1.0],
            0.8666666666666667,
        ),
        (
            &[0, 1, 0, 1, 1, 0, 0, 1],
            &[0.25, 0.75, 0.75, 0.5, 0.125, 0.5, 0.0, 0.875],
            0.7095238095238094,
        ),
        (
            &[1, 0, 0, 0, 0, 0],
            &[-1.0, 2.0, 2.0, 0.5, 0.5, -1.0],
            0.16666666666666666,
        ),
        (&[1, 1, 1], &[0.1, 0.2, 0.3], 1.0),
        (&[0, 0, 1, 1], &[-2.5, -2.5, -2.5, 1.0], 0.75),
        (
            &[1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1],
            &[
                1.0, -0.75, -0.25, -1.0, -0.25, 0.5, 0.0, -0.5, 0.5, -0.5, -0.75, -0.5,
            ],
            0.585016835016835,
        ),
        (
            &[
                1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1,
                0, 1,
            ],
            &[
                0.25, 0.0, 0.75, 0.25, -0.5, 0.75, 0.75, -0.5, -1.0, 0.0, -1.0, 0.25, 0.5, -1.0,
                1.0, 0.5, 0.25, 0.5, -1.0, 0.75, -1.0, -0.5, -0.25, -0.75, -0.25, 0.75, 0.25, 1.0,
                0.25, 1.0,
            ],
            0.48207014863361614,
        ),
    ];

    #[test]
    fn matches_scikit_learn_including_ties() {
        for (k, (y, s, want)) in CASES.iter().enumerate() {
            let positive: Vec<bool> = y.iter().map(|&v| v == 1).collect();
            let got = average_precision(s, &positive).unwrap();
            assert!(
                (got - want).abs() < 1e-12,
                "case {k}: {got} vs sklearn {want} (y {y:?}, s {s:?})"
            );
        }
    }

    #[test]
    fn classes_share_one_sort_and_agree_with_the_binary_form() {
        let scores = [0.9f32, 0.1, 0.5, 0.5, 0.7, 0.2, 0.5, 0.8];
        let classes = [0usize, 1, 2, 0, 1, 2, 2, 0];
        let by_class = average_precision_by_class(&scores, &classes, 4);
        for (c, got) in by_class.iter().enumerate().take(3) {
            let positive: Vec<bool> = classes.iter().map(|&x| x == c).collect();
            assert_eq!(*got, average_precision(&scores, &positive));
        }
        assert_eq!(by_class[3], None, "no example of class 3");
        assert_eq!(average_precision(&[1.0], &[false]), None);
        assert_eq!(average_precision(&[1.0, 2.0], &[true]), None);
        // A perfect detector and a perfectly wrong one.
        let pos = [true, true, false, false];
        assert_eq!(average_precision(&[4.0, 3.0, 2.0, 1.0], &pos), Some(1.0));
        let worst = average_precision(&[1.0, 2.0, 3.0, 4.0], &pos).unwrap();
        assert!((worst - (0.5 * 1.0 / 3.0 + 0.5 * 0.5)).abs() < 1e-12);
    }
}
