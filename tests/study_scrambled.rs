//! Study 7 (Scrambled Bench) in the default suite: a reduced `experiments/scrambled.toml` (a tiny
//! decoder trained for a few steps, fewer questions for it) must give the notes' exact and
//! threshold results (identity 0, oracle 100, anagram solver >= 90 on RS-100%, canonical reader
//! RPG >= 0.9 and raw reader <= 0.3 on RS-100%) and the README's table; the OpenAI-compatible
//! recoverer is run against a local mock server, including a server that answers garbage, none
//! at all, and one that goes away midway.

use crate::common;

use std::sync::{Arc, Mutex};

use common::*;

/// The overrides that shrink the study to seconds.
const REDUCED: &[&str] = &[
    "dataset.train_examples=2000",
    "model.n_layers=1",
    "model.d_model=32",
    "model.d_mlp=64",
    "train.steps=30",
    "train.warmup_steps=5",
    "train.eval_every=0",
    "train.eval_max_examples=64",
    "probe.3.limit=20",
    "probe.7.items=10",
];

fn query(dir: &std::path::Path, store: &str, sql: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["--store", store, "query"];
    args.extend_from_slice(sql);
    args.extend(["--format", "json"]);
    let o = assay_in(dir, &args);
    assert!(o.status.success(), "{sql:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn a_reduced_study_reproduces_the_notes_exact_and_threshold_results() {
    let dir = scratch();
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap().to_string();
    let spec = workspace().join("experiments/scrambled.toml");
    let spec = spec.to_str().unwrap();
    let mut args = vec!["--store", &store_arg, "sweep", spec, "--jobs", "1", "-q"];
    for s in REDUCED {
        args.extend(["--set", s]);
    }
    let out = assay_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));

    let rr = query(
        dir.path(),
        &store_arg,
        &["SELECT recoverer, condition, sentences, rr, complete FROM scramble_recovery"],
    );
    assert_eq!(rr.len(), 4 * 5, "{rr:?}");
    for r in &rr {
        assert_eq!(r["complete"], true, "{r}");
        let value = r["rr"].as_f64().unwrap();
        match r["recoverer"].as_str().unwrap() {
            "identity" => assert_eq!(value, 0.0, "{r}"),
            "oracle" => assert_eq!(value, 100.0, "{r}"),
            "anagram" => assert!(value >= 90.0, "{r}"),
            "decoder" => {
                assert!(value.is_finite() && value <= 100.0, "{r}");
                assert_eq!(r["sentences"], 20);
            }
            other => panic!("unexpected recoverer {other}"),
        }
    }
    let rpg = |reader: &str, condition: &str| -> f64 {
        query(
            dir.path(),
            &store_arg,
            &[&format!(
                "SELECT rpg FROM scrambled_qa WHERE reader = '{reader}' AND condition = '{condition}'"
            )],
        )[0]["rpg"]
            .as_f64()
            .unwrap()
    };
    assert!(rpg("canonical", "RS-100%") >= 0.9);
    assert!(rpg("raw", "RS-100%") <= 0.3);
    assert!(rpg("anagram", "RS-100%") >= 0.9);

    // The README's table: four RR rows, four accuracy rows, four RPG rows.
    let sql = workspace().join("experiments/scrambled.sql");
    let table = query(dir.path(), &store_arg, &["--file", sql.to_str().unwrap()]);
    let keys: Vec<String> = table
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["measure"].as_str().unwrap(),
                r["method"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            "RR/identity",
            "RR/anagram",
            "RR/decoder",
            "RR/oracle",
            "acc/raw",
            "acc/canonical",
            "acc/anagram",
            "acc/decoder",
            "RPG/raw",
            "RPG/canonical",
            "RPG/anagram",
            "RPG/decoder",
        ]
    );
    assert_eq!(table[0]["RS-100%"].as_f64(), Some(0.0));
    assert_eq!(table[3]["KFL"].as_f64(), Some(100.0));
}

/// What the mock server does with the n-th chat request (from 0).
#[derive(Clone, Copy)]
enum Reply {
    /// Sends the scrambled sentence of the prompt back, with a trailing example to cut off.
    Echo,
    /// Answers with a body that is not JSON.
    Garbage,
}

/// A mock OpenAI-compatible server: the first `good` chat requests get `Reply::Echo`, later ones
/// `after`. Returns its base URL and the requests it saw.
fn mock(good: usize, after: Reply) -> (String, Arc<Mutex<Vec<String>>>) {
    mock_server(move |n, _head, body| {
        let reply = if n < good { Reply::Echo } else { after };
        let text = match reply {
            Reply::Echo => {
                let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
                let prompt = v["messages"][0]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let scrambled = prompt
                    .rsplit("Scrambled sentence: ")
                    .next()
                    .and_then(|s| s.split("\nRecovered sentence:").next())
                    .unwrap_or("")
                    .to_string();
                serde_json::json!({"choices": [{"message": {"role": "assistant",
                    "content": format!(" {scrambled}\nScrambled sentence: more")}}]})
                .to_string()
            }
            Reply::Garbage => "{\"choices\": [ not json".to_string(),
        };
        ("200 OK", text)
    })
}

/// A spec whose only work is the OpenAI-compatible recoverer on `sentences` sentences, KF only.
fn api_spec(steps: u64, every: &str, sentences: usize) -> String {
    format!(
        r#"
name = "scrambled-api"
[dataset]
plugin = "scrambled_text"
train_examples = 100
[model]
plugin = "transformer"
d_model = 16
d_mlp = 32
[optimizer]
plugin = "adam"
[[probe]]
plugin = "scramble_recovery"
{every}
recoverer = "model"
label = "api"
backend = "openai"
openai_model = "test-model"
prompt = "zero_shot"
scramblers = ["keep_first"]
limit = {sentences}
[train]
steps = {steps}
checkpoint_every = 1
eval_every = 0
eval_max_examples = 16
"#
    )
}

/// `assay run` of `spec` in `dir` against the API at `url`, with a key in the environment.
fn run_api(dir: &std::path::Path, spec: &str, url: &str, key: &str) -> std::process::Output {
    let path = write_spec(dir, "api.toml", spec);
    std::process::Command::new(bin())
        .args([
            "--store",
            dir.join("store").to_str().unwrap(),
            "run",
            "-q",
            path.to_str().unwrap(),
        ])
        .current_dir(dir)
        .env_remove("ASSAY_STORE")
        .env_remove("ASSAY_REGISTRY")
        .env("OPENAI_BASE_URL", url)
        .env("OPENAI_API_KEY", key)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap()
}

/// Whether any file under `dir` holds `needle`.
fn stored_anywhere(dir: &std::path::Path, needle: &str) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                return true;
            }
        }
    }
    false
}

#[test]
fn the_openai_recoverer_sends_the_papers_prompt_and_never_stores_the_key() {
    let dir = scratch();
    let (url, seen) = mock(usize::MAX, Reply::Echo);
    let secret = "sk-test-SCRAMBLED-4242";
    let out = run_api(dir.path(), &api_spec(0, "at = \"end\"", 6), &url, secret);
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 6, "one request per sentence");
    for r in &requests {
        assert!(r.starts_with("POST /v1/chat/completions"), "{r}");
        assert!(r.contains(&format!("Bearer {secret}")));
        assert!(r.contains("\"model\":\"test-model\""));
        assert!(
            !r.contains("\"stop\""),
            "no stop sequence, as the paper: {r}"
        );
        assert!(r.contains(
            "The following sentence contains words with scrambled letters. Please recover the \
             original sentence from it.\\nScrambled sentence: "
        ));
    }
    // The server hands back the scrambled sentence: recovered = scrambled, RR exactly 0.
    let run = dir.path().join("store").join(last_line(&out));
    assert_eq!(metric(&run, "scramble/api/rr/keep_first"), vec![(0, 0.0)]);
    assert!(!stored_anywhere(&dir.path().join("store"), secret));
    assert!(!stderr(&out).contains(secret) && !stdout(&out).contains(secret));
}

#[test]
fn an_unreachable_or_garbled_backend_is_one_error_naming_probe_and_key() {
    let (url, _) = mock(0, Reply::Garbage);
    // Each case in a store of its own (a failed run would otherwise be asked to resume).
    let run = |spec: &str, url: &str| run_api(scratch().path(), spec, url, "k");
    let spec = api_spec(0, "at = \"end\"", 3);
    let out = run(&spec, &url);
    assert_error(
        &out,
        &["scramble_recovery", "`backend`", "openai:test-model"],
    );
    let out = run(&spec, "http://127.0.0.1:1/v1");
    assert_error(&out, &["scramble_recovery", "`backend`", "127.0.0.1:1"]);
    let bad = spec.replace("[\"keep_first\"]", "[\"sorted\"]");
    assert_error(
        &run(&bad, &url),
        &["scramble_recovery", "`scramblers`", "sorted"],
    );
    let bad = spec.replace("limit = 3", "limit = 3\nrates = [1.5]");
    assert_error(&run(&bad, &url), &["scramble_recovery", "`rates`", "1.5"]);
}

#[test]
fn a_backend_lost_midway_stops_the_run_with_its_metrics_so_far_kept() {
    let dir = scratch();
    // Steps 0 and 1 ask 5 sentences each; the server answers 7 and then garbles.
    let (url, seen) = mock(7, Reply::Garbage);
    let out = run_api(dir.path(), &api_spec(3, "every = 1", 5), &url, "k");
    assert_error(
        &out,
        &["scramble_recovery", "`backend`", "lost", "after 2 of 5"],
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        8,
        "no request after the failure"
    );
    let store = dir.path().join("store");
    let run = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("run.json").exists())
        .unwrap();
    assert_eq!(metric(&run, "scramble/api/rr/keep_first"), vec![(0, 0.0)]);
    assert_eq!(metric(&run, "scramble/api/backend_lost"), vec![(1, 1.0)]);
    assert_eq!(metric(&run, "scramble/api/recovered"), vec![(1, 2.0)]);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "failed", "{record}");
}

#[test]
fn a_hugging_face_checkpoint_recovers_through_the_papers_few_shot_prompt() {
    let dir = scratch();
    let home = dir.path().join("hf-home");
    assay_nets::hf::install_into_cache(
        &home.join("hub"),
        "assay-tests/tiny-llama",
        "main",
        &workspace().join("tests/reference/hf/tiny-llama"),
    )
    .unwrap();
    // Short sentences: the tiny checkpoint has 64 positions (longer prompts slide its window).
    std::fs::write(
        dir.path().join("short.txt"),
        "The cat sat down.\nDogs bark at night.\nRead the manual.\nOpen the window.\nBirds sing early.\n",
    )
    .unwrap();
    let spec = write_spec(
        dir.path(),
        "hf.toml",
        r#"
name = "scrambled-hf"
[dataset]
plugin = "scrambled_text"
path = "short.txt"
test_fraction = 0.6
train_examples = 10
[model]
plugin = "hf:assay-tests/tiny-llama"
[optimizer]
plugin = "adamw"
[[probe]]
plugin = "scramble_recovery"
recoverer = "model"
prompt = "few_shot"
scramblers = ["keep_first_last"]
limit = 3
max_tokens = 6
[train]
steps = 0
eval_max_examples = 8
"#,
    );
    let store = dir.path().join("store");
    let out = std::process::Command::new(bin())
        .args(["--store", store.to_str().unwrap(), "run", "-q"])
        .arg(&spec)
        .current_dir(dir.path())
        .env_remove("ASSAY_STORE")
        .env_remove("ASSAY_REGISTRY")
        .env("HF_HOME", &home)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // A random tiny model: its answers are noise, but three sentences were asked and scored.
    let run = store.join(last_line(&out));
    let rr = metric(&run, "scramble/local/rr/keep_first_last");
    assert_eq!(rr.len(), 1);
    assert!(rr[0].1.is_finite() && rr[0].1 <= 100.0, "{rr:?}");
}
