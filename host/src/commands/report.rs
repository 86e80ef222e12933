//! `assay report`: a Markdown report of a sweep (or of any set of runs) with its table and plots.

use std::path::PathBuf;
use std::process::ExitCode;

use assay_store::report::{write, Report};
use assay_store::Store;
use clap::Args;

/// Arguments of `assay report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A sweep manifest (path or id), or a SQL condition on `runs` selecting the runs
    /// (e.g. `run_name = 'adopt-digits'`).
    pub target: String,
    /// Output directory.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Metrics to tabulate and plot (default: every `test/` metric).
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Keys to group by (default for a manifest: its swept keys except `seed`).
    #[arg(long = "by")]
    pub by: Vec<String>,
    /// Logarithmic step axis in the plots.
    #[arg(long)]
    pub logx: bool,
}

/// `assay report`.
pub fn run(args: ReportArgs, store: &Store) -> anyhow::Result<ExitCode> {
    let report = Report {
        target: args.target,
        out: args.out,
        metrics: args.metrics,
        by: args.by,
        logx: args.logx,
    };
    let path = write(&report, store)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
