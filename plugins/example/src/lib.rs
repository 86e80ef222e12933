//! # assay-example
//!
//! A plugin written the way a third party would write one: it depends on `assay-sdk` only, is
//! not linked into the host, and is loaded from `registry.toml` as a dynamic library.
//!
//! - optimizer `signum`: signSGD with momentum (Bernstein et al., 2018): `m <- beta m + (1 - beta) g`,
//!   `w <- w - lr sign(m)`, with optional decoupled weight decay.
//! - probe `weight_stats`: per-parameter mean, standard deviation and largest magnitude as the
//!   table `weight_stats`, and the total L2 norm as the metric `weights/l2_total`.

mod signum;
mod weight_stats;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    signum::register(r);
    weight_stats::register(r);
}

assay_sdk::export_plugin!(register);
