//! The grokking probes inside real runs: the run-level `grokking` table and the Fourier table
//! are stored and queryable.

use crate::common;

use common::*;

#[test]
fn grokking_and_fourier_tables_come_out_of_a_modular_run() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "grok.toml",
        r#"
name = "grok-tiny"
seed = 0
[dataset]
plugin = "modular"
p = 11
operations = ["add"]
train_fraction = 0.5
[model]
plugin = "mlp"
hidden = [32]
d_embed = 16
combine = "sum"
bias = false
[optimizer]
plugin = "adamw"
lr = 3e-3
weight_decay = 1.0
[[probe]]
plugin = "grokking"
every = 20
train_threshold = 0.9
test_threshold = 0.02
[[probe]]
plugin = "fourier"
every = 100
unembedding = "layers.1.weight"
[[probe]]
plugin = "weight_norms"
at = "end"
[train]
steps = 200
eval_every = 20
"#,
    );
    let out = run_spec(dir.path(), &store, &spec);
    assert!(out.status.success(), "{}", stderr(&out));
    let q = |sql: &str| -> Vec<serde_json::Value> {
        let o = assay_in(
            dir.path(),
            &[
                "--store",
                store.to_str().unwrap(),
                "query",
                sql,
                "--format",
                "json",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let g = q("SELECT step, train_acc_1_step, test_acc_095_step FROM grokking");
    assert_eq!(g.len(), 1, "one row per run: {g:?}");
    assert_eq!(g[0]["step"], 200);
    let mem = g[0]["train_acc_1_step"]
        .as_i64()
        .expect("memorised within 200 steps");
    assert!(mem % 20 == 0 && mem <= 200);
    // The first step where the engine's own evaluation saw train accuracy >= 0.9 is the same.
    let first = q("SELECT min(step) AS s FROM metrics WHERE name = 'train/acc' AND value >= 0.9");
    assert_eq!(first[0]["s"].as_i64(), Some(mem));

    let f = q("SELECT matrix, count(*) AS n FROM fourier WHERE step = 200 GROUP BY matrix ORDER BY matrix");
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["n"], 5, "K = (p - 1) / 2 frequencies per matrix");
    let m = q("SELECT name FROM metrics WHERE name LIKE 'fourier/%' AND step = 0 ORDER BY name");
    assert_eq!(m.len(), 3);
    let w = q("SELECT value FROM metrics WHERE name = 'weights/l2_total' AND step = 200");
    assert!(w[0]["value"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_small_transformer_groks_modular_addition_well_after_memorising() {
    // The notes' miniature of study 6 (p = 31, half the pairs, d_model 64): it memorises within
    // a few hundred steps and generalises more than three times later.
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "grok.toml",
        r#"
name = "grok-small"
seed = 0
[dataset]
plugin = "modular"
p = 31
operations = ["add"]
train_fraction = 0.5
[model]
plugin = "transformer"
d_model = 64
n_heads = 4
d_mlp = 256
pos_embed = false
[optimizer]
plugin = "adamw"
lr = 1e-3
beta2 = 0.98
weight_decay = 1.0
[[probe]]
plugin = "grokking"
every = 50
[train]
steps = 4000
eval_every = 50
log_every = 0
stop_when = "test/acc>=0.95"
"#,
    );
    let out = run_spec(dir.path(), &store, &spec);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = store.join(last_line(&out));
    let first = |name: &str, at_least: f64| {
        metric(&run, name)
            .into_iter()
            .find(|(_, v)| *v >= at_least)
            .map(|(s, _)| s)
    };
    let memorised = first("train/acc", 1.0).expect("memorises");
    let generalised = first("test/acc", 0.95).expect("generalises within 4,000 steps");
    assert!(
        generalised >= 3 * memorised,
        "train acc 1.0 at {memorised}, test acc 0.95 at {generalised}"
    );
    // The run-level table says the same.
    let df = assay_store::record::read_parquet(&run.join("tables/grokking.parquet")).unwrap();
    let last = df.height() - 1;
    let col = |c: &str| df.column(c).unwrap().i64().unwrap().get(last);
    assert_eq!(col("train_acc_1_step"), Some(memorised as i64));
    assert_eq!(col("test_acc_095_step"), Some(generalised as i64));
}
