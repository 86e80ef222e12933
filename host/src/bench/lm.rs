//! `assay bench lm`: training tokens/s of study 2's decoder (4 layers, d_model 128, context 256,
//! batch 16, pre-LayerNorm GPT-2 blocks, AdamW; `fused_attention` and `fused_qkv` on) and greedy
//! generation tokens/s with the key/value cache (a 16-token prompt, 128 new tokens), beside the
//! same model in PyTorch (`bench/reference/lm.py`, run alternately at the same thread count).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use assay_sdk::prelude::*;
use assay_sdk::rand::Rng as _;
use assay_sdk::KvCache;

use assay_catalog::guard::GuardedModel;
use assay_catalog::Catalog;

/// Arguments of `assay bench lm`.
#[derive(clap::Args, Debug)]
pub struct LmBenchArgs {
    /// Timed training steps per repetition.
    #[arg(long, default_value_t = 20)]
    pub steps: u64,
    /// Repetitions (median reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Threads for both implementations.
    #[arg(long)]
    pub threads: Option<usize>,
    /// MLP activation of both models: relu or gelu_tanh.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// A Python interpreter with torch: run the PyTorch reference side by side.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// The reference script.
    #[arg(long, default_value = "bench/reference/lm.py")]
    pub script: PathBuf,
}

const VOCAB: usize = 257;
const CTX: usize = 256;
const BATCH: usize = 16;
const PROMPT: usize = 16;
const NEW: usize = 128;

fn model(catalog: &Catalog, activation: &str) -> anyhow::Result<GuardedModel> {
    let entry = catalog.get(Kind::Model, "transformer")?;
    let params = entry.component.resolve(&[
        ("n_layers", Value::Int(4)),
        ("d_model", Value::Int(128)),
        ("fused_attention", Value::Bool(true)),
        ("fused_qkv", Value::Bool(true)),
        ("n_heads", Value::Int(4)),
        ("d_mlp", Value::Int(512)),
        ("layer_norm", Value::Bool(true)),
        ("bias", Value::Bool(true)),
        ("activation", Value::Str(activation.to_string())),
    ])?;
    let cx = ModelContext {
        build: BuildContext {
            seed: 0,
            device: Device::Cpu,
        },
        data: DataInfo::tokens(
            CTX + PROMPT + NEW,
            VOCAB,
            Objective::NextToken { vocab: VOCAB },
        ),
    };
    Ok(entry.build_model(&params, &cx)?)
}

/// (training tokens/s, generation tokens/s) of assay.
fn time_assay(catalog: &Catalog, args: &LmBenchArgs) -> anyhow::Result<(f64, f64)> {
    let mut m = model(catalog, &args.activation)?;
    let opt_entry = catalog.get(Kind::Optimizer, "adamw")?;
    let mut opt = opt_entry.build_optimizer(
        &opt_entry
            .component
            .resolve(&[("weight_decay", Value::Float(0.1))])?,
        assay_catalog::optimizer_parameters(&m, &[]),
    )?;
    let mut rng = init::rng(0, "bench/lm");
    let ids: Vec<u32> = (0..BATCH * (CTX + 1))
        .map(|_| rng.random_range(0..VOCAB as u32))
        .collect();
    let data = Tensor::from_vec(ids, (BATCH, CTX + 1), &Device::Cpu)?;
    let (x, y) = (
        data.narrow(1, 0, CTX)?,
        data.narrow(1, 1, CTX)?.contiguous()?,
    );
    let objective = Objective::NextToken { vocab: VOCAB };
    // On the compute pool, as `assay run` trains.
    let train = assay_engine::on_pool(|| -> anyhow::Result<f64> {
        let mut step = |m: &mut GuardedModel| -> anyhow::Result<()> {
            let out = m.forward(&x, &mut Hooks::none())?;
            let grads = assay_engine::loss(&objective, &out, &y)?.backward()?;
            opt.step(&grads, 1.0)?;
            Ok(())
        };
        for _ in 0..3 {
            step(&mut m)?;
        }
        let t = Instant::now();
        for _ in 0..args.steps {
            step(&mut m)?;
        }
        Ok((args.steps as usize * BATCH * CTX) as f64 / t.elapsed().as_secs_f64())
    })?;
    m.set_training(false);
    let prompt: Vec<u32> = (0..PROMPT)
        .map(|_| rng.random_range(0..VOCAB as u32))
        .collect();
    let generative = m
        .generative()
        .ok_or_else(|| anyhow!("the transformer has no key/value cache"))?;
    let mut cache = KvCache::new();
    let t = Instant::now();
    let mut input = Tensor::from_vec(prompt, (1, PROMPT), &Device::Cpu)?;
    for _ in 0..NEW {
        let logits = generative.forward_cached(&input, &mut cache)?;
        let n = logits.dim(1)?;
        let next = logits.narrow(1, n - 1, 1)?.argmax(D::Minus1)?;
        input = next.to_dtype(DType::U32)?;
    }
    let generate = NEW as f64 / t.elapsed().as_secs_f64();
    Ok((train, generate))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark and prints its table.
pub fn lm(catalog: &Catalog, args: &LmBenchArgs) -> anyhow::Result<()> {
    if let Some(t) = args.threads {
        std::env::set_var("RAYON_NUM_THREADS", t.to_string());
    }
    if !["relu", "gelu_tanh"].contains(&args.activation.as_str()) {
        bail!(
            "--activation {}: expected relu or gelu_tanh",
            args.activation
        );
    }
    let (mut ours_t, mut ours_g) = (Vec::new(), Vec::new());
    // PyTorch with its default AdamW, then with its fused CPU AdamW (`fused=True`).
    let variants: [(&str, &[&str]); 2] = [("", &[]), (", fused AdamW", &["--fused-adamw"])];
    let mut theirs: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); variants.len()];
    let mut label = String::from("pytorch");
    for _ in 0..args.repeats.max(1) {
        let (t, g) = time_assay(catalog, args)?;
        ours_t.push(t);
        ours_g.push(g);
        let Some(python) = &args.reference else {
            continue;
        };
        for ((_, extra), (tt, tg)) in variants.iter().zip(theirs.iter_mut()) {
            let mut cmd = Command::new(python);
            cmd.arg(&args.script)
                .args(["--steps", &args.steps.to_string()])
                .args(["--activation", &args.activation])
                .args(extra.iter());
            if let Some(t) = args.threads {
                cmd.args(["--threads", &t.to_string()])
                    .env("OMP_NUM_THREADS", t.to_string());
            }
            let out = cmd
                .output()
                .with_context(|| format!("running {}", python.display()))?;
            if !out.status.success() {
                bail!(
                    "the PyTorch reference failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let v: serde_json::Value =
                serde_json::from_slice(&out.stdout).context("reading the reference's output")?;
            label = v["implementation"]
                .as_str()
                .unwrap_or("pytorch")
                .to_string();
            tt.push(v["train_tokens_per_s"].as_f64().unwrap_or(f64::NAN));
            tg.push(v["generate_tokens_per_s"].as_f64().unwrap_or(f64::NAN));
        }
    }
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into());
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("decoder bench: 4 layers, d_model 128, context {CTX}, batch {BATCH}, {} activation, {profile} build, threads {threads}, median of {}", args.activation, args.repeats);
    println!(
        "{:<36} {:>18} {:>22}",
        "implementation", "train tokens/s", "generate tokens/s"
    );
    let (ot, og) = (median(&mut ours_t), median(&mut ours_g));
    println!("{:<36} {ot:>18.0} {og:>22.1}", "assay");
    if args.reference.is_some() {
        for ((suffix, _), (tt, tg)) in variants.iter().zip(theirs.iter_mut()) {
            let (tt, tg) = (median(tt), median(tg));
            println!("{:<36} {tt:>18.0} {tg:>22.1}", format!("{label}{suffix}"));
            println!(
                "assay/pytorch{suffix}: training {:.2}, generation {:.2}",
                ot / tt,
                og / tg
            );
        }
    }
    Ok(())
}
