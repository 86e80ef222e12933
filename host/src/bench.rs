//! `assay bench engine`: what the engine's own bookkeeping costs the training loop.
//!
//! Trains a tiny model (an MLP on a generated table, mini-batches of 32) for `--steps` steps
//! twice per repetition, once logging the batch loss at every step and once with logging off,
//! alternating so that both see the same machine load, and reports steps per second and their
//! ratio. Both runs include the same start-up, final evaluation and checkpoint.

use std::time::Instant;

use anyhow::Context;

use crate::catalog::Catalog;
use crate::engine::{run, RunOptions};
use crate::store::Store;

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
            let mut raw = crate::spec::parse_raw(SPEC, "bench")?;
            crate::spec::apply_overrides(
                &mut raw,
                &[
                    format!("train.steps={}", args.steps),
                    format!("train.log_every={log_every}"),
                ],
            )?;
            let spec = crate::spec::resolve(&raw, "bench", catalog)?;
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
