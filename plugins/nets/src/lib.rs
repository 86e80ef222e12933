//! # assay-nets
//!
//! Neural network models as assay components. `mlp`: a multi-layer perceptron over features, or
//! over token embeddings (concatenated or summed). `transformer`: a decoder with TransformerLens
//! hook points, logits at the last position (modular arithmetic).

pub mod hf;
mod linear;
mod llama;
mod mlp;
mod softmax;
mod transformer;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    mlp::register(r);
    transformer::register(r);
    llama::register(r);
    hf::register(r);
}

assay_sdk::export_plugin!(register);
