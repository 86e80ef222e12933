//! Study 10 (Suspicion-Agent) in the default suite: reduced versions of the three experiments,
//! checked against the notes' criteria where a reduced run can check them, and the language agent
//! on a scripted backend and on a mock OpenAI-compatible server (legal actions only, every
//! module's exchange stored, malformed replies recovered, a lost server a recorded fault).

use crate::common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;

fn experiment(name: &str) -> String {
    workspace()
        .join("experiments")
        .join(name)
        .display()
        .to_string()
}

fn sweep(dir: &Path, store: &str, spec: &str, sets: &[&str]) {
    let mut args = vec!["--store", store, "sweep", spec, "--jobs", "1", "-q"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = assay_in(dir, &args);
    assert!(out.status.success(), "{spec}: {}", stderr(&out));
}

fn query_file(dir: &Path, store: &str, sql: &str) -> Vec<serde_json::Value> {
    let o = assay_in(
        dir,
        &[
            "--store",
            store,
            "query",
            "--file",
            &experiment(sql),
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn query(dir: &Path, store: &str, sql: &str) -> Vec<serde_json::Value> {
    let o = assay_in(dir, &["--store", store, "query", sql, "--format", "json"]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn the_cfr_curves_and_the_round_robin_meet_the_notes_criteria() {
    let dir = scratch();
    let store = dir.path().join("store").display().to_string();
    // The notes' 2,000 iterations, evaluated every 100.
    sweep(
        dir.path(),
        &store,
        &experiment("leduc-cfr.toml"),
        &["train.eval_every=100"],
    );
    let curves = query_file(dir.path(), &store, "leduc-cfr.sql");
    assert_eq!(curves.len(), 4, "{curves:?}");
    let row = |alg: &str, keying: &str| {
        curves
            .iter()
            .find(|r| r["algorithm"] == alg && r["keying"] == keying)
            .unwrap_or_else(|| panic!("no {alg}/{keying} in {curves:?}"))
            .clone()
    };
    for alg in ["cfr", "cfr_plus"] {
        let r = row(alg, "full_history");
        // Below the notes' bound after 2,000 iterations, falling from checkpoint to checkpoint
        // (between them the average policy's exploitability may rise now and then: vanilla CFR
        // rises at 24 of the 100 evaluations every 20 iterations).
        let at = ["after_100", "after_500", "after_1000", "after_2000"].map(|k| f(&r, k));
        assert!(at.windows(2).all(|w| w[1] < w[0]), "{r}");
        assert!(at[3] < 0.05, "{r}");
    }
    // rlcard's imperfect recall stays far more exploitable than full history.
    let obs = row("chance_sampling", "obs");
    assert!(
        f(&obs, "after_100") > 3.0 * f(&row("cfr", "full_history"), "after_100"),
        "{obs}"
    );
    assert!(f(&obs, "after_2000") > 0.2, "{obs}");

    // The round robin, 400 hands (200 duplicate deals) per pairing.
    sweep(
        dir.path(),
        &store,
        &experiment("leduc.toml"),
        &["episodes.count=400"],
    );
    let table = query_file(dir.path(), &store, "leduc.sql");
    assert_eq!(table.len(), 11, "{table:?}");
    let pairing = |a: &str, b: &str| {
        table
            .iter()
            .find(|r| r["agent"] == a && r["opponent"] == b)
            .unwrap_or_else(|| panic!("no {a} vs {b} in {table:?}"))
            .clone()
    };
    // CFR beats random by more than half a chip per hand; CFR against itself is even.
    let vs_random = pairing("cfr-converged", "random");
    assert!(f(&vs_random, "chips_per_hand") > 0.5, "{vs_random}");
    let selfplay = pairing("cfr-converged", "cfr-converged");
    assert!(
        f(&selfplay, "ci95_lo") <= 0.0 && f(&selfplay, "ci95_hi") >= 0.0,
        "{selfplay}"
    );
    for r in &table {
        assert_eq!(f(r, "deals"), 200.0, "{r}");
    }
}

/// A mock OpenAI-compatible server: the decision prompt gets `raise | ...`, every other prompt a
/// short note; after `good` requests it answers garbage JSON.
fn mock_openai(good: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    mock_server(move |n, _head, body| {
        if n >= good {
            return ("200 OK", "{not json".to_string());
        }
        let content = if body.contains("ACTION |") {
            "raise | You should fold now."
        } else {
            "Noted."
        };
        let reply = serde_json::json!({"choices": [{"message": {"role": "assistant", "content": content}}]});
        ("200 OK", reply.to_string())
    })
}

#[test]
fn the_language_agent_plays_legally_and_stores_every_exchange() {
    let dir = scratch();
    let store = dir.path().join("store").display().to_string();
    // Scripted: every decision reply is `call | ...`; when calling is not legal the agent
    // re-prompts and falls back to a legal action.
    sweep(
        dir.path(),
        &store,
        &experiment("leduc-suspicion.toml"),
        &["episodes.count=6"],
    );
    let rows = query_file(dir.path(), &store, "leduc-suspicion.sql");
    assert_eq!(rows.len(), 3, "{rows:?}");
    for r in &rows {
        assert_eq!(f(r, "faults"), 0.0, "{r}");
        assert_eq!(f(r, "hands"), 6.0, "{r}");
        assert!(
            f(r, "fallbacks") > 0.0 && f(r, "retries") >= 2.0 * f(r, "fallbacks"),
            "{r}"
        );
    }
    let modules = query(
        dir.path(),
        &store,
        "SELECT r.\"agent.0.mode\" AS mode, x.module, count(*) AS n FROM agent_exchanges x JOIN runs r ON x.run_id = r.id WHERE r.run_name = 'leduc-suspicion' GROUP BY mode, x.module ORDER BY mode, x.module",
    );
    let has = |mode: &str, module: &str| {
        modules
            .iter()
            .any(|m| m["mode"] == mode && m["module"] == module)
    };
    for mode in ["normal", "first_tom", "second_tom"] {
        for module in ["observation", "short_memory", "plan", "decision", "summary"] {
            assert!(has(mode, module), "{mode}: no {module} in {modules:?}");
        }
        let tom = mode != "normal";
        assert_eq!(has(mode, "pattern"), tom, "{mode}");
        assert_eq!(has(mode, "belief"), tom, "{mode}");
    }
    // The second-order prompts ask about the opponent's view of us; every agent step is legal.
    let second = query(
        dir.path(),
        &store,
        "SELECT x.prompt FROM agent_exchanges x JOIN runs r ON x.run_id = r.id WHERE r.\"agent.0.mode\" = 'second_tom' AND x.module = 'belief' LIMIT 1",
    );
    assert!(second[0]["prompt"]
        .as_str()
        .unwrap()
        .contains("belief about MY card"));
    let illegal = query(
        dir.path(),
        &store,
        "SELECT count(*) AS n FROM episodes WHERE fault IS NOT NULL",
    );
    assert_eq!(f(&illegal[0], "n"), 0.0);

    // An OpenAI-compatible server: the decisions follow its replies (raise, when legal), the
    // key is sent but never stored; when the server starts answering garbage the agent's
    // decision is a recorded fault, the seat forfeits and the run completes.
    let (url, seen) = mock_openai(60);
    let spec = write_spec(
        dir.path(),
        "api.toml",
        r#"
name = "leduc-api"
[environment]
plugin = "leduc_holdem"
[[agent]]
plugin = "suspicion"
backend = "openai"
openai_model = "mock-model"
mode = "first_tom"
[[agent]]
plugin = "leduc_rule_v1"
[episodes]
count = 8
"#,
    );
    let out = std::process::Command::new(bin())
        .args(["--store", &store, "run", "-q", spec.to_str().unwrap()])
        .current_dir(dir.path())
        .env("OPENAI_BASE_URL", &url)
        .env("OPENAI_API_KEY", "sk-test-secret-123")
        .env_remove("ASSAY_STORE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let id = last_line(&out);
    assert!(seen.lock().unwrap()[0].contains("Bearer sk-test-secret-123"));
    let actions = query(
        dir.path(),
        &store,
        &format!("SELECT action, legal_actions, fault FROM episodes WHERE run_id = '{id}' AND agent = '0:suspicion' ORDER BY episode, t"),
    );
    assert!(actions
        .iter()
        .any(|a| a["fault"].is_null() && a["action"] == "raise"));
    let faults: Vec<_> = actions.iter().filter(|a| !a["fault"].is_null()).collect();
    assert!(!faults.is_empty(), "the garbage replies were not faults");
    assert!(faults.iter().all(|a| {
        let fault = a["fault"].as_str().unwrap();
        fault.contains("agent `suspicion`, module `")
            && fault.contains("openai:mock-model")
            && a["action"] == "forfeit"
    }));
    let recorded = query(
        dir.path(),
        &store,
        &format!(
            "SELECT phase, count(*) AS n FROM agent_faults WHERE run_id = '{id}' GROUP BY phase"
        ),
    );
    let acts = recorded
        .iter()
        .find(|r| r["phase"] == "act")
        .map_or(0.0, |r| f(r, "n"));
    assert_eq!(acts, faults.len() as f64, "{recorded:?}");
    let secret = std::process::Command::new("grep")
        .args(["-rl", "sk-test-secret-123", &store])
        .output()
        .unwrap();
    assert!(
        stdout(&secret).trim().is_empty(),
        "the key is in {}",
        stdout(&secret)
    );
}

#[test]
fn the_language_agent_runs_on_a_hugging_face_checkpoint() {
    let dir = scratch();
    let home = dir.path().join("hf-home");
    assay_nets::hf::install_into_cache(
        &home.join("hub"),
        "assay-tests/tiny-gpt2",
        "main",
        &workspace().join("tests/reference/hf/tiny-gpt2"),
    )
    .unwrap();
    let spec = write_spec(
        dir.path(),
        "hf.toml",
        r#"
name = "leduc-hf"
[environment]
plugin = "leduc_holdem"
[[agent]]
plugin = "suspicion"
backend = "hf"
hf_model = "assay-tests/tiny-gpt2"
mode = "normal"
max_tokens = 8
retries = 1
[[agent]]
plugin = "random"
[episodes]
count = 2
"#,
    );
    let store = dir.path().join("store");
    let out = assay_offline(
        dir.path(),
        &home,
        &[
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            spec.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let store = store.display().to_string();
    // A tiny random checkpoint rarely names an action: decisions are re-prompted and fall back
    // to a legal action; nothing faults, and the model's replies are stored.
    let x = query(
        dir.path(),
        &store,
        "SELECT module, count(*) AS n FROM agent_exchanges GROUP BY module ORDER BY module",
    );
    let n = |m: &str| {
        x.iter()
            .find(|r| r["module"] == m)
            .map_or(0.0, |r| f(r, "n"))
    };
    assert!(n("decision") > 0.0 && n("decision_retry") > 0.0, "{x:?}");
    assert_eq!(n("summary"), 2.0, "{x:?}");
    let faults = query(
        dir.path(),
        &store,
        "SELECT count(*) AS n FROM episodes WHERE fault IS NOT NULL",
    );
    assert_eq!(f(&faults[0], "n"), 0.0);
}

#[test]
fn the_language_agent_plays_with_the_decoder_a_run_trained() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("corpus")).unwrap();
    for doc in 0..8 {
        let lines: Vec<&str> = (0..40)
            .map(|i| {
                if (i + doc) % 3 == 0 {
                    "raise | I raise."
                } else {
                    "call | I call."
                }
            })
            .collect();
        std::fs::write(
            dir.path().join(format!("corpus/{doc}.txt")),
            lines.join("\n"),
        )
        .unwrap();
    }
    write_spec(
        dir.path(),
        "lm.toml",
        r#"
name = "poker-lm"
[dataset]
plugin = "text_corpus"
paths = ["corpus/*.txt"]
tokenizer = "bytes"
block_size = 32
test_fraction = 0.25
[model]
plugin = "transformer"
n_layers = 1
d_model = 32
n_heads = 4
d_mlp = 64
layer_norm = true
[optimizer]
plugin = "adam"
lr = 3e-3
[train]
steps = 60
batch_size = 16
"#,
    );
    let spec = write_spec(
        dir.path(),
        "play.toml",
        r#"
name = "leduc-run-model"
[environment]
plugin = "leduc_holdem"
[[agent]]
plugin = "suspicion"
backend = "run"
from = "lm.toml"
mode = "normal"
max_tokens = 12
retries = 1
[[agent]]
plugin = "leduc_rule_v1"
[episodes]
count = 2
"#,
    );
    let store = dir.path().join("store");
    let out = run_spec(dir.path(), &store, &spec);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = store.display().to_string();
    let runs = query(
        dir.path(),
        &store,
        "SELECT run_name FROM runs ORDER BY run_name",
    );
    assert_eq!(
        runs.len(),
        2,
        "the decoder's run was computed first: {runs:?}"
    );
    let decisions = query(
        dir.path(),
        &store,
        "SELECT count(*) AS n FROM agent_exchanges WHERE module = 'decision'",
    );
    assert!(f(&decisions[0], "n") > 0.0);
    let faults = query(
        dir.path(),
        &store,
        "SELECT count(*) AS n FROM episodes WHERE fault IS NOT NULL",
    );
    assert_eq!(f(&faults[0], "n"), 0.0);

    // Backend `run` without a run that trained a model says what it needs.
    let bad = write_spec(
        dir.path(),
        "bad.toml",
        "name = \"bad\"\n[environment]\nplugin = \"leduc_holdem\"\n[[agent]]\nplugin = \"suspicion\"\nbackend = \"run\"\n[[agent]]\nplugin = \"random\"\n",
    );
    let out = run_spec(dir.path(), dir.path().join("store").as_path(), &bad);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("backend = \"run\""),
        "{}",
        stderr(&out)
    );
}
