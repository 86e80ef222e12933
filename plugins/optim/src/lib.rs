//! # assay-optim
//!
//! First-order optimizers as assay components, and the online problem that tells them apart:
//!
//! - optimizer `sgd`: momentum, Nesterov, weight decay.
//! - optimizers `adam`, `adamw`, `amsgrad`: Kingma and Ba (2015), Loshchilov and Hutter (2019),
//!   Reddi et al. (2018).
//! - optimizer `adopt`: Taniguchi et al. (2024), with its two ablations (`variant`) and clipping
//!   (`clip`).
//! - problem `online_convex`: the stochastic counterexample to Adam of the ADOPT paper, an online
//!   problem in the sense of `assay_sdk::online`.
//!
//! Every optimizer exposes its whole state (moments and step count) for checkpoints; `adam`,
//! `adamw`, `amsgrad` and `adopt` also run on host vectors (`Component::host_optimizer`) for
//! online problems.
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
