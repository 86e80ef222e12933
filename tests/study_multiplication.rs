//! Study 4 (first vs last digit of products, MC-dropout confidence) in the default suite: a
//! reduced `experiments/multiplication.toml` (operands of 1-2 digits, a 2-layer d_model 64
//! decoder, 600 steps, a small probe over all four digit pairs) must store the per-problem and
//! per-pair tables with the right columns and sane values, and the run must answer
//! `assay generate` prompts through the dataset's tokenizer.

use crate::common;

use common::*;

/// The overrides that shrink the study to well under a minute.
const REDUCED: &[&str] = &[
    "dataset.max_digits=2",
    "dataset.train_examples=40000",
    "dataset.test_examples=800",
    "model.n_layers=2",
    "model.d_model=64",
    "model.d_mlp=256",
    "train.steps=600",
    "train.batch_size=32",
    "train.warmup_steps=50",
    "train.eval_every=300",
    "train.eval_max_examples=128",
    "train.log_every=100",
    "probe.0.max_digits=2",
    "probe.0.pairs=all",
    "probe.0.problems=60",
    "probe.0.passes=8",
    "probe.0.resamples=200",
];

#[test]
fn digit_confidence_tables_come_out_of_a_reduced_multiplication_run() {
    let dir = scratch();
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap().to_string();
    let spec = workspace().join("experiments/multiplication.toml");
    let mut args = vec!["--store", &store_arg, "sweep", spec.to_str().unwrap(), "-q"];
    for s in REDUCED {
        args.extend(["--set", s]);
    }
    let out = assay_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let query = |sql: &str| -> Vec<serde_json::Value> {
        let o = assay_in(
            dir.path(),
            &["--store", &store_arg, "query", sql, "--format", "json"],
        );
        assert!(o.status.success(), "{sql}: {}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };

    // Per problem: every column, probabilities in [0, 1], and the pairs of the probe's range.
    let rows = query(
        "SELECT n, m, a, b, conf_first, first_correct, conf_last_own, last_own_correct, \
         own_prefix_correct, conf_last_gold, last_gold_correct FROM digit_confidence",
    );
    // 1x1 keeps 20 held-out problems (a quarter of 81), the other pairs 60 each.
    assert_eq!(rows.len(), 20 + 3 * 60, "{:?}", &rows[..3]);
    for r in &rows {
        let (n, m) = (r["n"].as_i64().unwrap(), r["m"].as_i64().unwrap());
        let (a, b) = (r["a"].as_i64().unwrap(), r["b"].as_i64().unwrap());
        assert!((1..=2).contains(&n) && (1..=2).contains(&m), "{r}");
        assert_eq!(
            (a.to_string().len() as i64, b.to_string().len() as i64),
            (n, m)
        );
        for c in ["conf_first", "conf_last_own", "conf_last_gold"] {
            let p = r[c].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p), "{c} = {p} in {r}");
        }
        for c in [
            "first_correct",
            "last_own_correct",
            "own_prefix_correct",
            "last_gold_correct",
        ] {
            assert!(r[c].is_boolean(), "{c} in {r}");
        }
        // A one-digit product's only digit is both first and last, after an empty prefix.
        if (a * b) < 10 {
            assert_eq!(r["own_prefix_correct"], true, "{r}");
            let d = r["conf_first"].as_f64().unwrap() - r["conf_last_gold"].as_f64().unwrap();
            assert!(d.abs() < 1e-9, "{r}");
        }
    }

    // Per pair: four rows, means within their bootstrap intervals.
    let summary = query(
        "SELECT n, m, problems, first_acc, constant_acc, conf_first, conf_first_lo, \
         conf_first_hi, conf_last_own, conf_last_gold, conf_last_gold_lo, conf_last_gold_hi, \
         wrong_prefix, gain_wrong_prefix, gain_wrong_prefix_lo, gain_wrong_prefix_hi \
         FROM digit_confidence_summary ORDER BY n, m",
    );
    assert_eq!(summary.len(), 4, "{summary:?}");
    assert_eq!(summary[0]["problems"], 20);
    for s in &summary {
        for q in ["conf_first", "conf_last_gold"] {
            let (lo, mean, hi) = (
                s[format!("{q}_lo")].as_f64().unwrap(),
                s[q].as_f64().unwrap(),
                s[format!("{q}_hi")].as_f64().unwrap(),
            );
            assert!(
                0.0 <= lo && lo <= mean && mean <= hi && hi <= 1.0,
                "{q}: {s}"
            );
        }
        let constant = s["constant_acc"].as_f64().unwrap();
        assert!((0.1..1.0).contains(&constant), "{s}");
        if s["wrong_prefix"].as_i64().unwrap() > 0 {
            let g = s["gain_wrong_prefix"].as_f64().unwrap();
            assert!((-1.0..=1.0).contains(&g), "{s}");
        } else {
            assert!(s["gain_wrong_prefix"].is_null(), "{s}");
        }
    }

    // Run metrics: the passes differed (dropout was on), and the first digit of two-digit
    // products is learnt beyond the best constant guess.
    let metrics =
        query("SELECT name, value FROM metrics WHERE name LIKE 'digit_confidence/%' ORDER BY name");
    let metric = |name: &str| {
        metrics
            .iter()
            .find(|m| m["name"] == format!("digit_confidence/{name}"))
            .and_then(|m| m["value"].as_f64())
            .unwrap_or_else(|| panic!("no digit_confidence/{name} in {metrics:?}"))
    };
    assert_eq!(metric("dropout_varies"), 1.0);
    assert_eq!(metric("problems"), 200.0);
    assert!(
        metric("first_acc") > metric("first_constant_acc"),
        "{metrics:?}"
    );

    // The experiment's own result query reads the summary.
    let sql = workspace().join("experiments/multiplication.sql");
    let o = assay_in(
        dir.path(),
        &[
            "--store",
            &store_arg,
            "query",
            "--file",
            sql.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(table.len(), 4, "{table:?}");

    // The run answers prompts in its own vocabulary.
    let runs = query("SELECT id FROM runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = runs[0]["id"].as_str().unwrap().to_string();
    let g = assay_in(
        dir.path(),
        &[
            "--store",
            &store_arg,
            "generate",
            &run,
            "--prompt",
            "7*8=",
            "--max-tokens",
            "4",
            "--json",
        ],
    );
    assert!(g.status.success(), "{}", stderr(&g));
    let answer: serde_json::Value = serde_json::from_str(stdout(&g).trim()).unwrap();
    assert_eq!(answer["prompt_ids"], serde_json::json!([7, 10, 8, 11]));
    let text = answer["text"].as_str().unwrap();
    assert!(
        text.chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '='),
        "{answer}"
    );
}
