//! Runs end to end: bad specs, overrides, resume, SIGKILL, reuse, divergence, tables and plots.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// A valid spec with the given `[train]` body and optimizer settings.
fn spec(train: &str, optimizer: &str) -> String {
    format!(
        "name = \"tiny\"\nseed = 3\n\n[dataset]\nplugin = \"csv\"\nblob_examples = 120\nblob_dim = 4\n\n[model]\nplugin = \"mlp\"\nhidden = [8]\n\n[optimizer]\n{optimizer}\n\n[train]\n{train}\n"
    )
}

struct Env {
    dir: Scratch,
}

impl Env {
    fn new() -> Env {
        Env { dir: scratch() }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn store(&self) -> PathBuf {
        self.path().join("store")
    }
    fn run(&self, spec_text: &str, extra: &[&str]) -> Output {
        let p = write_spec(self.path(), "spec.toml", spec_text);
        let store = self.store();
        let mut args = vec![
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            p.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        assay_in(self.path(), &args)
    }
    fn assay(&self, args: &[&str]) -> Output {
        let store = self.store();
        let mut all = vec!["--store", store.to_str().unwrap()];
        all.extend_from_slice(args);
        assay_in(self.path(), &all)
    }
    fn record(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.store().join(id).join("run.json")).unwrap(),
        )
        .unwrap()
    }
}

fn assert_error(out: &Output, needles: &[&str]) {
    assert!(
        !out.status.success(),
        "expected failure, got success:\n{}",
        stdout(out)
    );
    let err = stderr(out);
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from:\n{err}");
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "one message:\n{err}"
    );
}

#[test]
fn toml_syntax_errors_name_file_line_and_column() {
    let env = Env::new();
    let out = env.run("name = \"x\"\nseed = \n", &[]);
    assert_error(&out, &["spec.toml:2:", "string values must be quoted"]);
}

#[test]
fn unknown_plugins_suggest_close_names() {
    let env = Env::new();
    let out = env.run(&spec("steps = 5", "plugin = \"adamm\""), &[]);
    assert_error(
        &out,
        &[
            "spec.toml",
            "optimizer.plugin",
            "unknown optimizer `adamm`",
            "did you mean `adam`",
        ],
    );
}

#[test]
fn unknown_mistyped_and_out_of_range_parameters_name_table_and_key() {
    let env = Env::new();
    let out = env.run(&spec("steps = 5", "plugin = \"adam\"\nlrr = 0.1"), &[]);
    assert_error(
        &out,
        &[
            "spec.toml",
            "optimizer.lrr",
            "unknown parameter of optimizer `adam`",
            "beta1",
        ],
    );
    let out = env.run(&spec("steps = 5", "plugin = \"adam\"\nlr = \"fast\""), &[]);
    assert_error(
        &out,
        &["optimizer.lr", "expected float, found string `\"fast\"`"],
    );
    let out = env.run(&spec("steps = 5", "plugin = \"adam\"\nlr = -1"), &[]);
    assert_error(&out, &["optimizer.lr", "below the minimum 0"]);
    let out = env.run(&spec("steps = 5\nbatch_sise = 3", "plugin = \"adam\""), &[]);
    assert_error(&out, &["train.batch_sise", "unknown parameter"]);
    let out = env.run(
        &spec("steps = 5", "plugin = \"adam\"").replace("[model]", "colour = 3\n[model]"),
        &[],
    );
    assert_error(
        &out,
        &["dataset.colour", "unknown parameter of dataset `csv`"],
    );
}

#[test]
fn overrides_change_the_resolved_spec_and_the_run_id() {
    let env = Env::new();
    let text = spec("steps = 3\neval_every = 0", "plugin = \"adam\"");
    let a = env.run(&text, &[]);
    let b = env.run(
        &text,
        &["--set", "optimizer.lr=0.05", "--set", "train.batch_size=16"],
    );
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        stderr(&a),
        stderr(&b)
    );
    let (ida, idb) = (last_line(&a), last_line(&b));
    assert_ne!(ida, idb);
    let resolved = std::fs::read_to_string(env.store().join(&idb).join("spec.toml")).unwrap();
    assert!(
        resolved.contains("lr = 0.05") && resolved.contains("batch_size = 16"),
        "{resolved}"
    );
    // Defaults are filled in, so writing a default explicitly gives the same run.
    let c = env.run(
        &spec(
            "steps = 3\neval_every = 0",
            "plugin = \"adam\"\nbeta1 = 0.9",
        ),
        &[],
    );
    assert_eq!(last_line(&c), ida);
    let bad = env.run(&text, &["--set", "optimizer.lr"]);
    assert_error(&bad, &["--set optimizer.lr", "KEY.PATH=VALUE"]);
}

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
    let a = assay_store::record::read_parquet(&reference.join("metrics.parquet")).unwrap();
    let b = assay_store::record::read_parquet(&other.store().join(&id).join("metrics.parquet"))
        .unwrap();
    assert_eq!(a.height(), b.height());
    assert!(a.equals_missing(&b), "metrics differ:\n{a}\n{b}");
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
fn no_decay_names_roles_and_leaves_the_default_run_id_alone() {
    let env = Env::new();
    let plain = env.run(
        &spec("steps = 3\neval_every = 0", "plugin = \"adamw\""),
        &[],
    );
    let empty = env.run(
        &spec(
            "steps = 3\neval_every = 0",
            "plugin = \"adamw\"\nno_decay = []",
        ),
        &[],
    );
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(last_line(&plain), last_line(&empty));
    let grouped = env.run(
        &spec(
            "steps = 3\neval_every = 0",
            "plugin = \"adamw\"\nweight_decay = 0.5\nno_decay = [\"bias\", \"norm\"]",
        ),
        &[],
    );
    assert!(grouped.status.success(), "{}", stderr(&grouped));
    assert_ne!(last_line(&grouped), last_line(&plain));
    let resolved =
        std::fs::read_to_string(env.store().join(last_line(&grouped)).join("spec.toml")).unwrap();
    assert!(
        resolved.contains("no_decay = [\"bias\", \"norm\"]"),
        "{resolved}"
    );
    let bad = env.run(
        &spec("steps = 3", "plugin = \"adamw\"\nno_decay = [\"bais\"]"),
        &[],
    );
    assert_error(&bad, &["optimizer.no_decay", "did you mean `bias`?"]);
}

#[test]
fn every_choice_typed_key_names_the_closest_valid_value() {
    let env = Env::new();
    for (train, optimizer, model, key, suggestion) in [
        (
            "lr_schedule = \"cosin\"",
            "plugin = \"adam\"",
            "",
            "train.lr_schedule",
            "cosine",
        ),
        (
            "",
            "plugin = \"adopt\"\nclip = \"t^0.5\"",
            "",
            "optimizer.clip",
            "t^0.25",
        ),
        (
            "",
            "plugin = \"adopt\"\nvariant = \"no_reorder\"",
            "",
            "optimizer.variant",
            "no_reordering",
        ),
        (
            "",
            "plugin = \"adam\"",
            "activation = \"tahn\"",
            "model.activation",
            "tanh",
        ),
        (
            "",
            "plugin = \"adam\"",
            "combine = \"summ\"",
            "model.combine",
            "sum",
        ),
        (
            "",
            "plugin = \"adam\"",
            "init = \"pytorh\"",
            "model.init",
            "pytorch",
        ),
    ] {
        let text = spec(&format!("steps = 3\n{train}"), optimizer)
            .replace("hidden = [8]", &format!("hidden = [8]\n{model}"));
        let out = env.run(&text, &[]);
        assert_error(&out, &[key, &format!("did you mean `{suggestion}`?")]);
    }
}

/// The choices the host itself reads (not a plugin's parameters): each misspelt is an error
/// naming the key and the closest valid value.
#[test]
fn every_host_choice_names_the_closest_valid_value() {
    let env = Env::new();
    let online = |precision: &str| {
        format!("name = \"toy\"\n[problem]\nplugin = \"online_convex\"\nprecision = \"{precision}\"\n[optimizer]\nplugin = \"adam\"\n[train]\nsteps = 3\n")
    };
    let pruned = |apply: &str| {
        spec("steps = 3", "plugin = \"adam\"")
            + &format!("\n[prune]\nplugin = \"magnitude\"\nkeep = 0.5\napply = \"{apply}\"\n")
    };
    for (text, key, suggestion) in [
        (online("fp64"), "problem.precision", "f64"),
        (pruned("maks"), "prune.apply", "mask"),
        (pruned("norm_l3"), "prune.apply", "norm_l1"),
        (
            spec("steps = 3", "plugin = \"adamw\"\nno_decay = [\"norms\"]"),
            "optimizer.no_decay",
            "norm",
        ),
        (
            spec(
                "steps = 3\nlr_schedule = \"linear_warmpu\"",
                "plugin = \"adam\"",
            ),
            "train.lr_schedule",
            "linear_warmup",
        ),
    ] {
        let out = env.run(&text, &[]);
        assert_error(&out, &[key, &format!("did you mean `{suggestion}`?")]);
    }
    // The spelt-out values still work, and `apply` defaults to `mask`.
    let out = env.run(&pruned("norm_l2"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_schedule_on_an_optimizer_without_lr_is_a_spec_error() {
    let lib = plugin_library("panicking", "panicking");
    let env = Env::new();
    let registry = write_registry(env.path(), &[(&lib, None)]);
    let text = spec(
        "steps = 3\nlr_schedule = \"cosine\"",
        "plugin = \"panicky\"\npanic_at = 100",
    );
    let p = write_spec(env.path(), "spec.toml", &text);
    let store = env.store();
    let out = run_with_registry(env.path(), &registry, &store, &p);
    assert_error(&out, &["train.lr_schedule", "declares no `lr`"]);
    assert!(!store.exists() || std::fs::read_dir(&store).unwrap().next().is_none());
}

#[test]
fn rough_edges_of_the_command_line() {
    let env = Env::new();
    // A missing spec says its cause once.
    let out = env.assay(&["run", "-q", "nonexistent.toml"]);
    let err = stderr(&out);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    // A bad --set value is reported against --set, not only the file.
    let out = env.run(
        &spec("steps = 3", "plugin = \"adam\""),
        &["--set", "optimizer.lr=fast"],
    );
    assert_error(
        &out,
        &["--set optimizer.lr=fast", "optimizer.lr", "expected float"],
    );
    // JSON to stdout ends with a newline; the same aggregate gives the same digits every time.
    for seed in 0..3 {
        let out = env.run(
            &spec("steps = 20\neval_every = 10", "plugin = \"adam\""),
            &["--set", &format!("seed={seed}")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let sql = "SELECT name, avg(value) AS mean, sum(value) AS total, stddev(value) AS sd FROM metrics GROUP BY name ORDER BY name";
    let first = env.assay(&["query", sql, "--format", "json"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).ends_with('\n'));
    for _ in 0..5 {
        let again = env.assay(&["query", sql, "--format", "json"]);
        assert_eq!(stdout(&again), stdout(&first));
    }
    // A run directory without run.json (killed before writing it) is listed and removable.
    let orphan = env.store().join("tiny-0123456789ab");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("spec.toml"), "name = \"tiny\"\n").unwrap();
    let listed = env.assay(&["runs", "list"]);
    assert!(
        stdout(&listed).contains("tiny-0123456789ab") && stdout(&listed).contains("incomplete"),
        "{}",
        stdout(&listed)
    );
    let removed = env.assay(&["runs", "rm", "tiny-0123456789ab"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(!orphan.exists());
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let env = Env::new();
    let spec_path = write_spec(
        env.path(),
        "sweep.toml",
        &format!(
            "{}\n[sweep]\nseeds = 50\n",
            spec("steps = 3", "plugin = \"adam\"")
        ),
    );
    let mut child = std::process::Command::new(bin())
        .args(["sweep", spec_path.to_str().unwrap(), "--dry-run"])
        .current_dir(env.path())
        .env("ASSAY_STORE", env.store())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    {
        use std::io::BufRead;
        let mut first = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}
