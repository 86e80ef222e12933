//! `assay query` answers join shapes as DuckDB does on the same Parquet files, or refuses them
//! with a message that says how to write them (see host/crates/store/src/sql.rs for the shapes
//! Polars' SQL layer gets wrong and what is done about each).
//!
//! Needs python3 with the `duckdb` package: `$ASSAY_PYTHON`, else the virtualenv `.ci/run`
//! makes (`target/ci-python`), else `python3`. Without it the test says so and passes, except
//! under CI (`CI` set), where it fails.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// Shapes answered as DuckDB answers them.
const SAME_AS_DUCKDB: &[&str] = &[
    // Inner joins, a one-table condition in ON (Polars alone returns no rows or fails).
    "SELECT count(*) AS n FROM runs r JOIN metrics f ON f.run_id = r.id AND f.name = 'test/acc'",
    "SELECT count(*) AS n FROM runs r JOIN metrics f ON f.run_id = r.id AND f.name = 'test/acc' AND f.step = 10",
    "SELECT count(*) AS n FROM metrics f JOIN runs r ON f.run_id = r.id AND f.name = 'test/acc'",
    "SELECT count(*) AS n FROM runs r JOIN metrics f ON f.run_id = r.id AND r.seed = 1",
    "SELECT count(*) AS n FROM runs r INNER JOIN metrics f ON (f.run_id = r.id)",
    "SELECT count(*) AS n FROM runs r JOIN metrics f ON f.run_id = r.id AND (f.name = 'test/acc' OR f.name = 'train/acc')",
    "SELECT count(*) AS n FROM final_metrics f JOIN runs r ON r.id = f.run_id AND r.seed = 0 AND f.name = 'test/loss'",
    // Conditions across the tables, and chains of joins.
    "SELECT count(*) AS n FROM runs r JOIN metrics f ON f.run_id = r.id AND f.step > r.steps_done - 20",
    "SELECT count(*) AS n FROM runs a JOIN runs b ON a.run_name = b.run_name AND a.seed < b.seed",
    "SELECT r.id, f.value FROM runs r JOIN final_metrics f ON f.run_id = r.id JOIN metrics m ON m.run_id = r.id AND m.step = f.step AND m.name = f.name WHERE f.name = 'test/acc'",
    "SELECT count(*) AS n FROM runs r JOIN final_metrics f ON f.run_id = r.id AND f.name = 'test/acc' JOIN metrics m ON m.run_id = f.run_id AND m.name = 'train/loss'",
    // Outer joins.
    "SELECT r.id, count(f.value) AS n FROM runs r LEFT JOIN final_metrics f ON f.run_id = r.id AND f.name = 'test/acc' GROUP BY r.id",
    "SELECT r.id, count(f.value) AS n FROM runs r LEFT JOIN final_metrics f ON f.run_id = r.id AND f.name = 'test/acc' AND f.step > 10 GROUP BY r.id",
    "SELECT r.id, count(f.value) AS n FROM runs r LEFT JOIN final_metrics f ON r.id = f.run_id AND f.value > 0.5 AND r.seed = 1 GROUP BY r.id",
    "SELECT r.id, count(f.value) AS n FROM runs r LEFT JOIN final_metrics f ON (f.run_id = r.id) GROUP BY r.id",
    "SELECT count(*) AS n FROM runs r RIGHT JOIN final_metrics f ON f.run_id = r.id AND f.name = 'test/acc'",
    "SELECT count(*) AS n FROM runs r FULL JOIN (SELECT * FROM final_metrics WHERE name = 'test/acc') f ON f.run_id = r.id",
    // Subqueries, CTEs, aliases, implicit joins.
    "WITH t AS (SELECT run_id, max(step) AS s FROM metrics GROUP BY run_id) SELECT count(*) AS n FROM t JOIN runs r ON t.run_id = r.id AND t.s > 10",
    "SELECT x.name, x.n FROM (SELECT f.name, count(*) AS n FROM final_metrics f JOIN runs r ON r.id = f.run_id AND r.seed = 0 GROUP BY f.name) x WHERE x.n >= 1",
    "SELECT f.name, avg(f.value) AS mean FROM final_metrics f, runs r WHERE f.run_id = r.id AND r.seed = 1 GROUP BY f.name",
    "SELECT r.seed AS s, count(*) AS c FROM runs r GROUP BY s",
    // Aliases the store's own definitions use internally must stay free for users.
    "WITH t AS (SELECT run_id, avg(value) AS v FROM final_metrics GROUP BY run_id) SELECT r.id, l.v FROM runs r JOIN t l ON l.run_id = r.id",
    "SELECT m.name, count(*) AS n FROM metrics m JOIN runs l ON m.run_id = l.id GROUP BY m.name",
    "SELECT r.seed, count(*) AS n FROM runs r WHERE r.id IN (SELECT run_id FROM final_metrics WHERE name = 'test/acc' AND value > 0.5) GROUP BY r.seed",
];

/// Shapes refused, with a fragment of the message that says what to write instead.
const REFUSED: &[(&str, &str)] = &[
    (
        "SELECT count(*) AS n FROM runs r JOIN metrics f ON f.run_id = r.id OR f.step = r.steps_done",
        "put the alternative in WHERE",
    ),
    (
        "SELECT count(*) AS n FROM runs r FULL JOIN final_metrics f ON f.run_id = r.id AND f.name = 'test/acc'",
        "filter that table first",
    ),
    (
        "SELECT count(*) AS n FROM runs r SEMI JOIN final_metrics f ON f.run_id = r.id",
        "WHERE r.id IN (SELECT run_id",
    ),
    (
        "SELECT count(*) AS n FROM runs r JOIN metrics f ON f.name = 'test/acc'",
        "join on a key",
    ),
];

/// Rows as sortable text, floats to 9 significant digits.
fn normalise(rows: &[serde_json::Value]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|row| {
            let cells: Vec<serde_json::Value> = match row {
                serde_json::Value::Array(cells) => cells.clone(),
                serde_json::Value::Object(map) => map.values().cloned().collect(),
                other => vec![other.clone()],
            };
            cells
                .iter()
                .map(|c| match c.as_f64() {
                    Some(x) if c.is_f64() => format!("{x:.9e}"),
                    _ => c.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    out.sort();
    out
}

fn tiny_store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    for seed in 0..3 {
        let spec = write_spec(
            dir,
            &format!("s{seed}.toml"),
            &format!(
                "name = \"shapes\"\nseed = {seed}\n[dataset]\nplugin = \"csv\"\nblob_examples = 60\nblob_dim = 3\n[model]\nplugin = \"mlp\"\nhidden = [4]\n[optimizer]\nplugin = \"adam\"\nlr = 0.05\n[train]\nsteps = {}\nbatch_size = 16\neval_every = 5\n",
                20 + 10 * seed
            ),
        );
        let out = run_spec(dir, &store, &spec);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    store
}

#[test]
fn join_shapes_answer_as_duckdb_or_are_refused_with_a_way_around() {
    let Some(python) = python_with(&["duckdb"]) else {
        return;
    };
    let dir = scratch();
    let store = tiny_store(dir.path());
    let s = store.to_str().unwrap();
    for table in ["runs", "metrics", "final_metrics"] {
        let out_file = dir.path().join(format!("{table}.parquet"));
        let out = assay_in(
            dir.path(),
            &[
                "--store",
                s,
                "query",
                &format!("SELECT * FROM {table}"),
                "--format",
                "parquet",
                "--out",
                out_file.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut child = Command::new(&python)
        .arg(workspace().join("tests/reference/sql_shapes.py"))
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(SAME_AS_DUCKDB).unwrap().as_bytes())
        .unwrap();
    let answered = child.wait_with_output().unwrap();
    assert!(answered.status.success(), "{}", stderr(&answered));
    let duck: Vec<serde_json::Value> = serde_json::from_slice(&answered.stdout).unwrap();
    for (sql, expected) in SAME_AS_DUCKDB.iter().zip(&duck) {
        let expected = expected
            .as_array()
            .unwrap_or_else(|| panic!("DuckDB cannot run `{sql}`: {expected}"));
        let out = assay_in(
            dir.path(),
            &["--store", s, "query", sql, "--format", "json"],
        );
        assert!(out.status.success(), "`{sql}`: {}", stderr(&out));
        let ours: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !expected.is_empty(),
            "`{sql}` selects nothing; make it select something"
        );
        assert_eq!(normalise(&ours), normalise(expected), "`{sql}`");
    }
    for (sql, hint) in REFUSED {
        let out = assay_in(dir.path(), &["--store", s, "query", sql]);
        assert!(!out.status.success(), "`{sql}` should be refused");
        assert!(stderr(&out).contains(hint), "`{sql}`: {}", stderr(&out));
    }
}
