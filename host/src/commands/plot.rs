//! `assay plot`: metric curves against step, as PNG or SVG; one line per run, or with
//! `--group-by KEY` the mean of each group with a band of ± one standard deviation.

use std::path::PathBuf;
use std::process::ExitCode;

use assay_store::plot::{draw_all, Plot};
use assay_store::Store;
use clap::Args;

/// Arguments of `assay plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Metric to draw (e.g. `test/acc`); repeat for one panel per metric, stacked.
    #[arg(long = "metric", required = true)]
    pub metrics: Vec<String>,
    /// Output file, `.png` or `.svg`.
    #[arg(long)]
    pub out: PathBuf,
    /// `runs` columns to group by, comma-separated (e.g. `optimizer.plugin`); draws mean and
    /// ± std per group.
    #[arg(long)]
    pub group_by: Option<String>,
    /// SQL condition on `runs` columns selecting the runs (e.g. `"optimizer.lr" > 0.01`).
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// Logarithmic step axis.
    #[arg(long)]
    pub logx: bool,
    /// Logarithmic value axis.
    #[arg(long)]
    pub logy: bool,
    /// Title (default: the metric name).
    #[arg(long)]
    pub title: Option<String>,
}

/// `assay plot`.
pub fn run(args: PlotArgs, store: &Store) -> anyhow::Result<ExitCode> {
    let plot = Plot {
        metrics: args.metrics,
        out: args.out,
        group_by: args.group_by,
        filter: args.filter,
        logx: args.logx,
        logy: args.logy,
        title: args.title,
    };
    let n = draw_all(store, &plot)?;
    eprintln!("wrote {} ({n} curves)", plot.out.display());
    Ok(ExitCode::SUCCESS)
}
