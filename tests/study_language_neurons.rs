//! Study 5 (language-specific units, Kojima et al. 2024) in the default suite:
//!
//! - a reduced `experiments/language-neurons.toml` (a 2-layer d_model 64 decoder, 60 held-out
//!   sentences per language, small generation budgets) stores every table with the right
//!   shapes and sane values, and the experiment's own SQL reads its summary;
//! - forcing units through the hooks changes exactly those units at their hook point, and
//!   nothing upstream, for a `[batch, heads, pos, d_head]` and a `[batch, pos, units]` hook;
//! - the same probe and tampering run on the tiny GPT-2 and Llama checkpoints (offline cache);
//! - the shipped sample holds 3,000 parallel strings per language, and a language without
//!   catalog text is one error naming the component and the key.

use crate::common;

use std::path::{Path, PathBuf};

use assay_lang::mixture::DataParams;
use assay_lang::tamper::{hooks_for, Forcing};
use assay_lang::units::{UnitKind, Units};
use assay_sdk::prelude::*;
use common::*;

const LANGUAGES: [&str; 6] = ["en", "de", "fr", "es", "zh_CN", "ja"];

fn sample_dir() -> PathBuf {
    workspace().join("data/lang")
}

/// The overrides that shrink the study to well under a minute.
fn reduced(source: &str) -> Vec<String> {
    [
        format!("dataset.source={source}"),
        format!("probe.0.source={source}"),
        "dataset.held_out=60".into(),
        "probe.0.held_out=60".into(),
        "dataset.block_size=128".into(),
        "dataset.token_budget=300000".into(),
        "model.n_layers=2".into(),
        "model.d_model=64".into(),
        "model.d_mlp=256".into(),
        "train.steps=60".into(),
        "train.batch_size=8".into(),
        "train.warmup_steps=10".into(),
        "train.eval_every=30".into(),
        "train.eval_max_examples=16".into(),
        "probe.0.top_k=10".into(),
        "probe.0.bottom_k=10".into(),
        "probe.0.samples=12".into(),
        "probe.0.sample_tokens=24".into(),
        "probe.0.translation_prompts=2".into(),
        "probe.0.translation_tokens=16".into(),
        "probe.0.force_sizes=[3]".into(),
    ]
    .to_vec()
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
fn a_reduced_study_stores_every_table() {
    let dir = scratch();
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap().to_string();
    let spec = workspace().join("experiments/language-neurons.toml");
    let sets = reduced(sample_dir().to_str().unwrap());
    let mut args = vec![
        "--store",
        &store_arg,
        "sweep",
        spec.to_str().unwrap(),
        "--jobs",
        "1",
        "-q",
    ];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    let started = std::time::Instant::now();
    let out = assay_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    eprintln!("reduced study: {:.1} s", started.elapsed().as_secs_f64());
    let q = |sql: &str| query(dir.path(), &store_arg, sql);

    // Data: 60 held-out strings per language, never among the 2,940 training strings.
    let data = q("SELECT language, train, held_out, used FROM lang_data ORDER BY language");
    assert_eq!(data.len(), 6);
    for d in &data {
        assert_eq!((f(d, "held_out"), f(d, "train")), (60.0, 2940.0), "{d}");
        assert!(f(d, "used") >= 45.0, "{d}: sentences within 128 tokens");
    }

    // Units: q, k, v, o (64 each), fc1 (256) and fc2 (64) in 2 blocks.
    let units = q("SELECT value FROM metrics WHERE name = 'lang/units'");
    assert_eq!(f(&units[0], "value"), 2.0 * (4.0 * 64.0 + 256.0 + 64.0));
    let per_unit = q("SELECT language, count(*) AS n, min(ap) AS lo, max(ap) AS hi FROM lang_units GROUP BY language");
    assert_eq!(per_unit.len(), 6);
    for r in &per_unit {
        assert_eq!(f(r, "n"), 1152.0, "{r}");
        assert!(f(r, "lo") >= 0.0 && f(r, "hi") <= 1.0, "{r}");
        // Chance is the positives' share, 1/6; the best unit of every language beats it.
        assert!(f(r, "hi") > 0.3, "{r}");
    }
    // CJK text is visible in every byte: some unit detects it almost perfectly.
    for l in ["zh_CN", "ja"] {
        let best = q(&format!(
            "SELECT value FROM metrics WHERE name = 'lang/{l}/best_ap'"
        ));
        assert!(f(&best[0], "value") > 0.9, "{l}: {best:?}");
    }

    // Selection: 10 top and 10 bottom units per language, top ranked by falling AP, every
    // top AP above every bottom AP, forced values finite.
    let sel = q("SELECT language, set, rank, unit, layer, kind, ap, value FROM lang_selected ORDER BY language, set, rank");
    assert_eq!(sel.len(), 6 * 20);
    for l in LANGUAGES {
        let rows: Vec<_> = sel.iter().filter(|r| r["language"] == l).collect();
        let top: Vec<f64> = rows
            .iter()
            .filter(|r| r["set"] == "top")
            .map(|r| f(r, "ap"))
            .collect();
        let bottom: Vec<f64> = rows
            .iter()
            .filter(|r| r["set"] == "bottom")
            .map(|r| f(r, "ap"))
            .collect();
        assert_eq!((top.len(), bottom.len()), (10, 10), "{l}");
        assert!(top.windows(2).all(|w| w[0] >= w[1]), "{l}: {top:?}");
        assert!(bottom.windows(2).all(|w| w[0] <= w[1]), "{l}: {bottom:?}");
        assert!(top[9] >= bottom[9], "{l}");
        for r in &rows {
            assert!(f(r, "value").is_finite(), "{r}");
            assert!(["q", "k", "v", "o", "fc1", "fc2"].contains(&r["kind"].as_str().unwrap()));
        }
    }
    let layers = q("SELECT language, sum(top_units) AS tops, sum(bottom_units) AS bottoms FROM lang_layers GROUP BY language");
    for r in &layers {
        assert_eq!((f(r, "tops"), f(r, "bottoms")), (10.0, 10.0), "{r}");
    }
    let overlap = q("SELECT set, count(*) AS pairs, min(overlap) AS lo, max(overlap) AS hi FROM lang_overlap GROUP BY set ORDER BY set");
    assert_eq!(overlap.len(), 3);
    for r in &overlap {
        assert_eq!(f(r, "pairs"), 15.0, "{r}");
        assert!(f(r, "lo") >= 0.0 && f(r, "hi") <= 1.0, "{r}");
    }

    // The language identifier on held-out strings: >= 0.95 overall (the notes' requirement).
    let id = q("SELECT sum(correct) AS right, sum(strings) AS n FROM lang_id");
    let acc = f(&id[0], "right") / f(&id[0], "n");
    assert!(acc >= 0.95, "language identification accuracy {acc}");

    // Generation: per language, 3 conditions x 2 modes with the 20 selected units, and
    // forced and random unconditional samples with 6 (the dose response); shares in [0, 1].
    let generation =
        q("SELECT language, condition, units, mode, samples, share FROM lang_generation");
    assert_eq!(generation.len(), 6 * (3 * 2 + 2), "{generation:?}");
    for g in &generation {
        let expected = if g["mode"] == "unconditional" {
            12.0
        } else {
            2.0
        };
        assert_eq!(f(g, "samples"), expected, "{g}");
        assert!((0.0..=1.0).contains(&f(g, "share")), "{g}");
        let units = if g["condition"] == "none" {
            vec![0.0]
        } else {
            vec![6.0, 20.0]
        };
        assert!(units.contains(&f(g, "units")), "{g}");
    }
    let dose = q("SELECT language, units, share_none, share_forced, share_random FROM lang_dose ORDER BY language, units");
    assert_eq!(dose.len(), 12, "{dose:?}");
    assert!(dose.iter().all(|d| d["share_random"].is_number()));
    let samples = q("SELECT count(*) AS n FROM lang_samples");
    assert_eq!(f(&samples[0], "n"), 14.0 + 6.0 * (2.0 * 14.0 + 2.0 * 12.0));

    // The experiment's own result query: one row per language.
    let sql = workspace().join("experiments/language-neurons.sql");
    let o = assay_in(
        dir.path(),
        &[
            "--store",
            &store_arg,
            "query",
            "--file",
            sql.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
}

/// The built-in `transformer` with 2 blocks, d_model 16, 4 heads, d_mlp 32, over bytes.
fn tiny_transformer() -> Box<dyn Model> {
    assay_nets::link();
    let decl = assay_sdk::abi::builtins()
        .into_iter()
        .find(|d| d.library == "assay_nets")
        .expect("assay_nets is linked");
    let mut found: Vec<Component> = Vec::new();
    (decl.register)(&mut found);
    let t = found.iter().find(|c| c.name == "transformer").unwrap();
    let cx = ModelContext {
        build: BuildContext {
            seed: 7,
            device: Device::Cpu,
        },
        data: DataInfo::tokens(16, 257, Objective::NextToken { vocab: 257 }),
    };
    t.build_model(
        &[
            ("n_layers", Value::Int(2)),
            ("d_model", Value::Int(16)),
            ("n_heads", Value::Int(4)),
            ("d_mlp", Value::Int(32)),
            ("layer_norm", Value::Bool(true)),
            ("bias", Value::Bool(true)),
        ],
        &cx,
    )
    .unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn forcing_changes_exactly_the_forced_units() {
    let model = tiny_transformer();
    let units = Units::discover(model.as_ref(), &Device::Cpu).unwrap();
    assert_eq!(units.total, 2 * (4 * 16 + 32 + 16));
    let input = Tensor::new(&[[256u32, 72, 97, 108, 108, 111, 33]], &Device::Cpu).unwrap();
    let capture = |hooks: &mut Hooks| {
        for n in units.names() {
            hooks.also_capture(n);
        }
        model.forward(&input, hooks).unwrap();
        hooks.cache().clone()
    };
    let clean = capture(&mut Hooks::none());
    let hook = |layer: usize, kind: UnitKind| {
        units
            .hooks
            .iter()
            .find(|h| h.layer == layer && h.kind == kind)
            .unwrap()
            .clone()
    };
    // A query hook ([batch, heads, pos, d_head]: unit = head * 4 + i) and an MLP hook.
    for (layer, kind, local) in [
        (1, UnitKind::Q, vec![1usize, 6, 15]),
        (0, UnitKind::Fc1, vec![0, 31]),
    ] {
        let h = hook(layer, kind);
        let forced: Vec<usize> = local.iter().map(|i| h.offset + i).collect();
        let vals: Vec<f32> = (0..forced.len()).map(|i| 10.0 + i as f32).collect();
        let mut hooks = hooks_for(
            &units,
            &Forcing {
                units: forced.clone(),
                values: vals.clone(),
            },
            &Device::Cpu,
        )
        .unwrap();
        let tampered = capture(&mut hooks);
        // At the forced hook point: the forced units hold their values at every position, every
        // other unit is untouched.
        let (a, b) = (&clean[&h.name], &tampered[&h.name]);
        let per_unit = |t: &Tensor| -> Vec<Vec<f32>> {
            // -> [unit][position]
            let t = match h.heads {
                Some((heads, d)) => t
                    .squeeze(0)
                    .unwrap()
                    .transpose(0, 1)
                    .unwrap()
                    .reshape(((), heads * d))
                    .unwrap(),
                None => t.squeeze(0).unwrap(),
            };
            t.t().unwrap().to_vec2().unwrap()
        };
        let (a, b) = (per_unit(a), per_unit(b));
        for u in 0..h.width {
            match local.iter().position(|&x| x == u) {
                Some(k) => assert!(b[u].iter().all(|&v| v == vals[k]), "{}: unit {u}", h.name),
                None => assert_eq!(a[u], b[u], "{}: unit {u} moved", h.name),
            }
        }
        // Upstream and parallel hook points are unchanged; downstream ones read the change.
        for other in &units.hooks {
            let same = values(&clean[&other.name]) == values(&tampered[&other.name]);
            let upstream = other.layer < layer
                || (other.layer == layer
                    && (matches!(other.kind, UnitKind::K | UnitKind::V) || other.kind < kind));
            if other.name == h.name {
                continue;
            }
            if upstream {
                assert!(
                    same,
                    "{} changed, but it is upstream of {}",
                    other.name, h.name
                );
            } else {
                assert!(
                    !same,
                    "{} did not read the change at {}",
                    other.name, h.name
                );
            }
        }
    }
}

#[test]
fn the_sample_is_parallel_and_a_missing_language_is_one_clear_error() {
    let data = DataParams {
        source: sample_dir().display().to_string(),
        languages: LANGUAGES.map(String::from).to_vec(),
        held_out: 500,
        exclude: vec!["iso_".into()],
        min_chars_latin: 25,
        min_chars_cjk: 8,
        max_bytes: 256,
    };
    let split = data.load().unwrap();
    for l in LANGUAGES {
        assert_eq!(
            (split.held(l).len(), split.training(l).len()),
            (500, 2500),
            "{l}"
        );
    }
    // Row i of every language translates the same English string: spot-check a few rows by
    // script.
    assert!(split.held("ja")[..20]
        .iter()
        .all(|s| s.chars().any(assay_lang::clean::is_cjk)));

    let dir = scratch();
    let store = dir.path().join("store");
    // The experiment as one run: its text without the `[sweep]` table.
    let text =
        std::fs::read_to_string(workspace().join("experiments/language-neurons.toml")).unwrap();
    let single = text.split("\n[sweep]").next().unwrap();
    let spec = write_spec(dir.path(), "language-neurons.toml", single);
    let source = format!("dataset.source={}", sample_dir().display());
    let out = assay_in(
        dir.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            spec.to_str().unwrap(),
            "--set",
            &source,
            "--set",
            "dataset.languages=[\"en\", \"de\", \"xx\"]",
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        err.contains("`lang_mixture`")
            && err.contains("parameter `languages`")
            && err.contains("`xx`"),
        "{err}"
    );
}

fn hf_fixture(name: &str) -> PathBuf {
    workspace().join("tests/reference/hf").join(name)
}

#[test]
fn the_probe_and_tampering_run_on_hf_checkpoints() {
    let dir = scratch();
    let home = dir.path().join("hf-home");
    let source = sample_dir();
    // (checkpoint, units: 2 blocks of q + k + v + o + fc1/gate + fc2/down)
    for (name, units) in [
        ("tiny-gpt2", 2 * (32 * 4 + 128 + 32)),
        ("tiny-llama", 2 * (32 + 16 + 16 + 32 + 48 + 32)),
    ] {
        assay_nets::hf::install_into_cache(
            &home.join("hub"),
            &format!("assay-tests/{name}"),
            "main",
            &hf_fixture(name),
        )
        .unwrap();
        let spec = write_spec(
            dir.path(),
            &format!("{name}.toml"),
            &format!(
                r#"
name = "language-neurons-{name}"
[dataset]
plugin = "lang_mixture"
source = "{src}"
held_out = 40
block_size = 32
test_token_budget = 4096
[model]
plugin = "hf:assay-tests/{name}"
[optimizer]
plugin = "adamw"
[[probe]]
plugin = "language_neurons"
source = "{src}"
held_out = 40
max_tokens = 60
top_k = 5
bottom_k = 5
samples = 4
sample_tokens = 8
translation_prompts = 1
translation_tokens = 4
at = "end"
[train]
steps = 0
"#,
                src = source.display()
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
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let run = last_line(&out);
        let q = |sql: &str| query(dir.path(), store.to_str().unwrap(), sql);
        let got = q(&format!(
            "SELECT value FROM metrics WHERE run_id = '{run}' AND name = 'lang/units'"
        ));
        assert_eq!(f(&got[0], "value"), units as f64, "{name}");
        let sel = q(&format!(
            "SELECT count(*) AS n FROM lang_selected WHERE run_id = '{run}'"
        ));
        assert_eq!(f(&sel[0], "n"), 6.0 * 10.0, "{name}");
        let generation = q(&format!(
            "SELECT condition, count(*) AS n FROM lang_samples WHERE run_id = '{run}' GROUP BY condition ORDER BY condition"
        ));
        let counts: Vec<(String, f64)> = generation
            .iter()
            .map(|r| (r["condition"].as_str().unwrap().to_string(), f(r, "n")))
            .collect();
        // 4 samples + 1 translation per condition; forced and random once per language.
        assert_eq!(
            counts,
            vec![
                ("forced".to_string(), 30.0),
                ("none".to_string(), 5.0),
                ("random".to_string(), 30.0)
            ],
            "{name}"
        );
    }
}
