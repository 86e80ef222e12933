//! Runs end to end: reuse, divergence, resume, SIGKILL, Ctrl-C, early stopping, tables and plots.

use crate::common;

use common::*;

#[test]
fn a_finished_identical_run_is_reused_unless_forced() {
    let env = Env::new();
    let text = spec("steps = 20\neval_every = 10", "plugin = \"adam\"");
    let first = env.run(&text, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let id = last_line(&first);
    let started = env.record(&id)["started_at"].clone();
    let second = env.run(&text, &[]);
    assert!(second.status.success());
    assert_eq!(last_line(&second), id);
    assert!(stderr(&second).contains("reusing"), "{}", stderr(&second));
    assert_eq!(env.record(&id)["started_at"], started);
    let forced = env.run(&text, &["--force"]);
    assert!(forced.status.success());
    assert_ne!(env.record(&id)["started_at"], started);
}

#[test]
fn a_nan_loss_stops_the_run_as_diverged_and_keeps_its_metrics() {
    let env = Env::new();
    let out = env.run(
        &spec("steps = 50\neval_every = 5", "plugin = \"sgd\"\nlr = 1e30"),
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("diverged"));
    let id = last_line(&out);
    let rec = env.record(&id);
    assert_eq!(rec["status"], "diverged");
    assert!(rec["error"].as_str().unwrap().contains("loss is"));
    let losses = metric(&env.store().join(&id), "train/batch_loss");
    assert!(losses.len() >= 2, "{losses:?}");
    assert!(!losses.last().unwrap().1.is_finite());
    assert!(losses[..losses.len() - 1]
        .iter()
        .all(|(_, v)| v.is_finite()));
    assert!(metric(&env.store().join(&id), "test/acc")
        .iter()
        .any(|(s, _)| *s == 0));
}

#[test]
fn a_resumed_run_reproduces_the_uninterrupted_one_bit_for_bit() {
    let env = Env::new();
    let text = spec("steps = 60\nbatch_size = 16\neval_every = 10\ncheckpoint_every = 20\nlr_schedule = \"cosine\"\nwarmup_steps = 5", "plugin = \"adam\"\nweight_decay = 0.01");
    let whole = env.run(&text, &[]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let id = last_line(&whole);
    let reference = env.store().join(&id);
    let other = Env::new();
    let paused = other.run(&text, &["--pause-at", "30"]);
    assert_eq!(paused.status.code(), Some(130), "{}", stderr(&paused));
    assert_eq!(last_line(&paused), id);
    assert_eq!(other.record(&id)["status"], "interrupted");
    assert_eq!(other.record(&id)["steps_done"], 30);
    let resumed = other.assay(&["run", "-q", "--resume", &id]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(last_line(&resumed), id);
    let rec = other.record(&id);
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["resumed"], 1);
    // Every metric the seed fixes is equal; `sys/*` measures the machine (CPU time, memory).
    let model_metrics = |path: std::path::PathBuf| {
        let df = assay_store::record::read_parquet(&path).unwrap();
        let keep = df
            .column("name")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|n| n.is_some_and(|n| !n.starts_with("sys/")))
            .collect::<polars::prelude::BooleanChunked>();
        df.filter(&keep).unwrap()
    };
    let a = model_metrics(reference.join("metrics.parquet"));
    let b = model_metrics(other.store().join(&id).join("metrics.parquet"));
    assert_eq!(a.height(), b.height());
    assert!(a.equals_missing(&b), "metrics differ:\n{a}\n{b}");
    let sys = assay_store::record::read_parquet(&reference.join("metrics.parquet")).unwrap();
    let names: Vec<String> = sys
        .column("name")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    for n in ["sys/cpu_s", "sys/rss_mb", "sys/peak_rss_mb"] {
        assert!(names.iter().any(|m| m == n), "{n} not logged");
    }
}

#[test]
fn a_run_killed_with_sigkill_is_lost_readable_and_resumable() {
    let env = Env::new();
    let text = spec(
        "steps = 4000\nbatch_size = 16\neval_every = 500\ncheckpoint_every = 25",
        "plugin = \"adam\"",
    );
    let spec_path = write_spec(env.path(), "long.toml", &text);
    let store = env.store();
    let mut child = spawn_assay(&[
        "--store",
        store.to_str().unwrap(),
        "run",
        "-q",
        spec_path.to_str().unwrap(),
    ]);
    // Wait for the second checkpoint, then kill without warning.
    let run_dir = wait_for("the second checkpoint", || {
        run_dir_where(&store, |d| {
            d.join("checkpoints/step-000000050.safetensors").exists()
        })
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let id = run_dir.file_name().unwrap().to_str().unwrap().to_string();

    let list = env.assay(&["runs", "list", "--json"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(rows[0]["id"], id);
    assert_eq!(rows[0]["status"], "lost");

    let q = env.assay(&[
        "query",
        "SELECT count(*) AS n FROM metrics",
        "--format",
        "csv",
    ]);
    assert!(q.status.success(), "{}", stderr(&q));
    let show = env.assay(&["runs", "show", &id]);
    assert!(
        stdout(&show).contains("\"status\": \"lost\""),
        "{}",
        stdout(&show)
    );

    // A plain re-run refuses to overwrite it and points at --resume.
    let again = env.run(&text, &[]);
    assert_error(&again, &["status lost", "--resume"]);

    let resumed = env.assay(&["run", "-q", "--resume", &id]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(env.record(&id)["status"], "completed");
    let steps: Vec<u64> = metric(&run_dir, "train/batch_loss")
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(
        steps,
        (1..=4000).collect::<Vec<_>>(),
        "every step logged exactly once"
    );
    let leftovers: Vec<_> = std::fs::read_dir(run_dir.join("checkpoints"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.len() <= 1, "stray temporaries: {leftovers:?}");
}

#[test]
fn every_export_format_reads_back() {
    let env = Env::new();
    for lr in ["0.01", "0.02"] {
        let out = env.run(
            &spec("steps = 10\neval_every = 5", "plugin = \"adam\""),
            &["--set", &format!("optimizer.lr={lr}")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let sql = "SELECT r.\"optimizer.lr\" AS lr, m.step, m.value FROM metrics m JOIN runs r ON m.run_id = r.id WHERE m.name = 'test/acc' ORDER BY lr, m.step";
    let expect_rows = 6;

    let csv_path = env.path().join("out.csv");
    let o = env.assay(&[
        "query",
        sql,
        "--format",
        "csv",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    use polars::prelude::*;
    let df = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(csv_path.clone()))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(df.height(), expect_rows);
    assert_eq!(df.get_column_names(), ["lr", "step", "value"]);

    let pq = env.path().join("out.parquet");
    let o = env.assay(&[
        "query",
        sql,
        "--format",
        "parquet",
        "--out",
        pq.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = assay_store::record::read_parquet(&pq).unwrap();
    assert_eq!(back.height(), expect_rows);
    assert_eq!(
        back.column("value").unwrap().f64().unwrap().to_vec(),
        df.column("value").unwrap().f64().unwrap().to_vec()
    );

    let o = env.assay(&["query", sql, "--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(rows.len(), expect_rows);
    assert_eq!(rows[0]["lr"], 0.01);

    let o = env.assay(&["query", sql, "--format", "md"]);
    let md = stdout(&o);
    assert!(
        md.starts_with("| lr | step | value |\n| --- | --- | --- |\n"),
        "{md}"
    );
    assert_eq!(md.lines().count(), expect_rows + 2);

    let o = env.assay(&["query", sql, "--format", "latex"]);
    let tex = stdout(&o);
    assert!(
        tex.contains("\\begin{tabular}{lll}") && tex.contains("lr & step & value \\\\"),
        "{tex}"
    );

    let o = env.assay(&["query", sql]);
    assert!(stdout(&o).contains("shape: (6, 3)"), "{}", stdout(&o));

    let bad = env.assay(&["query", "SELECT nope FROM metrics"]);
    assert_error(&bad, &["query: SELECT nope FROM metrics"]);
    let no_out = env.assay(&["query", sql, "--format", "parquet"]);
    assert_error(&no_out, &["--out"]);
}

#[test]
fn probe_tables_are_queryable_by_name_and_runs_list_show_rm_work() {
    let env = Env::new();
    let example = plugin_library("assay-example", "assay_example");
    let reg = write_registry(env.path(), &[(&example, None)]);
    let text = spec("steps = 10\neval_every = 5", "plugin = \"signum\"")
        + "\n[[probe]]\nplugin = \"weight_stats\"\nevery = 5\n";
    let p = write_spec(env.path(), "probe.toml", &text);
    let store = env.store();
    let out = run_with_registry(env.path(), &reg, &store, &p);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = last_line(&out);
    let q = env.assay(&[
        "query",
        "SELECT run_id, step, parameter, std FROM weight_stats ORDER BY step, parameter",
        "--format",
        "json",
    ]);
    assert!(q.status.success(), "{}", stderr(&q));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&q)).unwrap();
    assert_eq!(
        rows.len(),
        3 * 4,
        "3 observations (steps 0, 5, 10) of 4 parameters"
    );
    assert_eq!(rows[0]["run_id"], id);

    let list = env.assay(&["runs", "list"]);
    assert!(stdout(&list).contains(&id) && stdout(&list).contains("completed"));
    let rm = env.assay(&["runs", "rm", &id]);
    assert!(rm.status.success());
    assert!(!store.join(&id).exists());
    let rm_again = env.assay(&["runs", "rm", &id]);
    assert_error(&rm_again, &["no run"]);
    let escape = env.assay(&["runs", "rm", "../etc"]);
    assert_error(&escape, &["not a run id"]);
}

#[test]
fn plots_are_written_as_png_and_svg() {
    let env = Env::new();
    for seed in ["1", "2"] {
        let out = env.run(
            &spec("steps = 20\neval_every = 5", "plugin = \"adam\""),
            &["--set", &format!("seed={seed}")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for ext in ["png", "svg"] {
        let file = env.path().join(format!("acc.{ext}"));
        let o = env.assay(&[
            "plot",
            "--metric",
            "test/acc",
            "--group-by",
            "optimizer.plugin",
            "--logx",
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let bytes = std::fs::read(&file).unwrap();
        if ext == "png" {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        } else {
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.contains("<svg") && text.contains("adam (n=2)"),
                "legend names the group and its size"
            );
        }
    }
    let none = env.assay(&[
        "plot",
        "--metric",
        "no/such",
        "--out",
        env.path().join("x.png").to_str().unwrap(),
    ]);
    assert_error(&none, &["no values of metric `no/such`"]);

    // Any query whose columns name the roles: a curve per series, a band from lo/hi.
    let svg = env.path().join("query.svg");
    let o = env.assay(&[
        "plot",
        "--query",
        "SELECT m.step AS x, r.\"optimizer.plugin\" AS series, avg(m.value) AS y, \
         min(m.value) AS lo, max(m.value) AS hi FROM metrics m JOIN runs r ON m.run_id = r.id \
         WHERE m.name = 'test/acc' GROUP BY x, series",
        "--x-label",
        "training step",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(1 curve)"), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("training step") && text.contains("adam"));
    let unnamed = env.assay(&[
        "plot",
        "--query",
        "SELECT step, value FROM metrics",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert_error(&unnamed, &["`x` and `y` are required", "step, value"]);
    let extra = env.assay(&[
        "plot",
        "--query",
        "SELECT step AS x, value AS y, name FROM metrics",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert_error(&extra, &["column `name` has no role"]);
}

#[test]
fn ctrl_c_checkpoints_marks_interrupted_and_resumes() {
    let env = Env::new();
    let text = spec(
        "steps = 4000\nbatch_size = 16\neval_every = 500\ncheckpoint_every = 500",
        "plugin = \"adam\"",
    );
    let spec_path = write_spec(env.path(), "long.toml", &text);
    let store = env.store();
    let child = spawn_assay(&[
        "--store",
        store.to_str().unwrap(),
        "run",
        "-q",
        spec_path.to_str().unwrap(),
    ]);
    let run_dir = wait_for("the run to start", || {
        run_dir_where(&store, |d| d.join("heartbeat").exists())
    });
    let kill = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let id = run_dir.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(last_line(&out), id);
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    let rec = env.record(&id);
    assert_eq!(rec["status"], "interrupted");
    let done = rec["steps_done"].as_u64().unwrap();
    assert!(
        run_dir
            .join(format!("checkpoints/step-{done:09}.safetensors"))
            .exists(),
        "checkpoint at the stopping step"
    );
    let resumed = env.assay(&["run", "-q", "--resume", &id]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(env.record(&id)["status"], "completed");
    let steps: Vec<u64> = metric(&run_dir, "train/batch_loss")
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(steps, (1..=4000).collect::<Vec<_>>());
}

#[test]
fn stop_when_ends_the_run_at_the_first_evaluation_where_it_holds() {
    let env = Env::new();
    // Test loss starts above 0 and the condition holds at once: the first evaluation after step
    // 0 ends the run, with a checkpoint and the end-of-run probes.
    let text = spec(
        "steps = 200\neval_every = 10\nstop_when = \"test/loss>=0\"",
        "plugin = \"adam\"",
    ) + "\n[[probe]]\nplugin = \"weight_norms\"\nat = \"end\"\n";
    let out = env.run(&text, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = last_line(&out);
    let record = env.record(&id);
    assert_eq!(record["status"], "completed");
    assert_eq!(record["steps_done"], 10);
    let dir = env.store().join(&id);
    assert!(dir.join("checkpoints/step-000000010.safetensors").exists());
    assert_eq!(metric(&dir, "train/stopped_early"), vec![(10, 1.0)]);
    assert_eq!(metric(&dir, "weights/l2_total").len(), 1);
    // Only evaluated metrics can stop a run.
    let bad = env.run(
        &spec(
            "steps = 20\nstop_when = \"weights/l2_total>=1\"",
            "plugin = \"adam\"",
        ),
        &[],
    );
    assert_error(&bad, &["train.stop_when", "weights/l2_total"]);
}

#[test]
fn an_inline_query_may_start_with_a_comment() {
    let env = Env::new();
    let out = env.run(&spec("steps = 5", "plugin = \"adam\""), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let q = env.assay(&[
        "query",
        "-- runs by name\nSELECT count(*) AS n FROM runs",
        "--format",
        "csv",
    ]);
    assert!(q.status.success(), "{}", stderr(&q));
    assert_eq!(stdout(&q).trim(), "n\n1");
}
