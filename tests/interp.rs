//! Interpretability end to end, on a run trained here and on the tiny Hugging Face checkpoints:
//! `assay cache` (safetensors read back by assay and, when available, by Python), `assay lens`
//! (the last layer's lens is the model's own output), `assay patch` (a clean prompt patched
//! into itself restores it exactly), runs that carry their tokenizer, and bad input.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assay_sdk::prelude::*;
use common::*;

/// A tiny byte-level decoder trained for a few steps on a small corpus; returns (dir, store,
/// run id).
fn trained_run() -> (Scratch, PathBuf, String) {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("corpus")).unwrap();
    for doc in 0..6 {
        let text: String = (0..20)
            .map(|i| {
                format!(
                    "the cat {} sat on mat {}.\n",
                    ["ran", "sat", "hid"][(doc + i) % 3],
                    i % 4
                )
            })
            .collect();
        std::fs::write(dir.path().join(format!("corpus/d{doc}.txt")), text).unwrap();
    }
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "lm.toml",
        r#"
name = "interp-lm"
seed = 0
[dataset]
plugin = "text_corpus"
paths = ["corpus/*.txt"]
tokenizer = "bytes"
block_size = 16
test_fraction = 0.2
[model]
plugin = "transformer"
n_layers = 2
d_model = 16
n_heads = 2
d_mlp = 32
layer_norm = true
activation = "gelu"
[optimizer]
plugin = "adamw"
lr = 3e-3
[[probe]]
plugin = "logit_lens"
prompts = ["the cat", "a mat"]
targets = [" ", "s"]
top_k = 2
at = "end"
[train]
steps = 20
batch_size = 8
eval_every = 0
log_every = 0
"#,
    );
    let out = run_spec(dir.path(), &store, &spec);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = last_line(&out);
    (dir, store, id)
}

fn assay_at(cwd: &Path, store: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--store", store.to_str().unwrap()];
    all.extend_from_slice(args);
    assay_in(cwd, &all)
}

#[test]
fn cache_lens_and_patch_work_on_a_trained_run_from_any_directory() {
    let (dir, store, id) = trained_run();
    let run = store.join(&id);
    assert!(
        run.join("tokenizer.json").exists(),
        "the run saves its tokenizer"
    );
    assert!(run.join("data.json").exists());
    // The logit_lens probe's table: 2 prompts x 2 layers x (2 top + 2 targets) at the last
    // position.
    let q = assay_at(
        dir.path(),
        &store,
        &[
            "query",
            "SELECT count(*) AS n, max(rank) AS worst FROM logit_lens",
            "--format",
            "csv",
        ],
    );
    assert!(q.status.success(), "{}", stderr(&q));
    assert!(
        stdout(&q).lines().nth(1).unwrap().starts_with("16,"),
        "{}",
        stdout(&q)
    );
    // Elsewhere, with the corpus gone: the run still loads (its own tokenizer and data.json).
    std::fs::remove_dir_all(dir.path().join("corpus")).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let gen = assay_at(
        &elsewhere,
        &store,
        &["generate", &id, "--prompt", "the cat", "--max-tokens", "4"],
    );
    assert!(gen.status.success(), "{}", stderr(&gen));

    // The cache: two prompts of different lengths, every block's residual stream.
    let file = dir.path().join("acts.safetensors");
    let out = assay_at(
        &elsewhere,
        &store,
        &[
            "cache",
            &id,
            "--prompt",
            "the cat sat",
            "--prompt",
            "a mat",
            "--hook",
            "blocks.*.hook_resid_post",
            "--hook",
            "hook_embed",
            "--batch",
            "1",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (meta, tensors) = assay_interp::cache::read(&file, &Device::Cpu).unwrap();
    assert_eq!(meta["format"], assay_interp::cache::FORMAT);
    assert!(meta["model"].contains(&id));
    let lengths = tensors["lengths"].to_vec1::<i64>().unwrap();
    assert_eq!(lengths, vec![11, 5]);
    let resid = &tensors["blocks.1.hook_resid_post"];
    assert_eq!(resid.dims(), &[2, 11, 16]);
    assert_eq!(tensors["tokens"].dims(), &[2, 11]);
    // The cached rows are the model's activations: the same prompt alone gives the same
    // values at its positions (right padding does not reach earlier positions).
    let resid_first: Vec<f32> = resid
        .get(1)
        .unwrap()
        .narrow(0, 0, 5)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let alone = dir.path().join("alone.safetensors");
    let out = assay_at(
        &elsewhere,
        &store,
        &[
            "cache",
            &id,
            "--prompt",
            "a mat",
            "--hook",
            "blocks.1.hook_resid_post",
            "--out",
            alone.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, t2) = assay_interp::cache::read(&alone, &Device::Cpu).unwrap();
    let direct: Vec<f32> = t2["blocks.1.hook_resid_post"]
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let worst = resid_first
        .iter()
        .zip(&direct)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "{worst}");
    python_reads(&file);

    // A cache over --max-bytes is refused before anything is written.
    let big = dir.path().join("big.safetensors");
    let out = assay_at(
        &elsewhere,
        &store,
        &[
            "cache",
            &id,
            "--prompt",
            "the cat sat",
            "--hook",
            "blocks.*",
            "--max-bytes",
            "1000",
            "--out",
            big.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--max-bytes 1000"),
        "{}",
        stderr(&out)
    );
    assert!(!big.exists() && !dir.path().join("big.safetensors.partial").exists());
    // An unknown hook name names the closest one.
    let out = assay_at(
        &elsewhere,
        &store,
        &[
            "cache",
            &id,
            "--prompt",
            "x",
            "--hook",
            "blocks.0.hook_resid_pots",
            "--out",
            big.to_str().unwrap(),
        ],
    );
    assert!(
        stderr(&out).contains("blocks.0.hook_resid_post"),
        "{}",
        stderr(&out)
    );

    // The lens: the last layer's probabilities are the model's own.
    let lens = assay_at(
        &elsewhere,
        &store,
        &[
            "lens",
            &id,
            "--prompt",
            "the cat",
            "--target",
            "s",
            "--position",
            "-1",
            "--top-k",
            "3",
            "--format",
            "json",
        ],
    );
    assert!(lens.status.success(), "{}", stderr(&lens));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&lens)).unwrap();
    assert_eq!(rows.len(), 2 * (3 + 1), "2 layers x (3 top + 1 target)");
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    for k in [
        "prompt", "layer", "position", "input", "kind", "token", "token_id", "rank", "prob",
    ] {
        assert!(keys.iter().any(|x| *x == k), "{k} in {keys:?}");
    }
    let gen = assay_at(
        &elsewhere,
        &store,
        &[
            "generate",
            &id,
            "--prompt",
            "the cat",
            "--max-tokens",
            "1",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(stdout(&gen).trim()).unwrap();
    let top1 = rows
        .iter()
        .find(|r| r["layer"] == 1 && r["kind"] == "top" && r["rank"] == 1)
        .unwrap();
    assert_eq!(
        top1["token_id"], json["ids"][0],
        "the last layer's top token is the greedy choice"
    );
    // A target of several tokens is refused.
    let out = assay_at(
        &elsewhere,
        &store,
        &["lens", &id, "--prompt", "the cat", "--target", "cat"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("`cat` is 3 tokens"),
        "{}",
        stderr(&out)
    );

    // Patching a prompt into itself restores it exactly; into another, block 0's residual input
    // (all of it) restores the clean logit difference exactly.
    let patch = assay_at(
        &elsewhere,
        &store,
        &[
            "patch",
            &id,
            "--clean",
            "the cat",
            "--corrupted",
            "the mat",
            "--answer",
            " ",
            "--wrong",
            "s",
            "--format",
            "csv",
        ],
    );
    assert!(patch.status.success(), "{}", stderr(&patch));
    let text = stdout(&patch);
    let first: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first[0], "0");
    assert_eq!(
        first[2], first[3],
        "patched equals clean at block 0's input"
    );
    let per = assay_at(
        &elsewhere,
        &store,
        &[
            "patch",
            &id,
            "--clean",
            "the cat",
            "--corrupted",
            "the mat",
            "--answer",
            " ",
            "--wrong",
            "s",
            "--per-position",
            "--hook",
            "attn.hook_z",
            "--format",
            "csv",
        ],
    );
    assert!(per.status.success(), "{}", stderr(&per));
    assert_eq!(stdout(&per).lines().count(), 1 + 2 * 7);
    let bad = assay_at(
        &elsewhere,
        &store,
        &[
            "patch",
            &id,
            "--clean",
            "the cat",
            "--corrupted",
            "a cat",
            "--answer",
            " ",
            "--wrong",
            "s",
        ],
    );
    assert!(
        stderr(&bad).contains("same number of tokens"),
        "{}",
        stderr(&bad)
    );
}

/// Python's `safetensors` reads the cache, when python3 has it (CI installs it).
fn python_reads(file: &Path) {
    let python = std::env::var("ASSAY_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python)
        .args(["-c", "import safetensors.numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!("skipping the Python check: {python} has no safetensors");
        return;
    }
    let script = "import sys, json\nfrom safetensors import safe_open\nwith safe_open(sys.argv[1], framework='numpy') as f:\n    m = f.metadata()\n    r = f.get_tensor('blocks.1.hook_resid_post')\n    print(json.dumps({'shape': list(r.shape), 'prompts': json.loads(m['prompts']), 'lengths': f.get_tensor('lengths').tolist()}))\n";
    let out = Command::new(&python)
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["shape"], serde_json::json!([2, 11, 16]));
    assert_eq!(v["prompts"], serde_json::json!(["the cat sat", "a mat"]));
    assert_eq!(v["lengths"], serde_json::json!([11, 5]));
}

#[test]
fn the_lens_runs_on_hugging_face_checkpoints() {
    let dir = scratch();
    let home = dir.path().join("hf-home");
    for name in ["tiny-gpt2", "tiny-llama"] {
        assay_nets::hf::install_into_cache(
            &home.join("hub"),
            &format!("assay-tests/{name}"),
            "main",
            &workspace().join("tests/reference/hf").join(name),
        )
        .unwrap();
        let out = Command::new(bin())
            .args([
                "lens",
                &format!("hf:assay-tests/{name}"),
                "--prompt",
                "Hello world",
                "--top-k",
                "1",
                "--position",
                "-1",
                "--format",
                "csv",
            ])
            .current_dir(dir.path())
            .env("HF_HOME", &home)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            stdout(&out).lines().count() >= 3,
            "{name}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn init_from_a_run_with_another_tokenizer_is_refused() {
    let (dir, store, id) = trained_run();
    // (While the corpus is here: a dataset's test examples can be cached instead of prompts.)
    let file = dir.path().join("test-examples.safetensors");
    let out = assay_at(
        dir.path(),
        &store,
        &[
            "cache",
            &id,
            "--dataset",
            "lm.toml",
            "--limit",
            "3",
            "--hook",
            "blocks.0.hook_resid_post",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (meta, tensors) = assay_interp::cache::read(&file, &Device::Cpu).unwrap();
    assert_eq!(tensors["tokens"].dims(), &[3, 16]);
    assert_eq!(tensors["blocks.0.hook_resid_post"].dims(), &[3, 16, 16]);
    assert!(meta["prompts"].contains("test example 2"));
    // The same corpus, character-level over an alphabet of 257 symbols' worth of ids would not
    // fit anyway; a chars tokenizer names the real problem first: the tokenizers differ.
    let spec = write_spec(
        dir.path(),
        "from.toml",
        &format!(
            r#"
name = "from-bytes"
seed = 0
[dataset]
plugin = "text_corpus"
paths = ["corpus/*.txt"]
tokenizer = "chars"
alphabet = "abcdefghijklmnopqrstuvwxyz .0123\n"
block_size = 16
test_fraction = 0.2
[model]
plugin = "transformer"
n_layers = 2
d_model = 16
n_heads = 2
d_mlp = 32
layer_norm = true
activation = "gelu"
[optimizer]
plugin = "adamw"
lr = 3e-3
[init]
from = "run:{id}"
checkpoint = "final"
[train]
steps = 2
batch_size = 8
"#
        ),
    );
    let out = run_spec(dir.path(), &store, &spec);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("another tokenizer") && stderr(&out).contains(&id),
        "{}",
        stderr(&out)
    );
}
