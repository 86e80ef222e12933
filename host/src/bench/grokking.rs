//! `assay bench grokking`: the full-batch training step of the grokking studies, the platform's
//! hot loop, beside the same models in PyTorch.
//!
//! Two models, built through the catalog exactly as a run builds them:
//!
//! - `transformer`: study 6's 1-layer decoder (d_model 128, 4 heads, d_mlp 512, ReLU, no
//!   LayerNorm, learned positions) on `(x + y) mod 113` with 30 % of the 12,769 pairs (3,830)
//!   for training;
//! - `mlp`: study 8's grokking-tickets MLP (embed 500, inproj 48, sum, ReLU, outproj 500,
//!   unembed) on `(x + y) mod 67` over the 2,278 symmetric pairs, 40 % for training;
//!
//! both trained full batch with AdamW (lr 1e-3, betas 0.9/0.98, weight decay 1). A step is
//! forward + cross-entropy + backward + optimizer step; evaluation is not timed. With
//! `--reference PYTHON` the data and model configuration are exported as JSON and
//! `bench/reference/grokking.py` trains the same models on them, alternating with assay repeat
//! by repeat so both see the same machine load, at the same thread count. PyTorch runs each
//! model three times: written straightforwardly (every position, layer by layer, as the
//! grokking code is), restructured the way assay's models compute when no hook watches
//! (projected vocabulary tables, last position only, fused linear head), and restructured with
//! PyTorch's fused CPU AdamW (`fused=True`), so that the ratio is reported against the usual
//! implementation and against the same arithmetic at PyTorch's best (`--threads` sets
//! `RAYON_NUM_THREADS` for candle and `torch.set_num_threads` for PyTorch). `--curve N` instead
//! trains each model N steps in both implementations and reports where each memorises and
//! generalises.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use assay_sdk::prelude::*;

use assay_catalog::Catalog;
use assay_engine::{loss, run, RunOptions};
use assay_spec::{Override, Spec};
use assay_store::Store;

/// Arguments of `assay bench grokking`.
#[derive(clap::Args, Debug)]
pub struct GrokkingBenchArgs {
    /// `transformer` (study 6), `mlp` (study 8) or `all`.
    #[arg(long, default_value = "all")]
    pub model: String,
    /// Timed steps per repetition.
    #[arg(long, default_value_t = 200)]
    pub steps: u64,
    /// Untimed steps before each timing.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Repetitions (median reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Threads for both implementations (candle reads RAYON_NUM_THREADS); default: as set in
    /// the environment, else every core.
    #[arg(long)]
    pub threads: Option<usize>,
    /// A Python interpreter with torch: run the PyTorch reference side by side.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// The reference script.
    #[arg(long, default_value = "bench/reference/grokking.py")]
    pub script: PathBuf,
    /// Instead of timing, train N steps in each implementation (evaluating every 100) and
    /// report the memorisation and generalisation steps.
    #[arg(long)]
    pub curve: Option<u64>,
}

pub(super) const TRANSFORMER: &str = r#"
name = "bench-grokking-transformer"
seed = 0
[dataset]
plugin = "modular"
p = 113
operations = ["add"]
format = "short"
train_fraction = 0.3
[model]
plugin = "transformer"
d_model = 128
n_heads = 4
d_mlp = 512
pos_embed = true
fused_attention = true
[optimizer]
plugin = "adamw"
lr = 1e-3
beta1 = 0.9
beta2 = 0.98
weight_decay = 1.0
[train]
eval_every = 100
log_every = 0
"#;

pub(super) const MLP: &str = r#"
name = "bench-grokking-mlp"
seed = 0
[dataset]
plugin = "modular"
p = 67
operations = ["add"]
format = "pair"
symmetric = true
train_fraction = 0.4
[model]
plugin = "mlp"
hidden = [48]
d_embed = 500
d_unembed = 500
combine = "sum"
bias = false
init = "normal_fan_in"
[optimizer]
plugin = "adamw"
lr = 1e-3
beta1 = 0.9
beta2 = 0.98
weight_decay = 1.0
[train]
eval_every = 100
log_every = 0
"#;

pub(super) fn spec_of(catalog: &Catalog, text: &str, steps: u64) -> anyhow::Result<Spec> {
    let mut raw = assay_spec::parse_raw(text, "bench")?;
    let steps = Override::new("bench", "train.steps", toml::Value::Integer(steps as i64));
    assay_spec::apply_overrides(&mut raw, &[steps])?;
    Ok(assay_spec::resolve(&raw, "bench", catalog)?)
}

struct Setup {
    dataset: assay_catalog::guard::GuardedDataset,
    model: assay_catalog::guard::GuardedModel,
    optimizer: Box<dyn Optimizer>,
}

fn setup(spec: &Spec) -> anyhow::Result<Setup> {
    let cx = BuildContext {
        seed: spec.seed,
        device: Device::Cpu,
    };
    let (Some(d), Some(m)) = (&spec.dataset, &spec.model) else {
        bail!("bench specs have a dataset and a model");
    };
    let dataset = d.entry.build_dataset(&d.params, &cx)?;
    let model = m.entry.build_model(
        &m.params,
        &ModelContext {
            build: cx.clone(),
            data: dataset.info(),
        },
    )?;
    let ospec = spec
        .optimizer
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the benchmark spec has no [optimizer]"))?;
    let optimizer = ospec.entry.build_optimizer(
        &ospec.params,
        assay_catalog::optimizer_parameters(&model, &spec.no_decay),
    )?;
    Ok(Setup {
        dataset,
        model,
        optimizer,
    })
}

/// Steps per second of assay's training step.
pub(super) fn time_assay(spec: &Spec, steps: u64, warmup: u64) -> anyhow::Result<f64> {
    let mut s = setup(spec)?;
    let n = s.dataset.len(Split::Train);
    let idx: Vec<usize> = (0..n).collect();
    let batch = s.dataset.batch(Split::Train, &idx, &Device::Cpu)?;
    let objective = s.dataset.info().objective;
    let (model, optimizer) = (&mut s.model, &mut s.optimizer);
    // On the compute pool, as `assay run` trains.
    assay_engine::on_pool(|| {
        let mut step = || -> anyhow::Result<()> {
            // A mutable borrow: the model is `Send`, not `Sync`.
            let model: &mut assay_catalog::guard::GuardedModel = model;
            let out = model.forward(&batch.input, &mut Hooks::none())?;
            let grads = loss(&objective, &out, &batch.target)?.backward()?;
            optimizer.step(&grads, 1.0)?;
            Ok(())
        };
        for _ in 0..warmup {
            step()?;
        }
        let t = Instant::now();
        for _ in 0..steps {
            step()?;
        }
        Ok(steps as f64 / t.elapsed().as_secs_f64())
    })
}

/// Writes the dataset's splits, the model configuration and the optimizer's hyperparameters as
/// the JSON the reference script reads.
fn export(spec: &Spec, path: &Path) -> anyhow::Result<()> {
    let s = setup(spec)?;
    let info = s.dataset.info();
    let InputKind::Tokens { vocab_size } = info.input else {
        bail!("bench datasets are token datasets");
    };
    let mut doc = serde_json::Map::new();
    for split in [Split::Train, Split::Test] {
        let idx: Vec<usize> = (0..s.dataset.len(split)).collect();
        let b = s.dataset.batch(split, &idx, &Device::Cpu)?;
        doc.insert(
            format!("{}_x", split.as_str()),
            serde_json::to_value(b.input.to_vec2::<u32>()?)?,
        );
        doc.insert(
            format!("{}_y", split.as_str()),
            serde_json::to_value(b.target.to_vec1::<u32>()?)?,
        );
    }
    let m = spec.model.as_ref().ok_or_else(|| anyhow!("no model"))?;
    let int = |k: &str| m.params.i64(k).unwrap_or(0);
    let model = if m.plugin() == "transformer" {
        serde_json::json!({
            "kind": "transformer",
            "d_model": int("d_model"),
            "n_heads": int("n_heads"),
            "d_mlp": int("d_mlp"),
            "pos_embed": m.params.bool("pos_embed").unwrap_or(true),
        })
    } else {
        let hidden = m.params.i64_list("hidden")?;
        serde_json::json!({
            "kind": "mlp",
            "d_embed": int("d_embed"),
            "hidden": hidden.first().copied().unwrap_or(0),
            "d_unembed": int("d_unembed"),
        })
    };
    let o = &spec
        .optimizer
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the benchmark spec has no [optimizer]"))?
        .params;
    doc.insert("model".into(), model);
    doc.insert(
        "optimizer".into(),
        serde_json::json!({
            "lr": o.f64("lr")?, "beta1": o.f64("beta1")?, "beta2": o.f64("beta2")?,
            "eps": o.f64("eps")?, "weight_decay": o.f64("weight_decay")?,
        }),
    );
    doc.insert("vocab".into(), vocab_size.into());
    doc.insert(
        "ctx".into(),
        info.input_shape.first().copied().unwrap_or(1).into(),
    );
    doc.insert("classes".into(), info.objective.outputs().into());
    std::fs::write(path, serde_json::to_vec(&doc)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

struct Reference<'a> {
    python: &'a Path,
    script: &'a Path,
    threads: Option<usize>,
}

impl Reference<'_> {
    fn call(&self, data: &Path, extra: &[String]) -> anyhow::Result<Vec<serde_json::Value>> {
        let mut cmd = Command::new(self.python);
        cmd.arg(self.script).arg("--data").arg(data).args(extra);
        if let Some(t) = self.threads {
            cmd.arg("--threads")
                .arg(t.to_string())
                .env("OMP_NUM_THREADS", t.to_string());
        }
        let out = cmd.output().with_context(|| {
            format!(
                "running {} {}",
                self.python.display(),
                self.script.display()
            )
        })?;
        if !out.status.success() {
            bail!(
                "the PyTorch reference failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .with_context(|| format!("reading the reference's output line `{l}`"))
            })
            .collect()
    }
}

fn stats(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

/// Runs the benchmark and prints its table.
pub fn grokking(catalog: &Catalog, args: &GrokkingBenchArgs) -> anyhow::Result<()> {
    if let Some(t) = args.threads {
        // Read by candle's matmul and by rayon's global pool, neither of which has started yet.
        std::env::set_var("RAYON_NUM_THREADS", t.to_string());
    }
    let models: Vec<(&str, &str)> = match args.model.as_str() {
        "transformer" => vec![("transformer", TRANSFORMER)],
        "mlp" => vec![("mlp", MLP)],
        "all" => vec![("transformer", TRANSFORMER), ("mlp", MLP)],
        other => bail!("--model {other}: expected transformer, mlp or all"),
    };
    let reference = args.reference.as_deref().map(|python| Reference {
        python,
        script: &args.script,
        threads: args.threads,
    });
    if let Some(r) = &reference {
        if !r.script.exists() {
            bail!(
                "{} not found; run from the checkout's root or pass --script",
                r.script.display()
            );
        }
    }
    let scratch = std::env::temp_dir().join(format!("assay-bench-grokking-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let result = (|| -> anyhow::Result<()> {
        let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into());
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        match args.curve {
            Some(steps) => {
                println!("grokking curves: {steps} full-batch steps, evaluated every 100, {profile} build, threads {threads}");
                println!(
                    "{:<12} {:<24} {:>16} {:>18}",
                    "model", "implementation", "train acc 1.0 at", "test acc 0.95 at"
                );
                for (name, text) in &models {
                    let spec = spec_of(catalog, text, steps)?;
                    let store = Store::at(scratch.join("store"));
                    let (id, _) = run(
                        catalog,
                        &spec,
                        &store,
                        &RunOptions {
                            quiet: false,
                            force: true,
                            pause_at: None,
                        },
                    )?;
                    let dir = store.run_dir(&id)?;
                    let first = |metric: &str, value: f64| -> anyhow::Result<String> {
                        let c = assay_spec::Condition {
                            metric: metric.into(),
                            at_least: true,
                            value,
                        };
                        Ok(assay_store::checkpoints::first_step_where(&dir, &c)?
                            .map_or("never".into(), |s| s.to_string()))
                    };
                    println!(
                        "{:<12} {:<24} {:>16} {:>18}",
                        name,
                        "assay",
                        first("train/acc", 1.0)?,
                        first("test/acc", 0.95)?
                    );
                    if let Some(r) = &reference {
                        let data = scratch.join(format!("{name}.json"));
                        export(&spec, &data)?;
                        // The restructured PyTorch model computes the same function faster;
                        // for curves only the function matters.
                        let lines = r.call(
                            &data,
                            &[
                                "--curve".into(),
                                "--restructured".into(),
                                "--steps".into(),
                                steps.to_string(),
                            ],
                        )?;
                        let last = lines.last().cloned().unwrap_or_default();
                        let show = |k: &str| {
                            last.get(k)
                                .and_then(|v| v.as_u64())
                                .map_or("never".into(), |s| s.to_string())
                        };
                        println!(
                            "{:<12} {:<24} {:>16} {:>18}",
                            name,
                            "pytorch",
                            show("train_acc_1_step"),
                            show("test_acc_095_step")
                        );
                    }
                }
            }
            None => {
                println!(
                    "grokking bench: full-batch step (forward + backward + AdamW), {profile} build, threads {threads}, {} x {} steps after {} warm-up",
                    args.repeats, args.steps, args.warmup
                );
                println!(
                    "{:<12} {:<48} {:>8} {:>8} {:>8}",
                    "model", "implementation", "min", "median", "max"
                );
                for (name, text) in &models {
                    let spec = spec_of(catalog, text, args.steps)?;
                    let data = scratch.join(format!("{name}.json"));
                    if reference.is_some() {
                        export(&spec, &data)?;
                    }
                    let variants: Vec<(String, Vec<String>)> = match &reference {
                        None => vec![],
                        Some(_) => vec![
                            ("straightforward".into(), vec![]),
                            ("restructured".into(), vec!["--restructured".into()]),
                            (
                                "restructured, fused AdamW".into(),
                                vec!["--restructured".into(), "--fused-adamw".into()],
                            ),
                        ],
                    };
                    let mut ours = Vec::new();
                    let mut theirs: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
                    let mut label = String::from("pytorch");
                    for _ in 0..args.repeats.max(1) {
                        ours.push(time_assay(&spec, args.steps, args.warmup)?);
                        if let Some(r) = &reference {
                            for (i, (_, extra)) in variants.iter().enumerate() {
                                let mut a = vec![
                                    "--steps".to_string(),
                                    args.steps.to_string(),
                                    "--warmup".into(),
                                    args.warmup.to_string(),
                                ];
                                a.extend(extra.iter().cloned());
                                let out = r.call(&data, &a)?;
                                let line = out.last().cloned().unwrap_or_default();
                                label = line
                                    .get("implementation")
                                    .and_then(|v| v.as_str())
                                    .unwrap_or("pytorch")
                                    .to_string();
                                theirs[i].push(
                                    line.get("steps_per_s")
                                        .and_then(|v| v.as_f64())
                                        .ok_or_else(|| anyhow!("no steps_per_s in `{line}`"))?,
                                );
                            }
                        }
                    }
                    let (lo, med, hi) = stats(&mut ours);
                    println!(
                        "{name:<12} {:<48} {lo:>8.2} {med:>8.2} {hi:>8.2}  steps/s",
                        "assay"
                    );
                    for ((variant, _), t) in variants.iter().zip(theirs.iter_mut()) {
                        let (l, m, h) = stats(t);
                        let who = if variant.is_empty() {
                            label.clone()
                        } else {
                            format!("{label} ({variant})")
                        };
                        println!("{name:<12} {who:<48} {l:>8.2} {m:>8.2} {h:>8.2}  steps/s   assay/pytorch = {:.2}", med / m);
                    }
                }
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
