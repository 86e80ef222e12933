//! # assay-interp
//!
//! Owns reading and changing activations of a model outside a training run: any finished run of
//! the store or any `hf:` checkpoint, loaded by [`assay_engine::subject`].
//!
//! - [`cache`]: `assay cache`, the chosen hook points' activations for a set of prompts, streamed
//!   batch by batch into one safetensors file with the token ids and a JSON header.
//! - [`lens`]: `assay lens`, the logit lens as a table (`layer`, `position`, `token`, `rank`,
//!   `prob`), computed by [`assay_sdk::interp::logit_lens`].
//! - [`patching`]: `assay patch`, activation patching over every block as a table, computed by
//!   [`assay_sdk::interp::activation_patching`].
//!
//! The computations live in the SDK so that plugin probes run the same code during training;
//! this crate turns them into files and tables.

pub mod cache;
pub mod lens;
pub mod patching;
