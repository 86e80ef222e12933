//! Study 9 so far: the `reach_push` simulator and its scripted expert as SDK components, played
//! as episode runs that store demonstrations (a reduced experiments/robot-demos.toml).

use crate::common;

use common::*;

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn the_expert_records_successful_demonstrations_for_every_embodiment() {
    let dir = scratch();
    let store = dir.path().join("store").display().to_string();
    let spec = workspace().join("experiments/robot-demos.toml");
    let out = assay_in(
        dir.path(),
        &[
            "--store",
            &store,
            "sweep",
            spec.to_str().unwrap(),
            "--jobs",
            "1",
            "-q",
            "--set",
            "episodes.count=12",
            "--set",
            "agent.0.noise=0",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let q = |sql: &str| -> Vec<serde_json::Value> {
        let o = assay_in(
            dir.path(),
            &["--store", &store, "query", sql, "--format", "json"],
        );
        assert!(o.status.success(), "{sql}: {}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let sql = workspace().join("experiments/robot-demos.sql");
    let o = assay_in(
        dir.path(),
        &[
            "--store",
            &store,
            "query",
            "--file",
            sql.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(table.len(), 3, "{table:?}");
    for r in &table {
        // Without noise the expert always succeeds (the notes: success near 1).
        assert_eq!((f(r, "episodes"), f(r, "success")), (12.0, 1.0), "{r}");
    }
    // Every stored step: 21 observation numbers, the instruction, a 7-number action.
    let steps = q("SELECT observation, text, action, done FROM episodes LIMIT 50");
    for s in &steps {
        let obs = s["observation"].as_str().unwrap();
        assert_eq!(obs.split(',').count(), 21, "{obs}");
        let text = s["text"].as_str().unwrap();
        assert!(text.contains("cube"), "{text}");
        assert_eq!(s["action"].as_str().unwrap().split(',').count(), 7);
    }
    // Six tasks over twelve episodes: each instruction twice per embodiment.
    let tasks = q("SELECT count(DISTINCT text) AS n FROM episodes");
    assert_eq!(f(&tasks[0], "n"), 6.0);
}

#[test]
fn an_unknown_instruction_is_a_spec_error_naming_the_key() {
    let dir = scratch();
    let spec = write_spec(
        dir.path(),
        "bad.toml",
        "name = \"bad\"\n[environment]\nplugin = \"reach_push\"\ntasks = [\"juggle the red cube\"]\n[[agent]]\nplugin = \"reach_push_expert\"\n",
    );
    let out = run_spec(dir.path(), &dir.path().join("store"), &spec);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("tasks") && err.contains("juggle the red cube"),
        "{err}"
    );
}
