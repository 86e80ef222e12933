//! Language models end to end: a corpus packed for next-token training and a small decoder
//! that learns it.

use crate::common;

use common::*;

/// Sentences in the style of bAbI: a small grammar, so a tiny model learns it in seconds.
fn write_corpus(dir: &std::path::Path) {
    let people = ["Mary", "John", "Sandra", "Daniel"];
    let places = ["kitchen", "garden", "office", "hallway", "bathroom"];
    let verbs = ["went to", "moved to", "travelled to", "journeyed to"];
    std::fs::create_dir_all(dir.join("corpus")).unwrap();
    for doc in 0..24 {
        let mut text = String::new();
        for i in 0..12 {
            let k = doc * 12 + i;
            text.push_str(&format!(
                "{} {} the {}.\n",
                people[k % 4],
                verbs[(k / 4) % 4],
                places[(k * 7) % 5]
            ));
        }
        std::fs::write(dir.join(format!("corpus/story{doc:02}.txt")), text).unwrap();
    }
}

#[test]
fn a_tiny_decoder_learns_a_corpus_beyond_the_untrained_loss() {
    let dir = scratch();
    write_corpus(dir.path());
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "lm.toml",
        r#"
name = "tiny-lm"
seed = 0
[dataset]
plugin = "text_corpus"
paths = ["corpus/*.txt"]
tokenizer = "bytes"
block_size = 32
test_fraction = 0.25
[model]
plugin = "transformer"
n_layers = 2
d_model = 32
n_heads = 4
d_mlp = 64
layer_norm = true
bias = true
activation = "gelu"
[optimizer]
plugin = "adamw"
lr = 3e-3
weight_decay = 0.01
[[probe]]
plugin = "few_shot"
task = "babi1"
shots = 1
examples = 6
at = "end"
[[probe]]
plugin = "few_shot"
task = "fld"
shots = 1
examples = 6
at = "end"
[train]
steps = 150
batch_size = 16
eval_every = 50
log_every = 0
"#,
    );
    let out = run_spec(dir.path(), &store, &spec);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = store.join(last_line(&out));
    let loss = metric(&run, "test/loss");
    let (untrained, trained) = (loss[0].1, loss[loss.len() - 1].1);
    // An untrained model is near uniform over 257 byte tokens: ln 257 = 5.55.
    assert!((untrained - 257f64.ln()).abs() < 0.5, "{untrained}");
    assert!(
        trained < 0.6 * untrained,
        "held-out loss {untrained} -> {trained}"
    );
    let acc = metric(&run, "test/acc");
    assert!(acc[acc.len() - 1].1 > 0.3, "{acc:?}");

    // The few-shot probe scored both tasks: rates in [0, 1], chance from the answer sets, and
    // one table row per example.
    for (task, chance) in [("babi1", 1.0 / 6.0), ("fld", 1.0 / 3.0)] {
        for m in ["exact_match", "format_rate", "mc_accuracy"] {
            let v = metric(&run, &format!("few_shot/{task}/{m}"));
            assert_eq!(v.len(), 1, "{task} {m}");
            assert!((0.0..=1.0).contains(&v[0].1));
        }
        let c = metric(&run, &format!("few_shot/{task}/chance"))[0].1;
        assert!((c - chance).abs() < 1e-9);
    }
    let table = assay_store::record::read_parquet(&run.join("tables/few_shot.parquet")).unwrap();
    assert_eq!(table.height(), 12);

    // The trained run answers prompts; a seed fixes sampling, and the key/value cache changes
    // nothing.
    let id = last_line(&out);
    let generate = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec![
            "--store",
            store.to_str().unwrap(),
            "generate",
            id.as_str(),
            "--prompt",
            "Mary went to the",
            "--prompt",
            "John moved to the",
            "--max-tokens",
            "12",
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = assay_in(dir.path(), &args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let greedy = generate(&[]);
    assert_eq!(greedy.len(), 2);
    assert_eq!(greedy[0]["prompt"], "Mary went to the");
    assert_eq!(greedy[0]["prompt_ids"].as_array().unwrap().len(), 16);
    assert!(greedy[0]["ids"].as_array().unwrap().len() <= 12);
    assert_eq!(generate(&["--no-cache"]), greedy);
    let sampled = generate(&["--temperature", "0.9", "--top-p", "0.95", "--seed", "7"]);
    assert_eq!(
        generate(&[
            "--temperature",
            "0.9",
            "--top-p",
            "0.95",
            "--seed",
            "7",
            "--no-cache"
        ]),
        sampled
    );
    let stopped = generate(&["--stop", "."]);
    for g in &stopped {
        assert!(!g["text"].as_str().unwrap().contains('.'), "{g}");
    }
}

#[test]
fn corpus_errors_name_the_parameter_and_the_pattern() {
    let dir = scratch();
    let spec = write_spec(
        dir.path(),
        "bad.toml",
        "[dataset]\nplugin = \"text_corpus\"\npaths = [\"nowhere/*.py\"]\n[model]\nplugin = \"transformer\"\n[optimizer]\nplugin = \"adam\"\n",
    );
    let out = run_spec(dir.path(), &dir.path().join("s"), &spec);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("paths") && err.contains("nowhere/*.py"),
        "{err}"
    );
}

/// A mock server answering every chat completion with " yes" and refusing every other path;
/// returns its base URL and the requests it saw.
fn mock_openai() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    mock_server(|_n, head, _body| {
        if head.starts_with("POST /v1/chat/completions") {
            (
                "200 OK",
                r#"{"choices":[{"message":{"role":"assistant","content":" yes\n"}}]}"#.to_string(),
            )
        } else {
            (
                "404 Not Found",
                r#"{"error":"no completions here"}"#.to_string(),
            )
        }
    })
}

#[test]
fn an_openai_compatible_backend_is_evaluated_and_its_key_is_never_stored() {
    let dir = scratch();
    write_corpus(dir.path());
    let (url, seen) = mock_openai();
    let spec = write_spec(
        dir.path(),
        "api.toml",
        r#"
[dataset]
plugin = "text_corpus"
paths = ["corpus/*.txt"]
block_size = 16
[model]
plugin = "transformer"
d_model = 16
d_mlp = 32
[optimizer]
plugin = "adam"
[[probe]]
plugin = "few_shot"
task = "babi6"
shots = 1
examples = 10
backend = "openai"
openai_model = "test-model"
[train]
steps = 0
"#,
    );
    let store = dir.path().join("store");
    let secret = "sk-test-SECRET-31337";
    let out = std::process::Command::new(bin())
        .args([
            "--store",
            store.to_str().unwrap(),
            "run",
            spec.to_str().unwrap(),
        ])
        .current_dir(dir.path())
        .env("OPENAI_BASE_URL", &url)
        .env("OPENAI_API_KEY", secret)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = seen.lock().unwrap().clone();
    let chats: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("POST /v1/chat/completions"))
        .collect();
    assert_eq!(chats.len(), 10);
    assert!(chats[0].contains(&format!("Bearer {secret}")));
    assert!(chats[0].contains("\"model\":\"test-model\""));
    // The API always says "yes": exact match is the share of yes answers, every answer is in
    // the format, and without log-probabilities there is no multiple-choice score.
    let run = store.join(last_line(&out));
    assert_eq!(metric(&run, "few_shot/babi6/format_rate")[0].1, 1.0);
    assert!(metric(&run, "few_shot/babi6/mc_accuracy").is_empty());
    let yes = metric(&run, "few_shot/babi6/exact_match")[0].1;
    assert!(yes > 0.0 && yes < 1.0, "{yes}");
    // The key is nowhere in the run directory, nor in what the run printed.
    let mut stack = vec![run.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} holds the key",
                    p.display()
                );
            }
        }
    }
    assert!(!stderr(&out).contains(secret) && !stdout(&out).contains(secret));
}
