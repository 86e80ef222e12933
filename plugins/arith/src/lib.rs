//! # assay-arith
//!
//! Modular arithmetic for grokking studies (study 6 and 8):
//!
//! - dataset `modular`: `f(x, y) mod p` for the elementary operations and the polynomials of
//!   Furuta et al. (2024), as `[x, op, y]` or `[x, =, y]` token triples, optionally only the
//!   symmetric pairs `x <= y`, and mixtures of several operations.
//! - probe `weight_norms`: L1 and L2 norm of every parameter and in total.
//! - probe `fourier`: the norm of the embedding (and unembedding) along each frequency of the
//!   real Fourier basis over Z_p, as the table `fourier`, and the progress measures derived from
//!   it: FFS(η), FCR and the spectral entropy.
//! - probe `grokking`: the steps at which train accuracy reaches 1.0 and test accuracy 0.95, as
//!   the run-level table `grokking`.
//!
//! And multiplication for study 4 (Gambardella et al., 2024):
//!
//! - dataset `multiplication`: `a*b=c`, the product most-significant digit first, as
//!   character-level next-token rows, with a held-out test split of distinct problems.
//! - probe `digit_confidence`: Monte Carlo dropout confidence in the first and the last digit of
//!   held-out products, the last after the model's own and after the gold higher-order digits,
//!   per problem and per digit-count pair with bootstrap intervals.

mod bootstrap;
mod digit_confidence;
mod digit_tables;
mod fourier;
mod grokking;
mod mc_dropout;
mod modular;
mod multiplication;
mod weight_norms;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    modular::register(r);
    weight_norms::register(r);
    fourier::register(r);
    grokking::register(r);
    multiplication::register(r);
    digit_confidence::register(r);
}

assay_sdk::export_plugin!(register);
