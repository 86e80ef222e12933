//! Dataset `lang_mixture`: the six-language mixture of gettext catalog strings, byte-level,
//! packed for next-token training.
//!
//! The strings come from [`crate::catalogs`] (parameters [`DataParams`], shared with probe
//! `language_neurons` so both read the same text) and are split by [`crate::split`]: `held_out`
//! strings per language are never trained on. Every training string of every language is one
//! document; the documents are shuffled with the run seed, encoded as UTF-8 bytes (ids 0-255,
//! end-of-document 256: `assay_text`'s byte tokenizer) and packed into blocks of `block_size`
//! inputs that each start with the end-of-document token and a document's beginning
//! ([`crate::packing`]: how the probe's sequences start), documents separated by the
//! end-of-document token. The test split is the held-out strings packed the same way (language
//! by language), for `test/loss`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_sdk::prelude::*;
use assay_sdk::rand::seq::SliceRandom;
use assay_text::corpus::within_budget;
use assay_text::tokenizer::TextTokenizer;

use crate::catalogs::{self, LangError, Limits};
use crate::packing::pack_aligned;
use crate::split::{split, LangSplit};

/// Where the text comes from and how it is filtered and split: the parameters that dataset
/// `lang_mixture` and probe `language_neurons` share.
#[derive(Debug, Clone, Params)]
pub struct DataParams {
    /// Locale root holding `{language}/LC_MESSAGES/*.mo` (a relative path starts at the
    /// working directory); the experiment reads the shipped sample `data/lang`.
    #[param(default = "/usr/share/locale")]
    pub source: String,
    /// Languages, as locale directory names; `en` is the msgid side of the others' catalogs.
    #[param(default = ["en", "de", "fr", "es", "zh_CN", "ja"])]
    pub languages: Vec<String>,
    /// Strings held out per language: never trained on; the probe's positives and negatives.
    #[param(default = 500)]
    pub held_out: usize,
    /// Skip catalogs whose file name starts with one of these (`iso_*` are lists of names).
    #[param(default = ["iso_"])]
    pub exclude: Vec<String>,
    /// Fewest characters of a kept Latin-script or English string.
    #[param(default = 25, min = 1)]
    pub min_chars_latin: usize,
    /// Fewest characters of a kept zh/ja string.
    #[param(default = 8, min = 1)]
    pub min_chars_cjk: usize,
    /// Most bytes of a kept string (the notes drop sentences over 256 tokens).
    #[param(default = 256, min = 1)]
    pub max_bytes: usize,
}

impl DataParams {
    /// The length limits.
    pub fn limits(&self) -> Limits {
        Limits {
            min_chars_latin: self.min_chars_latin,
            min_chars_cjk: self.min_chars_cjk,
            max_bytes: self.max_bytes,
        }
    }

    /// The locale root, relative to the working directory.
    pub fn root(&self) -> PathBuf {
        let p = Path::new(&self.source);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()
                .unwrap_or_else(|_| PathBuf::from("."))
                .join(p)
        }
    }

    /// Reads, filters and splits the catalogs. Errors name the parameter to change: a language
    /// without text is `languages`, an unreadable catalog or directory is `source`.
    pub fn load(&self) -> Result<LangSplit> {
        let corpus = catalogs::load(&self.root(), &self.languages, &self.exclude, self.limits())
            .map_err(|e| match e {
                LangError::NoText { .. } | LangError::NoLanguages => {
                    PluginError::param("languages", e.to_string())
                }
                LangError::Catalog(_) | LangError::Io { .. } => {
                    PluginError::param("source", e.to_string())
                }
            })?;
        Ok(split(&corpus, self.held_out))
    }
}

/// The dataset's own parameters.
#[derive(Debug, Clone, Params)]
struct MixtureParams {
    /// Tokens per training example.
    #[param(default = 256, min = 1)]
    block_size: usize,
    /// Training tokens kept (0 = all).
    #[param(default = 0)]
    token_budget: usize,
    /// Held-out tokens kept for `test/loss` (0 = all).
    #[param(default = 0)]
    test_token_budget: usize,
}

/// Packed training and held-out blocks.
struct Mixture {
    train: Vec<Vec<u32>>,
    test: Vec<Vec<u32>>,
    block: usize,
    tokenizer: Arc<TextTokenizer>,
}

impl Dataset for Mixture {
    fn info(&self) -> DataInfo {
        let vocab = self.tokenizer.vocab_size();
        DataInfo::tokens(self.block, vocab, Objective::NextToken { vocab })
    }

    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train.len(),
            Split::Test => self.test.len(),
        }
    }

    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let blocks = match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        };
        Batch::next_token(blocks, self.block, split, indices, device)
    }

    fn tokenizer(&self) -> Option<Arc<dyn Tokenizer>> {
        Some(self.tokenizer.clone())
    }
}

/// Encodes strings as bytes (the byte tokenizer cannot fail).
fn bytes_of<'a>(texts: impl Iterator<Item = &'a String>) -> Vec<Vec<u32>> {
    texts.map(|t| t.bytes().map(u32::from).collect()).collect()
}

fn build(data: DataParams, p: MixtureParams, cx: &BuildContext) -> Result<Box<dyn Dataset>> {
    let split = data.load()?;
    let mut docs: Vec<&String> = split
        .languages
        .iter()
        .flat_map(|l| split.training(l))
        .collect();
    docs.shuffle(&mut cx.rng("lang_mixture"));
    let held: Vec<&String> = split.languages.iter().flat_map(|l| split.held(l)).collect();
    let tokenizer = TextTokenizer::bytes();
    let train = within_budget(bytes_of(docs.into_iter()), p.token_budget);
    let test = within_budget(bytes_of(held.into_iter()), p.test_token_budget);
    let train = pack_aligned(&train, tokenizer.eos(), p.block_size);
    let test = pack_aligned(&test, tokenizer.eos(), p.block_size);
    if train.is_empty() || test.is_empty() {
        return Err(PluginError::param(
            "block_size",
            format!(
                "{} tokens per block leaves {} training and {} held-out blocks; use a smaller block or more text",
                p.block_size,
                train.len(),
                test.len()
            ),
        ));
    }
    Ok(Box::new(Mixture {
        train,
        test,
        block: p.block_size,
        tokenizer: Arc::new(tokenizer),
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset("lang_mixture", "0.1.0", |p, cx| {
            build(DataParams::from_params(p)?, MixtureParams::from_params(p)?, cx)
        })
        .params::<DataParams>()
        .params::<MixtureParams>()
        .summary("gettext catalog strings of several languages (study 5), filtered, split by msgid, byte-level and packed for next-token training"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogs::tests::{scratch, write_catalogs};

    fn make(root: &Path, given: &[(&str, Value)]) -> Result<Box<dyn Dataset>> {
        let mut found = Vec::new();
        register(&mut found);
        let mut all = vec![("source", Value::Str(root.display().to_string()))];
        all.extend(given.iter().cloned());
        found[0].build_dataset(
            &all,
            &BuildContext {
                seed: 0,
                device: Device::Cpu,
            },
        )
    }

    #[test]
    fn held_out_strings_are_packed_apart_from_training_blocks() {
        let dir = scratch("mixture");
        write_catalogs(&dir.0);
        let langs = Value::List(vec![Value::Str("en".into()), Value::Str("de".into())]);
        let d = make(
            &dir.0,
            &[
                ("languages", langs),
                ("held_out", Value::Int(1)),
                ("block_size", Value::Int(16)),
            ],
        )
        .unwrap();
        assert_eq!(d.info().objective, Objective::NextToken { vocab: 257 });
        let tok = d.tokenizer().unwrap();
        let text = |split: Split| -> String {
            let idx: Vec<usize> = (0..d.len(split)).collect();
            let b = d.batch(split, &idx, &Device::Cpu).unwrap();
            let ids: Vec<u32> = b.input.flatten_all().unwrap().to_vec1().unwrap();
            tok.decode(&ids).unwrap()
        };
        let (train, test) = (text(Split::Train), text(Split::Test));
        // The held-out row is a msgid shared by en and de; neither string is trained on.
        let data = DataParams {
            source: dir.0.display().to_string(),
            languages: vec!["en".into(), "de".into()],
            held_out: 1,
            exclude: vec!["iso_".into()],
            min_chars_latin: 25,
            min_chars_cjk: 8,
            max_bytes: 256,
        };
        let split = data.load().unwrap();
        let head = |s: &str| s.chars().take(12).collect::<String>();
        for l in ["en", "de"] {
            let h = &split.held(l)[0];
            assert!(test.contains(&head(h)), "{h} in {test}");
            assert!(!train.contains(h.as_str()), "{h} trained on");
            for t in split.training(l) {
                assert!(train.contains(&head(t)), "{t}");
            }
        }
    }

    #[test]
    fn a_language_without_catalog_text_names_the_key() {
        let dir = scratch("mixture-bad");
        write_catalogs(&dir.0);
        let langs = Value::List(vec![Value::Str("de".into()), Value::Str("xx".into())]);
        let e = make(&dir.0, &[("languages", langs)]).err().unwrap();
        let msg = e.to_string();
        assert!(
            msg.starts_with("parameter `languages`: language `xx` has no catalog text"),
            "{msg}"
        );
    }
}
