//! Gradient identity across the library boundary: a model from one dynamic library, trained by
//! the host with an optimizer from another dynamic library on a built-in dataset, gives the same
//! losses, bit for bit, as the same components linked statically into one binary.

use crate::common;

use assay_catalog::Catalog;
use assay_engine::{run, RunOptions};
use assay_store::Store;
use common::*;

const SPEC: &str = r#"
name = "boundary"
seed = 11

[dataset]
plugin = "csv"
blob_examples = 240
blob_dim = 6

[model]
plugin = "toy_mlp"
width = 12

[optimizer]
plugin = "signum"
lr = 0.01
beta = 0.8

[[probe]]
plugin = "weight_stats"
every = 10

[train]
steps = 40
batch_size = 32
eval_every = 10
"#;

#[test]
fn dynamic_and_static_components_train_bit_identically() {
    let dir = scratch();
    let spec_path = write_spec(dir.path(), "boundary.toml", SPEC);

    // Dynamic: the assay binary loads the model and the optimizer from two libraries.
    let toy = plugin_library("toy-model", "toy_model");
    let example = plugin_library("assay-example", "assay_example");
    let reg = write_registry(dir.path(), &[(&toy, None), (&example, None)]);
    let dyn_store = dir.path().join("dynamic");
    let out = run_with_registry(dir.path(), &reg, &dyn_store, &spec_path);
    assert!(out.status.success(), "{}", stderr(&out));
    let dyn_id = last_line(&out);

    // Static: the same crates linked into this test binary, run by the same engine in-process.
    assay::link_builtins();
    assay_example::link();
    toy_model::link();
    let catalog = Catalog::builtin().unwrap();
    let raw = assay_spec::read_raw(&spec_path, &[]).unwrap();
    let spec = assay_spec::resolve(&raw, "boundary.toml", &catalog).unwrap();
    let static_store = Store::at(dir.path().join("static"));
    let (static_id, _) = run(
        &catalog,
        &spec,
        &static_store,
        &RunOptions {
            quiet: true,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        static_id, dyn_id,
        "same spec and component versions give the same run id"
    );

    let dyn_dir = dyn_store.join(&dyn_id);
    let static_dir = static_store.root().join(&static_id);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dyn_dir.join("run.json")).unwrap()).unwrap();
    let origins: Vec<&str> = record["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["origin"].as_str().unwrap())
        .collect();
    assert!(
        origins.iter().any(|o| o.ends_with("libtoy_model.so")),
        "{origins:?}"
    );
    assert!(
        origins.iter().any(|o| o.ends_with("libassay_example.so")),
        "{origins:?}"
    );

    for name in ["train/batch_loss", "test/loss", "weights/l2_total"] {
        let a = metric(&dyn_dir, name);
        let b = metric(&static_dir, name);
        assert!(!a.is_empty(), "{name} was logged");
        assert_eq!(a.len(), b.len(), "{name}");
        for ((sa, va), (sb, vb)) in a.iter().zip(&b) {
            assert_eq!(sa, sb);
            assert_eq!(
                va.to_bits(),
                vb.to_bits(),
                "{name} at step {sa}: dynamic {va} vs static {vb}"
            );
        }
    }
    // Training did something: the loss moved.
    let losses = metric(&dyn_dir, "test/loss");
    assert!(losses.last().unwrap().1 < losses[0].1, "{losses:?}");
}
