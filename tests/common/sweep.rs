//! Helpers of the sweep and Slurm tests.

use std::path::Path;
use std::process::Output;

use super::*;

/// A small sweepable spec with `extra` appended.
pub fn base(extra: &str) -> String {
    format!(
        "name = \"sw\"\nseed = 0\n\n[dataset]\nplugin = \"csv\"\nblob_examples = 90\nblob_dim = 3\n\n[model]\nplugin = \"mlp\"\nhidden = [6]\n\n[optimizer]\nplugin = \"adam\"\nlr = 0.01\n\n[train]\nsteps = 30\nbatch_size = 16\neval_every = 10\n\n{extra}"
    )
}

/// Runs `assay --store STORE ARGS` in `cwd`.
pub fn assay_store(cwd: &Path, store: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--store", store.to_str().unwrap()];
    all.extend_from_slice(args);
    assay_in(cwd, &all)
}

/// The last value of `metric` of every run, as bits, with its step.
pub fn final_values(store: &Path, run_ids: &[String], metric: &str) -> Vec<(String, u64)> {
    run_ids
        .iter()
        .map(|id| {
            let (step, v) = *super::metric(&store.join(id), metric)
                .last()
                .expect("metric logged");
            (format!("{id}@{step}"), v.to_bits())
        })
        .collect()
}

/// The run ids a sweep manifest lists.
pub fn manifest_ids(manifest: &Path) -> Vec<String> {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    m["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["run_id"].as_str().unwrap().to_string())
        .collect()
}
