//! # assay-nets
//!
//! Neural network models as assay components:
//!
//! - model `mlp`: a multi-layer perceptron over features, or over token embeddings
//!   (concatenated or summed).
//! - model `transformer`: a GPT-2-style decoder with TransformerLens hook points, logits at the
//!   last position (modular arithmetic) or at every position (next-token training), a key/value
//!   cache and adapters.
//! - model `llama`: a Llama-style decoder (RMSNorm, rotary positions, SwiGLU, grouped-query
//!   attention) with the same hook points, cache and adapters.
//! - model `hf`: a Hugging Face checkpoint (GPT-2, Llama or Mistral architecture) from the local
//!   cache, with its tokenizer (`plugin = "hf:ORG/NAME"`).
//!
//! - probe `logit_lens`: the logit lens of fixed prompts during training (table `logit_lens`).
//!
//! The three decoders are one hooked decoder (`decoder`) configured three ways: every hook point
//! and intervention works the same in all of them, in the plain and the cached forward pass.

mod decoder;
#[cfg(test)]
mod decoder_tests;
mod fused;
pub mod hf;
mod lens_probe;
mod linear;
mod llama;
mod mlp;
mod rows;
mod softmax;
mod transformer;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    mlp::register(r);
    transformer::register(r);
    llama::register(r);
    hf::register(r);
    lens_probe::register(r);
}

assay_sdk::export_plugin!(register);
