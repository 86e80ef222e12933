//! The `assay` command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use assay_sdk::Kind;
use clap::{Args, Parser, Subcommand};

use crate::catalog::{Catalog, Origin};
use crate::distribution::Distribution;
use crate::lifecycle::{Outcome, RunOptions, EXIT_DIVERGED, EXIT_INTERRUPTED};
use crate::registry::Registry;
use crate::store::Store;

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
    Plugins(PluginsCommand),
    /// Create a plugin crate that builds against this SDK.
    NewPlugin(NewPluginArgs),
    /// Run a spec (or resume a run) and print its run id.
    Run(RunArgs),
    /// List, show and remove runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Run Polars SQL over `runs`, `metrics` and probe tables.
    Query(crate::tables::QueryArgs),
    /// Continue prompts with a trained language model of the store.
    Generate(crate::generate::GenerateArgs),
    /// Plot metric curves against step.
    Plot(crate::plot::PlotArgs),
    /// A Markdown report of a sweep: grouped final metrics and curve plots.
    Report(crate::report::ReportArgs),
    /// Expand a spec's [sweep] table and run every point (locally or on Slurm).
    Sweep(crate::sweep::SweepCommand),
    /// Benchmarks of the platform itself.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Steps/s of a tiny model with metrics logged every step versus logging off.
    Engine(crate::bench::BenchArgs),
    /// Seconds for a grouped `assay query` over a generated store of many runs.
    Query(crate::bench::QueryBenchArgs),
    /// Time per step of an optimizer on a scalar: tensors versus its host-memory path.
    Optimizer(crate::bench::OptimizerBenchArgs),
    /// The grokking models' full-batch training step, beside PyTorch (`bench/grokking.sh`).
    Grokking(crate::bench::GrokkingBenchArgs),
    /// Training and generation tokens/s of study 2's decoder, beside PyTorch (`bench/lm.sh`).
    Lm(crate::bench::LmBenchArgs),
    /// The grokking step with plugins linked in versus loaded from .so files.
    Boundary(crate::bench::BoundaryBenchArgs),
}

#[derive(Subcommand, Debug)]
enum PluginsCommand {
    /// Every component with kind, version and origin.
    List {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One component's summary and parameters.
    Info {
        /// Component name.
        name: String,
        /// Kind, when several kinds share the name.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Load one library and list its components; exit 1 if it cannot be used.
    Check {
        /// Path of the library (.so).
        path: PathBuf,
    },
    /// Print the SDK distribution this host runs on (what plugin crates compile against).
    Sdk,
    /// Build a plugin crate against this host's SDK, in its own directory, and check the result.
    Build {
        /// The plugin crate's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Build with cargo's release profile.
        #[arg(long)]
        release: bool,
    },
}

#[derive(Args, Debug)]
struct NewPluginArgs {
    /// Crate name (lower case, `-` or `_`).
    name: String,
    /// Kind of the component to scaffold: optimizer, model, dataset, probe, environment,
    /// pruner or problem.
    #[arg(long)]
    kind: String,
    /// Parent directory of the new crate, anywhere (default: the current directory).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Spec file.
    #[arg(required_unless_present = "resume")]
    spec: Option<PathBuf>,
    /// Override a value: KEY.PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Continue a run from its last checkpoint.
    #[arg(long, value_name = "RUN_ID", conflicts_with = "spec")]
    resume: Option<String>,
    /// Recompute even if an identical finished run exists.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Stop after this step with a checkpoint (status `interrupted`); `--resume` continues.
    #[arg(long, value_name = "STEP")]
    pause_at: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum RunsCommand {
    /// Every run with status and progress.
    List {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One run's record and spec.
    Show {
        /// Run id.
        id: String,
    },
    /// Remove a run directory.
    Rm {
        /// Run id.
        id: String,
    },
    /// Remove checkpoints of finished runs except the last, and stray temporary files.
    Gc {
        /// Only report what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
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
    crate::guard::install_panic_hook();
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

/// The registry file to use, if any.
fn registry_path(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("ASSAY_REGISTRY").map(PathBuf::from))
        .or_else(|| {
            let p = PathBuf::from("registry.toml");
            p.exists().then_some(p)
        })
}

/// Built-ins plus every enabled library of the registry. Libraries that are missing or unusable
/// are reported and skipped; a duplicate component is an error.
pub fn load_catalog(registry: Option<&Path>) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::builtin()?;
    let Some(path) = registry_path(registry) else {
        return Ok(catalog);
    };
    let registry = Registry::read(&path)?;
    for entry in registry.libraries.iter().filter(|e| e.enabled) {
        let Some(located) = registry.locate(entry) else {
            let searched: Vec<_> = registry
                .search_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            eprintln!(
                "warning: {}",
                crate::loader::LoadError::NotFound {
                    path: entry.path.clone(),
                    searched: searched.join(", "),
                }
            );
            continue;
        };
        let located = located.canonicalize().unwrap_or(located);
        match crate::loader::load(&located, entry.sha256.as_deref()) {
            Ok(decl) => catalog
                .add_library(decl, Origin::Library(located.clone()))
                .with_context(|| format!("registry {}", path.display()))?,
            Err(e) => eprintln!("warning: {e}; its components are unavailable"),
        }
    }
    Ok(catalog)
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let store = Store::locate(cli.store.as_deref());
    store.share_with_group_if_setgid();
    match cli.command {
        Command::Plugins(cmd) => plugins(cmd, cli.registry.as_deref()),
        Command::NewPlugin(args) => {
            let kind = Kind::parse(&args.kind).ok_or_else(|| {
                let names: Vec<String> = Kind::ALL.map(|k| k.as_str().to_string()).to_vec();
                anyhow::anyhow!(
                    "--kind {}",
                    assay_sdk::params::not_a_choice(&args.kind, &names)
                )
            })?;
            let dist = Distribution::current()?;
            let created = crate::scaffold::new_plugin(&args.name, kind, &args.dir, &dist)?;
            println!(
                "created {} (its README says how to build and load it)",
                created.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(args, cli.registry.as_deref(), &store),
        Command::Runs(cmd) => runs(cmd, &store),
        Command::Query(args) => crate::tables::query_command(&args, &store),
        Command::Generate(args) => {
            let out = crate::generate::generate_command(
                &load_catalog(cli.registry.as_deref())?,
                &store,
                &args,
            )?;
            for (prompt, g) in args.prompts.iter().zip(&out) {
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "prompt": prompt,
                            "prompt_ids": g.prompt_ids,
                            "ids": g.ids,
                            "text": g.text,
                            "stop": format!("{:?}", g.stop).to_lowercase(),
                        })
                    );
                } else {
                    println!("{}", g.text);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plot(args) => crate::plot::plot_command(&args, &store),
        Command::Report(args) => crate::report::report_command(&args, &store),
        Command::Sweep(cmd) => {
            let registry = registry_path(cli.registry.as_deref());
            crate::sweep::command(cmd, registry.as_deref(), &store, || {
                load_catalog(cli.registry.as_deref())
            })
        }
        Command::Bench(BenchCommand::Optimizer(args)) => {
            crate::bench::optimizer(&load_catalog(cli.registry.as_deref())?, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Lm(args)) => {
            crate::bench::lm(&load_catalog(cli.registry.as_deref())?, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Grokking(args)) => {
            crate::bench::grokking(&load_catalog(cli.registry.as_deref())?, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Boundary(args)) => {
            crate::bench::boundary(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Query(args)) => {
            crate::bench::query(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Engine(args)) => {
            crate::bench::engine(&load_catalog(cli.registry.as_deref())?, &args)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn plugins(cmd: PluginsCommand, registry: Option<&Path>) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginsCommand::List { json } => {
            let catalog = load_catalog(registry)?;
            let entries = catalog.entries();
            let mut out = std::io::stdout().lock();
            if json {
                let rows: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "name": e.component.name,
                            "kind": e.component.kind().as_str(),
                            "version": e.component.version,
                            "origin": e.origin.to_string(),
                            "library": e.library,
                            "summary": e.component.summary,
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
            } else {
                writeln!(
                    out,
                    "{:<12} {:<24} {:<9} {:<16} summary",
                    "kind", "name", "version", "library"
                )?;
                for e in entries {
                    writeln!(
                        out,
                        "{:<12} {:<24} {:<9} {:<16} {}",
                        e.component.kind().as_str(),
                        e.component.name,
                        e.component.version,
                        e.library,
                        e.component.summary
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Info { name, kind } => {
            let catalog = load_catalog(registry)?;
            let mut found = catalog.named(&name);
            if let Some(k) = &kind {
                let k =
                    Kind::parse(k).ok_or_else(|| anyhow::anyhow!("--kind {k}: unknown kind"))?;
                found.retain(|e| e.component.kind() == k);
            }
            match found.len() {
                0 => {
                    let err = Kind::ALL
                        .iter()
                        .filter_map(|k| catalog.get(*k, &name).err())
                        .find(|e| matches!(e, crate::catalog::CatalogError::Unknown { suggestions, .. } if !suggestions.is_empty()));
                    match err {
                        Some(e) => bail!("{e}"),
                        None => bail!("no component named `{name}` (see `assay plugins list`)"),
                    }
                }
                1 => {}
                _ => bail!("several components are named `{name}`; add --kind"),
            }
            let e = found[0];
            let c = &e.component;
            println!("{} `{}` {}", c.kind(), c.name, c.version);
            if !c.summary.is_empty() {
                println!("  {}", c.summary);
            }
            println!("  from: {} ({} {})", e.origin, e.library, e.library_version);
            if c.params.is_empty() {
                println!("  parameters: none");
            } else {
                println!("  parameters:");
                for p in &c.params {
                    let default = p
                        .default
                        .as_ref()
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "required".into());
                    let mut constraint = String::new();
                    if p.min.is_some() || p.max.is_some() {
                        constraint = format!(
                            " in [{}, {}]",
                            p.min
                                .map(|v| v.to_string())
                                .unwrap_or_else(|| "-inf".into()),
                            p.max.map(|v| v.to_string()).unwrap_or_else(|| "inf".into())
                        );
                    }
                    if !p.choices.is_empty() {
                        constraint = format!(" one of {}", p.choices.join(", "));
                    }
                    println!(
                        "    {:<18} {:<14} default {:<12} {}{}",
                        p.name,
                        p.ty.to_string(),
                        default,
                        p.doc,
                        constraint
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Check { path } => check_library(&path),
        PluginsCommand::Sdk => {
            let dist = Distribution::current()?;
            println!("{}", dist.dir.display());
            eprintln!(
                "assay-sdk {} (build {}); plugin crates depend on `assay-sdk = {{ package = \"assay-sdk-link\", path = \"{}\" }}`",
                dist.version,
                dist.build,
                dist.link_crate().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Build { dir, release } => {
            let dist = Distribution::current()?;
            let library = crate::scaffold::build(&dir, &dist, release)?;
            check_library(&library)
        }
    }
}

/// Loads one library beside the built-ins and lists what it adds; exit 1 if it cannot be used.
fn check_library(path: &Path) -> anyhow::Result<ExitCode> {
    let mut catalog = Catalog::builtin()?;
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let decl = match crate::loader::load(&path, None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let before: Vec<String> = catalog
        .entries()
        .iter()
        .map(|e| format!("{}/{}", e.component.kind(), e.component.name))
        .collect();
    if let Err(e) = catalog.add_library(decl, Origin::Library(path.clone())) {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{}: assay plugin `{}` {} (ABI {}), compatible with this host",
        path.display(),
        decl.library,
        decl.version,
        assay_sdk::abi::ABI_VERSION
    );
    for e in catalog.entries() {
        if !before.contains(&format!("{}/{}", e.component.kind(), e.component.name)) {
            println!(
                "  {:<12} {:<24} {}",
                e.component.kind().as_str(),
                e.component.name,
                e.component.version
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs, registry: Option<&Path>, store: &Store) -> anyhow::Result<ExitCode> {
    crate::engine::install_interrupt_handler();
    let catalog = load_catalog(registry)?;
    let opts = RunOptions {
        quiet: args.quiet,
        force: args.force,
        pause_at: args.pause_at,
    };
    let (id, outcome) = match (&args.resume, &args.spec) {
        (Some(id), _) => crate::engine::resume(&catalog, store, id, &opts)?,
        (None, Some(path)) => {
            let raw = crate::spec::read_raw(path, &args.set)?;
            let spec = crate::spec::resolve(&raw, &path.display().to_string(), &catalog)
                .map_err(|e| crate::spec::attribute_overrides(e, &args.set))?;
            crate::engine::run(&catalog, &spec, store, &opts)?
        }
        (None, None) => bail!("give a spec file or --resume RUN_ID"),
    };
    if !args.quiet {
        if let Some(summary) = final_summary(store, &id) {
            eprintln!("run {id}: {summary}");
        }
    }
    let code = match outcome {
        Outcome::Completed | Outcome::Reused(_) => ExitCode::SUCCESS,
        Outcome::Diverged => {
            eprintln!("run {id} diverged (NaN or infinite loss); metrics up to that step are kept");
            ExitCode::from(EXIT_DIVERGED)
        }
        Outcome::Interrupted => {
            eprintln!("run {id} interrupted; continue it with `assay run --resume {id}`");
            ExitCode::from(EXIT_INTERRUPTED)
        }
    };
    println!("{id}");
    Ok(code)
}

/// `test/acc 0.97, test/loss 0.10 at step 400`: the last evaluation of a run.
fn final_summary(store: &Store, id: &str) -> Option<String> {
    let df =
        crate::record::read_parquet(&store.run_dir(id).ok()?.join(crate::layout::METRICS)).ok()?;
    let steps = df.column("step").ok()?.u64().ok()?.clone();
    let names = df.column("name").ok()?.str().ok()?.clone();
    let values = df.column("value").ok()?.f64().ok()?.clone();
    let last = steps.iter().flatten().max()?;
    let parts: Vec<String> = (0..df.height())
        .filter(|&i| {
            steps.get(i) == Some(last)
                && names
                    .get(i)
                    .is_some_and(|n| n.starts_with("test/") || n.starts_with("train/"))
        })
        .filter_map(|i| Some(format!("{} {:.4}", names.get(i)?, values.get(i)?)))
        .collect();
    (!parts.is_empty()).then(|| format!("{} at step {last}", parts.join(", ")))
}

fn runs(cmd: RunsCommand, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        RunsCommand::List { json } => {
            let list = store.list()?;
            // Directories without a record: killed before writing it, or starting now.
            let incomplete: Vec<(String, &str)> = store
                .incomplete()?
                .into_iter()
                .map(|(id, live)| (id, if live { "starting" } else { "incomplete" }))
                .collect();
            if json {
                let mut rows: Vec<_> = list
                    .iter()
                    .map(|r| match r {
                        Ok((rec, status)) => {
                            let mut v = serde_json::to_value(rec).unwrap_or_default();
                            v["status"] = serde_json::Value::String(status.as_str().into());
                            v
                        }
                        Err(e) => serde_json::json!({"error": e.to_string()}),
                    })
                    .collect();
                rows.extend(
                    incomplete
                        .iter()
                        .map(|(id, status)| serde_json::json!({"id": id, "status": status})),
                );
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<40} {:<12} {:>14} {:<24}",
                    "id", "status", "steps", "started"
                );
                for r in list {
                    match r {
                        Ok((rec, status)) => println!(
                            "{:<40} {:<12} {:>14} {:<24}",
                            rec.id,
                            status.as_str(),
                            format!("{}/{}", rec.steps_done, rec.steps_total),
                            rec.started_at
                        ),
                        Err(e) => println!("{e}"),
                    }
                }
                for (id, status) in &incomplete {
                    println!("{id:<40} {status:<12} {:>14} {:<24}", "-", "-");
                }
                if incomplete.iter().any(|(_, s)| *s == "incomplete") {
                    eprintln!(
                        "note: `incomplete` runs were stopped before writing run.json; `assay runs rm ID` removes one, or `assay run SPEC` recomputes it"
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Show { id } => {
            let rec = store.record(&id)?;
            let status = rec.effective_status(store.heartbeat(&id));
            let mut v = serde_json::to_value(&rec)?;
            v["status"] = serde_json::Value::String(status.as_str().into());
            println!("{}", serde_json::to_string_pretty(&v)?);
            let spec = store.run_dir(&id)?.join(crate::layout::SPEC);
            if let Ok(text) = std::fs::read_to_string(&spec) {
                println!("\n# {}\n{text}", spec.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Rm { id } => {
            store.remove(&id)?;
            println!("removed {id}");
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Gc { dry_run } => {
            let (files, bytes) = store.gc(dry_run)?;
            println!(
                "{} {files} files, {:.1} MiB",
                if dry_run { "would remove" } else { "removed" },
                bytes as f64 / (1024.0 * 1024.0)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
