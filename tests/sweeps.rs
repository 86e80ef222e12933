//! Sweeps and a shared store, end to end: local workers, failures, concurrency, stale owners,
//! group-writable stores, reports.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::sweep::*;
use common::*;

#[test]
fn a_local_sweep_runs_every_point_once_and_skips_finished_runs() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(dir.path(), "sweep.toml", &base("[sweep]\nseeds = 2\ngrid = { \"optimizer.lr\" = [0.01, 0.02] }\nzip = { \"model.hidden\" = [[4], [8]], \"train.batch_size\" = [8, 16] }\n"));
    let dry = assay_store(
        dir.path(),
        &store,
        &["sweep", spec.to_str().unwrap(), "--dry-run"],
    );
    assert!(dry.status.success(), "{}", stderr(&dry));
    let plan = stdout(&dry);
    assert!(
        plan.contains("8 runs") && plan.matches("to run").count() == 8,
        "{plan}"
    );
    assert!(
        plan.contains("optimizer.lr=0.02")
            && plan.contains("model.hidden=[8]")
            && plan.contains("seed=1"),
        "{plan}"
    );

    let out = assay_store(
        dir.path(),
        &store,
        &["sweep", spec.to_str().unwrap(), "--jobs", "3"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = PathBuf::from(last_line(&out));
    let ids = manifest_ids(&manifest);
    assert_eq!(ids.len(), 8);
    for id in &ids {
        let rec: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(store.join(id).join("run.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(rec["status"], "completed", "{id}");
    }
    let status = assay_store(
        dir.path(),
        &store,
        &["sweep", "status", manifest.to_str().unwrap()],
    );
    assert!(
        stdout(&status).contains("done 8 / running 0 / failed 0 / pending 0"),
        "{}",
        stdout(&status)
    );

    let again = assay_store(
        dir.path(),
        &store,
        &["sweep", spec.to_str().unwrap(), "--jobs", "3"],
    );
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("8 cached, 0 completed"),
        "{}",
        stderr(&again)
    );
    let dry = assay_store(
        dir.path(),
        &store,
        &["sweep", spec.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(
        stdout(&dry).matches("cached (completed)").count(),
        8,
        "{}",
        stdout(&dry)
    );
}

#[test]
fn one_failing_run_does_not_stop_the_others() {
    let dir = scratch();
    let store = dir.path().join("store");
    let missing = dir.path().join("missing.csv");
    let spec = write_spec(
        dir.path(),
        "sweep.toml",
        &base(&format!("[sweep]\ngrid = {{ \"dataset.path\" = [\"\", {:?}], \"optimizer.lr\" = [0.01, 1e30] }}\n", missing.display().to_string())).replace("plugin = \"adam\"", "plugin = \"sgd\""),
    );
    let out = assay_store(
        dir.path(),
        &store,
        &["sweep", spec.to_str().unwrap(), "--jobs", "2"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("1 completed, 1 diverged, 2 failed"), "{err}");
    assert!(err.contains("logs/"), "failures point at their logs: {err}");
    let manifest = PathBuf::from(last_line(&out));
    let status = stdout(&assay_store(
        dir.path(),
        &store,
        &["sweep", "status", manifest.to_str().unwrap()],
    ));
    assert!(
        status.contains("done 2 / running 0 / failed 2 / pending 0"),
        "{status}"
    );
    let log = std::fs::read_to_string(manifest.with_extension("").join("logs/2.log"))
        .unwrap_or_default()
        + &std::fs::read_to_string(manifest.with_extension("").join("logs/3.log"))
            .unwrap_or_default();
    assert!(log.contains("missing.csv"), "the log says why: {log}");
}

#[test]
fn eight_concurrent_processes_lose_nothing_in_one_store() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(dir.path(), "one.toml", &base(""));
    let children: Vec<_> = (0..8)
        .map(|seed| {
            Command::new(bin())
                .args([
                    "--store",
                    store.to_str().unwrap(),
                    "run",
                    "-q",
                    spec.to_str().unwrap(),
                    "--set",
                    &format!("seed={seed}"),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            last_line(&out)
        })
        .collect();
    let q = assay_store(dir.path(), &store, &["query", "SELECT count(DISTINCT run_id) AS runs, count(*) AS rows FROM metrics WHERE name = 'train/batch_loss'", "--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&q)).unwrap();
    assert_eq!(rows[0]["runs"], 8);
    assert_eq!(rows[0]["rows"], 8 * 30);
    let list = assay_store(dir.path(), &store, &["runs", "list", "--json"]);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(runs.len(), 8);
    assert!(runs.iter().all(|r| r["status"] == "completed"));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8);
}

#[test]
fn two_simultaneous_starts_of_one_spec_run_it_once() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "one.toml",
        &base("").replace("steps = 30", "steps = 600"),
    );
    let start = || {
        Command::new(bin())
            .args([
                "--store",
                store.to_str().unwrap(),
                "run",
                "-q",
                spec.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    assert_eq!(last_line(&a), last_line(&b));
    let reused = [&a, &b]
        .iter()
        .filter(|o| stderr(o).contains("reusing"))
        .count();
    assert_eq!(
        reused,
        1,
        "exactly one computed it:\n{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    let id = last_line(&a);
    let steps: Vec<u64> = common::metric(&store.join(&id), "train/batch_loss")
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(steps, (1..=600).collect::<Vec<_>>());
}

#[test]
fn a_run_with_a_stale_heartbeat_from_another_host_is_lost_and_taken_over() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "one.toml",
        &base("").replace("eval_every = 10", "eval_every = 10\ncheckpoint_every = 10"),
    );
    let out = assay_store(
        dir.path(),
        &store,
        &["run", "-q", spec.to_str().unwrap(), "--pause-at", "20"],
    );
    assert_eq!(out.status.code(), Some(130));
    let id = last_line(&out);
    let run_dir = store.join(&id);
    // Make it look like a process on another machine died while running it 10 minutes ago.
    let mut rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    rec["status"] = "running".into();
    rec["host"] = "gpu-node-17".into();
    rec["pid"] = 4242.into();
    let old = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 600.0;
    let fake_dead_owner = || {
        std::fs::write(
            run_dir.join("run.json"),
            serde_json::to_string(&rec).unwrap(),
        )
        .unwrap();
        std::fs::write(
            run_dir.join("lock"),
            r#"{"user":"alice","host":"gpu-node-17","pid":4242,"since":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        std::fs::write(run_dir.join("heartbeat"), format!("{old:.3}\n")).unwrap();
    };
    fake_dead_owner();

    let list = assay_store(dir.path(), &store, &["runs", "list", "--json"]);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(runs[0]["status"], "lost");
    let rm = assay_store(dir.path(), &store, &["runs", "rm", &id]);
    assert!(
        rm.status.success(),
        "a lost run's stale lock does not block removal: {}",
        stderr(&rm)
    );
    // Do it again, then take it over instead.
    let out = assay_store(
        dir.path(),
        &store,
        &["run", "-q", spec.to_str().unwrap(), "--pause-at", "20"],
    );
    assert_eq!(out.status.code(), Some(130));
    fake_dead_owner();
    let resumed = assay_store(dir.path(), &store, &["run", "-q", "--resume", &id]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(rec["status"], "completed");
    assert_ne!(
        rec["host"], "gpu-node-17",
        "the run records who finished it"
    );
    assert!(
        !run_dir.join("lock").exists(),
        "the lock is released at the end"
    );
}

#[test]
fn a_setgid_store_is_group_writable_and_gc_keeps_the_last_checkpoint() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o2775)).unwrap();
    let spec = write_spec(
        dir.path(),
        "one.toml",
        &base("").replace("eval_every = 10", "eval_every = 10\ncheckpoint_every = 10"),
    );
    let out = assay_store(dir.path(), &store, &["run", "-q", spec.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run_dir = store.join(last_line(&out));
    for f in [
        "run.json",
        "metrics.parquet",
        "checkpoints/step-000000030.safetensors",
    ] {
        let mode = std::fs::metadata(run_dir.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert!(mode & 0o020 != 0, "{f} is group-writable: {mode:o}");
    }
    let mode = std::fs::metadata(run_dir.join("checkpoints"))
        .unwrap()
        .permissions()
        .mode();
    assert!(
        mode & 0o2000 != 0 && mode & 0o020 != 0,
        "directories inherit setgid and are group-writable: {mode:o}"
    );

    std::fs::write(run_dir.join(".tmp-999-run.json"), b"half written").unwrap();
    let ckpts = |d: &Path| std::fs::read_dir(d.join("checkpoints")).unwrap().count();
    assert_eq!(ckpts(&run_dir), 4);
    let gc = assay_store(dir.path(), &store, &["runs", "gc"]);
    assert!(gc.status.success(), "{}", stderr(&gc));
    assert!(stdout(&gc).contains("removed 3 files"), "{}", stdout(&gc));
    assert_eq!(
        ckpts(&run_dir),
        2,
        "the initial and the last checkpoint stay"
    );
    for step in ["000000000", "000000030"] {
        assert!(run_dir
            .join(format!("checkpoints/step-{step}.safetensors"))
            .exists());
    }
    assert!(!run_dir.join(".tmp-999-run.json").exists());
}

#[test]
fn a_report_groups_final_metrics_over_seeds_and_plots_them() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "sweep.toml",
        &base("[sweep]\nseeds = 3\ngrid = { \"optimizer.plugin\" = [\"adam\", \"sgd\"] }\n"),
    );
    let out = assay_store(
        dir.path(),
        &store,
        &["sweep", spec.to_str().unwrap(), "--jobs", "2", "-q"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = last_line(&out);
    let report_dir = dir.path().join("report");
    let r = assay_store(
        dir.path(),
        &store,
        &["report", &manifest, "--out", report_dir.to_str().unwrap()],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(
        md.contains("| optimizer.plugin | metric | mean | std | n |"),
        "{md}"
    );
    assert!(
        md.contains("| adam | test/acc |") && md.contains("| sgd | test/loss |"),
        "{md}"
    );
    assert!(
        md.lines()
            .filter(|l| l.starts_with("| adam") || l.starts_with("| sgd"))
            .all(|l| l.trim_end().ends_with("| 3 |")),
        "n = 3 seeds: {md}"
    );
    assert!(report_dir.join("test_acc.png").exists() && md.contains("![test/acc](test_acc.png)"));
    // The same table straight from `assay query`, as LaTeX.
    let quoted = md
        .lines()
        .find(|l| l.starts_with("assay query "))
        .unwrap()
        .trim_start_matches("assay query ");
    // Shell quoting: '...' with every ' inside written as '\''.
    let sql = quoted[1..quoted.len() - 1].replace("'\\''", "'");
    let tex = assay_store(dir.path(), &store, &["query", &sql, "--format", "latex"]);
    assert!(tex.status.success(), "{}", stderr(&tex));
    assert!(
        stdout(&tex).contains("optimizer.plugin & metric & mean & std & n"),
        "{}",
        stdout(&tex)
    );
}
