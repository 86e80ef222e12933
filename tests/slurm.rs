//! Sweeps on Slurm, end to end, on the single-node cluster `.ci/slurm-up.sh` starts (a test
//! fails with the daemons' logs when it cannot): preemption, requeue and resume; the same results
//! as the local backend.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::sweep::*;
use common::*;

/// Starts the one-node cluster (or finds it running) and returns its SLURM_CONF. Fails with the
/// daemons' logs when it cannot start: this test never passes silently.
fn slurm_cluster() -> String {
    static CONF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CONF.get_or_init(|| {
        let up = Command::new("bash")
            .arg(workspace().join(".ci/slurm-up.sh"))
            .output()
            .expect("running .ci/slurm-up.sh");
        assert!(
            up.status.success(),
            "the Slurm cluster could not start; daemons' logs:\n{}",
            String::from_utf8_lossy(&up.stderr)
        );
        String::from_utf8_lossy(&up.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()
    })
    .clone()
}

/// Waits until the sweep submitted into `store` has `done` finished entries and none failed
/// (failing with the status, the queue and the task logs after 240 s); returns its manifest.
fn wait_for_sweep(conf: &str, slurm_store: &Path, done: usize) -> std::path::PathBuf {
    let manifest = slurm_store
        .join("sweeps")
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    loop {
        let st = Command::new(bin())
            .args([
                "--store",
                slurm_store.to_str().unwrap(),
                "sweep",
                "status",
                manifest.to_str().unwrap(),
            ])
            .env("SLURM_CONF", conf)
            .output()
            .unwrap();
        let text = stdout(&st);
        if text.contains(&format!("done {done} / running 0 / failed 0 / pending 0")) {
            break;
        }
        assert!(
            !text.contains("failed 1") && !text.contains("failed 2"),
            "{text}"
        );
        if std::time::Instant::now() > deadline {
            let logs: String = std::fs::read_dir(manifest.with_extension("").join("logs"))
                .map(|rd| {
                    rd.flatten()
                        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            panic!(
                "the Slurm sweep did not finish in time:\n{text}\nsqueue: {:?}\nlogs:\n{logs}",
                Command::new("squeue")
                    .env("SLURM_CONF", conf)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    manifest
}

/// Submits the sweep `spec` into `store` on the Slurm cluster of `conf` with `extra` flags;
/// returns the output (its last line is the job id).
fn submit(conf: &str, store: &Path, spec: &Path, extra: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .args([
            "--store",
            store.to_str().unwrap(),
            "sweep",
            spec.to_str().unwrap(),
        ])
        .args(["--backend", "slurm"])
        .args(extra)
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

fn slurm(conf: &str, args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_preempted_slurm_task_checkpoints_requeues_and_resumes() {
    let conf = slurm_cluster();
    let dir = scratch();
    let spec = write_spec(
        dir.path(),
        "sweep.toml",
        &base("[sweep]\nseeds = [5]\n")
            .replace("steps = 30", "steps = 20000")
            .replace(
                "eval_every = 10",
                "eval_every = 5000\ncheckpoint_every = 500",
            ),
    );
    let store = dir.path().join("store");
    let submit = submit(&conf, &store, &spec, &[]);
    let job = last_line(&submit);
    let manifest = store
        .join("sweeps")
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let id = manifest_ids(&manifest).remove(0);
    let record = || -> serde_json::Value {
        std::fs::read_to_string(store.join(&id).join("run.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    };
    let wait = |what: &str, done: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !done(&record()) {
            assert!(
                std::time::Instant::now() < deadline,
                "waited too long for {what}: {:?}\n{}\n{}\ntask log:\n{}",
                record(),
                slurm(&conf, &["squeue"]),
                slurm(&conf, &["scontrol", "show", "job", &job]),
                std::fs::read_to_string(manifest.with_extension("").join("logs/0.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait("the task to start", &|r| {
        r["status"] == "running" && r["steps_done"].as_u64().unwrap_or(0) > 0
    });
    // What Slurm sends before a time limit or a preemption: SIGTERM to the batch step.
    slurm(
        &conf,
        &["scancel", "--signal=TERM", "--batch", &format!("{job}_0")],
    );
    wait("the checkpoint", &|r| r["status"] == "interrupted");
    let stopped_at = record()["steps_done"].as_u64().unwrap();
    assert!(store
        .join(&id)
        .join(format!("checkpoints/step-{stopped_at:09}.safetensors"))
        .exists());
    // Slurm holds a requeued task for two minutes; let it start now.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !slurm(&conf, &["squeue", "-h", "-r", "-j", &job, "-o", "%T %r"]).contains("BeginTime") {
        assert!(
            std::time::Instant::now() < deadline,
            "the task did not requeue itself: {}",
            slurm(&conf, &["squeue"])
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // slurmd revokes the killed task's credentials at a time with one-second resolution, and a
    // credential made within that same second counts as revoked ("Job credential revoked"): let
    // the second pass before starting the task again.
    std::thread::sleep(std::time::Duration::from_millis(2000));
    slurm(
        &conf,
        &[
            "scontrol",
            "update",
            &format!("JobId={job}_0"),
            "StartTime=now",
        ],
    );
    wait("the resumed task to finish", &|r| {
        r["status"] == "completed"
    });
    let rec = record();
    assert_eq!(rec["resumed"], 1);
    assert!(stopped_at < 20000, "stopped mid-run at {stopped_at}");
    let steps: Vec<u64> = common::metric(&store.join(&id), "train/batch_loss")
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(steps, (1..=20000).collect::<Vec<_>>());
    // And the result equals an uninterrupted local run.
    let local_store = dir.path().join("local");
    let local = assay_store(
        dir.path(),
        &local_store,
        &["sweep", spec.to_str().unwrap(), "-q"],
    );
    assert!(local.status.success(), "{}", stderr(&local));
    assert_eq!(
        final_values(&store, std::slice::from_ref(&id), "test/loss"),
        final_values(&local_store, &[id], "test/loss")
    );
}

#[test]
fn a_slurm_sweep_matches_the_local_one() {
    let conf = slurm_cluster();
    let dir = scratch();
    let spec = write_spec(
        dir.path(),
        "sweep.toml",
        &base("[sweep]\nseeds = 2\ngrid = { \"optimizer.lr\" = [0.01, 0.03] }\n"),
    );
    let slurm_store = dir.path().join("slurm-store");
    let submit = submit(
        &conf,
        &slurm_store,
        &spec,
        &["--array-parallelism", "2", "--time", "00:10:00"],
    );
    let job = last_line(&submit);
    assert!(
        job.parse::<u64>().is_ok(),
        "sbatch returned a job id: {job}"
    );
    let manifest = wait_for_sweep(&conf, &slurm_store, 4);
    let local_store = dir.path().join("local-store");
    let local = assay_store(
        dir.path(),
        &local_store,
        &["sweep", spec.to_str().unwrap(), "--jobs", "2", "-q"],
    );
    assert!(local.status.success(), "{}", stderr(&local));
    let ids = manifest_ids(&manifest);
    assert_eq!(ids, manifest_ids(Path::new(&last_line(&local))));
    for metric in ["test/loss", "train/batch_loss"] {
        assert_eq!(
            final_values(&slurm_store, &ids, metric),
            final_values(&local_store, &ids, metric),
            "{metric}"
        );
    }
}

#[test]
fn an_episode_sweep_runs_on_slurm_as_locally_and_reports() {
    let conf = slurm_cluster();
    let dir = scratch();
    let spec = write_spec(
        dir.path(),
        "match.toml",
        "name = \"slurm-match\"\n[environment]\nplugin = \"leduc_holdem\"\n[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"leduc_rule_v1\"\n[episodes]\ncount = 40\nduplicate = true\n[sweep]\nseeds = 2\n",
    );
    let slurm_store = dir.path().join("slurm-store");
    submit(&conf, &slurm_store, &spec, &["--time", "00:10:00"]);
    let manifest = wait_for_sweep(&conf, &slurm_store, 2);
    let local_store = dir.path().join("local-store");
    let local = assay_store(
        dir.path(),
        &local_store,
        &["sweep", spec.to_str().unwrap(), "--jobs", "2", "-q"],
    );
    assert!(local.status.success(), "{}", stderr(&local));
    let results = |store: &Path| {
        let o = assay_store(
            dir.path(),
            store,
            &[
                "query",
                "SELECT run_id, agent, mean_return, se FROM agent_results ORDER BY run_id, agent",
                "--format",
                "csv",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(results(&slurm_store), results(&local_store));
    // The report of an episode sweep: the running mean return per agent, grouped over seeds.
    let report_dir = dir.path().join("report");
    let report = assay_store(
        dir.path(),
        &slurm_store,
        &[
            "report",
            manifest.to_str().unwrap(),
            "--out",
            report_dir.to_str().unwrap(),
            "--metric",
            "return/1:leduc_rule_v1",
            "--by",
            "agent.1.plugin",
        ],
    );
    assert!(report.status.success(), "{}", stderr(&report));
    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(md.contains("return/1:leduc_rule_v1"), "{md}");
}
