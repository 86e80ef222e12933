//! The held-out split: which strings the decoder never trains on, and which the probe reads.
//!
//! The split does not depend on the run seed, so that a dataset and a probe reading the same
//! catalogs with the same parameters agree on it without talking to each other. Held-out
//! strings are chosen by msgid: the msgids translated (and kept) in **every** language, ordered
//! by a fixed hash of the msgid (FNV-1a), give the first `n` held-out rows, so the held-out
//! strings of all languages are translations of the same English strings, row by row (parallel
//! positives and negatives, as FLORES gives the paper). When fewer than `n` msgids are shared
//! by every language, each language fills up to `n` with its own other strings in hash order.
//! Training strings are the rest, minus any whose msgid or text is held out.

use std::collections::{BTreeMap, HashSet};

use crate::catalogs::{Corpus, Entry};

/// FNV-1a (64 bit) of `s`: a fixed, platform-independent order.
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The msgids kept in every language of `corpus`, in hash order.
pub fn shared_keys(corpus: &Corpus) -> Vec<String> {
    let mut sets = corpus.languages.iter().map(|l| {
        corpus
            .entries
            .get(l)
            .map(|e| e.iter().map(|x| x.key.as_str()).collect::<HashSet<_>>())
            .unwrap_or_default()
    });
    let Some(first) = sets.next() else {
        return Vec::new();
    };
    let common = sets.fold(first, |acc, s| acc.intersection(&s).copied().collect());
    let mut keys: Vec<String> = common.into_iter().map(str::to_string).collect();
    keys.sort_by(|a, b| fnv1a(a).cmp(&fnv1a(b)).then(a.cmp(b)));
    keys
}

/// Training and held-out strings per language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LangSplit {
    /// The languages, in the corpus's order.
    pub languages: Vec<String>,
    /// Training strings per language, in catalog order.
    pub train: BTreeMap<String, Vec<String>>,
    /// Held-out strings per language; row `i` of every language translates the same msgid
    /// for the shared rows (see the module documentation).
    pub held_out: BTreeMap<String, Vec<String>>,
}

impl LangSplit {
    /// The held-out strings of `language`.
    pub fn held(&self, language: &str) -> &[String] {
        self.held_out.get(language).map_or(&[], Vec::as_slice)
    }

    /// The training strings of `language`.
    pub fn training(&self, language: &str) -> &[String] {
        self.train.get(language).map_or(&[], Vec::as_slice)
    }
}

/// Splits `corpus`, holding out `n` strings per language, or fewer when a language has no more
/// than `n`: every language holds out the same number, at most one less than the smallest
/// language has, so that each keeps a string to train on.
pub fn split(corpus: &Corpus, n: usize) -> LangSplit {
    let entries_of =
        |language: &str| -> &[Entry] { corpus.entries.get(language).map_or(&[], Vec::as_slice) };
    let n = corpus
        .languages
        .iter()
        .map(|l| entries_of(l).len().saturating_sub(1))
        .min()
        .unwrap_or(0)
        .min(n);
    let shared = shared_keys(corpus);
    let held_keys: Vec<&String> = shared.iter().take(n).collect();
    let held_set: HashSet<&str> = held_keys.iter().map(|k| k.as_str()).collect();
    let mut out = LangSplit {
        languages: corpus.languages.clone(),
        ..LangSplit::default()
    };
    for language in &corpus.languages {
        let entries = entries_of(language);
        let by_key: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.key.as_str(), e)).collect();
        let mut held: Vec<String> = held_keys
            .iter()
            .filter_map(|k| by_key.get(k.as_str()).map(|e| e.text.clone()))
            .collect();
        if held.len() < n {
            let mut rest: Vec<&Entry> = entries
                .iter()
                .filter(|e| !held_set.contains(e.key.as_str()))
                .collect();
            rest.sort_by(|a, b| fnv1a(&a.key).cmp(&fnv1a(&b.key)).then(a.key.cmp(&b.key)));
            held.extend(rest.iter().take(n - held.len()).map(|e| e.text.clone()));
        }
        let held_texts: HashSet<&str> = held.iter().map(String::as_str).collect();
        let train: Vec<String> = entries
            .iter()
            .filter(|e| !held_set.contains(e.key.as_str()) && !held_texts.contains(e.text.as_str()))
            .map(|e| e.text.clone())
            .collect();
        out.train.insert(language.clone(), train);
        out.held_out.insert(language.clone(), held);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        let mut entries = BTreeMap::new();
        let e = |k: &str, t: &str| Entry {
            key: k.into(),
            text: t.into(),
            domain: "d".into(),
        };
        entries.insert(
            "en".to_string(),
            (0..20)
                .map(|i| e(&format!("k{i}"), &format!("k{i}")))
                .collect(),
        );
        entries.insert(
            "de".to_string(),
            (0..20)
                .filter(|i| i % 4 != 0)
                .map(|i| e(&format!("k{i}"), &format!("de{i}")))
                .collect(),
        );
        Corpus {
            languages: vec!["en".into(), "de".into()],
            entries,
        }
    }

    #[test]
    fn held_out_rows_are_parallel_and_never_trained_on() {
        let c = corpus();
        let s = split(&c, 6);
        let (en, de) = (s.held("en"), s.held("de"));
        assert_eq!((en.len(), de.len()), (6, 6));
        for (a, b) in en.iter().zip(de) {
            assert_eq!(format!("de{}", &a[1..]), *b, "row-aligned translations");
        }
        for l in ["en", "de"] {
            let train: HashSet<&String> = s.training(l).iter().collect();
            assert!(s.held(l).iter().all(|h| !train.contains(h)));
            assert_eq!(train.len() + 6, c.entries[l].len());
        }
        // The split is a function of the corpus alone.
        assert_eq!(split(&c, 6), s);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn languages_fill_up_when_few_msgids_are_shared() {
        let c = corpus();
        // de has 15 strings: asking for 18 holds out 14 in every language, and each keeps
        // training strings.
        let s = split(&c, 18);
        assert_eq!((s.held("en").len(), s.held("de").len()), (14, 14));
        assert_eq!((s.training("en").len(), s.training("de").len()), (6, 1));
        // A third language sharing few msgids fills up with its own strings.
        let mut c3 = c.clone();
        c3.languages.push("fr".into());
        c3.entries.insert(
            "fr".into(),
            (0..10)
                .map(|i| Entry {
                    key: if i < 3 {
                        format!("k{}", i + 1)
                    } else {
                        format!("x{i}")
                    },
                    text: format!("fr{i}"),
                    domain: "d".into(),
                })
                .collect(),
        );
        let s = split(&c3, 5);
        assert_eq!(s.held("fr").len(), 5);
        let shared = shared_keys(&c3);
        assert_eq!(shared.len(), 3, "{shared:?}");
        assert_eq!(s.held("en")[..3].to_vec(), shared);
        assert_eq!(s.training("fr").len(), 5);
    }
}
