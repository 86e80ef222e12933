//! # assay-optim
//!
//! First-order optimizers as assay components: `sgd` (momentum, Nesterov, weight decay), `adam`,
//! `adamw`, `amsgrad` and `adopt` (with its two ablations). Every optimizer exposes its whole
//! state (moments and step count) for checkpoints. `adam`, `adamw`, `amsgrad` and `adopt` also run
//! on host vectors for online problems such as `online_convex`, the stochastic counterexample to
//! Adam of the ADOPT paper (an environment in the sense of `assay_sdk::environment`).
//!
//! Tested against trajectories computed independently from the published update rules by
//! `tests/reference/optimizers.py` (committed as `tests/reference/optimizers.json`; the test is
//! `tests/optimizer_reference.rs`).

mod adam;
mod adopt;
mod online_convex;
mod sgd;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    sgd::register(r);
    adam::register(r);
    adopt::register(r);
    online_convex::register(r);
}

assay_sdk::export_plugin!(register);
