//! Corpora: documents gathered from files, split by document, cut to a token budget and packed
//! into fixed-length blocks for next-token training.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// A corpus that cannot be gathered.
#[derive(Debug, Error)]
pub enum CorpusError {
    /// A glob pattern that does not parse.
    #[error("pattern `{pattern}`: {message}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// Nothing matched.
    #[error("no files match {patterns:?} (relative to {base})")]
    Empty {
        /// The patterns.
        patterns: Vec<String>,
        /// Where relative patterns start.
        base: String,
    },
    /// A file that cannot be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// How files become documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Each file is one document (source code, books). Files that are not UTF-8 are skipped.
    Files,
    /// Each file is split into documents at blank lines (paragraphs of plain text).
    Paragraphs,
    /// Each gettext `.mo` catalog is one document: its translations, one per line.
    Mo,
}

impl Format {
    /// Parses `files`, `paragraphs` or `mo`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "files" => Some(Format::Files),
            "paragraphs" => Some(Format::Paragraphs),
            "mo" => Some(Format::Mo),
            _ => None,
        }
    }
}

/// One document and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The file (and, for paragraphs, the paragraph number).
    pub source: String,
    /// The text.
    pub text: String,
}

/// The files matching `patterns` (globs; relative ones start at `base`), sorted, without
/// duplicates, at most `max_files` of them.
pub fn files(
    patterns: &[String],
    base: &Path,
    max_files: usize,
) -> Result<Vec<PathBuf>, CorpusError> {
    let mut out = Vec::new();
    for pattern in patterns {
        let full = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            base.join(pattern).display().to_string()
        };
        let paths = glob::glob(&full).map_err(|e| CorpusError::Pattern {
            pattern: pattern.clone(),
            message: e.to_string(),
        })?;
        for p in paths.flatten() {
            if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out.dedup();
    out.truncate(max_files);
    if out.is_empty() {
        return Err(CorpusError::Empty {
            patterns: patterns.to_vec(),
            base: base.display().to_string(),
        });
    }
    Ok(out)
}

/// The documents of `paths` read as `format`.
pub fn documents(paths: &[PathBuf], format: Format) -> Result<Vec<Document>, CorpusError> {
    let mut out = Vec::new();
    for path in paths {
        let source = path.display().to_string();
        match format {
            Format::Mo => {
                let catalog = crate::mo::read(path).map_err(|e| CorpusError::File {
                    path: source.clone(),
                    message: e.to_string(),
                })?;
                let text: Vec<&str> = catalog
                    .messages
                    .iter()
                    .flat_map(|m| m.translations.iter().map(String::as_str))
                    .filter(|t| !t.is_empty())
                    .collect();
                out.push(Document {
                    source,
                    text: text.join("\n"),
                });
            }
            Format::Files | Format::Paragraphs => {
                let bytes = std::fs::read(path).map_err(|e| CorpusError::File {
                    path: source.clone(),
                    message: e.to_string(),
                })?;
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                if format == Format::Files {
                    out.push(Document { source, text });
                } else {
                    for (i, para) in text.split("\n\n").enumerate() {
                        let para = para.trim();
                        if !para.is_empty() {
                            out.push(Document {
                                source: format!("{source}#{i}"),
                                text: para.to_string(),
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Keeps whole token sequences in order until `budget` tokens are reached, cutting the last one
/// short so the total is exactly `budget` (or everything, if there is less). `budget = 0` keeps
/// everything.
pub fn within_budget(docs: Vec<Vec<u32>>, budget: usize) -> Vec<Vec<u32>> {
    if budget == 0 {
        return docs;
    }
    let mut left = budget;
    let mut out = Vec::new();
    for mut d in docs {
        if left == 0 {
            break;
        }
        d.truncate(left);
        left -= d.len();
        out.push(d);
    }
    out
}

/// Concatenates the documents, each followed by `eos`, and cuts the stream into blocks of
/// `block + 1` tokens that overlap by one: block `i` is the input `stream[i·block ..][..block]`
/// and its targets, shifted by one. The incomplete tail is dropped.
pub fn pack(docs: &[Vec<u32>], eos: u32, block: usize) -> Vec<Vec<u32>> {
    let mut stream = Vec::with_capacity(docs.iter().map(|d| d.len() + 1).sum());
    for d in docs {
        stream.extend_from_slice(d);
        stream.push(eos);
    }
    if block == 0 || stream.len() < block + 1 {
        return Vec::new();
    }
    (0..(stream.len() - 1) / block)
        .map(|i| stream[i * block..i * block + block + 1].to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_overlaps_by_one_and_drops_the_tail() {
        let docs = vec![vec![1, 2, 3], vec![4, 5]];
        // Stream: 1 2 3 E 4 5 E (7 tokens) -> blocks of 3 inputs: [1 2 3 E], [E 4 5 E].
        let blocks = pack(&docs, 9, 3);
        assert_eq!(blocks, vec![vec![1, 2, 3, 9], vec![9, 4, 5, 9]]);
        assert!(pack(&docs, 9, 10).is_empty());
    }

    #[test]
    fn budgets_cut_to_exactly_the_requested_size() {
        let docs = vec![vec![1; 5], vec![2; 5], vec![3; 5]];
        let kept = within_budget(docs.clone(), 7);
        assert_eq!(kept, vec![vec![1; 5], vec![2; 2]]);
        assert_eq!(kept.iter().map(Vec::len).sum::<usize>(), 7);
        assert_eq!(within_budget(docs.clone(), 0), docs);
        assert_eq!(within_budget(docs.clone(), 100), docs);
    }

    #[test]
    fn files_by_glob_paragraphs_and_clear_errors() {
        let dir = std::env::temp_dir().join(format!("assay-corpus-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src/sub")).unwrap();
        std::fs::write(dir.join("src/a.py"), "x = 1\n").unwrap();
        std::fs::write(dir.join("src/sub/b.py"), "y = 2\n\nz = 3\n").unwrap();
        std::fs::write(dir.join("src/notes.txt"), "not code").unwrap();
        std::fs::write(dir.join("src/bin.py"), [0xff, 0xfe, 0x00]).unwrap();
        let found = files(&["src/**/*.py".into()], &dir, 100).unwrap();
        assert_eq!(found.len(), 3);
        let docs = documents(&found, Format::Files).unwrap();
        assert_eq!(docs.len(), 2, "the non-UTF-8 file is skipped");
        let paras = documents(&found, Format::Paragraphs).unwrap();
        assert_eq!(
            paras.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
            vec!["x = 1", "y = 2", "z = 3"]
        );
        let e = files(&["nothing/*.c".into()], &dir, 100).unwrap_err();
        assert!(e.to_string().contains("nothing/*.c"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
