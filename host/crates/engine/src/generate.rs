//! Continue prompts (`assay generate`) with a trained language model of the store.
//!
//! The run (or checkpoint) is loaded by [`crate::subject::load`], with its own tokenizer, and
//! [`assay_sdk::generate()`] continues every prompt.

use anyhow::bail;
use assay_sdk::{Generated, Model, Sampling};

use assay_catalog::Catalog;
use assay_store::Store;

/// What to generate from: a run of the store or a Hugging Face checkpoint, prompts, sampling.
#[derive(Debug, Clone)]
pub struct Request {
    /// A run id of the store (its dataset's or model's tokenizer is used), or `hf:ORG/NAME` /
    /// `hf:ORG/NAME@REVISION`: a Hugging Face checkpoint from the local cache.
    pub model: String,
    /// The prompts (prompts of equal token length run as one batch).
    pub prompts: Vec<String>,
    /// How to sample, when to stop, and whether to use the key/value cache.
    pub sampling: Sampling,
}

/// Continues every prompt of `args`, one result per prompt.
pub fn generate(
    catalog: &Catalog,
    store: &Store,
    args: &Request,
) -> anyhow::Result<Vec<Generated>> {
    let sampling = &args.sampling;
    if !(sampling.top_p > 0.0 && sampling.top_p <= 1.0) {
        bail!(
            "top_p (--top-p) {}: expected a value in (0, 1]",
            sampling.top_p
        );
    }
    let prompts: Vec<&str> = args.prompts.iter().map(String::as_str).collect();
    let subject = crate::subject::load(catalog, store, &args.model, sampling.seed)?;
    let model: &dyn Model = &subject.model;
    Ok(assay_sdk::generate(
        model,
        subject.tokenizer.as_ref(),
        &prompts,
        sampling,
        &subject.device,
    )?)
}
