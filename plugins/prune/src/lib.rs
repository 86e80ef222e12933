//! # assay-prune
//!
//! Pruners for lottery-ticket and grokking-ticket studies (study 8). Each one scores the entries
//! of a model's weight matrices; the host keeps the global top fraction `keep` (see
//! [`assay_sdk::Mask::keep_top`]) and either holds that mask while training or rescales a dense
//! model to the masked norm. Which weights are scored (a finished run's final or memorisation
//! checkpoint, or the run's own initialisation) is chosen in the spec's `[prune]` table, not here.
//!
//! - `magnitude`: |θ| (with weights of a trained run: a grokking ticket).
//! - `random`: uniform random scores (a random mask of the same density).
//! - `snip`: |θ ⊙ ∂L/∂θ| on one training batch (Lee et al., 2019).
//! - `grasp`: θ ⊙ Hg, where g is the gradient of the temperature-scaled loss and H its Hessian
//!   (Wang et al., 2020); Hg is a central finite difference of gradients.
//! - `synflow`: |θ ⊙ ∂R/∂θ| with R the summed output of the network with every weight replaced by
//!   its absolute value (Tanaka et al., 2020), optionally in several rounds.

mod gradients;
mod grasp;
mod magnitude;
mod random;
mod snip;
mod synflow;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    magnitude::register(r);
    random::register(r);
    snip::register(r);
    grasp::register(r);
    synflow::register(r);
}

assay_sdk::export_plugin!(register);

#[cfg(test)]
pub(crate) mod testing;
