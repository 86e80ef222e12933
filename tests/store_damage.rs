//! One bad file must not hide the store: a run whose `metrics.parquet` (or a table) was cut
//! short is left out of queries with a warning naming the file and the run, shows as `damaged`,
//! and is not reused: `assay run` says how to recompute it, and `--force` does.

use crate::common;

use common::*;

fn truncate(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn a_truncated_run_file_is_left_out_named_and_never_reused() {
    let env = Env::new();
    let mut ids = Vec::new();
    for seed in ["1", "2"] {
        let out = env.run(
            &spec("steps = 10\neval_every = 5", "plugin = \"adam\""),
            &["--set", &format!("seed={seed}")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        ids.push(last_line(&out));
    }
    let count = |env: &Env| {
        let o = env.assay(&[
            "query",
            "SELECT count(DISTINCT run_id) AS n FROM metrics",
            "--format",
            "csv",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (
            stdout(&o).lines().nth(1).unwrap_or("").to_string(),
            stderr(&o),
        )
    };
    assert_eq!(count(&env).0, "2");

    let damaged = env.store().join(&ids[0]).join("metrics.parquet");
    truncate(&damaged);
    let (n, warning) = count(&env);
    assert_eq!(n, "1", "the readable run is still queried");
    assert!(
        warning.contains(&ids[0])
            && warning.contains("metrics.parquet")
            && warning.contains("cut short"),
        "{warning}"
    );

    let list = env.assay(&["runs", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&list)).unwrap();
    let status = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(status(&ids[0]).as_deref(), Some("damaged"));
    assert_eq!(status(&ids[1]).as_deref(), Some("completed"));

    // Re-running its spec does not reuse it; --force recomputes it whole.
    let again = env.run(
        &spec("steps = 10\neval_every = 5", "plugin = \"adam\""),
        &["--set", "seed=1"],
    );
    assert_error(&again, &[&ids[0], "metrics.parquet", "--force"]);
    let forced = env.run(
        &spec("steps = 10\neval_every = 5", "plugin = \"adam\""),
        &["--set", "seed=1", "--force"],
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(count(&env), ("2".to_string(), String::new()));
}

#[test]
fn a_truncated_table_is_left_out_of_that_table_only() {
    let env = Env::new();
    let text = "name = \"m\"\n[environment]\nplugin = \"leduc_holdem\"\n[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"random\"\n[episodes]\ncount = 4\n";
    let mut ids = Vec::new();
    for seed in ["1", "2"] {
        let out = env.run(text, &["--set", &format!("seed={seed}")]);
        assert!(out.status.success(), "{}", stderr(&out));
        ids.push(last_line(&out));
    }
    truncate(&env.store().join(&ids[0]).join("tables/episodes.parquet"));
    let q = |sql: &str| {
        let o = env.assay(&["query", sql, "--format", "csv"]);
        assert!(o.status.success(), "{sql}: {}", stderr(&o));
        (
            stdout(&o).lines().nth(1).unwrap_or("").to_string(),
            stderr(&o),
        )
    };
    let (n, warning) = q("SELECT count(DISTINCT run_id) AS n FROM episodes");
    assert_eq!(n, "1");
    assert!(
        warning.contains("episodes.parquet") && warning.contains(&ids[0]),
        "{warning}"
    );
    assert_eq!(
        q("SELECT count(DISTINCT run_id) AS n FROM episode_results").0,
        "2"
    );
}
