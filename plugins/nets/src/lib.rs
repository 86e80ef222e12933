//! # assay-nets
//!
//! Neural network models as assay components. `mlp`: a multi-layer perceptron over features, or
//! over token embeddings concatenated position by position.

mod mlp;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    mlp::register(r);
}

assay_sdk::export_plugin!(register);
