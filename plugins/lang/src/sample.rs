//! The shipped sample (`data/lang/`): a few thousand filtered strings per language, chosen from
//! the catalogs of a machine and written back as catalogs in the locale layout, so that the
//! experiment reads the same text on every machine through the same reader and filters.
//!
//! [`select`] keeps the msgids shared by every language (in the split's hash order, so the
//! sample is parallel row by row), `per_language` of them. [`write`] writes, for every language
//! but English, `DIR/{language}/LC_MESSAGES/assay-lang-sample.mo` (UTF-8, little-endian; the
//! cleaned msgid and the cleaned translation of each row), and `DIR/sources.tsv`: how many
//! strings of each language came from which catalog (domain), for the licence notes. English
//! needs no file of its own: it is the msgids. Reading the sample back with the same filters
//! gives the same strings (cleaning is idempotent; tested).
//!
//! Regenerate it with `cargo run -p assay-lang --example lang_sample` (see `data/lang/README.md`).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crate::catalogs::{Corpus, ENGLISH};
use crate::split::shared_keys;

/// The sample's catalog file name in each language's `LC_MESSAGES`.
pub const SAMPLE_DOMAIN: &str = "assay-lang-sample";

/// The first `per_language` msgids shared by every language of `corpus` (hash order), with
/// their strings in every language.
pub fn select(corpus: &Corpus, per_language: usize) -> Corpus {
    let keys: HashSet<String> = shared_keys(corpus).into_iter().take(per_language).collect();
    let entries = corpus
        .entries
        .iter()
        .map(|(l, e)| {
            let kept = e
                .iter()
                .filter(|x| keys.contains(&x.key))
                .cloned()
                .collect();
            (l.clone(), kept)
        })
        .collect();
    Corpus {
        languages: corpus.languages.clone(),
        entries,
    }
}

/// Writes `corpus` as a sample under `dir` (see the module documentation); returns the files
/// written.
pub fn write(corpus: &Corpus, dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut written = Vec::new();
    for language in corpus.languages.iter().filter(|l| *l != ENGLISH) {
        let entries = corpus.entries.get(language).map_or(&[][..], Vec::as_slice);
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.text.as_str()))
            .collect();
        let header = format!(
            "Project-Id-Version: assay-lang-sample\nLanguage: {language}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Source: filtered strings of Debian packages' gettext catalogs; see data/lang/README.md and sources.tsv\n"
        );
        let bytes = assay_text::mo::write(&header, &pairs, "UTF-8", true)?;
        let out = dir.join(language).join("LC_MESSAGES");
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let path = out.join(format!("{SAMPLE_DOMAIN}.mo"));
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    let path = dir.join("sources.tsv");
    std::fs::write(&path, sources(corpus)).map_err(|e| format!("{}: {e}", path.display()))?;
    written.push(path);
    Ok(written)
}

/// `language, domain, strings, characters` rows (tab-separated, with a header), sorted by
/// language and domain.
pub fn sources(corpus: &Corpus) -> String {
    let mut counts: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for (language, entries) in &corpus.entries {
        for e in entries {
            let c = counts.entry((language, &e.domain)).or_default();
            c.0 += 1;
            c.1 += e.text.chars().count();
        }
    }
    let mut out = String::from("language\tdomain\tstrings\tcharacters\n");
    for ((l, d), (n, chars)) in counts {
        out.push_str(&format!("{l}\t{d}\t{n}\t{chars}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogs::tests::{scratch, write_catalogs};
    use crate::catalogs::{load, Limits};

    #[test]
    fn a_sample_reads_back_as_the_same_strings() {
        let src = scratch("sample-src");
        write_catalogs(&src.0);
        let langs: Vec<String> = ["en", "de", "ja"].map(String::from).to_vec();
        let exclude = vec!["iso_".to_string()];
        let full = load(&src.0, &langs, &exclude, Limits::default()).unwrap();
        let sample = select(&full, 10);
        // Two msgids are kept in all three languages.
        assert_eq!(sample.entries["de"].len(), 2);
        assert_eq!(sample.entries["en"].len(), 2);
        let out = scratch("sample-out");
        let files = write(&sample, &out.0).unwrap();
        assert_eq!(files.len(), 3, "de, ja and sources.tsv");
        let back = load(&out.0, &langs, &exclude, Limits::default()).unwrap();
        for l in &langs {
            let mut a = back.texts(l);
            let mut b = sample.texts(l);
            a.sort();
            b.sort();
            assert_eq!(a, b, "{l}");
        }
        let tsv = std::fs::read_to_string(out.0.join("sources.tsv")).unwrap();
        assert!(
            tsv.starts_with("language\tdomain\tstrings\tcharacters\nde\tapp\t2\t"),
            "{tsv}"
        );
        assert_eq!(select(&full, 1).entries["ja"].len(), 1);
    }
}
