//! Study 3 (in-context unlearning, "LLMs pretend to forget") in the default suite: the two
//! committed specs, experiments/unlearning-facts.toml (stage A) and experiments/unlearning.toml
//! (stage B, LoRA from stage A's weights), run as a sweep at tiny size (2 layers, d_model 32,
//! one seed, a few hundred steps, 8 queries per set and kind). At that size nothing is learnt
//! well, so the test checks the machinery: stage B starts from stage A's run, the `unlearning`
//! probe's metrics and tables come out of both runs with the right shapes, the logit lens's last
//! block agrees with the model's own answers, and what holds at any size (a model never trained
//! on the tags does not say `forgot`).

use crate::common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;

/// The tiny architecture, for both stages.
const TINY: [(&str, &str); 5] = [
    ("model.n_layers", "2"),
    ("model.d_model", "32"),
    ("model.n_heads", "2"),
    ("model.n_kv_heads", "2"),
    ("model.d_mlp", "64"),
];
const QUERIES: usize = 8;

#[test]
fn the_unlearning_study_runs_end_to_end_at_tiny_size() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = workspace().join("experiments/unlearning.toml");
    // Stage A through [init].set (the spec file it names is resolved with these overrides).
    let stage_a: Vec<String> = TINY
        .iter()
        .map(|(k, v)| format!("{k:?} = {v}"))
        .chain([
            "\"train.steps\" = 150".to_string(),
            "\"train.eval_every\" = 0".to_string(),
            format!("\"probe.0.queries\" = {QUERIES}"),
        ])
        .collect();
    let mut args: Vec<String> = [
        "--store",
        store.to_str().unwrap(),
        "sweep",
        spec.to_str().unwrap(),
        "--jobs",
        "1",
        "-q",
        "--set",
        "sweep.seeds=1",
        "--set",
        "train.steps=60",
        "--set",
        "train.eval_every=0",
        "--set",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("probe.0.queries={QUERIES}"));
    for (k, v) in TINY {
        args.push("--set".into());
        args.push(format!("{k}={v}"));
    }
    args.push("--set".into());
    args.push(format!("init.set={{ {} }}", stage_a.join(", ")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = assay_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));

    let q = |sql: &str| -> Vec<Value> {
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
        assert!(o.status.success(), "{sql}: {}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };

    // Stage B started from stage A's final weights, and both finished.
    let runs = q("SELECT id, run_name, status, \"init.from\" AS init FROM runs ORDER BY run_name");
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (b, a) = (&runs[0], &runs[1]);
    assert_eq!(
        (a["run_name"].as_str(), b["run_name"].as_str()),
        (Some("unlearning-facts"), Some("unlearning"))
    );
    assert!(runs.iter().all(|r| r["status"] == "completed"), "{runs:?}");
    let a_id = a["id"].as_str().unwrap();
    assert!(
        b["init"].as_str().is_some_and(|f| f.contains(a_id)),
        "stage B names stage A's run: {runs:?}"
    );

    // Every metric of the probe, per run, a share.
    let finals = q(
        "SELECT r.run_name AS stage, f.name, f.value FROM final_metrics f \
                    JOIN runs r ON f.run_id = r.id WHERE f.name LIKE 'unlearning/%'",
    );
    let metric: HashMap<(String, String), f64> = finals
        .iter()
        .map(|r| {
            (
                (
                    r["stage"].as_str().unwrap().to_string(),
                    r["name"].as_str().unwrap().to_string(),
                ),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect();
    for stage in ["unlearning-facts", "unlearning"] {
        for set in ["", "ood_"] {
            for m in [
                "forget_acc",
                "retain_acc",
                "fact_acc",
                "gold_top1_below_last",
                "forgot_top1_last",
                "pretend_forget",
                "gold_top1_any",
            ] {
                let key = (stage.to_string(), format!("unlearning/{set}{m}"));
                let v = metric
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key:?} in {finals:?}"));
                assert!((0.0..=1.0).contains(v), "{key:?} = {v}");
            }
        }
    }
    // A model never trained on the tags does not answer `forgot` (it never saw it as an answer).
    let baseline = metric[&(
        "unlearning-facts".to_string(),
        "unlearning/forget_acc".to_string(),
    )];
    assert!(baseline <= 0.05, "baseline forget rate {baseline}");

    // One row per query: 2 sets x 3 kinds x QUERIES per run.
    let rows = q(
        "SELECT u.query, r.run_name AS stage, u.set, u.kind, u.gold, u.answer, u.pred, \
                  u.correct FROM unlearning u JOIN runs r ON u.run_id = r.id",
    );
    assert_eq!(rows.len(), 2 * 2 * 3 * QUERIES, "{rows:?}");
    for r in &rows {
        let (answer, pred) = (r["answer"].as_str().unwrap(), r["pred"].as_str().unwrap());
        assert_eq!(r["correct"].as_bool(), Some(answer == pred), "{r}");
        let expected = if r["kind"] == "forget" {
            "forgot"
        } else {
            r["gold"].as_str().unwrap()
        };
        assert_eq!(answer, expected, "{r}");
    }
    // The accuracies are the table's shares.
    for stage in ["unlearning-facts", "unlearning"] {
        let share = |set: &str, kind: &str| {
            let sel: Vec<&Value> = rows
                .iter()
                .filter(|r| r["stage"] == stage && r["set"] == set && r["kind"] == kind)
                .collect();
            assert_eq!(sel.len(), QUERIES);
            sel.iter().filter(|r| r["correct"] == true).count() as f64 / QUERIES as f64
        };
        let m = |name: &str| metric[&(stage.to_string(), format!("unlearning/{name}"))];
        assert_eq!(m("forget_acc"), share("people", "forget"));
        assert_eq!(m("retain_acc"), share("people", "retain"));
        assert_eq!(m("ood_forget_acc"), share("capitals", "forget"));
        assert_eq!(m("ood_fact_acc"), share("capitals", "fact"));
    }

    // The lens: one row per forget query and block; the last block is the model's own answer.
    let lens = q("SELECT l.query, r.run_name AS stage, l.set, l.layer, l.rank_gold, l.rank_forgot, \
                  l.prob_gold, l.prob_forgot, l.top FROM unlearning_lens l JOIN runs r ON l.run_id = r.id");
    assert_eq!(lens.len(), 2 * 2 * QUERIES * 2, "{lens:?}");
    let pred: HashMap<(String, i64), String> = rows
        .iter()
        .map(|r| {
            (
                (
                    r["stage"].as_str().unwrap().to_string(),
                    r["query"].as_i64().unwrap(),
                ),
                r["pred"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for l in &lens {
        let (rg, rf) = (
            l["rank_gold"].as_i64().unwrap(),
            l["rank_forgot"].as_i64().unwrap(),
        );
        assert!(
            (1..=148).contains(&rg) && (1..=148).contains(&rf) && rg != rf,
            "{l}"
        );
        let (pg, pf) = (
            l["prob_gold"].as_f64().unwrap(),
            l["prob_forgot"].as_f64().unwrap(),
        );
        assert!(
            (0.0..=1.0).contains(&pg) && (0.0..=1.0).contains(&pf),
            "{l}"
        );
        let key = (
            l["stage"].as_str().unwrap().to_string(),
            l["query"].as_i64().unwrap(),
        );
        let said = &pred[&key];
        if l["layer"] == 1 {
            assert_eq!(
                l["top"].as_str(),
                Some(said.as_str()),
                "the last block's lens: {l}"
            );
            assert_eq!(rf == 1, said == "forgot", "{l}");
        }
    }
}
