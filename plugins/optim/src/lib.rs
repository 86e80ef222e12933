//! # assay-optim
//!
//! First-order optimizers as assay components: `sgd` (momentum, Nesterov, weight decay), `adam`
//! and `adamw`. Every optimizer exposes its whole state (moments and step count) for checkpoints.

mod adam;
mod sgd;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    sgd::register(r);
    adam::register(r);
}

assay_sdk::export_plugin!(register);
