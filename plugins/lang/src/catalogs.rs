//! The multilingual text of study 5: gettext catalogs in the locale layout
//! (`ROOT/{language}/LC_MESSAGES/*.mo`, `/usr/share/locale` by default), read with
//! [`assay_text::mo::pairs_by_language`] (either byte order, the charset each header names) and
//! filtered into parallel strings per language.
//!
//! English (`en`) is the msgid side: its strings are the msgids of the other languages'
//! catalogs. Every other language is its translations. Each string is cleaned
//! ([`crate::clean::clean`]: accelerators, markup and format specifiers stripped) and dropped
//! when it is
//!
//! - **untranslated**: empty (the reader skips those), or equal to its cleaned msgid;
//! - **format-string-only**: no letter left once format specifiers are removed;
//! - **short**: fewer than `min_chars_latin` characters (Latin-script languages and English) or
//!   `min_chars_cjk` (zh, ja), or longer than `max_bytes` bytes (the notes drop sentences over
//!   256 tokens; here tokens are bytes);
//! - **in the wrong script**: a zh/ja string whose letters are less than half CJK, or a
//!   Latin-script string with any CJK letter;
//! - **duplicated**: a text already kept for the language, or a second translation of a msgid
//!   already kept (catalogs are read in file-name order; the first wins).
//!
//! Catalogs whose file name starts with one of `exclude` are skipped (`iso_*`: lists of names,
//! not sentences).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::clean::{cjk_share, clean, has_letters, is_cjk, is_cjk_language};

/// What can go wrong gathering catalog text.
#[derive(Debug, Error)]
pub enum LangError {
    /// A language with no text left (no catalogs, or every string filtered out).
    #[error("language `{language}` has no catalog text: {detail}")]
    NoText {
        /// The language tag.
        language: String,
        /// Where it was looked for and what was found.
        detail: String,
    },
    /// No languages were asked for.
    #[error("no languages given")]
    NoLanguages,
    /// A catalog that cannot be read (names the file).
    #[error(transparent)]
    Catalog(#[from] assay_text::mo::MoError),
    /// A directory that cannot be listed.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The length limits of kept strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fewest characters of a Latin-script (and English) string.
    pub min_chars_latin: usize,
    /// Fewest characters of a zh/ja string.
    pub min_chars_cjk: usize,
    /// Most bytes (UTF-8) of any string.
    pub max_bytes: usize,
}

impl Default for Limits {
    /// The notes' limits: 25 characters for Latin scripts, 8 for CJK, 256 bytes at most.
    fn default() -> Self {
        Limits {
            min_chars_latin: 25,
            min_chars_cjk: 8,
            max_bytes: 256,
        }
    }
}

impl Limits {
    /// Whether the cleaned `text` is kept as a string of `language` (every rule but the
    /// untranslated and duplicate ones, which need the msgid and the other strings).
    pub fn keeps(&self, language: &str, text: &str) -> bool {
        if !has_letters(text) || text.len() > self.max_bytes {
            return false;
        }
        let chars = text.chars().count();
        if is_cjk_language(language) {
            chars >= self.min_chars_cjk && cjk_share(text) >= 0.5
        } else {
            chars >= self.min_chars_latin && !text.chars().any(is_cjk)
        }
    }
}

/// One kept string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The cleaned English msgid it translates (for `en`, the text itself): what aligns the
    /// languages.
    pub key: String,
    /// The cleaned text.
    pub text: String,
    /// The catalog's domain (file stem) it came from.
    pub domain: String,
}

/// Kept strings per language, in catalog order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Corpus {
    /// The languages, in the order asked.
    pub languages: Vec<String>,
    /// Each language's strings.
    pub entries: BTreeMap<String, Vec<Entry>>,
}

impl Corpus {
    /// The strings of `language` (empty when it has none).
    pub fn texts(&self, language: &str) -> Vec<&str> {
        self.entries
            .get(language)
            .map(|e| e.iter().map(|x| x.text.as_str()).collect())
            .unwrap_or_default()
    }
}

/// The English tag: the msgid side of every catalog.
pub const ENGLISH: &str = "en";

/// The `.mo` files of `language` under `root` (`root/{language}/LC_MESSAGES/*.mo`), sorted,
/// without those whose file name starts with one of `exclude`. A missing directory gives none.
pub fn catalog_files(
    root: &Path,
    language: &str,
    exclude: &[String],
) -> Result<Vec<PathBuf>, LangError> {
    let dir = root.join(language).join("LC_MESSAGES");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let io = |source| LangError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if path.extension().is_some_and(|e| e == "mo")
            && path.is_file()
            && !exclude.iter().any(|x| name.starts_with(x.as_str()))
        {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Per-language bookkeeping while reading.
#[derive(Default)]
struct Kept {
    entries: Vec<Entry>,
    keys: HashSet<String>,
    texts: HashSet<String>,
}

impl Kept {
    fn add(&mut self, key: &str, text: String, domain: &str) {
        if self.keys.contains(key) || self.texts.contains(&text) {
            return;
        }
        self.keys.insert(key.to_string());
        self.texts.insert(text.clone());
        self.entries.push(Entry {
            key: key.to_string(),
            text,
            domain: domain.to_string(),
        });
    }
}

/// Reads and filters the catalogs of `languages` under `root` (see the module documentation).
/// A language with no string left is an error naming it and where it was looked for.
pub fn load(
    root: &Path,
    languages: &[String],
    exclude: &[String],
    limits: Limits,
) -> Result<Corpus, LangError> {
    if languages.is_empty() {
        return Err(LangError::NoLanguages);
    }
    let mut kept: BTreeMap<String, Kept> = BTreeMap::new();
    let mut catalogs: BTreeMap<String, usize> = BTreeMap::new();
    let translated: Vec<&String> = languages.iter().filter(|l| *l != ENGLISH).collect();
    for language in &translated {
        let files = catalog_files(root, language, exclude)?;
        catalogs.insert(language.to_string(), files.len());
        for file in &files {
            let domain = file
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            // Grouped by the header's `Language:`; the directory already says which it is.
            let pairs = assay_text::mo::pairs_by_language(std::slice::from_ref(file))?;
            for (msgid, translation) in pairs.into_values().flatten() {
                let key = clean(&msgid);
                if languages.iter().any(|l| l == ENGLISH) && limits.keeps(ENGLISH, &key) {
                    kept.entry(ENGLISH.to_string())
                        .or_default()
                        .add(&key, key.clone(), &domain);
                }
                let text = clean(&translation);
                if text != key && limits.keeps(language, &text) {
                    kept.entry(language.to_string())
                        .or_default()
                        .add(&key, text, &domain);
                }
            }
        }
    }
    let mut entries = BTreeMap::new();
    for language in languages {
        let found = kept.remove(language).map(|k| k.entries).unwrap_or_default();
        if found.is_empty() {
            let detail = if language == ENGLISH {
                if translated.is_empty() {
                    "English strings are the msgids of the other languages' catalogs, and no other language is given".to_string()
                } else {
                    format!(
                        "no msgid of the catalogs of {translated:?} under {} survives the filters",
                        root.display()
                    )
                }
            } else {
                let n = catalogs.get(language).copied().unwrap_or(0);
                format!(
                    "{n} catalogs in {}{}",
                    root.join(language)
                        .join("LC_MESSAGES")
                        .join("*.mo")
                        .display(),
                    if n == 0 {
                        String::new()
                    } else {
                        format!(
                            ", but no string is left after filtering (untranslated, under {}/{} characters, over {} bytes, format strings only, wrong script, duplicates)",
                            limits.min_chars_latin, limits.min_chars_cjk, limits.max_bytes
                        )
                    }
                )
            };
            return Err(LangError::NoText {
                language: language.clone(),
                detail,
            });
        }
        entries.insert(language.clone(), found);
    }
    Ok(Corpus {
        languages: languages.to_vec(),
        entries,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use assay_text::mo;

    /// A scratch directory removed on drop.
    pub(crate) struct Dir(pub PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    pub(crate) fn scratch(tag: &str) -> Dir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "assay-lang-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    /// Writes `root/{lang}/LC_MESSAGES/{domain}.mo`.
    pub(crate) fn put(
        root: &Path,
        lang: &str,
        domain: &str,
        charset: &str,
        little: bool,
        msgs: &[(&str, &str)],
    ) {
        let dir = root.join(lang).join("LC_MESSAGES");
        std::fs::create_dir_all(&dir).unwrap();
        let header = format!(
            "Project-Id-Version: {domain}\nLanguage: {lang}\nContent-Type: text/plain; charset={charset}\n"
        );
        let bytes = mo::write(&header, msgs, charset, little).unwrap();
        std::fs::write(dir.join(format!("{domain}.mo")), bytes).unwrap();
    }

    /// Catalogs in both byte orders and two legacy charsets (ISO-8859-1, EUC-JP) besides UTF-8,
    /// with every kind of string the filters drop.
    pub(crate) fn write_catalogs(root: &Path) {
        let de = [
            (
                "_Open the selected file in a new window",
                "Die ausgewählte Datei in einem neuen _Fenster öffnen",
            ),
            (
                "Cannot open %s: the file does not exist",
                "%s kann nicht geöffnet werden: die Datei existiert nicht",
            ),
            ("Save the document before closing it", ""),
            ("Quit", "Beenden"),
            (
                "%1$s: %2$s (%3$d of %4$d) %5$s %6$s",
                "%1$s: %2$s (%3$d von %4$d) %5$s %6$s",
            ),
            (
                "Untranslated string copied as it is",
                "Untranslated string copied as it is",
            ),
            (
                "<b>Warning:</b> the disk is almost full",
                "<b>Warnung:</b> die Festplatte ist fast voll",
            ),
        ];
        put(root, "de", "app", "ISO-8859-1", true, &de);
        // A second catalog repeating a msgid: the first catalog's translation wins.
        put(
            root,
            "de",
            "other",
            "UTF-8",
            false,
            &[
                (
                    "Cannot open %s: the file does not exist",
                    "Die Datei %s existiert nicht und kann nicht geöffnet werden",
                ),
                (
                    "Show the hidden files of this folder",
                    "Die versteckten Dateien dieses Ordners anzeigen",
                ),
            ],
        );
        put(
            root,
            "ja",
            "app",
            "EUC-JP",
            false,
            &[
                (
                    "_Open the selected file in a new window",
                    "選択したファイルを新しいウィンドウで開く(_O)",
                ),
                (
                    "Cannot open %s: the file does not exist",
                    "%s を開けません: ファイルが存在しません",
                ),
                ("Quit", "終了する"),
                (
                    "Show the hidden files of this folder",
                    "Show the hidden files of this folder",
                ),
            ],
        );
        // Lists of names, excluded by file name.
        put(
            root,
            "de",
            "iso_3166",
            "UTF-8",
            true,
            &[(
                "Federal Republic of Germany, officially",
                "Bundesrepublik Deutschland, amtlich",
            )],
        );
    }

    fn langs(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn catalogs_in_both_byte_orders_and_two_charsets_are_filtered() {
        let dir = scratch("load");
        write_catalogs(&dir.0);
        let c = load(
            &dir.0,
            &langs(&["en", "de", "ja"]),
            &["iso_".to_string()],
            Limits::default(),
        )
        .unwrap();
        // Catalogs hold their entries sorted by msgid (as msgfmt writes them).
        assert_eq!(
            c.texts("de"),
            vec![
                // Markup stripped, Latin-1 decoded.
                "Warnung: die Festplatte ist fast voll",
                // %s stripped; the second catalog's translation of this msgid is dropped.
                "kann nicht geöffnet werden: die Datei existiert nicht",
                // Accelerator stripped.
                "Die ausgewählte Datei in einem neuen Fenster öffnen",
                // Big-endian UTF-8 catalog.
                "Die versteckten Dateien dieses Ordners anzeigen",
            ]
        );
        // Untranslated, short, format-only and copied entries are gone, and so is the iso_ list.
        assert!(c.entries["de"].iter().all(|e| e.domain != "iso_3166"));
        assert_eq!(c.entries["de"][3].domain, "other");
        assert_eq!(
            c.texts("ja"),
            vec![
                "を開けません: ファイルが存在しません",
                "選択したファイルを新しいウィンドウで開く",
            ],
            "EUC-JP decoded, mnemonic stripped, the English copy and the 4-character string dropped"
        );
        assert_eq!(
            c.entries["ja"][0].key,
            "Cannot open : the file does not exist"
        );
        // English: the msgids of translated entries, cleaned, deduplicated across catalogs and
        // languages (the untranslated "Save the document ..." never comes out of the reader).
        assert_eq!(
            c.texts("en"),
            vec![
                "Warning: the disk is almost full",
                "Cannot open : the file does not exist",
                "Untranslated string copied as it is",
                "Open the selected file in a new window",
                "Show the hidden files of this folder",
            ]
        );
    }

    #[test]
    fn a_language_without_text_is_an_error_naming_it() {
        let dir = scratch("none");
        write_catalogs(&dir.0);
        let e = load(&dir.0, &langs(&["de", "fr"]), &[], Limits::default()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`fr`") && msg.contains("0 catalogs"), "{msg}");
        let strict = Limits {
            min_chars_cjk: 100,
            ..Limits::default()
        };
        let msg = load(&dir.0, &langs(&["ja"]), &[], strict)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("`ja`") && msg.contains("after filtering"),
            "{msg}"
        );
        let msg = load(&dir.0, &langs(&["en"]), &[], Limits::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("msgids"), "{msg}");
    }

    #[test]
    fn limits_follow_the_script() {
        let l = Limits::default();
        assert!(l.keeps("de", "Eine Zeichenkette mit genug Zeichen"));
        assert!(!l.keeps("de", "Zu kurz"));
        assert!(!l.keeps("de", "Eine Zeichenkette mit 文件 darin, lang"));
        assert!(l.keeps("zh_CN", "无法打开文件夹中的文件"));
        assert!(!l.keeps("ja", "ファイル"));
        assert!(!l.keeps("zh_CN", "GNOME Desktop 文件管理器"));
        assert!(!l.keeps("en", &"x".repeat(300)));
        // Long, but nothing except format specifiers.
        assert!(!l.keeps("de", &clean("%1$s: %2$s (%3$d) %4$s - %5$s %6$s %7$s")));
    }
}
