//! # assay-lang
//!
//! Study 5 (Kojima et al., NAACL 2024, "On the Multilingual Ability of Decoder-based Pre-trained
//! Language Models: Finding and Controlling Language-Specific Neurons") in miniature.
//!
//! - [`catalogs`], [`clean`], [`split`], [`sample`]: parallel msgid/translation strings of
//!   gettext catalogs by language (through `assay_text::mo`), filtered, split by msgid; the
//!   shipped sample `data/lang/`.
//! - dataset `lang_mixture` ([`mixture`]): the languages' training strings, byte-level, packed
//!   for next-token training in blocks that start at a document ([`packing`]).
//! - probe `language_neurons` ([`neurons_probe`]): every Linear output channel's response
//!   ([`units`], [`responses`]), its average precision as a detector of each language
//!   ([`average_precision`], [`expertise`]), the top-k and bottom-k units, overlaps and layers,
//!   and generation with the units forced to their median through the hooks ([`tamper`],
//!   [`generation`]) against a random-unit control, with the generated text's language
//!   identified ([`langid`]); tables and metrics in [`report`] and [`shares`].

pub mod average_precision;
pub mod catalogs;
pub mod clean;
pub mod expertise;
pub mod generation;
pub mod langid;
pub mod mixture;
pub mod neurons_probe;
pub mod packing;
pub mod report;
pub mod responses;
pub mod sample;
pub mod shares;
pub mod split;
pub mod tamper;
pub mod units;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    mixture::register(r);
    neurons_probe::register(r);
}

assay_sdk::export_plugin!(register);
