//! Tokenizers: bytes, characters of an alphabet, words of a corpus, or a Hugging Face
//! `tokenizer.json`.
//!
//! Every tokenizer reserves an end-of-document token ([`TextTokenizer::eos`]) that packing puts
//! between documents; the character- and word-level ones also have an unknown token for what
//! their vocabulary lacks. Byte-level and character-level tokenizers round-trip any text they
//! can represent exactly; the word-level one round-trips text made of its words and single
//! spaces; a Hugging Face tokenizer round-trips as its decoder does. Every one can be written as
//! a Hugging Face `tokenizer.json` that encodes and decodes the same ids ([`crate::hf_json`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use thiserror::Error;

/// A tokenizer that cannot be built.
#[derive(Debug, Error)]
pub enum TokenizerError {
    /// A `tokenizer.json` that cannot be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Bad settings.
    #[error("{0}")]
    Invalid(String),
}

/// Text to token ids and back.
pub enum TextTokenizer {
    /// UTF-8 bytes: ids 0-255, then end-of-document (256).
    Bytes,
    /// One id per character of `alphabet`, then unknown and end-of-document.
    Chars {
        /// The characters, in id order.
        alphabet: Vec<char>,
        /// Character to id.
        index: HashMap<char, u32>,
    },
    /// One id per word (runs of letters/digits/underscore, or single other non-space
    /// characters), then unknown and end-of-document; words are rejoined with single spaces.
    /// Entries of `verbatim` (markers such as `[INST]`) are found whole in the text first,
    /// leftmost and then longest, as Hugging Face added tokens are, and the text between them is
    /// split into words.
    Words {
        /// The words, in id order (the verbatim entries among them).
        words: Vec<String>,
        /// Word to id.
        index: HashMap<String, u32>,
        /// Entries of `words` matched whole before the text is split into words.
        verbatim: Vec<String>,
    },
    /// A Hugging Face tokenizer; end-of-document is the file's `eos_token` if it has one of the
    /// usual names, else an id past its vocabulary.
    HuggingFace {
        /// The loaded tokenizer.
        inner: Box<tokenizers::Tokenizer>,
        /// End-of-document id.
        eos: u32,
    },
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(vocab {})", self.kind(), self.vocab_size())
    }
}

/// Splits `text` at the leftmost-longest occurrences of `verbatim` strings: pieces of text in
/// order, each marked `true` when it is one of the verbatim strings.
pub fn split_verbatim<'a>(text: &'a str, verbatim: &[String]) -> Vec<(&'a str, bool)> {
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < text.len() {
        let rest = &text[i..];
        let longest = verbatim
            .iter()
            .filter(|v| !v.is_empty() && rest.starts_with(v.as_str()))
            .map(String::len)
            .max();
        match longest {
            Some(n) => {
                if start < i {
                    out.push((&text[start..i], false));
                }
                out.push((&text[i..i + n], true));
                i += n;
                start = i;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    if start < text.len() {
        out.push((&text[start..], false));
    }
    out
}

/// Splits text into the word tokenizer's words.
pub fn words_of(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let word_char = c.is_alphanumeric() || c == '_';
        match (word_char, start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, s) => {
                if let Some(s) = s {
                    out.push(&text[s..i]);
                    start = None;
                }
                if !c.is_whitespace() {
                    out.push(&text[i..i + c.len_utf8()]);
                }
            }
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

impl TextTokenizer {
    /// Byte-level.
    pub fn bytes() -> Self {
        TextTokenizer::Bytes
    }

    /// Character-level over `alphabet` (duplicates ignored, order kept).
    pub fn chars(alphabet: &str) -> Result<Self, TokenizerError> {
        let mut chars = Vec::new();
        let mut index = HashMap::new();
        for c in alphabet.chars() {
            if let std::collections::hash_map::Entry::Vacant(e) = index.entry(c) {
                e.insert(chars.len() as u32);
                chars.push(c);
            }
        }
        if chars.is_empty() {
            return Err(TokenizerError::Invalid(
                "a character tokenizer needs a non-empty alphabet".into(),
            ));
        }
        Ok(TextTokenizer::Chars {
            alphabet: chars,
            index,
        })
    }

    /// Word-level: the `max_words` most frequent words of `texts` (ties in first-seen order)
    /// that occur at least `min_count` times.
    pub fn words<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        max_words: usize,
        min_count: usize,
    ) -> Result<Self, TokenizerError> {
        let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut seen = 0usize;
        for text in texts {
            for w in words_of(text) {
                let e = counts.entry(w).or_insert((0, seen));
                e.0 += 1;
                seen += 1;
            }
        }
        let mut ranked: Vec<(&str, usize, usize)> = counts
            .into_iter()
            .map(|(w, (n, first))| (w, n, first))
            .collect();
        ranked.retain(|(_, n, _)| *n >= min_count.max(1));
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        ranked.truncate(max_words);
        if ranked.is_empty() {
            return Err(TokenizerError::Invalid(
                "the corpus has no word occurring often enough for a word vocabulary".into(),
            ));
        }
        let words: Vec<String> = ranked.iter().map(|(w, _, _)| w.to_string()).collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Ok(TextTokenizer::Words {
            words,
            index,
            verbatim: Vec::new(),
        })
    }

    /// Word-level over a fixed vocabulary: `words` in id order (repeats ignored). Entries also
    /// listed in `verbatim` are matched whole in text before it is split into words (markers
    /// such as `[INST]`); every other entry must be one word of [`words_of`], or encoding could
    /// never produce it.
    pub fn fixed_words<S: AsRef<str>>(
        words: impl IntoIterator<Item = S>,
        verbatim: &[&str],
    ) -> Result<Self, TokenizerError> {
        let mut list = Vec::new();
        let mut index = HashMap::new();
        for w in words {
            let w = w.as_ref();
            if index.contains_key(w) {
                continue;
            }
            if w.is_empty() {
                return Err(TokenizerError::Invalid("an empty word".into()));
            }
            if !verbatim.contains(&w) && words_of(w) != [w] {
                return Err(TokenizerError::Invalid(format!(
                    "`{w}` is not one word (it splits into {:?}); list it as verbatim",
                    words_of(w)
                )));
            }
            index.insert(w.to_string(), list.len() as u32);
            list.push(w.to_string());
        }
        if list.is_empty() {
            return Err(TokenizerError::Invalid(
                "a word tokenizer needs at least one word".into(),
            ));
        }
        if let Some(v) = verbatim.iter().find(|v| !index.contains_key(**v)) {
            return Err(TokenizerError::Invalid(format!(
                "verbatim `{v}` is not among the words"
            )));
        }
        Ok(TextTokenizer::Words {
            words: list,
            index,
            verbatim: verbatim.iter().map(|v| v.to_string()).collect(),
        })
    }

    /// The pieces that [`TextTokenizer::Words`] maps to ids: verbatim entries whole, and the
    /// words of the text between them.
    fn word_pieces<'a>(text: &'a str, verbatim: &[String]) -> Vec<&'a str> {
        if verbatim.is_empty() {
            return words_of(text);
        }
        split_verbatim(text, verbatim)
            .into_iter()
            .flat_map(|(piece, whole)| if whole { vec![piece] } else { words_of(piece) })
            .collect()
    }

    /// A Hugging Face `tokenizer.json`.
    pub fn hugging_face(path: &Path) -> Result<Self, TokenizerError> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| TokenizerError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self::from_hugging_face(inner))
    }

    /// A loaded Hugging Face tokenizer; end-of-document is the first of `</s>`,
    /// `<|endoftext|>`, `<eos>`, `<|end_of_text|>` and `[SEP]` that it has, else the id past its
    /// vocabulary.
    pub fn from_hugging_face(inner: tokenizers::Tokenizer) -> Self {
        let eos = ["</s>", "<|endoftext|>", "<eos>", "<|end_of_text|>", "[SEP]"]
            .iter()
            .find_map(|t| inner.token_to_id(t))
            .unwrap_or_else(|| inner.get_vocab_size(true) as u32);
        TextTokenizer::HuggingFace {
            inner: Box::new(inner),
            eos,
        }
    }

    /// `bytes`, `chars`, `words` or `hugging_face`.
    pub fn kind(&self) -> &'static str {
        match self {
            TextTokenizer::Bytes => "bytes",
            TextTokenizer::Chars { .. } => "chars",
            TextTokenizer::Words { .. } => "words",
            TextTokenizer::HuggingFace { .. } => "hugging_face",
        }
    }

    /// Number of ids, special tokens included.
    pub fn vocab_size(&self) -> usize {
        match self {
            TextTokenizer::Bytes => 257,
            TextTokenizer::Chars { alphabet, .. } => alphabet.len() + 2,
            TextTokenizer::Words { words, .. } => words.len() + 2,
            TextTokenizer::HuggingFace { inner, eos } => {
                inner.get_vocab_size(true).max(*eos as usize + 1)
            }
        }
    }

    /// The end-of-document id.
    pub fn eos(&self) -> u32 {
        match self {
            TextTokenizer::Bytes => 256,
            TextTokenizer::Chars { alphabet, .. } => alphabet.len() as u32 + 1,
            TextTokenizer::Words { words, .. } => words.len() as u32 + 1,
            TextTokenizer::HuggingFace { eos, .. } => *eos,
        }
    }

    /// The unknown id, for tokenizers that have one.
    pub fn unknown(&self) -> Option<u32> {
        match self {
            TextTokenizer::Chars { alphabet, .. } => Some(alphabet.len() as u32),
            TextTokenizer::Words { words, .. } => Some(words.len() as u32),
            _ => None,
        }
    }

    /// Token ids of `text` (no end-of-document token).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        Ok(match self {
            TextTokenizer::Bytes => text.bytes().map(u32::from).collect(),
            TextTokenizer::Chars { alphabet, index } => {
                let unk = alphabet.len() as u32;
                text.chars()
                    .map(|c| index.get(&c).copied().unwrap_or(unk))
                    .collect()
            }
            TextTokenizer::Words {
                words,
                index,
                verbatim,
            } => {
                let unk = words.len() as u32;
                Self::word_pieces(text, verbatim)
                    .into_iter()
                    .map(|w| index.get(w).copied().unwrap_or(unk))
                    .collect()
            }
            TextTokenizer::HuggingFace { inner, .. } => inner
                .encode(text, false)
                .map_err(|e| TokenizerError::Invalid(format!("encoding: {e}")))?
                .get_ids()
                .to_vec(),
        })
    }

    /// Text of `ids`; special tokens become nothing, unknown ones `�`, bytes that are not
    /// UTF-8 become `�` too.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        Ok(match self {
            TextTokenizer::Bytes => {
                let bytes: Vec<u8> = ids.iter().filter(|&&i| i < 256).map(|&i| i as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            TextTokenizer::Chars { alphabet, .. } => ids
                .iter()
                .filter_map(|&i| match (i as usize).cmp(&alphabet.len()) {
                    std::cmp::Ordering::Less => Some(alphabet[i as usize]),
                    std::cmp::Ordering::Equal => Some('\u{fffd}'),
                    std::cmp::Ordering::Greater => None,
                })
                .collect(),
            TextTokenizer::Words { words, .. } => ids
                .iter()
                .filter_map(|&i| match (i as usize).cmp(&words.len()) {
                    std::cmp::Ordering::Less => Some(words[i as usize].as_str()),
                    std::cmp::Ordering::Equal => Some("\u{fffd}"),
                    std::cmp::Ordering::Greater => None,
                })
                .collect::<Vec<_>>()
                .join(" "),
            TextTokenizer::HuggingFace { inner, eos } => {
                let ids: Vec<u32> = ids.iter().copied().filter(|i| i != eos).collect();
                inner
                    .decode(&ids, true)
                    .map_err(|e| TokenizerError::Invalid(format!("decoding: {e}")))?
            }
        })
    }
}

impl assay_sdk::Tokenizer for TextTokenizer {
    fn encode(&self, text: &str) -> assay_sdk::Result<Vec<u32>> {
        TextTokenizer::encode(self, text)
            .map_err(|e| assay_sdk::PluginError::invalid(e.to_string()))
    }
    fn decode(&self, ids: &[u32]) -> assay_sdk::Result<String> {
        TextTokenizer::decode(self, ids).map_err(|e| assay_sdk::PluginError::invalid(e.to_string()))
    }
    fn vocab_size(&self) -> usize {
        TextTokenizer::vocab_size(self)
    }
    fn eos(&self) -> Option<u32> {
        Some(TextTokenizer::eos(self))
    }
    fn to_hf_json(&self) -> Option<String> {
        TextTokenizer::to_hf_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_any_text() {
        let t = TextTokenizer::bytes();
        let text = "def f(x):\n    return x ** 2  # carré, 平方\n";
        let ids = t.encode(text).unwrap();
        assert_eq!(ids.len(), text.len());
        assert!(ids.iter().all(|&i| i < 256));
        assert_eq!(t.decode(&ids).unwrap(), text);
        assert_eq!((t.vocab_size(), t.eos()), (257, 256));
    }

    #[test]
    fn chars_round_trip_their_alphabet_and_mark_the_rest() {
        let t = TextTokenizer::chars("abcdefghijklmnopqrstuvwxyz .").unwrap();
        let text = "the cat sat.";
        let ids = t.encode(text).unwrap();
        assert_eq!(t.decode(&ids).unwrap(), text);
        let ids = t.encode("Cat!").unwrap();
        assert_eq!(ids[0], t.unknown().unwrap());
        assert_eq!(t.decode(&ids).unwrap(), "\u{fffd}at\u{fffd}");
        assert_eq!(t.vocab_size(), 28 + 2);
    }

    #[test]
    fn words_are_built_from_a_corpus_and_round_trip_its_sentences() {
        let corpus = [
            "Mary went to the kitchen .",
            "John went to the garden .",
            "Where is Mary ?",
        ];
        let t = TextTokenizer::words(corpus.iter().copied(), 100, 1).unwrap();
        // The most frequent word gets id 0: "went", "to", "the", "." and "Mary" occur twice;
        // ties go to the word seen first.
        assert_eq!(t.encode("Mary").unwrap(), vec![0]);
        for s in corpus {
            assert_eq!(t.decode(&t.encode(s).unwrap()).unwrap(), s);
        }
        let ids = t.encode("Mary went to the office .").unwrap();
        assert!(ids.contains(&t.unknown().unwrap()));
        let small = TextTokenizer::words(corpus.iter().copied(), 3, 2).unwrap();
        assert_eq!(small.vocab_size(), 3 + 2);
        assert_eq!(
            words_of("x_1=f(y)+2"),
            vec!["x_1", "=", "f", "(", "y", ")", "+", "2"]
        );
    }

    #[test]
    fn fixed_words_keep_their_order_and_match_verbatim_markers_whole() {
        let t = TextTokenizer::fixed_words(
            ["<pad>", "[INST]", "[/INST]", "Who", "is", "?", "[INST]"],
            &["<pad>", "[INST]", "[/INST]"],
        )
        .unwrap();
        assert_eq!(t.vocab_size(), 6 + 2, "repeats are dropped");
        assert_eq!((t.unknown(), t.eos()), (Some(6), 7));
        let ids = t.encode("[INST] Who is Ada?[/INST]<pad>").unwrap();
        assert_eq!(ids, vec![1, 3, 4, 6, 5, 2, 0]);
        assert_eq!(
            t.decode(&ids).unwrap(),
            "[INST] Who is \u{fffd} ? [/INST] <pad>"
        );
        // Markers that are not listed as verbatim would never be produced.
        let err = TextTokenizer::fixed_words(["[INST]", "a"], &[]).unwrap_err();
        assert!(err.to_string().contains("[INST]"), "{err}");
        let err = TextTokenizer::fixed_words(["a"], &["[X]"]).unwrap_err();
        assert!(err.to_string().contains("[X]"), "{err}");
        assert!(TextTokenizer::fixed_words(Vec::<String>::new(), &[]).is_err());
        assert!(TextTokenizer::fixed_words(["a", ""], &[""]).is_err());
    }

    #[test]
    fn verbatim_strings_are_found_leftmost_then_longest() {
        let v: Vec<String> = ["<<", "<<UNL>>", "<</UNL>>", "UNL"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            split_verbatim("a<<UNL>>b <</UNL>>UNLx<<", &v),
            vec![
                ("a", false),
                ("<<UNL>>", true),
                ("b ", false),
                ("<</UNL>>", true),
                ("UNL", true),
                ("x", false),
                ("<<", true)
            ]
        );
        assert_eq!(split_verbatim("日本", &v), vec![("日本", false)]);
        assert!(split_verbatim("", &v).is_empty());
    }

    #[test]
    fn a_hugging_face_tokenizer_json_loads_and_round_trips() {
        use tokenizers::models::wordlevel::WordLevel;
        use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
        let vocab: HashMap<String, u32> = ["<unk>", "</s>", "the", "cat", "sat"]
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), i as u32))
            .collect();
        let model = WordLevel::builder()
            .vocab(vocab.into_iter().collect())
            .unk_token("<unk>".into())
            .build()
            .unwrap();
        let mut hf = tokenizers::Tokenizer::new(model);
        hf.with_pre_tokenizer(Some(WhitespaceSplit));
        hf.with_decoder(Some(tokenizers::decoders::wordpiece::WordPiece::default()));
        let dir = std::env::temp_dir().join(format!("assay-text-hf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokenizer.json");
        hf.save(&path, false).unwrap();
        let t = TextTokenizer::hugging_face(&path).unwrap();
        assert_eq!(t.eos(), 1, "</s> is the end-of-document token");
        let ids = t.encode("the cat sat").unwrap();
        assert_eq!(ids, vec![2, 3, 4]);
        assert_eq!(t.decode(&ids).unwrap(), "the cat sat");
        let bad = TextTokenizer::hugging_face(&dir.join("missing.json")).unwrap_err();
        assert!(bad.to_string().contains("missing.json"), "{bad}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
