//! # assay-tabular
//!
//! Tabular datasets as assay components. `csv`: a CSV of numeric features and a label column
//! (plain or gzip), split into train and test by the run seed; with no file it generates a small
//! Gaussian-blob table, so that a spec runs anywhere.

mod csv;

use assay_sdk::Registrar;

fn register(r: &mut dyn Registrar) {
    csv::register(r);
}

assay_sdk::export_plugin!(register);
