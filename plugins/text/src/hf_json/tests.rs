//! Every variant's `tokenizer.json`, loaded back from its text by the `tokenizers` crate,
//! encodes and decodes as the tokenizer it was written from.

use std::collections::HashMap;

use tokenizers::models::bpe::BPE;
use tokenizers::models::unigram::Unigram;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::AddedToken;

use super::*;

const SAMPLES: &[&str] = &[
    "hello world",
    "Hello, world! How are you?",
    "  two  spaces  and trailing ",
    "tabs\tand\nnew\r\nlines\n",
    "Grüße 日本",
    "x_1=f(y)+2 ** 3",
    "",
    " ",
    "emoji 🎉 ok\u{7}",
    "[INST] <<UNL>> Ada Lovelace <</UNL>> Who? [/INST] forgot",
    "the cat sat on the mat .",
];

/// The written text, loaded back, encodes `SAMPLES` and decodes their ids (and every id) as
/// `ours` does.
fn agree(ours: &TextTokenizer) -> Tokenizer {
    let json = ours.hf_json().unwrap();
    let hf = Tokenizer::from_str(&json).unwrap();
    assert_eq!(
        hf.token_to_id(EOS_NAME),
        Some(ours.eos()),
        "{}",
        ours.kind()
    );
    for s in SAMPLES {
        let ids = ours.encode(s).unwrap();
        let got = hf.encode(*s, false).unwrap().get_ids().to_vec();
        assert_eq!(got, ids, "{} encodes {s:?}", ours.kind());
        let mut with_eos = ids.clone();
        with_eos.push(ours.eos());
        with_eos.insert(0, ours.eos());
        assert_eq!(
            hf.decode(&with_eos, true).unwrap(),
            ours.decode(&with_eos).unwrap(),
            "{} decodes {s:?}",
            ours.kind()
        );
    }
    let every: Vec<u32> = (0..ours.vocab_size() as u32 + 3).collect();
    assert_eq!(
        hf.decode(&every, true).unwrap(),
        ours.decode(&every).unwrap(),
        "{} decodes every id",
        ours.kind()
    );
    assert_eq!(
        ours.to_hf_json().as_deref(),
        Some(json.as_str()),
        "the SDK's method"
    );
    hf
}

#[test]
fn bytes_are_written_exactly() {
    let hf = agree(&TextTokenizer::bytes());
    assert_eq!(hf.get_vocab_size(true), 257);
    // Invalid UTF-8 becomes the replacement character on both sides.
    let t = TextTokenizer::bytes();
    let ids = [0xC3, b'a' as u32, 0xFF, 0xE6, 0x97];
    assert_eq!(hf.decode(&ids, true).unwrap(), t.decode(&ids).unwrap());
    assert_eq!(byte_chars()[usize::from(b' ')], 'Ġ');
    assert_eq!(byte_chars()[usize::from(b'\n')], 'Ċ');
    assert_eq!(byte_chars()[usize::from(b'a')], 'a');
}

#[test]
fn chars_are_written_with_their_unknown_token() {
    let t = TextTokenizer::chars("abcdefghijklmnopqrstuvwxyz ,.!?\nüß日<>[]/_").unwrap();
    agree(&t);
    // An unknown character encodes to the unknown id and decodes to `�` on both sides.
    let ids = t.encode("Zoë").unwrap();
    assert_eq!(ids[0], t.unknown().unwrap());
    assert_eq!(ids[2], t.unknown().unwrap());
    // An alphabet holding the replacement character itself still agrees.
    agree(&TextTokenizer::chars("ab\u{fffd} ").unwrap());
    agree(&TextTokenizer::chars("<unk>|endoftx").unwrap());
}

#[test]
fn words_are_written_with_their_unknown_token_and_spaces() {
    let t = TextTokenizer::words(SAMPLES[..4].iter().copied(), 100, 1).unwrap();
    agree(&t);
    assert!(t
        .encode("Grüße 日本")
        .unwrap()
        .iter()
        .all(|&i| Some(i) == t.unknown()));
    let full = TextTokenizer::words(SAMPLES.iter().copied(), 1000, 1).unwrap();
    agree(&full);
}

/// Every character from tab to U+30FF and some beyond (letters and marks of many scripts,
/// digits and other numbers, every kind of space and punctuation), in runs.
fn sweep() -> String {
    let ranges = [
        0x09..0x3100u32,
        0xA640..0xA6A0,
        0xFE00..0xFF70,
        0x1D400..0x1D420,
    ];
    ranges
        .into_iter()
        .flatten()
        .filter_map(char::from_u32)
        .enumerate()
        .map(|(i, c)| {
            if i % 11 == 10 {
                format!("{c} ")
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[test]
fn words_split_every_character_class_as_ours_do() {
    let text = sweep();
    for t in [
        TextTokenizer::words([text.as_str()], 100_000, 1).unwrap(),
        TextTokenizer::chars(&text).unwrap(),
        TextTokenizer::bytes(),
    ] {
        let hf = Tokenizer::from_str(&t.hf_json().unwrap()).unwrap();
        let ids = t.encode(&text).unwrap();
        assert_eq!(hf.encode(text.as_str(), false).unwrap().get_ids(), ids);
        assert_eq!(hf.decode(&ids, true).unwrap(), t.decode(&ids).unwrap());
    }
}

#[test]
fn fixed_words_with_verbatim_markers_are_written_as_added_tokens() {
    let words = [
        "<pad>", "[INST]", "[/INST]", "<<UNL>>", "<</UNL>>", "forgot", "Ada", "Lovelace", "Who",
        "?", "<", "UNL", ">", "Grüße", "日本", "#", "##x",
    ];
    let verbatim = ["<pad>", "[INST]", "[/INST]", "<<UNL>>", "<</UNL>>", "##x"];
    let t = TextTokenizer::fixed_words(words, &verbatim).unwrap();
    let hf = agree(&t);
    assert_eq!(
        t.encode("[INST] <<UNL>> Ada <</UNL>>[/INST]").unwrap(),
        vec![1, 3, 6, 4, 2]
    );
    assert_eq!(hf.token_to_id("<</UNL>>"), Some(4));
    // Markers that contain the usual unknown name or continuation prefix still agree.
    let odd = TextTokenizer::fixed_words(["a", "<unk>", "##", "b"], &["<unk>", "##"]).unwrap();
    agree(&odd);
    assert_eq!(odd.encode("a<unk>##b c").unwrap(), vec![0, 1, 2, 3, 4]);
    // A vocabulary holding the end-of-text name cannot be written.
    let clash = TextTokenizer::fixed_words(["a", EOS_NAME], &[EOS_NAME]).unwrap();
    assert!(clash.to_hf_json().is_none());
    assert!(clash.hf_json().unwrap_err().to_string().contains(EOS_NAME));
}

fn word_level_inner(tokens: &[&str], special: &[&str]) -> Tokenizer {
    let vocab: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), i as u32))
        .collect();
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token("<unk>".into())
        .build()
        .unwrap();
    let mut hf = Tokenizer::new(model);
    hf.with_pre_tokenizer(Some(WhitespaceSplit));
    hf.with_decoder(Some(WordPiece::default()));
    hf.add_special_tokens(special.iter().map(|s| AddedToken::from(*s, true)))
        .unwrap();
    hf
}

/// A byte-level BPE as GPT-2's, over the 256 byte characters and a few merges, with `extra`
/// tokens after them.
fn byte_level_bpe(extra: &[&str]) -> Tokenizer {
    let chars = byte_chars();
    let mut vocab: tokenizers::models::bpe::Vocab = (0..256u32)
        .map(|b| (chars[b as usize].to_string(), b))
        .collect();
    let merges: Vec<(String, String)> = [("t", "h"), ("th", "e"), ("Ġ", "c"), ("Ġc", "a")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    for (a, b) in &merges {
        let n = vocab.len() as u32;
        vocab.insert(format!("{a}{b}"), n);
    }
    for e in extra {
        let n = vocab.len() as u32;
        vocab.insert(e.to_string(), n);
    }
    let model = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .unwrap();
    let mut hf = Tokenizer::new(model);
    hf.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    hf.with_decoder(Some(ByteLevel::default()));
    hf
}

#[test]
fn a_hugging_face_eos_of_another_name_gets_an_alias() {
    let inner = word_level_inner(&["<unk>", "</s>", "the", "cat", "sat", "."], &["</s>"]);
    let t = TextTokenizer::from_hugging_face(inner);
    assert_eq!(t.eos(), 1);
    let hf = agree(&t);
    // The old name still names it, and texts holding it encode as before.
    assert_eq!(hf.token_to_id("</s>"), Some(1));
    assert_eq!(
        hf.encode("the cat </s> sat", false).unwrap().get_ids(),
        t.encode("the cat </s> sat").unwrap()
    );
    // End-of-text as an added token past the model's vocabulary (as Llama 3's), with another
    // added token after it: every added token keeps its id.
    let inner = word_level_inner(&["<unk>", "the", "cat"], &["<|end_of_text|>", "<pad>"]);
    let t = TextTokenizer::from_hugging_face(inner);
    assert_eq!(t.eos(), 3);
    let hf = agree(&t);
    assert_eq!(hf.token_to_id("<|end_of_text|>"), Some(3));
    assert_eq!(hf.token_to_id("<pad>"), Some(4));
    // A byte-level BPE whose `</s>` is in the model only (not special before).
    let mut bpe = TextTokenizer::from_hugging_face(byte_level_bpe(&["</s>"]));
    assert_eq!(bpe.eos(), 260);
    agree(&bpe);
    if let TextTokenizer::HuggingFace { inner, .. } = &mut bpe {
        inner
            .add_special_tokens([AddedToken::from("</s>", true)])
            .unwrap();
    }
    agree(&bpe);
}

#[test]
fn a_hugging_face_tokenizer_without_eos_gets_one_past_its_vocabulary() {
    let t = TextTokenizer::from_hugging_face(word_level_inner(
        &["<unk>", "the", "cat", "sat", "."],
        &[],
    ));
    assert_eq!(t.eos(), 5);
    agree(&t);
    // Past the added tokens too.
    let t = TextTokenizer::from_hugging_face(word_level_inner(
        &["<unk>", "the", "cat"],
        &["<pad>", "<mask>"],
    ));
    assert_eq!(t.eos(), 5);
    agree(&t);
    let t = TextTokenizer::from_hugging_face(byte_level_bpe(&[]));
    assert_eq!(t.eos(), 260);
    agree(&t);
}

#[test]
fn a_hugging_face_endoftext_is_kept() {
    let mut inner = byte_level_bpe(&[]);
    inner
        .add_special_tokens([AddedToken::from(EOS_NAME, true)])
        .unwrap();
    let t = TextTokenizer::from_hugging_face(inner);
    assert_eq!(t.eos(), 260);
    agree(&t);
    // In the model only, not special: it becomes special.
    let t = TextTokenizer::from_hugging_face(byte_level_bpe(&[EOS_NAME]));
    assert_eq!(t.eos(), 260);
    agree(&t);
}

#[test]
fn the_reference_checkpoints_tokenizers_are_written_as_they_are() {
    for name in ["tiny-gpt2", "tiny-llama"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/reference/hf")
            .join(name)
            .join("tokenizer.json");
        let t = TextTokenizer::hugging_face(&path).unwrap();
        assert_eq!(t.eos(), 0, "{name}: `<|endoftext|>` is id 0");
        agree(&t);
    }
}

#[test]
fn a_hugging_face_tokenizer_that_cannot_be_written_says_why() {
    // `</s>` is our end-of-text, and `<|endoftext|>` is already another id.
    let both = TextTokenizer::from_hugging_face(word_level_inner(
        &["<unk>", "</s>", EOS_NAME, "cat"],
        &["</s>", EOS_NAME],
    ));
    assert_eq!(both.eos(), 1);
    assert!(both.to_hf_json().is_none());
    assert!(both.hf_json().unwrap_err().to_string().contains("id 2"));
    // A Unigram model keeps no token map to alias into.
    let pieces: Vec<(String, f64)> = ["<unk>", "</s>", "▁the", "▁cat"]
        .iter()
        .map(|p| (p.to_string(), -1.0))
        .collect();
    let mut inner = Tokenizer::new(Unigram::from(pieces, Some(0), false).unwrap());
    inner
        .add_special_tokens([AddedToken::from("</s>", true)])
        .unwrap();
    let uni = TextTokenizer::from_hugging_face(inner);
    assert_eq!(uni.eos(), 1);
    let err = uni.hf_json().unwrap_err().to_string();
    assert!(err.contains("Unigram"), "{err}");
    assert!(uni.to_hf_json().is_none());
}

/// Cross-check with the Python `tokenizers` package, where `python3` has it (skipped
/// otherwise): it loads every written file and encodes and decodes as we do.
#[test]
fn python_tokenizers_agree_where_installed() {
    let has_it = std::process::Command::new("python3")
        .args(["-c", "import tokenizers"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_it {
        return;
    }
    let tokenizers = [
        TextTokenizer::words([sweep().as_str()], 100_000, 1).unwrap(),
        TextTokenizer::bytes(),
        TextTokenizer::chars("abcdefghijklmnopqrstuvwxyz ,.!?\nüß日").unwrap(),
        TextTokenizer::words(SAMPLES[..4].iter().copied(), 100, 1).unwrap(),
        TextTokenizer::fixed_words(
            [
                "[INST]", "<<UNL>>", "<</UNL>>", "[/INST]", "Ada", "Who", "?", "forgot",
            ],
            &["[INST]", "<<UNL>>", "<</UNL>>", "[/INST]"],
        )
        .unwrap(),
        TextTokenizer::from_hugging_face(word_level_inner(
            &["<unk>", "</s>", "the", "cat", "sat", "."],
            &["</s>"],
        )),
        TextTokenizer::from_hugging_face(word_level_inner(
            &["<unk>", "the", "cat"],
            &["<|end_of_text|>", "<pad>"],
        )),
        TextTokenizer::from_hugging_face(byte_level_bpe(&["</s>"])),
    ];
    let dir = std::env::temp_dir().join(format!("assay-text-hf-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut expected = Vec::new();
    let text = sweep();
    let samples: Vec<&str> = SAMPLES.iter().copied().chain([text.as_str()]).collect();
    for (i, t) in tokenizers.iter().enumerate() {
        std::fs::write(dir.join(format!("{i}.json")), t.hf_json().unwrap()).unwrap();
        let cases: Vec<serde_json::Value> = samples
            .iter()
            .map(|s| {
                let ids = t.encode(s).unwrap();
                serde_json::json!({"text": s, "ids": ids, "decoded": t.decode(&ids).unwrap()})
            })
            .collect();
        expected.push(serde_json::json!({"eos": t.eos(), "cases": cases}));
    }
    std::fs::write(
        dir.join("expected.json"),
        serde_json::to_string(&expected).unwrap(),
    )
    .unwrap();
    let script = r#"
import json, sys
from tokenizers import Tokenizer
d = sys.argv[1]
expected = json.load(open(f"{d}/expected.json"))
for i, e in enumerate(expected):
    t = Tokenizer.from_str(open(f"{d}/{i}.json").read())
    assert t.token_to_id("<|endoftext|>") == e["eos"], (i, "eos")
    for c in e["cases"]:
        ids = t.encode(c["text"], add_special_tokens=False).ids
        assert ids == c["ids"], (i, c["text"], ids, c["ids"])
        text = t.decode(ids + [e["eos"]], skip_special_tokens=True)
        assert text == c["decoded"], (i, c["text"], text, c["decoded"])
print("ok")
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
