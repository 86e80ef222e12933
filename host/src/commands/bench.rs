//! `assay bench`: benchmarks of the platform itself, each against a reference measured in the
//! same run (see the README's "Benchmarks and cross-checks"; earlier figures in `bench/HISTORY.md`).

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use crate::bench;
use crate::builtins::load_catalog;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Steps/s of a tiny model with metrics logged every step versus logging off.
    Engine(bench::BenchArgs),
    /// Seconds for a grouped `assay query` over a generated store of many runs.
    Query(bench::QueryBenchArgs),
    /// Time per step of an optimizer on a scalar: tensors versus its host-memory path.
    Optimizer(bench::OptimizerBenchArgs),
    /// The grokking models' full-batch training step, beside PyTorch (`bench/grokking.sh`).
    Grokking(bench::GrokkingBenchArgs),
    /// Training and generation tokens/s of study 2's decoder, beside PyTorch (`bench/lm.sh`).
    Lm(bench::LmBenchArgs),
    /// The grokking step with plugins linked in versus loaded from .so files.
    Boundary(bench::BoundaryBenchArgs),
    /// Study 10: CFR iterations/s and Leduc Hold'em steps/s, beside the game core's own loops.
    Leduc(bench::LeducBenchArgs),
    /// Study 9: reach_push steps/s with its expert, beside the simulator core's own loop.
    Robot(bench::RobotBenchArgs),
    /// The dashboard: first runs page over a store of many runs; training steps/s watched or not.
    Serve(bench::ServeBenchArgs),
}

/// `assay bench ...`.
pub fn run(cmd: BenchCommand, registry: Option<&Path>) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Engine(args) => bench::engine(&load_catalog(registry)?, &args)?,
        BenchCommand::Query(args) => bench::query(&args)?,
        BenchCommand::Optimizer(args) => bench::optimizer(&load_catalog(registry)?, &args)?,
        BenchCommand::Grokking(args) => bench::grokking(&load_catalog(registry)?, &args)?,
        BenchCommand::Lm(args) => bench::lm(&load_catalog(registry)?, &args)?,
        BenchCommand::Boundary(args) => bench::boundary(&args)?,
        BenchCommand::Leduc(args) => bench::leduc(&load_catalog(registry)?, &args)?,
        BenchCommand::Robot(args) => bench::robot(&load_catalog(registry)?, &args)?,
        BenchCommand::Serve(args) => bench::serve(&load_catalog(registry)?, &args)?,
    }
    Ok(ExitCode::SUCCESS)
}
