//! `assay bench boundary`: what crossing the plugin boundary costs the training step.
//!
//! The study-6 grokking transformer (or the study-8 MLP) is trained full batch twice per
//! repetition: once built from the plugin crates linked into the `assay` binary (`arith`,
//! `nets`, `optim` as built-ins), once built from the same crates loaded as dynamic libraries
//! (`libassay_arith.so`, `libassay_nets.so`, `libassay_optim.so`) into a catalog of their own,
//! so that every call of the step — dataset, model, optimizer — goes into a `dlopen`ed
//! library. Both run on the one `libassay_sdk.so` (candle's kernels live there), alternating so
//! that both see the same machine load; the median steps/s of each and the overhead of the
//! dynamic path are reported.

use std::path::PathBuf;

use anyhow::Context;

use super::grokking::{spec_of, time_assay, MLP, TRANSFORMER};
use super::median;
use assay_catalog::{Catalog, Origin};

/// Arguments of `assay bench boundary`.
#[derive(clap::Args, Debug)]
pub struct BoundaryBenchArgs {
    /// `transformer` (study 6) or `mlp` (study 8).
    #[arg(long, default_value = "transformer")]
    pub model: String,
    /// Timed steps per repetition.
    #[arg(long, default_value_t = 100)]
    pub steps: u64,
    /// Untimed steps before each timing.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Repetitions (median reported).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Directory holding the plugin libraries (default: the directory of the `assay` binary,
    /// where `cargo build --workspace` puts them).
    #[arg(long)]
    pub libraries: Option<PathBuf>,
}

/// A catalog of only the dynamic libraries the grokking specs need.
fn dynamic_catalog(dir: &std::path::Path) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    for name in ["assay_arith", "assay_nets", "assay_optim"] {
        let path = dir.join(format!("lib{name}.so"));
        let decl = assay_catalog::loader::load(&path, None).with_context(|| {
            format!(
                "{} (build it with `cargo build --workspace`)",
                path.display()
            )
        })?;
        catalog.add_library(decl, Origin::Library(path))?;
    }
    Ok(catalog)
}

/// Runs the benchmark and prints its table.
pub fn boundary(args: &BoundaryBenchArgs) -> anyhow::Result<()> {
    let text = match args.model.as_str() {
        "transformer" => TRANSFORMER,
        "mlp" => MLP,
        other => anyhow::bail!("--model {other}: expected transformer or mlp"),
    };
    let dir = match &args.libraries {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(std::path::Path::to_path_buf)
            .context("the binary has no directory")?,
    };
    let builtin = crate::builtins::builtin_catalog()?;
    let dynamic = dynamic_catalog(&dir)?;
    let total = args.warmup + args.steps;
    let static_spec = spec_of(&builtin, text, total)?;
    let dynamic_spec = spec_of(&dynamic, text, total)?;
    let (mut linked, mut loaded) = (Vec::new(), Vec::new());
    for _ in 0..args.repeats.max(1) {
        linked.push(time_assay(&static_spec, args.steps, args.warmup)?);
        loaded.push(time_assay(&dynamic_spec, args.steps, args.warmup)?);
    }
    let (a, b) = (median(&mut linked), median(&mut loaded));
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    println!(
        "{} step, {} steps x {} repeats, threads {threads}, {} profile",
        args.model,
        args.steps,
        args.repeats.max(1),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("| build | steps/s (median) |");
    println!("| --- | --- |");
    println!("| plugins linked into the binary | {a:.1} |");
    println!("| plugins loaded from .so files | {b:.1} |");
    println!(
        "overhead of the dynamic boundary: {:+.2} % (dynamic time per step / static - 1)",
        (a / b - 1.0) * 100.0
    );
    Ok(())
}
