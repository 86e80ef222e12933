//! Study 1 (ADOPT) in the default suite: a reduced sweep of the toy divergence problem
//! (`experiments/adopt-toy.toml` with 2 seeds and 5·10⁴ steps) must show the paper's claim.

use crate::common;

use std::collections::BTreeMap;

use common::*;

#[test]
fn adam_diverges_on_the_toy_problem_where_adopt_converges() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = workspace().join("experiments/adopt-toy.toml");
    let out = assay_in(
        dir.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "sweep",
            spec.to_str().unwrap(),
            "--jobs",
            "2",
            "-q",
            "--set",
            "sweep.seeds=2",
            "--set",
            "train.steps=50000",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let q = assay_in(
        dir.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "query",
            "SELECT r.\"optimizer.plugin\" AS opt, COALESCE(r.\"optimizer.variant\", '-') AS variant, \
             r.\"optimizer.beta2\" AS beta2, avg(f.value) AS theta, count(*) AS n \
             FROM final_metrics f JOIN runs r ON f.run_id = r.id WHERE f.name = 'theta' \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            "--format",
            "json",
        ],
    );
    assert!(q.status.success(), "{}", stderr(&q));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&q)).unwrap();
    assert_eq!(rows.len(), 5 * 4, "{rows:?}");
    let mut theta = BTreeMap::new();
    for r in &rows {
        assert_eq!(r["n"], 2);
        let key = format!(
            "{}/{}/{}",
            r["opt"].as_str().unwrap(),
            r["variant"].as_str().unwrap(),
            r["beta2"]
        );
        theta.insert(key, r["theta"].as_f64().unwrap());
    }
    let table = format!("{theta:#?}");
    assert!(
        theta["adam/-/0.5"] > 0.8,
        "Adam drifts to +1 at beta2 = 0.5:\n{table}"
    );
    for b in ["0.1", "0.5", "0.9", "0.999"] {
        assert!(
            theta[&format!("adopt/adopt/{b}")] < -0.8,
            "ADOPT converges at beta2 = {b}:\n{table}"
        );
    }
    assert!(
        theta["adopt/no_decorrelation/0.5"] > 0.8,
        "without decorrelation ADOPT fails:\n{table}"
    );
    assert!(
        theta["adopt/no_reordering/0.5"] > 0.8,
        "without reordering ADOPT fails:\n{table}"
    );
}
