//! `assay bench engine`: what the engine's own bookkeeping costs the training loop.
//!
//! Trains a tiny model (an MLP on a generated table, mini-batches of 32) for `--steps` steps
//! twice per repetition, once logging the batch loss at every step and once with logging off,
//! alternating so that both see the same machine load, and reports steps per second and their
//! ratio. Both runs include the same start-up, final evaluation and checkpoint.

mod boundary;
mod grokking;
mod leduc;
mod lm;
mod query;
mod robot;
mod serve;

pub use boundary::{boundary, BoundaryBenchArgs};
pub use grokking::{grokking, GrokkingBenchArgs};
pub use leduc::{leduc, LeducBenchArgs};
pub use lm::{lm, LmBenchArgs};
pub use query::{query, QueryBenchArgs};
pub use robot::{robot, RobotBenchArgs};
pub use serve::{serve, ServeBenchArgs};

use std::time::Instant;

use anyhow::Context;

use assay_catalog::Catalog;
use assay_engine::{run, RunOptions};
use assay_spec::Override;
use assay_store::Store;

/// Arguments of `assay bench engine`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Training steps per run.
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    /// Repetitions of each configuration.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
}

const SPEC: &str = r#"
name = "bench-engine"
seed = 0
[dataset]
plugin = "csv"
blob_examples = 512
blob_dim = 8
[model]
plugin = "mlp"
hidden = [16]
[optimizer]
plugin = "adam"
lr = 0.01
[train]
batch_size = 32
eval_every = 0
"#;

/// Runs the spec `text` into `store`, recomputing it (benchmarks time whole runs).
fn run_spec_text(catalog: &Catalog, store: &Store, text: &str) -> anyhow::Result<String> {
    let raw = assay_spec::parse_raw(text, "bench")?;
    let spec = assay_spec::resolve(&raw, "bench", catalog)?;
    let (id, _) = run(
        catalog,
        &spec,
        store,
        &RunOptions {
            quiet: true,
            force: true,
            pause_at: None,
        },
    )?;
    Ok(id)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark and prints its table.
pub fn engine(catalog: &Catalog, args: &BenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("assay-bench-{}", std::process::id()));
    let store = Store::at(&dir);
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..args.repeats.max(1) {
        for (i, log_every) in [1u64, 0].into_iter().enumerate() {
            let mut raw = assay_spec::parse_raw(SPEC, "bench")?;
            assay_spec::apply_overrides(
                &mut raw,
                &[
                    Override::new(
                        "bench",
                        "train.steps",
                        toml::Value::Integer(args.steps as i64),
                    ),
                    Override::new(
                        "bench",
                        "train.log_every",
                        toml::Value::Integer(log_every as i64),
                    ),
                ],
            )?;
            let spec = assay_spec::resolve(&raw, "bench", catalog)?;
            let t = Instant::now();
            run(
                catalog,
                &spec,
                &store,
                &RunOptions {
                    quiet: true,
                    force: true,
                    pause_at: None,
                },
            )?;
            rates[i].push(args.steps as f64 / t.elapsed().as_secs_f64());
        }
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("engine overhead: {} steps of an MLP (8-16-3, batch 32), {} repetitions, {profile} build, RAYON_NUM_THREADS={threads}", args.steps, args.repeats);
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "configuration", "min", "median", "max"
    );
    let mut medians = [0.0; 2];
    for (i, label) in ["metrics logged every step", "logging off"]
        .iter()
        .enumerate()
    {
        let r = &mut rates[i];
        medians[i] = median(r);
        println!(
            "{:<28} {:>10.1} {:>10.1} {:>10.1}  steps/s",
            label,
            r[0],
            medians[i],
            r[r.len() - 1]
        );
    }
    println!(
        "ratio (logged / off, median): {:.3}",
        medians[0] / medians[1]
    );
    Ok(())
}

/// Arguments of `assay bench optimizer`.
#[derive(clap::Args, Debug)]
pub struct OptimizerBenchArgs {
    /// Optimizer component.
    #[arg(long, default_value = "adopt")]
    pub optimizer: String,
    /// Steps on a scalar.
    #[arg(long, default_value_t = 100_000)]
    pub steps: usize,
}

/// Time per step of an optimizer on one scalar: through tensors and autograd (what a training
/// run does) versus its host-memory implementation (what online problems use).
pub fn optimizer(catalog: &Catalog, args: &OptimizerBenchArgs) -> anyhow::Result<()> {
    use assay_sdk::candle::{Device, Tensor, Var};
    use assay_sdk::{Factory, Kind};
    let entry = catalog.get(Kind::Optimizer, &args.optimizer)?;
    let params = entry.component.resolve(&[])?;
    let Factory::Optimizer(make) = &entry.component.factory else {
        anyhow::bail!("not an optimizer")
    };
    let grads: Vec<f32> = (0..args.steps)
        .map(|i| if i % 10 == 0 { 100.0 } else { -10.0 })
        .collect();

    let theta = Var::new(&[0.0f32], &Device::Cpu)?;
    let mut opt = make(
        &params,
        vec![assay_sdk::Parameter::new("theta", theta.clone())],
    )?;
    let t = Instant::now();
    for g in &grads {
        let loss = (theta.as_tensor() * Tensor::new(&[*g], &Device::Cpu)?)?.sum_all()?;
        opt.step(&loss.backward()?, 1.0)?;
    }
    let tensor = t.elapsed().as_secs_f64() / args.steps as f64;

    let host = entry
        .component
        .host_optimizer
        .as_ref()
        .with_context(|| format!("{} has no host path", args.optimizer))?;
    let mut opt = (host.0)(&params, 1, assay_sdk::Precision::F32)?;
    let mut x = [0.0f32];
    let t = Instant::now();
    for g in &grads {
        opt.step(
            assay_sdk::Iterate::F32 {
                theta: &mut x,
                grad: &[*g],
            },
            1.0,
        )?;
    }
    let hosted = t.elapsed().as_secs_f64() / args.steps as f64;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "{} on one scalar, {} steps ({profile} build):",
        args.optimizer, args.steps
    );
    println!("  tensors + autograd: {:>10.3} us/step", tensor * 1e6);
    println!("  host memory:        {:>10.3} us/step", hosted * 1e6);
    println!("  ratio: {:.0}x", tensor / hosted);
    Ok(())
}
