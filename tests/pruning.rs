//! Pruning inside real runs: tickets rewound to another run's initialisation, pruning at
//! initialisation, norm-matched dense controls, and references between runs.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assay_sdk::candle::{DType, Device, Tensor};
use common::*;

const DENSE: &str = r#"
name = "dense"
[dataset]
plugin = "modular"
p = 11
operations = ["add"]
symmetric = true
train_fraction = 0.5
[model]
plugin = "mlp"
hidden = [24]
d_embed = 16
combine = "sum"
bias = false
[optimizer]
plugin = "adamw"
lr = 3e-3
weight_decay = 1.0
[train]
steps = 60
eval_every = 10
checkpoint_every = 10
"#;

/// The dense spec with extra tables, under another name.
fn derived(name: &str, extra: &str) -> String {
    format!(
        "{}\n{extra}\n",
        DENSE.replace("name = \"dense\"", &format!("name = \"{name}\""))
    )
}

struct Store {
    dir: Scratch,
    root: PathBuf,
}

impl Store {
    fn new() -> Store {
        let dir = scratch();
        let root = dir.path().join("store");
        std::fs::write(dir.path().join("dense.toml"), DENSE).unwrap();
        Store { dir, root }
    }

    /// Runs a spec and returns its run directory.
    fn run(&self, file: &str, text: &str) -> PathBuf {
        let out = self.try_run(file, text);
        assert!(out.status.success(), "{}", stderr(&out));
        self.root.join(last_line(&out))
    }

    fn try_run(&self, file: &str, text: &str) -> std::process::Output {
        let spec = write_spec(self.dir.path(), file, text);
        assay_in(
            self.dir.path(),
            &[
                "--store",
                self.root.to_str().unwrap(),
                "run",
                "-q",
                spec.to_str().unwrap(),
            ],
        )
    }
}

fn load(path: &Path) -> HashMap<String, Tensor> {
    assay_sdk::candle::safetensors::load(path, &Device::Cpu).unwrap()
}

fn checkpoint(run: &Path, step: u64) -> HashMap<String, Tensor> {
    load(&run.join(format!("checkpoints/step-{step:09}.safetensors")))
}

fn values(t: &Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1()
        .unwrap()
}

const MATRICES: [&str; 3] = ["embed.W_E", "layers.0.weight", "layers.1.weight"];

fn norm(ws: &HashMap<String, Tensor>, p: u32, mask: Option<&HashMap<String, Tensor>>) -> f64 {
    let mut acc = 0.0;
    for name in MATRICES {
        let w = values(&ws[&format!("model.{name}")]);
        let m = mask.map(|m| values(&m[name]));
        for (i, x) in w.iter().enumerate() {
            let x = x * m.as_ref().map_or(1.0, |m| m[i]);
            acc += if p == 1 { x.abs() } else { x * x };
        }
    }
    if p == 2 {
        acc.sqrt()
    } else {
        acc
    }
}

#[test]
fn a_ticket_rewinds_to_the_dense_init_and_holds_its_mask() {
    let s = Store::new();
    // The dense run is named by its spec file and computed first, because it is not stored yet.
    let ticket = s.run(
        "ticket.toml",
        &derived(
            "ticket",
            r#"
[init]
from = "dense.toml"
checkpoint = "init"
[prune]
plugin = "magnitude"
keep = 0.4
from = "dense.toml"
checkpoint = "final"
"#,
        ),
    );
    let spec = std::fs::read_to_string(ticket.join("spec.toml")).unwrap();
    let dense_id = spec
        .lines()
        .find_map(|l| l.strip_prefix("from = \"run:"))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the canonical spec names the dense run by id")
        .to_string();
    let dense = s.root.join(&dense_id);
    assert!(dense.join("run.json").exists());

    // Mask density within one weight of s.
    let mask = load(&ticket.join("mask.safetensors"));
    let total: usize = MATRICES.iter().map(|n| mask[*n].elem_count()).sum();
    let kept: f64 = MATRICES
        .iter()
        .map(|n| values(&mask[*n]).iter().sum::<f64>())
        .sum();
    assert!(
        (kept - 0.4 * total as f64).abs() <= 1.0,
        "{kept} of {total}"
    );

    // The kept entries are the largest of the dense run's final weights.
    let last = checkpoint(&dense, 60);
    let (mut min_kept, mut max_pruned) = (f64::INFINITY, 0.0f64);
    for name in MATRICES {
        let w = values(&last[&format!("model.{name}")]);
        for (x, m) in w.iter().zip(values(&mask[name])) {
            if m == 1.0 {
                min_kept = min_kept.min(x.abs());
            } else {
                max_pruned = max_pruned.max(x.abs());
            }
        }
    }
    assert!(min_kept >= max_pruned, "{min_kept} < {max_pruned}");

    // Rewinding restores the dense initial weights exactly (times the mask).
    let init = checkpoint(&dense, 0);
    let start = checkpoint(&ticket, 0);
    for name in MATRICES {
        let key = format!("model.{name}");
        let expected: Vec<f64> = values(&init[&key])
            .iter()
            .zip(values(&mask[name]))
            .map(|(w, m)| w * m)
            .collect();
        assert_eq!(values(&start[&key]), expected, "{name}");
    }
    // Pruned weights stay zero through training.
    let end = checkpoint(&ticket, 60);
    for name in MATRICES {
        for (w, m) in values(&end[&format!("model.{name}")])
            .iter()
            .zip(values(&mask[name]))
        {
            if m == 0.0 {
                assert_eq!(*w, 0.0, "{name}");
            }
        }
    }
    let density = metric(&ticket, "prune/density");
    assert!((density[0].1 - 0.4).abs() < 1e-2, "{density:?}");

    // Rewinding without pruning reproduces the dense start bit for bit, and the whole run.
    let rewound = s.run(
        "rewound.toml",
        &derived(
            "rewound",
            "[init]\nfrom = \"dense.toml\"\ncheckpoint = \"init\"\n",
        ),
    );
    for name in MATRICES {
        let key = format!("model.{name}");
        assert_eq!(values(&checkpoint(&rewound, 0)[&key]), values(&init[&key]));
        assert_eq!(values(&checkpoint(&rewound, 60)[&key]), values(&last[&key]));
    }

    // A memorisation-time ticket resolves to a real checkpoint of the dense run.
    let early = s.run(
        "early.toml",
        &derived(
            "early",
            &format!(
                "[init]\nfrom = \"run:{dense_id}\"\n[prune]\nplugin = \"magnitude\"\nkeep = 0.4\nfrom = \"run:{dense_id}\"\ncheckpoint = \"train/acc>=0.5\"\n"
            ),
        ),
    );
    let src = metric(&early, "prune/source_step");
    assert!(src[0].1 > 0.0 && src[0].1 <= 60.0, "{src:?}");
}

#[test]
fn norm_matched_dense_controls_match_the_ticket_norm() {
    let s = Store::new();
    for (p, apply) in [(2u32, "norm_l2"), (1, "norm_l1")] {
        let run = s.run(
            &format!("{apply}.toml"),
            &derived(
                apply,
                &format!(
                    "[init]\nfrom = \"dense.toml\"\n[prune]\nplugin = \"magnitude\"\nkeep = 0.4\nfrom = \"dense.toml\"\napply = \"{apply}\"\n"
                ),
            ),
        );
        let mask = load(&run.join("mask.safetensors"));
        let dense = s.root.join(
            std::fs::read_dir(&s.root)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .find(|n| n.starts_with("dense-"))
                .unwrap(),
        );
        let init = checkpoint(&dense, 0);
        let target = norm(&init, p, Some(&mask));
        let start = checkpoint(&run, 0);
        let got = norm(&start, p, None);
        assert!(
            ((got - target) / target).abs() < 1e-4,
            "{apply}: {got} vs {target}"
        );
        // The control is dense: nothing is zeroed.
        assert!(values(&start["model.embed.W_E"]).iter().all(|x| *x != 0.0));
    }
}

#[test]
fn pruning_at_initialisation_keeps_the_requested_density() {
    let s = Store::new();
    for pruner in ["random", "snip", "grasp", "synflow"] {
        let run = s.run(
            &format!("{pruner}.toml"),
            &derived(
                pruner,
                &format!("[prune]\nplugin = \"{pruner}\"\nkeep = 0.3\n"),
            ),
        );
        let mask = load(&run.join("mask.safetensors"));
        let total: usize = MATRICES.iter().map(|n| mask[*n].elem_count()).sum();
        let kept: f64 = MATRICES
            .iter()
            .map(|n| values(&mask[*n]).iter().sum::<f64>())
            .sum();
        assert!(
            (kept - 0.3 * total as f64).abs() <= 1.0,
            "{pruner}: {kept} of {total}"
        );
    }
}

#[test]
fn bad_references_name_the_key() {
    let s = Store::new();
    let out = s.try_run(
        "missing.toml",
        &derived("missing", "[init]\nfrom = \"run:dense-000000000000\"\n"),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("dense-000000000000") && err.contains("not in the store"),
        "{err}"
    );

    let out = s.try_run(
        "nofile.toml",
        &derived("nofile", "[init]\nfrom = \"nowhere.toml\"\n"),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("init.from") && err.contains("nowhere.toml"),
        "{err}"
    );

    let out = s.try_run(
        "keep.toml",
        &derived("keep", "[prune]\nplugin = \"magnitude\"\nkeep = 1.5\n"),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("prune.keep"), "{}", stderr(&out));
}

#[test]
fn a_sweep_entry_computes_or_waits_for_the_run_it_starts_from() {
    // The ticket entries come first and the dense runs they rewind to are entries of the same
    // sweep, started later: each ticket task computes its dense run or waits for the task that
    // does, and every dense run is computed once.
    let s = Store::new();
    let sweep = format!(
        "{}\n[sweep]\nseeds = 2\n[sweep.zip]\nname = [\"ticket\", \"dense\"]\ninit = [{{ from = \"dense.toml\" }}, {{}}]\nprune = [{{ plugin = \"magnitude\", keep = 0.5, from = \"dense.toml\" }}, {{}}]\n",
        DENSE
    );
    let spec = write_spec(s.dir.path(), "tickets.toml", &sweep);
    let out = assay_in(
        s.dir.path(),
        &[
            "--store",
            s.root.to_str().unwrap(),
            "sweep",
            spec.to_str().unwrap(),
            "--jobs",
            "2",
        ],
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("0 failed"), "{text}");
    let dense: Vec<_> = std::fs::read_dir(&s.root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("dense-"))
        .collect();
    assert_eq!(dense.len(), 2, "one dense run per seed");
}
