//! `assay plot`: metric curves against step, as PNG or SVG; one line per run, or with
//! `--group-by KEY` the mean of each group with a band of ± one standard deviation. Or, with
//! `--query`/`--query-file`, any query whose columns are named by role (`x`, `y`, and optionally
//! `series`, `panel`, `lo`, `hi`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use assay_store::plot::{draw_all, Plot};
use assay_store::Store;
use clap::Args;

/// Arguments of `assay plot`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["metrics", "query", "query_file"])))]
pub struct PlotArgs {
    /// Metric to draw (e.g. `test/acc`); repeat for one panel per metric, stacked.
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Instead of metrics: a query whose columns are `x`, `y` and optionally `series` (a curve
    /// per value), `panel` (a panel per value) and `lo`/`hi` (a band).
    #[arg(long, conflicts_with_all = ["metrics", "query_file", "group_by", "filter"])]
    pub query: Option<String>,
    /// The plot query from a file (e.g. `experiments/multiplication.plot.sql`).
    #[arg(long, conflicts_with_all = ["metrics", "group_by", "filter"])]
    pub query_file: Option<PathBuf>,
    /// Label of the x axis (default `step`; `x` for a query).
    #[arg(long)]
    pub x_label: Option<String>,
    /// Label of the y axis of a query without a `panel` column (default `y`).
    #[arg(long)]
    pub y_label: Option<String>,
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
    let query = match (&args.query, &args.query_file) {
        (Some(q), _) => Some(q.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading plot query {}", f.display()))?,
        ),
        (None, None) => None,
    };
    let plot = Plot {
        metrics: args.metrics,
        query,
        x_label: args.x_label,
        y_label: args.y_label,
        out: args.out,
        group_by: args.group_by,
        filter: args.filter,
        logx: args.logx,
        logy: args.logy,
        title: args.title,
    };
    let n = draw_all(store, &plot)?;
    let plural = if n == 1 { "" } else { "s" };
    eprintln!("wrote {} ({n} curve{plural})", plot.out.display());
    Ok(ExitCode::SUCCESS)
}
