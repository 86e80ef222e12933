//! Tokenizers as the text of a Hugging Face `tokenizer.json` that encodes and decodes the same
//! ids ([`TextTokenizer::hf_json`]), so that a run trained on our tokens can be loaded and
//! prompted later by anything that reads Hugging Face tokenizers.
//!
//! Every variant's end-of-text id becomes a special token named [`EOS_NAME`]:
//!
//! - **Bytes**: a byte-level pre-tokenizer without its regex (every byte becomes one of GPT-2's
//!   byte characters), then a split into single characters, a word-level model over the 256 byte
//!   characters (id = byte value) and the byte-level decoder (invalid UTF-8 becomes `�`, as
//!   ours does).
//! - **Chars**: a split into single characters, a word-level model over the alphabet with the
//!   unknown token, and decoders that turn the unknown token into `�` and fuse the characters.
//! - **Words**: the verbatim entries as (non-special) added tokens, a split into the words of
//!   [`crate::tokenizer::words_of`] (runs of alphanumerics and `_`, single other non-whitespace
//!   characters; whitespace dropped; both classes written out as code-point ranges from Rust's
//!   own tables, so that no regex engine's Unicode version matters), a word-level model with the
//!   unknown token, and decoders that turn the unknown token into `�` and join the words with
//!   single spaces.
//! - **HuggingFace**: the loaded file itself, with [`EOS_NAME`] made to name our end-of-text id:
//!   as it is when the file already has it there; added as a new special token when our id is
//!   the next one past the vocabulary; otherwise as an alias of the token at that id (written
//!   into the model's token map, with every added token so that reading the file back numbers
//!   none anew; the token itself is made special so that decoding skips it, as ours does). The
//!   alias makes such a file's `get_vocab_size` one larger than the original's.
//!
//! Limits, all checked (the text is loaded back: [`EOS_NAME`] must name a special token at our
//! id and a Hugging Face file's added tokens must keep their ids, else there is no text):
//!
//! - Hugging Face tokenizers find special tokens in the text they encode; ours do not. A text
//!   that contains the literal string `<|endoftext|>` therefore encodes differently (it becomes
//!   the end-of-text id). The same holds for a Hugging Face file's end-of-text token that was not
//!   special before (it becomes special so that decoding drops it).
//! - A Hugging Face file whose `<|endoftext|>` is another id than our end-of-text (ours is the
//!   first of `</s>`, `<|endoftext|>`, `<eos>`, ... that the file has), or whose model keeps no
//!   token map an alias can be written into (Unigram), cannot be written: `None`.

use std::str::FromStr as _;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as Decoders;
use tokenizers::decoders::wordpiece::WordPiece;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizers;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::tokenizer::{TextTokenizer, TokenizerError};

/// The name of the end-of-text special token in the written `tokenizer.json`.
pub const EOS_NAME: &str = "<|endoftext|>";

/// One character, newlines included (written so that Oniguruma, the regex engine of the Python
/// package, reads it too: it has no `(?s)`).
const ONE_CHAR: &str = r"[\s\S]";

/// A regex character class of the characters `member` accepts, written out as ranges
/// (`[\x{41}-\x{5A}...]`), so that no regex engine's Unicode tables are involved.
fn char_class(member: impl Fn(char) -> bool) -> String {
    let mut out = String::from("[");
    let mut run: Option<(u32, u32)> = None;
    let close = |out: &mut String, (a, b): (u32, u32)| {
        if a == b {
            out.push_str(&format!("\\x{{{a:X}}}"));
        } else {
            out.push_str(&format!("\\x{{{a:X}}}-\\x{{{b:X}}}"));
        }
    };
    for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
        let code = c as u32;
        if !member(c) {
            continue;
        }
        run = match run {
            Some((a, b)) if b + 1 == code => Some((a, code)),
            Some(r) => {
                close(&mut out, r);
                Some((code, code))
            }
            None => Some((code, code)),
        };
    }
    if let Some(r) = run {
        close(&mut out, r);
    }
    out.push(']');
    out
}

/// A word of [`crate::tokenizer::words_of`]: a run of characters that Rust calls alphanumeric
/// and `_`, or one other character that Rust does not call whitespace. The classes are written
/// out from Rust's own tables (`char::is_alphanumeric`, `char::is_whitespace`).
fn one_word() -> String {
    let word = char_class(|c| c.is_alphanumeric() || c == '_');
    let other = char_class(|c| !c.is_whitespace());
    format!("{word}+|{other}")
}

fn invalid(message: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::Invalid(message.to_string())
}

/// GPT-2's map from bytes to printable characters (what the byte-level pre-tokenizer writes).
fn byte_chars() -> [char; 256] {
    let mut out = ['\0'; 256];
    let mut shifted = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        let code = if printable {
            u32::from(b)
        } else {
            shifted += 1;
            255 + shifted
        };
        out[usize::from(b)] = char::from_u32(code).unwrap_or('\u{fffd}');
    }
    out
}

/// `base`, with `_` appended until `taken` rejects it no more.
fn fresh_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut name = base.to_string();
    while taken(&name) {
        name.insert(name.len() - 1, '_');
    }
    name
}

/// A split into the pieces `pattern` matches, whatever lies between them dropped.
fn split_keeping(pattern: &str) -> Result<PreTokenizerWrapper, TokenizerError> {
    let split = Split::new(
        SplitPattern::Regex(pattern.into()),
        SplitDelimiterBehavior::Removed,
        true,
    )
    .map_err(invalid)?;
    Ok(PreTokenizerWrapper::Split(split))
}

/// A tokenizer over a word-level model of `vocab` (token, id), with `unk` as its unknown token
/// and [`EOS_NAME`] (which `vocab` must hold) as the special end-of-text token.
fn word_level(vocab: Vec<(String, u32)>, unk: &str) -> Result<Tokenizer, TokenizerError> {
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token(unk.to_string())
        .build()
        .map_err(invalid)?;
    Ok(Tokenizer::new(model))
}

/// Whether `id` is a special added token of `hf`.
fn is_special(hf: &Tokenizer, id: u32) -> bool {
    hf.get_added_tokens_decoder()
        .get(&id)
        .is_some_and(|t| t.special)
}

fn add_eos(hf: &mut Tokenizer) -> Result<(), TokenizerError> {
    hf.add_special_tokens([AddedToken::from(EOS_NAME, true)])
        .map_err(invalid)?;
    Ok(())
}

fn bytes_json() -> Result<Tokenizer, TokenizerError> {
    let chars = byte_chars();
    let mut vocab: Vec<(String, u32)> = (0..256u32)
        .map(|b| (chars[b as usize].to_string(), b))
        .collect();
    vocab.push((EOS_NAME.into(), 256));
    // Every piece is one of the 256 characters: the unknown token is never used.
    let mut hf = word_level(vocab, EOS_NAME)?;
    hf.with_pre_tokenizer(Some(PreTokenizers::new(vec![
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)),
        split_keeping(ONE_CHAR)?,
    ])));
    hf.with_decoder(Some(ByteLevelDecoder::new(false, false, false)));
    add_eos(&mut hf)?;
    Ok(hf)
}

/// The decoder that writes the unknown token `unk` as `�`, then `join`s the tokens.
fn unknown_then(unk: &str, join: DecoderWrapper) -> Result<Decoders, TokenizerError> {
    let replace = Replace::new(unk, "\u{fffd}").map_err(invalid)?;
    Ok(Decoders::new(vec![DecoderWrapper::Replace(replace), join]))
}

fn chars_json(alphabet: &[char]) -> Result<Tokenizer, TokenizerError> {
    // Single characters never contain a name of five.
    let unk = "<unk>";
    let n = alphabet.len() as u32;
    let mut vocab: Vec<(String, u32)> = alphabet
        .iter()
        .enumerate()
        .map(|(i, c)| (c.to_string(), i as u32))
        .collect();
    vocab.push((unk.into(), n));
    vocab.push((EOS_NAME.into(), n + 1));
    let mut hf = word_level(vocab, unk)?;
    hf.with_pre_tokenizer(Some(split_keeping(ONE_CHAR)?));
    hf.with_decoder(Some(unknown_then(unk, DecoderWrapper::Fuse(Fuse::new()))?));
    add_eos(&mut hf)?;
    Ok(hf)
}

fn words_json(words: &[String], verbatim: &[String]) -> Result<Tokenizer, TokenizerError> {
    if words.iter().any(|w| w == EOS_NAME) {
        return Err(invalid(format!(
            "the vocabulary has a word `{EOS_NAME}`, the end-of-text token's name"
        )));
    }
    // The unknown token's name must occur in no word (the decoder replaces it inside tokens),
    // and the decoder's continuation prefix must start no word (it would glue words together).
    let unk = fresh_name("<unk>", |name| {
        name == EOS_NAME || words.iter().any(|w| w.contains(name))
    });
    let prefix = fresh_name("##", |p| {
        "\u{fffd}".starts_with(p) || words.iter().any(|w| w.starts_with(p))
    });
    let n = words.len() as u32;
    let mut vocab: Vec<(String, u32)> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), i as u32))
        .collect();
    vocab.push((unk.clone(), n));
    vocab.push((EOS_NAME.into(), n + 1));
    let mut hf = word_level(vocab, &unk)?;
    hf.with_pre_tokenizer(Some(split_keeping(&one_word())?));
    let join = DecoderWrapper::WordPiece(WordPiece::new(prefix, false));
    hf.with_decoder(Some(unknown_then(&unk, join)?));
    hf.add_tokens(
        verbatim
            .iter()
            .map(|v| AddedToken::from(v.as_str(), false).normalized(false)),
    )
    .map_err(invalid)?;
    add_eos(&mut hf)?;
    Ok(hf)
}

/// The loaded file with [`EOS_NAME`] at `eos` (see the module's documentation).
fn hugging_face_json(inner: &Tokenizer, eos: u32) -> Result<String, TokenizerError> {
    let mut hf = inner.clone();
    match (hf.token_to_id(EOS_NAME), hf.id_to_token(eos)) {
        (Some(id), _) if id != eos => Err(invalid(format!(
            "the file has `{EOS_NAME}` as id {id}, not as the end-of-text id {eos}"
        ))),
        (Some(_), _) => {
            if !is_special(&hf, eos) {
                add_eos(&mut hf)?;
            }
            hf.to_string(false).map_err(invalid)
        }
        (None, None) => {
            add_eos(&mut hf)?;
            hf.to_string(false).map_err(invalid)
        }
        (None, Some(name)) => {
            // The token already there stays (texts containing it encode as before) and becomes
            // special; the model's token map gets the alias.
            if !is_special(&hf, eos) {
                hf.add_special_tokens([AddedToken::from(name.as_str(), true)])
                    .map_err(invalid)?;
            }
            let text = hf.to_string(false).map_err(invalid)?;
            let mut json: serde_json::Value = serde_json::from_str(&text).map_err(invalid)?;
            let model = &mut json["model"];
            let kind = model["type"].as_str().unwrap_or("?").to_string();
            let Some(vocab) = model["vocab"].as_object_mut() else {
                return Err(invalid(format!(
                    "the {kind} model has no token map to alias `{name}` (id {eos}) as `{EOS_NAME}`"
                )));
            };
            // Reading the file back numbers added tokens missing from the model's map from the
            // map's size on, which the alias grows by one: every added token goes into the map
            // at its id, so that none is renumbered. Texts never reach the model with an added
            // token's text in them (they are split out first), so encoding does not change.
            for (id, token) in hf.get_added_tokens_decoder() {
                vocab.entry(token.content).or_insert(id.into());
            }
            vocab.insert(EOS_NAME.into(), eos.into());
            serde_json::to_string(&json).map_err(invalid)
        }
    }
}

/// Loads `json` back and requires [`EOS_NAME`] to be a special token at `eos`, and every
/// `(token, id)` of `kept` to be there.
fn checked(json: String, eos: u32, kept: &[(String, u32)]) -> Result<String, TokenizerError> {
    let back = Tokenizer::from_str(&json).map_err(|e| invalid(format!("reading it back: {e}")))?;
    if let Some((token, id)) = kept.iter().find(|(t, id)| back.token_to_id(t) != Some(*id)) {
        return Err(invalid(format!(
            "read back, `{token}` is {:?}, not {id}",
            back.token_to_id(token)
        )));
    }
    let got = back.token_to_id(EOS_NAME);
    if got != Some(eos) {
        return Err(invalid(format!(
            "read back, `{EOS_NAME}` is {got:?}, not the end-of-text id {eos}"
        )));
    }
    if !is_special(&back, eos) {
        return Err(invalid(format!(
            "read back, the end-of-text id {eos} is not a special token"
        )));
    }
    Ok(json)
}

impl TextTokenizer {
    /// The tokenizer as the text of a Hugging Face `tokenizer.json` that encodes (without
    /// special tokens) and decodes (skipping them) the same ids, with the end-of-text id as the
    /// special token [`EOS_NAME`]; an error says why it cannot be written (see the module's
    /// documentation for how each variant is written and what differs).
    pub fn hf_json(&self) -> Result<String, TokenizerError> {
        let json = match self {
            TextTokenizer::Bytes => bytes_json()?.to_string(false).map_err(invalid)?,
            TextTokenizer::Chars { alphabet, .. } => {
                chars_json(alphabet)?.to_string(false).map_err(invalid)?
            }
            TextTokenizer::Words {
                words, verbatim, ..
            } => words_json(words, verbatim)?
                .to_string(false)
                .map_err(invalid)?,
            TextTokenizer::HuggingFace { inner, eos } => {
                let json = hugging_face_json(inner, *eos)?;
                let added: Vec<(String, u32)> = inner
                    .get_added_tokens_decoder()
                    .into_iter()
                    .map(|(id, t)| (t.content, id))
                    .collect();
                return checked(json, *eos, &added);
            }
        };
        checked(json, self.eos(), &[])
    }

    /// [`TextTokenizer::hf_json`], `None` where it cannot be written (the SDK's
    /// `Tokenizer::to_hf_json`).
    pub fn to_hf_json(&self) -> Option<String> {
        self.hf_json().ok()
    }
}

#[cfg(test)]
mod tests;
