//! Dataset `text_corpus`: a corpus packed into blocks for next-token training.
//!
//! Files matching `paths` become documents (`format`); the documents are shuffled with the run
//! seed and split by document into train and test (`test_fraction`), so no document is in both.
//! The tokenizer is byte-level, character-level over `alphabet`, word-level (its vocabulary
//! built from the training documents only) or a Hugging Face `tokenizer.json`. The training
//! documents are cut to `token_budget` tokens (so that corpora are compared at equal size; 0 =
//! all) and each split is packed into blocks of `block_size` inputs with their next tokens as
//! targets, documents separated by the tokenizer's end-of-document token.

use std::path::PathBuf;

use assay_sdk::prelude::*;
use assay_sdk::rand::seq::SliceRandom;

use crate::corpus::{self, Format};
use crate::tokenizer::TextTokenizer;

struct TextCorpus {
    train: Vec<Vec<u32>>,
    test: Vec<Vec<u32>>,
    block: usize,
    vocab: usize,
    tokenizer: std::sync::Arc<TextTokenizer>,
}

impl Dataset for TextCorpus {
    fn info(&self) -> DataInfo {
        DataInfo::tokens(
            self.block,
            self.vocab,
            Objective::NextToken { vocab: self.vocab },
        )
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

    fn tokenizer(&self) -> Option<std::sync::Arc<dyn Tokenizer>> {
        Some(self.tokenizer.clone())
    }
}

fn build(p: &Params, cx: &BuildContext) -> Result<Box<dyn Dataset>> {
    let patterns: Vec<String> = p.str_list("paths")?;
    if patterns.is_empty() {
        return Err(PluginError::param(
            "paths",
            "give at least one file or glob pattern, e.g. [\"/usr/lib/python3*/**/*.py\"]",
        ));
    }
    let format = Format::parse(p.str("format")?)
        .ok_or_else(|| PluginError::param("format", "expected files, paragraphs or mo"))?;
    let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut files = corpus::files(&patterns, &base, usize::MAX)
        .map_err(|e| PluginError::param("paths", e.to_string()))?;
    let exclude: Vec<String> = p.str_list("exclude")?;
    files.retain(|f| {
        let s = f.display().to_string();
        !exclude.iter().any(|x| s.contains(x.as_str()))
    });
    files.truncate(p.usize("max_files")?);
    if files.is_empty() {
        return Err(PluginError::param(
            "exclude",
            format!("every file matching {patterns:?} is excluded by {exclude:?}"),
        ));
    }
    let (op, units, bin) = (p.str("python")?, p.str("ast_units")?, p.str("ast_depth")?);
    let mut docs = if op == "none" && units == "files" && bin == "all" {
        corpus::documents(&files, format).map_err(|e| PluginError::param("paths", e.to_string()))?
    } else {
        if format != Format::Files {
            return Err(PluginError::param(
                "python",
                "Python AST options need format = \"files\" (Python source files)",
            ));
        }
        crate::python::documents(op, units, bin, cx.seed, &files)
            .map_err(|e| PluginError::param("python", e.to_string()))?
    };
    if docs.len() < 2 {
        return Err(PluginError::param(
            "paths",
            format!(
                "{} document(s) found; a train/test split needs at least two",
                docs.len()
            ),
        ));
    }
    docs.shuffle(&mut cx.rng("text_corpus"));
    let test_fraction = p.f64("test_fraction")?;
    let n_test = ((docs.len() as f64 * test_fraction).round() as usize).clamp(1, docs.len() - 1);
    let test_docs = docs.split_off(docs.len() - n_test);
    let train_docs = docs;
    let tokenizer = match p.str("tokenizer")? {
        "bytes" => TextTokenizer::bytes(),
        "chars" => TextTokenizer::chars(p.str("alphabet")?)
            .map_err(|e| PluginError::param("alphabet", e.to_string()))?,
        "words" => TextTokenizer::words(
            train_docs.iter().map(|d| d.text.as_str()),
            p.usize("max_words")?,
            p.usize("min_count")?,
        )
        .map_err(|e| PluginError::param("max_words", e.to_string()))?,
        "hugging_face" => {
            TextTokenizer::hugging_face(std::path::Path::new(p.str("tokenizer_file")?))
                .map_err(|e| PluginError::param("tokenizer_file", e.to_string()))?
        }
        other => {
            return Err(PluginError::param(
                "tokenizer",
                format!("unknown tokenizer `{other}`"),
            ))
        }
    };
    let encode = |docs: &[corpus::Document]| -> Result<Vec<Vec<u32>>> {
        docs.iter()
            .map(|d| {
                tokenizer
                    .encode(&d.text)
                    .map_err(|e| PluginError::invalid(format!("{}: {e}", d.source)))
            })
            .collect()
    };
    let train_ids = corpus::within_budget(encode(&train_docs)?, p.usize("token_budget")?);
    let test_ids = corpus::within_budget(encode(&test_docs)?, p.usize("test_token_budget")?);
    let block = p.usize("block_size")?;
    let train = corpus::pack(&train_ids, tokenizer.eos(), block);
    let test = corpus::pack(&test_ids, tokenizer.eos(), block);
    if train.is_empty() || test.is_empty() {
        return Err(PluginError::param(
            "block_size",
            format!(
                "{block} tokens per block leaves {} training and {} test blocks; use a smaller block or more text",
                train.len(),
                test.len()
            ),
        ));
    }
    Ok(Box::new(TextCorpus {
        train,
        test,
        block,
        vocab: tokenizer.vocab_size(),
        tokenizer: std::sync::Arc::new(tokenizer),
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset("text_corpus", "0.1.0", build)
            .summary("files (by glob), paragraphs or .mo translations, tokenized and packed for next-token training")
            .param(Param::list(
                "paths",
                ParamType::StrList,
                vec![],
                "files or glob patterns (`**` recurses), relative to the working directory",
            ))
            .param(
                Param::str("format", "files", "`files`: one document per file; `paragraphs`: split at blank lines; `mo`: gettext catalogs' translations")
                    .choices(&["files", "paragraphs", "mo"]),
            )
            .param(
                Param::str("tokenizer", "bytes", "bytes, chars (over `alphabet`), words (built from the training documents) or hugging_face (`tokenizer_file`)")
                    .choices(&["bytes", "chars", "words", "hugging_face"]),
            )
            .param(Param::str("alphabet", "abcdefghijklmnopqrstuvwxyz ", "characters of the `chars` tokenizer"))
            .param(Param::int("max_words", 10_000, "vocabulary size of the `words` tokenizer").min(1.0))
            .param(Param::int("min_count", 1, "minimum count of a word in the `words` vocabulary").min(1.0))
            .param(Param::str("tokenizer_file", "tokenizer.json", "Hugging Face tokenizer.json for `hugging_face`"))
            .param(Param::int("block_size", 64, "tokens per training example").min(1.0))
            .param(Param::int("token_budget", 0, "training tokens kept (0 = all): compare corpora at equal size").min(0.0))
            .param(Param::int("test_token_budget", 0, "held-out tokens kept (0 = all): bounds the cost of each evaluation").min(0.0))
            .param(Param::float("test_fraction", 0.1, "share of documents held out").range(0.0, 1.0))
            .param(Param::int("max_files", 100_000, "at most this many files (sorted by path)").min(1.0))
            .param(Param::list("exclude", ParamType::StrList, vec![], "skip files whose path contains any of these strings (e.g. \"/test\")"))
            .param(
                Param::str("python", "none", "Python ablation (study 2): none, comment_free (docstrings and comments removed), scrambled (identifiers shuffled within the file), randomized (fresh random identifiers)")
                    .choices(&["none", "comment_free", "scrambled", "randomized"]),
            )
            .param(
                Param::str("ast_units", "files", "Python units: whole files, or top-level def/class chunks")
                    .choices(&["files", "chunks"]),
            )
            .param(
                Param::str("ast_depth", "all", "keep Python units of one AST-depth bin: shallow (0<d<8), middle (8<d<12), deep (12<d<20), or all")
                    .choices(&["all", "shallow", "middle", "deep"]),
            ),
    );
}
