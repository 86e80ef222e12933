//! Language identification of generated text, as the notes ask: kana → Japanese; Han
//! characters without kana → Chinese; otherwise a character-trigram naive Bayes classifier over
//! the Latin-script languages, trained on catalog text.
//!
//! The script rules look at the text's letters: when at least a quarter of them are CJK, a text
//! with any kana is Japanese and one without is Chinese (a stray ideograph in Latin text does
//! not make it Chinese). A text without letters is identified as nothing. The classifier reads
//! the lower-cased text padded with a space at each end, counts its character trigrams, and
//! picks the language maximising Σ log P(trigram | language) with add-one smoothing over the
//! trigrams seen in training and uniform priors.

use std::collections::{HashMap, HashSet};

use crate::clean::{cjk_share, has_letters, is_cjk_language, is_han, is_kana};
use crate::split::LangSplit;

/// Trigram counts of one language.
#[derive(Debug, Clone, Default)]
struct Profile {
    counts: HashMap<[char; 3], u32>,
    total: u64,
}

/// The identifier: script rules and a naive Bayes classifier.
#[derive(Debug, Clone)]
pub struct LanguageId {
    /// The Latin-script languages the classifier chooses among, and their profiles.
    latin: Vec<(String, Profile)>,
    /// Distinct trigrams over all profiles (the smoothing's vocabulary).
    vocabulary: usize,
    /// The Japanese tag, if one of the languages is Japanese.
    japanese: Option<String>,
    /// The Chinese tag, if one of the languages is Chinese.
    chinese: Option<String>,
}

fn trigrams(text: &str) -> Vec<[char; 3]> {
    let chars: Vec<char> = std::iter::once(' ')
        .chain(text.chars().flat_map(char::to_lowercase))
        .chain(std::iter::once(' '))
        .collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

impl LanguageId {
    /// Trains the classifier on `texts` of each language (the CJK languages among them only
    /// name the script rules' tags).
    pub fn train<'a>(texts: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut latin = Vec::new();
        let (mut japanese, mut chinese) = (None, None);
        let mut seen: HashSet<[char; 3]> = HashSet::new();
        for (language, strings) in texts {
            if is_cjk_language(language) {
                if language.starts_with("ja") {
                    japanese = Some(language.to_string());
                } else {
                    chinese = Some(language.to_string());
                }
                continue;
            }
            let mut p = Profile::default();
            for s in strings {
                for t in trigrams(s) {
                    *p.counts.entry(t).or_default() += 1;
                    p.total += 1;
                    seen.insert(t);
                }
            }
            latin.push((language.to_string(), p));
        }
        LanguageId {
            latin,
            vocabulary: seen.len(),
            japanese,
            chinese,
        }
    }

    /// Trains on the training strings of a split.
    pub fn from_split(split: &LangSplit) -> Self {
        Self::train(
            split
                .languages
                .iter()
                .map(|l| (l.as_str(), split.training(l))),
        )
    }

    /// The language of `text`, or `None` when it has no letters (or no language applies).
    pub fn identify(&self, text: &str) -> Option<&str> {
        if !has_letters(text) {
            return None;
        }
        if cjk_share(text) >= 0.25 {
            let tag = if text.chars().any(is_kana) {
                self.japanese.as_deref()
            } else if text.chars().any(is_han) {
                self.chinese.as_deref()
            } else {
                None
            };
            if tag.is_some() {
                return tag;
            }
        }
        let grams = trigrams(text);
        let v = self.vocabulary.max(1) as f64;
        self.latin
            .iter()
            .map(|(l, p)| {
                let denom = (p.total as f64 + v).ln();
                let score: f64 = grams
                    .iter()
                    .map(|t| (f64::from(p.counts.get(t).copied().unwrap_or(0)) + 1.0).ln() - denom)
                    .sum();
                (l.as_str(), score)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(l, _)| l)
    }

    /// Per language, `(strings, correctly identified)` over `texts` of known languages.
    pub fn accuracy<'a>(
        &self,
        texts: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Vec<(String, usize, usize)> {
        texts
            .into_iter()
            .map(|(language, strings)| {
                let right = strings
                    .iter()
                    .filter(|s| self.identify(s) == Some(language))
                    .count();
                (language.to_string(), strings.len(), right)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scripts_and_trigrams_pick_the_language() {
        let en = s(&[
            "the file could not be opened",
            "show the hidden files of this folder",
        ]);
        let de = s(&[
            "die Datei konnte nicht geöffnet werden",
            "die versteckten Dateien dieses Ordners anzeigen",
        ]);
        let fr = s(&[
            "le fichier n'a pas pu être ouvert",
            "afficher les fichiers cachés de ce dossier",
        ]);
        let none: Vec<String> = Vec::new();
        let id = LanguageId::train([
            ("en", en.as_slice()),
            ("de", de.as_slice()),
            ("fr", fr.as_slice()),
            ("ja", none.as_slice()),
            ("zh_CN", none.as_slice()),
        ]);
        assert_eq!(id.identify("ファイルを開けません"), Some("ja"));
        assert_eq!(id.identify("无法打开文件"), Some("zh_CN"));
        assert_eq!(id.identify("die Dateien werden angezeigt"), Some("de"));
        assert_eq!(id.identify("the files of the folder"), Some("en"));
        assert_eq!(id.identify("les fichiers du dossier"), Some("fr"));
        assert_eq!(
            id.identify("Ordner 文"),
            Some("de"),
            "one ideograph among letters"
        );
        assert_eq!(id.identify("12: ()"), None);
        let acc = id.accuracy([("de", de.as_slice())]);
        assert_eq!(acc, vec![("de".to_string(), 2, 2)]);
    }
}
