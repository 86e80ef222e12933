//! The `assay` command line: global options, the subcommands, and their dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use assay_store::Store;
use clap::{Parser, Subcommand};

use crate::commands;

#[derive(Parser, Debug)]
#[command(
    name = "assay",
    version,
    about = "Run machine-learning experiments from plugins; read every metric as tables."
)]
struct Cli {
    /// Plugin registry (default: $ASSAY_REGISTRY, else ./registry.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    registry: Option<PathBuf>,
    /// Run store (default: $ASSAY_STORE, else ./runs).
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List, describe and check plugins.
    #[command(subcommand)]
    Plugins(commands::plugins::PluginsCommand),
    /// Create a plugin crate that builds against this SDK.
    NewPlugin(commands::new_plugin::NewPluginArgs),
    /// Run a spec (or resume a run) and print its run id.
    Run(commands::run::RunArgs),
    /// List, show and remove runs.
    #[command(subcommand)]
    Runs(commands::runs::RunsCommand),
    /// Run Polars SQL over `runs`, `metrics` and probe tables.
    Query(commands::query::QueryArgs),
    /// Continue prompts with a trained language model of the store.
    Generate(commands::generate::GenerateArgs),
    /// Cache a model's activations at chosen hook points into a safetensors file.
    Cache(commands::cache::CacheArgs),
    /// The logit lens: each layer's residual stream read through the final norm and unembedding.
    Lens(commands::lens::LensArgs),
    /// Activation patching: copy a clean prompt's activations into a corrupted one, block by block.
    Patch(commands::patch::PatchArgs),
    /// Plot metric curves against step.
    Plot(commands::plot::PlotArgs),
    /// A Markdown report of a sweep: grouped final metrics and curve plots.
    Report(commands::report::ReportArgs),
    /// Expand a spec's [sweep] table and run every point (locally or on Slurm).
    Sweep(commands::sweep::SweepCommand),
    /// A web dashboard and JSON API over the store (read only).
    Serve(commands::serve::ServeArgs),
    /// Benchmarks of the platform itself.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    assay_catalog::guard::install_panic_hook();
    // Polars on one thread: a parallel aggregation adds floats in whatever order its threads
    // finish, so the same `avg` over the same store could differ in the last digits from one
    // call to the next. A table a paper cites must come out the same every time. Set
    // POLARS_MAX_THREADS to trade that for speed.
    if std::env::var_os("POLARS_MAX_THREADS").is_none() {
        std::env::set_var("POLARS_MAX_THREADS", "1");
    }
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let store = Store::locate(cli.store.as_deref());
    if let Command::Serve(args) = &cli.command {
        // The dashboard only reads: no group-sharing fix-ups of the store either.
        return commands::serve::run(args, &store);
    }
    store.share_with_group_if_setgid();
    let registry = cli.registry.as_deref();
    match cli.command {
        Command::Plugins(cmd) => commands::plugins::run(cmd, registry),
        Command::NewPlugin(args) => commands::new_plugin::run(&args),
        Command::Run(args) => commands::run::run(args, registry, &store),
        Command::Runs(cmd) => commands::runs::run(cmd, &store),
        Command::Query(args) => commands::query::run(&args, &store),
        Command::Generate(args) => commands::generate::run(&args, registry, &store),
        Command::Cache(args) => commands::cache::run(&args, registry, &store),
        Command::Lens(args) => commands::lens::run(&args, registry, &store),
        Command::Patch(args) => commands::patch::run(&args, registry, &store),
        Command::Plot(args) => commands::plot::run(args, &store),
        Command::Report(args) => commands::report::run(args, &store),
        Command::Sweep(cmd) => commands::sweep::run(cmd, registry, &store),
        Command::Serve(args) => commands::serve::run(&args, &store),
        Command::Bench(cmd) => commands::bench::run(cmd, registry),
    }
}
