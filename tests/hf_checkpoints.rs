//! Hugging Face checkpoints through the real cache layout, offline: tiny random GPT-2 and Llama
//! models made with `transformers` (`tests/reference/hf_tiny.py`), prompted with
//! `assay generate hf:...` and evaluated by a spec that names them.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

const REPOS: [&str; 2] = ["tiny-gpt2", "tiny-llama"];

fn fixture(name: &str) -> PathBuf {
    workspace().join("tests/reference/hf").join(name)
}

/// A Hugging Face home with both checkpoints in its cache.
fn hf_home(dir: &Path) -> PathBuf {
    let home = dir.join("hf-home");
    for name in REPOS {
        assay_nets::hf::install_into_cache(
            &home.join("hub"),
            &format!("assay-tests/{name}"),
            "main",
            &fixture(name),
        )
        .unwrap();
    }
    home
}

#[test]
fn generate_prompts_a_cached_checkpoint_offline() {
    let dir = scratch();
    let home = hf_home(dir.path());
    for name in REPOS {
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(name).join("expected.json")).unwrap(),
        )
        .unwrap();
        let model = format!("hf:assay-tests/{name}");
        let run = |extra: &[&str]| -> serde_json::Value {
            let mut args = vec![
                "generate",
                model.as_str(),
                "--prompt",
                expected["prompt"].as_str().unwrap(),
                "--max-tokens",
                "6",
                "--json",
            ];
            args.extend_from_slice(extra);
            let out = assay_offline(dir.path(), &home, &args);
            assert!(out.status.success(), "{name}: {}", stderr(&out));
            serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap()
        };
        let g = run(&[]);
        assert_eq!(g["prompt_ids"], expected["ids"], "{name}: tokenizer");
        // The greedy first token is the argmax of the reference logits at the last position.
        let last = expected["logits"].as_array().unwrap().last().unwrap();
        let argmax = last
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap()))
            .unwrap()
            .0;
        assert_eq!(g["ids"][0], argmax, "{name}: first generated token");
        assert_eq!(run(&["--no-cache"]), g, "{name}: key/value cache");
    }
    let missing = assay_offline(
        dir.path(),
        &home,
        &["generate", "hf:nobody/nothing", "--prompt", "x"],
    );
    assert!(!missing.status.success());
    let err = stderr(&missing);
    assert!(
        err.contains("nobody/nothing") && err.contains("HF_HUB_OFFLINE"),
        "{err}"
    );
}

#[test]
fn a_spec_evaluates_a_checkpoint_by_name() {
    let dir = scratch();
    let home = hf_home(dir.path());
    std::fs::create_dir_all(dir.path().join("corpus")).unwrap();
    for i in 0..4 {
        std::fs::write(
            dir.path().join(format!("corpus/{i}.txt")),
            "Mary went to the kitchen. John moved to the garden.\n".repeat(8),
        )
        .unwrap();
    }
    let tokenizer = fixture("tiny-llama").join("tokenizer.json");
    let spec = write_spec(
        dir.path(),
        "eval.toml",
        &format!(
            r#"
[dataset]
plugin = "text_corpus"
paths = ["corpus/*.txt"]
tokenizer = "hugging_face"
tokenizer_file = "{}"
block_size = 16
test_fraction = 0.5
[model]
plugin = "hf:assay-tests/tiny-llama"
[optimizer]
plugin = "adamw"
[[probe]]
plugin = "few_shot"
task = "babi6"
shots = 1
examples = 4
[train]
steps = 0
"#,
            tokenizer.display()
        ),
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
    let run = store.join(last_line(&out));
    let resolved = std::fs::read_to_string(run.join("spec.toml")).unwrap();
    assert!(
        resolved.contains("repo = \"assay-tests/tiny-llama\"")
            && resolved.contains("plugin = \"hf\""),
        "{resolved}"
    );
    // An untrained random model: its held-out loss is near ln(vocab), and the probe ran.
    let loss = metric(&run, "test/loss")[0].1;
    assert!((loss - 300f64.ln()).abs() < 0.5, "{loss}");
    assert_eq!(metric(&run, "few_shot/babi6/chance")[0].1, 0.5);
}
