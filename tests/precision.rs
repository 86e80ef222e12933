//! `f64` models and data train end to end: a model whose weights are `f64`, on `f64` features and
//! regression targets, with a built-in optimizer, saves `f64` checkpoints and reaches the loss of
//! the same run in `f32`.

use crate::common;

use common::*;

fn run_in(dir: &std::path::Path, registry: &std::path::Path, dtype: &str) -> std::path::PathBuf {
    let spec = write_spec(
        dir,
        &format!("{dtype}.toml"),
        &format!(
            "name = \"precision-{dtype}\"\nseed = 3\n[dataset]\nplugin = \"toy_regression\"\ndtype = \"{dtype}\"\n[model]\nplugin = \"toy_mlp\"\nwidth = 16\ndtype = \"{dtype}\"\n[optimizer]\nplugin = \"adam\"\nlr = 0.01\n[train]\nsteps = 200\neval_every = 100\ncheckpoint_every = 200\n"
        ),
    );
    let store = dir.join("store");
    let out = run_with_registry(dir, registry, &store, &spec);
    assert!(out.status.success(), "{dtype}: {}", stderr(&out));
    store.join(last_line(&out))
}

fn weights_dtype(run: &std::path::Path) -> assay_sdk::safetensors::Dtype {
    let checkpoints = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .max()
        .expect("a checkpoint");
    let bytes = std::fs::read(&checkpoints).unwrap();
    let tensors = assay_sdk::safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, view) = tensors
        .tensors()
        .into_iter()
        .find(|(name, _)| name.ends_with("w1"))
        .expect("the model's w1 in the checkpoint");
    view.dtype()
}

#[test]
fn f64_models_and_data_train_like_f32() {
    let toy = plugin_library("toy-model", "toy_model");
    let dir = scratch();
    let registry = write_registry(dir.path(), &[(&toy, None)]);
    let f64_run = run_in(dir.path(), &registry, "f64");
    let f32_run = run_in(dir.path(), &registry, "f32");
    assert_eq!(weights_dtype(&f64_run), assay_sdk::safetensors::Dtype::F64);
    assert_eq!(weights_dtype(&f32_run), assay_sdk::safetensors::Dtype::F32);
    let loss = |run: &std::path::Path| metric(run, "test/loss");
    let (l64, l32) = (loss(&f64_run), loss(&f32_run));
    assert!(
        l64.last().unwrap().1 < 0.5 * l64[0].1,
        "f64 did not learn: {l64:?}"
    );
    let (a, b) = (l64.last().unwrap().1, l32.last().unwrap().1);
    assert!(
        (a - b).abs() <= 1e-3 * a.abs().max(1e-3),
        "f64 {a} vs f32 {b}"
    );
}
