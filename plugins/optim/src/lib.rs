//! # assay-optim
//!
//! First-order optimizers as assay components: `sgd` (momentum, Nesterov, weight decay), `adam`,
//! `adamw`, `amsgrad` and `adopt` (with its two ablations). Every optimizer exposes its whole
//! state (moments and step count) for checkpoints.
//!
//! Tested against trajectories computed independently from the published update rules by
//! `tests/reference/optimizers.py` (committed as `tests/reference/optimizers.json`; the test is
//! `tests/optimizer_reference.rs`).

mod adam;
mod adopt;
mod sgd;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    sgd::register(r);
    adam::register(r);
    adopt::register(r);
}

assay_sdk::export_plugin!(register);
