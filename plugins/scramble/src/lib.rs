//! # assay-scramble
//!
//! Study 7, Scrambled Bench (Cao, Kojima, Matsuo and Iwasawa, EMNLP 2023, "Unnatural Error
//! Correction: GPT-4 Can Almost Perfectly Handle Unnatural Scrambled Text"), in miniature:
//!
//! - [`scramble`]: the paper's scramblers (Random Scramble at a rate, built in nested 10 % steps;
//!   KeepFirst; KeepFirstLast; Substitute), ported onto Python's own generator
//!   ([`pyrandom`]) and tokenisation ([`words`]) so that a seed gives the authors' scrambles.
//! - [`metrics`]: character edit distance, the corpus-level Recovery Rate (RR) and the Relative
//!   Performance Gain (RPG).
//! - [`recover`]: recoverers: identity, oracle, the anagram-dictionary solver ([`anagram`]) and
//!   any [`assay_sdk::TextModel`] with the paper's zero- and few-shot prompts ([`prompts`]).
//! - [`scrqa`]: ScrQA-mini, templated fact contexts with raw-token and canonical-token
//!   lexical-overlap readers.
//! - dataset `scrambled_text`: `scrambled => original` byte rows that train a decoder (the
//!   built-in `transformer`) to unscramble: the learned recoverer.
//! - probe `scramble_recovery` (ScrRec): RR per scrambler and rate for one recoverer.
//! - probe `scrambled_qa` (ScrQA): accuracy and RPG per scrambler for one reader.
//!
//! The sentences are a shipped sample of English gettext message strings ([`corpus`]).

pub mod anagram;
pub mod backend;
pub mod corpus;
pub mod metrics;
pub mod prompts;
pub mod pyrandom;
pub mod recover;
pub mod scramble;
pub mod scrqa;
pub mod words;

mod recovery_probe;
mod scrambled_text;
mod scrqa_probe;
#[cfg(test)]
mod testing;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    scrambled_text::register(r);
    recovery_probe::register(r);
    scrqa_probe::register(r);
}

assay_sdk::export_plugin!(register);
