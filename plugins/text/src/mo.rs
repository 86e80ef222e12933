//! GNU gettext `.mo` catalogs: the binary format, either byte order, decoded with the charset
//! the catalog's header entry declares.
//!
//! Layout (all integers 32-bit, in the file's byte order): magic `0x950412de`, revision, number
//! of strings N, offset of the originals table, offset of the translations table, hash-table
//! size and offset. Each table holds N `(length, offset)` pairs pointing at NUL-terminated
//! strings. An entry with a context stores `msgctxt \x04 msgid`; plural entries store their
//! forms separated by NUL. The entry with the empty msgid is the header, whose `Content-Type:`
//! line names the charset of every string.

use std::path::Path;

use encoding_rs::Encoding;
use thiserror::Error;

/// A catalog that cannot be read; every message names the file.
#[derive(Debug, Error)]
pub enum MoError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a `.mo` file, or a damaged one.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// One message of a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `msgctxt`, if the entry has one.
    pub context: Option<String>,
    /// The source string (for plural entries, the singular).
    pub id: String,
    /// The plural source string, for plural entries.
    pub id_plural: Option<String>,
    /// The translations: one, or one per plural form.
    pub translations: Vec<String>,
}

/// A decoded catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The charset named in the header (`UTF-8` when there is none).
    pub charset: String,
    /// The header entry's text (`Language: ...`, `Content-Type: ...`).
    pub header: String,
    /// Every message except the header, in file order (sorted by msgid).
    pub messages: Vec<Message>,
}

impl Catalog {
    /// The `Language:` field of the header, if any.
    pub fn language(&self) -> Option<&str> {
        self.header.lines().find_map(|l| {
            l.strip_prefix("Language:")
                .map(str::trim)
                .filter(|s| !s.is_empty())
        })
    }
}

fn charset_of(header: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    text.lines().find_map(|l| {
        let l = l.trim();
        if !l.to_ascii_lowercase().starts_with("content-type:") {
            return None;
        }
        let i = l.to_ascii_lowercase().find("charset=")?;
        Some(
            l[i + "charset=".len()..]
                .trim()
                .trim_end_matches(';')
                .to_string(),
        )
    })
}

/// Parses `.mo` bytes; `name` is used in messages.
pub fn parse(bytes: &[u8], name: &str) -> Result<Catalog, MoError> {
    let err = |message: String| MoError::Format {
        path: name.to_string(),
        message,
    };
    if bytes.len() < 28 {
        return Err(err(format!(
            "{} bytes is too short for a .mo header",
            bytes.len()
        )));
    }
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let little = match magic {
        0x9504_12de => true,
        0xde12_0495 => false,
        other => {
            return Err(err(format!(
                "not a .mo catalog (magic {other:#010x}, expected 0x950412de in either byte order)"
            )))
        }
    };
    let word = |at: usize| -> Result<usize, MoError> {
        let b = bytes
            .get(at..at + 4)
            .ok_or_else(|| err(format!("truncated at byte {at}")))?;
        let v = [b[0], b[1], b[2], b[3]];
        Ok(if little {
            u32::from_le_bytes(v)
        } else {
            u32::from_be_bytes(v)
        } as usize)
    };
    let revision = word(4)?;
    if revision >> 16 > 1 {
        return Err(err(format!(
            "unsupported major revision {}",
            revision >> 16
        )));
    }
    let (n, originals, translations) = (word(8)?, word(12)?, word(16)?);
    let string = |table: usize, i: usize| -> Result<&[u8], MoError> {
        let (len, off) = (word(table + 8 * i)?, word(table + 8 * i + 4)?);
        bytes
            .get(off..off + len)
            .ok_or_else(|| err(format!("string {i} at {off}+{len} lies outside the file")))
    };
    let mut raw = Vec::with_capacity(n);
    for i in 0..n {
        raw.push((string(originals, i)?, string(translations, i)?));
    }
    let header_bytes = raw
        .iter()
        .find(|(id, _)| id.is_empty())
        .map(|(_, t)| *t)
        .unwrap_or(&[]);
    let charset = charset_of(header_bytes).unwrap_or_else(|| "UTF-8".to_string());
    let encoding = Encoding::for_label(charset.as_bytes())
        .ok_or_else(|| err(format!("unknown charset `{charset}` in the header")))?;
    let decode = |b: &[u8]| -> Result<String, MoError> {
        let (text, _, bad) = encoding.decode(b);
        if bad {
            return Err(err(format!(
                "a string is not valid {charset}: {:?}",
                String::from_utf8_lossy(b)
            )));
        }
        Ok(text.into_owned())
    };
    let mut header = String::new();
    let mut messages = Vec::new();
    for (id, tr) in raw {
        if id.is_empty() {
            header = decode(tr)?;
            continue;
        }
        let (context, id) = match id.iter().position(|&b| b == 0x04) {
            Some(i) => (Some(decode(&id[..i])?), &id[i + 1..]),
            None => (None, id),
        };
        let mut ids = id.split(|&b| b == 0);
        let singular = decode(ids.next().unwrap_or(&[]))?;
        let plural = ids.next().map(&decode).transpose()?;
        let translations = tr
            .split(|&b| b == 0)
            .map(&decode)
            .collect::<Result<_, _>>()?;
        messages.push(Message {
            context,
            id: singular,
            id_plural: plural,
            translations,
        });
    }
    Ok(Catalog {
        charset,
        header,
        messages,
    })
}

/// Reads and parses a `.mo` file.
pub fn read(path: &Path) -> Result<Catalog, MoError> {
    let bytes = std::fs::read(path).map_err(|source| MoError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&bytes, &path.display().to_string())
}

/// Parallel `(msgid, translation)` pairs by language (the header's `Language:`, else the
/// catalog's file stem) from every catalog in `paths`: the multilingual data of study 5.
/// Plural entries give their singular msgid and first form; untranslated entries are skipped.
pub fn pairs_by_language(
    paths: &[std::path::PathBuf],
) -> Result<std::collections::BTreeMap<String, Vec<(String, String)>>, MoError> {
    let mut out: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for path in paths {
        let catalog = read(path)?;
        let language = catalog.language().map(str::to_string).unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default()
        });
        let pairs = out.entry(language).or_default();
        for m in catalog.messages {
            if let Some(t) = m.translations.into_iter().find(|t| !t.is_empty()) {
                pairs.push((m.id, t));
            }
        }
    }
    Ok(out)
}

/// Writes a catalog in `.mo` format (`little` or big endian), encoding every string with the
/// header's charset: what tests and tools use to make catalogs. Entries are sorted by msgid, as
/// `msgfmt` does; no hash table is written (readers must not need one).
pub fn write(
    header: &str,
    messages: &[(&str, &str)],
    charset: &str,
    little: bool,
) -> Result<Vec<u8>, String> {
    let encoding = Encoding::for_label(charset.as_bytes())
        .ok_or_else(|| format!("unknown charset {charset}"))?;
    let encode = |s: &str| -> Result<Vec<u8>, String> {
        let (b, _, bad) = encoding.encode(s);
        if bad {
            return Err(format!("`{s}` cannot be written in {charset}"));
        }
        Ok(b.into_owned())
    };
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = vec![(Vec::new(), encode(header)?)];
    for (id, tr) in messages {
        entries.push((encode(id)?, encode(tr)?));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let n = entries.len();
    let (orig_at, trans_at) = (28, 28 + 8 * n);
    let mut data_at = 28 + 16 * n;
    let mut tables = Vec::new();
    let mut data = Vec::new();
    for pick in [0, 1] {
        for e in &entries {
            let s = if pick == 0 { &e.0 } else { &e.1 };
            tables.push((s.len() as u32, data_at as u32));
            data.extend_from_slice(s);
            data.push(0);
            data_at += s.len() + 1;
        }
    }
    let mut out = Vec::new();
    let put = |out: &mut Vec<u8>, v: u32| {
        out.extend_from_slice(&if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        })
    };
    for v in [
        0x9504_12de,
        0,
        n as u32,
        orig_at as u32,
        trans_at as u32,
        0,
        0,
    ] {
        put(&mut out, v);
    }
    for (len, off) in tables {
        put(&mut out, len);
        put(&mut out, off);
    }
    out.extend_from_slice(&data);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Project-Id-Version: t\nLanguage: fr\nContent-Type: text/plain; charset=ISO-8859-1\n";

    #[test]
    fn both_byte_orders_and_a_latin1_charset_read_back() {
        let msgs = [
            ("File", "Fichier"),
            ("Open the café", "Ouvrir le café"),
            ("Save", "Enregistrer"),
        ];
        for little in [true, false] {
            let bytes = write(HEADER, &msgs, "ISO-8859-1", little).unwrap();
            // Latin-1 really is on disk: é is the single byte 0xE9.
            assert!(bytes.windows(4).any(|w| w == b"caf\xe9"));
            let c = parse(&bytes, "t.mo").unwrap();
            assert_eq!(c.charset, "ISO-8859-1");
            assert_eq!(c.language(), Some("fr"));
            let got: Vec<(&str, &str)> = c
                .messages
                .iter()
                .map(|m| (m.id.as_str(), m.translations[0].as_str()))
                .collect();
            assert_eq!(got, msgs.to_vec());
        }
    }

    #[test]
    fn contexts_plurals_and_cyrillic_koi8() {
        let header = "Language: ru\nContent-Type: text/plain; charset=KOI8-R\n";
        let msgs = [
            ("menu\u{4}Open", "Открыть"),
            ("one file\0{} files", "один файл\0{} файла\0{} файлов"),
        ];
        let bytes = write(header, &msgs, "KOI8-R", false).unwrap();
        let c = parse(&bytes, "ru.mo").unwrap();
        let open = c.messages.iter().find(|m| m.id == "Open").unwrap();
        assert_eq!(open.context.as_deref(), Some("menu"));
        assert_eq!(open.translations, vec!["Открыть"]);
        let files = c.messages.iter().find(|m| m.id == "one file").unwrap();
        assert_eq!(files.id_plural.as_deref(), Some("{} files"));
        assert_eq!(files.translations.len(), 3);
    }

    #[test]
    fn pairs_are_grouped_by_the_header_language() {
        let dir = std::env::temp_dir().join(format!("assay-mo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fr = write(
            HEADER,
            &[("Save", "Enregistrer"), ("Quit", "")],
            "ISO-8859-1",
            true,
        )
        .unwrap();
        let de = write(
            "Language: de\nContent-Type: text/plain; charset=UTF-8\n",
            &[("Save", "Speichern")],
            "UTF-8",
            false,
        )
        .unwrap();
        std::fs::write(dir.join("a.mo"), fr).unwrap();
        std::fs::write(dir.join("b.mo"), de).unwrap();
        let pairs = pairs_by_language(&[dir.join("a.mo"), dir.join("b.mo")]).unwrap();
        assert_eq!(
            pairs["fr"],
            vec![("Save".to_string(), "Enregistrer".to_string())]
        );
        assert_eq!(
            pairs["de"],
            vec![("Save".to_string(), "Speichern".to_string())]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damage_is_reported_with_the_file_name() {
        let e = parse(b"not a catalog at all, clearly", "x.mo").unwrap_err();
        assert!(e.to_string().starts_with("x.mo: not a .mo catalog"), "{e}");
        let mut bytes = write(HEADER, &[("a", "b")], "ISO-8859-1", true).unwrap();
        bytes.truncate(40);
        let e = parse(&bytes, "cut.mo").unwrap_err();
        assert!(e.to_string().contains("cut.mo"), "{e}");
    }
}
