//! The sentences scrambled: the shipped sample (`data/scrambled/sentences.txt`, compiled in) or
//! a file of one sentence per line.
//!
//! The shipped sample is 360 English message strings of gettext catalogs installed on Debian
//! (GLib settings schemas, GTK properties, AppStream, systemd, GLib, PostgreSQL), filtered to
//! plain sentences of 5-12 words; `data/scrambled/README.md` gives origin and licences and
//! `data/scrambled/extract.py` regenerates it.

use std::collections::BTreeMap;

use assay_sdk::{PluginError, Result};

use crate::words;

/// The separator between the scrambled and the original sentence in the learned recoverer's
/// rows (`scrambled => original`); sentences may not contain it.
pub const ARROW: &str = " => ";

/// The shipped sample, as compiled into this crate.
const SHIPPED: &str = include_str!("../../../data/scrambled/sentences.txt");

/// The shipped sentences, whitespace-normalised.
pub fn shipped() -> Vec<String> {
    parse(SHIPPED)
}

/// Non-empty lines that are not `#` comments, whitespace-normalised.
fn parse(text: &str) -> Vec<String> {
    text.lines()
        .map(words::normalise)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The sentences of `path` (one per line), or the shipped sample when `path` is empty. Errors
/// name the parameter `key`: a missing file, no sentences, or a sentence holding `=>`.
pub fn load(path: &str, key: &str) -> Result<Vec<String>> {
    let sentences = if path.is_empty() {
        shipped()
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PluginError::param(key, format!("reading {path}: {e}")))?;
        parse(&text)
    };
    if sentences.len() < 2 {
        return Err(PluginError::param(
            key,
            format!(
                "{} holds {} sentence(s); give at least two, one per line",
                if path.is_empty() {
                    "the shipped sample"
                } else {
                    path
                },
                sentences.len()
            ),
        ));
    }
    if let Some(s) = sentences.iter().find(|s| s.contains("=>")) {
        return Err(PluginError::param(
            key,
            format!("sentence `{s}` contains `=>`, which separates scrambled from original text"),
        ));
    }
    Ok(sentences)
}

/// Every token with a letter in `sentences`, with its count: the closed vocabulary of the
/// anagram solver and of the learned recoverer's word lists.
pub fn vocabulary<'a>(sentences: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for s in sentences {
        for t in words::split(s) {
            if words::letters(&t) > 0 {
                *counts.entry(t).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_sample_is_plain_sentences() {
        let s = shipped();
        assert_eq!(s.len(), 360);
        assert!(s
            .iter()
            .all(|x| x.ends_with('.') && x.len() <= 72 && x.is_ascii()));
        assert_eq!(load("", "path").unwrap(), s);
        let v = vocabulary(&s);
        assert!(v.len() > 900, "{}", v.len());
        assert!(v.keys().all(|w| !w.contains(' ')));
    }

    #[test]
    fn files_are_read_and_bad_ones_named() {
        let dir =
            std::env::temp_dir().join(format!("assay-scramble-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.txt");
        std::fs::write(&good, "# a comment\nOne  sentence here.\n\nAnother one.\n").unwrap();
        assert_eq!(
            load(good.to_str().unwrap(), "path").unwrap(),
            ["One sentence here.", "Another one."]
        );
        let bad = dir.join("bad.txt");
        std::fs::write(&bad, "a => b\nc\n").unwrap();
        let err = load(bad.to_str().unwrap(), "path").unwrap_err().to_string();
        assert!(err.contains("`path`") && err.contains("=>"), "{err}");
        let err = load("/nonexistent/x.txt", "corpus")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`corpus`") && err.contains("/nonexistent/x.txt"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
