//! The paper's measures: character Levenshtein distance, the corpus-level Recovery Rate and the
//! Relative Performance Gain of ScrQA.

/// Levenshtein distance between `a` and `b` over characters (insertions, deletions and
/// substitutions cost 1), as the paper's `edit_distance`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            row[j + 1] = if ca == cb {
                prev[j]
            } else {
                1 + prev[j].min(prev[j + 1]).min(row[j])
            };
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

/// Edit distances summed over a corpus: original to scrambled and original to recovered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Distances {
    /// Σ ED(original, scrambled).
    pub scrambled: usize,
    /// Σ ED(original, recovered).
    pub recovered: usize,
    /// Sentences counted.
    pub sentences: usize,
}

impl Distances {
    /// Adds one sentence.
    pub fn add(&mut self, original: &str, scrambled: &str, recovered: &str) {
        self.scrambled += edit_distance(original, scrambled);
        self.recovered += edit_distance(original, recovered);
        self.sentences += 1;
    }

    /// Recovery Rate, in percent: `Σ[ED(o, s) − ED(o, r)] / Σ ED(o, s) × 100`; negative when
    /// the recoverer made the text worse, `None` when nothing was scrambled.
    pub fn recovery_rate(&self) -> Option<f64> {
        (self.scrambled > 0).then(|| {
            (self.scrambled as f64 - self.recovered as f64) / self.scrambled as f64 * 100.0
        })
    }
}

/// Relative Performance Gain: `(acc_scrambled − acc_substituted) / (acc_original −
/// acc_substituted)`; `None` when the original and the substituted text score alike.
pub fn relative_gain(scrambled: f64, original: f64, substituted: f64) -> Option<f64> {
    let span = original - substituted;
    (span.abs() > 1e-12).then(|| (scrambled - substituted) / span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_is_levenshtein_over_characters() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("flaw", "lawn"), 2);
        assert_eq!(edit_distance("same", "same"), 0);
        // Characters, not bytes.
        assert_eq!(edit_distance("héllo", "hello"), 1);
        // A transposition costs two.
        assert_eq!(edit_distance("form", "from"), 2);
        for (a, b) in [("scrambled", "bmsaerlcd"), ("ab", "ba"), ("x", "")] {
            assert_eq!(edit_distance(a, b), edit_distance(b, a));
        }
    }

    #[test]
    fn recovery_rate_is_corpus_level_and_may_be_negative() {
        let mut d = Distances::default();
        d.add("the cat", "teh cat", "the cat");
        d.add("a dog", "a dgo", "a dgo");
        // (2 + 2 - 0 - 2) / 4.
        assert_eq!(d.recovery_rate(), Some(50.0));
        let mut worse = Distances::default();
        worse.add("the cat", "teh cat", "xxxxxxx");
        assert!(worse.recovery_rate().unwrap() < 0.0);
        assert_eq!(Distances::default().recovery_rate(), None);
    }

    #[test]
    fn relative_gain_is_one_at_the_original_and_zero_at_the_substituted_score() {
        assert_eq!(relative_gain(0.9, 0.9, 0.3), Some(1.0));
        assert_eq!(relative_gain(0.3, 0.9, 0.3), Some(0.0));
        assert_eq!(relative_gain(0.625, 0.75, 0.5), Some(0.5));
        assert_eq!(relative_gain(0.5, 0.4, 0.4), None);
    }
}
