//! # assay-text
//!
//! Text for the language-model studies (2, 3, 4, 5, 7):
//!
//! - [`tokenizer`]: byte-level, character-level over a given alphabet, word-level built from a
//!   corpus (or over a fixed vocabulary with verbatim markers), and any Hugging Face
//!   `tokenizer.json`; all share [`tokenizer::TextTokenizer`]. [`hf_json`] writes each as a
//!   Hugging Face `tokenizer.json` that encodes and decodes the same ids.
//! - [`mo`]: GNU gettext `.mo` catalogs (either byte order, any charset the header names), the
//!   parallel msgid/translation pairs of study 5.
//! - [`corpus`]: documents from files by glob (source code of any language), plain text or
//!   `.mo` translations; a document-level train/test split, a token budget so that corpora are
//!   compared at equal size, and packing into fixed-length blocks.
//! - dataset `text_corpus`: a packed corpus for next-token training.
//! - [`tasks`] and probe `few_shot`: generated bAbI 1/6/15 and mini-FLD examples with oracles,
//!   scored lm-eval-harness style (exact match, format-following, multiple-choice ranking).
//! - dataset `people` (study 3): synthetic people's facts and in-context unlearning queries
//!   (`<<UNL>> target <</UNL>>`), one answer token per prompt, from [`tasks::people`]; probe
//!   `unlearning`: forget/retain accuracy in and out of domain and the logit lens of forget
//!   queries.

pub mod corpus;
pub mod hf_json;
pub mod mo;
pub mod openai;
pub mod python;
pub mod tasks;
pub mod tokenizer;

mod few_shot;
mod people_dataset;
mod text_corpus;
mod unlearning_probe;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    text_corpus::register(r);
    few_shot::register(r);
    people_dataset::register(r);
    unlearning_probe::register(r);
}

assay_sdk::export_plugin!(register);
