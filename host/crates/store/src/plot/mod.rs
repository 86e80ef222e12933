//! Plots as PNG or SVG (`assay plot`).
//!
//! Two sources of curves: metrics against step ([`metric`]: one line per run, or with
//! `--group-by KEY` one line per value of a `runs` column such as `optimizer.plugin`, the mean
//! over the group's runs with a band of ± one standard deviation), or any query whose columns
//! name the axes ([`query`]: `x`, `y`, and optionally `series`, `panel`, `lo` and `hi`).
//! Logarithmic axes on request.

mod metric;
mod query;
mod ticks;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::store::Store;

pub use metric::curves;
pub use query::query_panels;

/// What to plot: metrics (one panel each) or a query, which runs, how grouped, which axes.
#[derive(Debug, Clone, Default)]
pub struct Plot {
    /// Metrics to draw (e.g. `test/acc`), one panel per metric, stacked.
    pub metrics: Vec<String>,
    /// Instead of metrics: a query with columns `x` and `y`, optionally `series` (one curve per
    /// value), `panel` (one panel per value) and `lo`/`hi` (a band).
    pub query: Option<String>,
    /// Label of the x axis (default `step`, or `x` for a query).
    pub x_label: Option<String>,
    /// Label of the y axis of a query without a `panel` column (default `y`).
    pub y_label: Option<String>,
    /// Output file, `.png` or `.svg`.
    pub out: PathBuf,
    /// `runs` columns to group by, comma-separated (e.g. `optimizer.plugin`); draws mean and
    /// ± std per group.
    pub group_by: Option<String>,
    /// SQL condition on `runs` columns selecting the runs (e.g. `"optimizer.lr" > 0.01`).
    pub filter: Option<String>,
    /// Logarithmic step axis.
    pub logx: bool,
    /// Logarithmic value axis.
    pub logy: bool,
    /// Title (default: the metric name).
    pub title: Option<String>,
}

/// One drawn curve: label, points, optional band.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// (x, value) in x order (x is the step for metrics).
    pub points: Vec<(f64, f64)>,
    /// (x, low, high) for the band.
    pub band: Vec<(f64, f64, f64)>,
    /// Where step 0 is drawn on a log step axis (half the first logged step), if it is.
    pub zero_at: Option<f64>,
}

fn register_font() -> anyhow::Result<()> {
    let candidates: Vec<PathBuf> = std::env::var_os("ASSAY_FONT")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/TTF/DejaVuSans.ttf",
                "/usr/share/fonts/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            ]
            .into_iter()
            .map(PathBuf::from),
        )
        .collect();
    let path = candidates.iter().find(|p| p.exists()).ok_or_else(|| {
        anyhow::anyhow!("plots need a TrueType font: install fonts-dejavu-core (apt-get install fonts-dejavu-core) or set ASSAY_FONT=/path/to/font.ttf")
    })?;
    let bytes: &'static [u8] = Box::leak(
        std::fs::read(path)
            .with_context(|| format!("reading font {}", path.display()))?
            .into_boxed_slice(),
    );
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow::anyhow!("{}: not a usable TrueType font", path.display()))?;
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[Curve],
    args: &Plot,
    metric: &str,
    title: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let tx = |x: f64| if args.logx { x.log10() } else { x };
    let ty = |y: f64| if args.logy { y.log10() } else { y };
    let all = curves.iter().flat_map(|c| {
        c.points
            .iter()
            .map(|&(x, y)| (x, y, y))
            .chain(c.band.iter().copied())
    });
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, lo, hi) in all {
        x0 = x0.min(tx(x));
        x1 = x1.max(tx(x));
        if !args.logy || lo > 0.0 {
            y0 = y0.min(ty(lo));
        }
        y1 = y1.max(ty(hi));
    }
    if x0 == x1 {
        x1 = x0 + 1.0;
    }
    if y0 == y1 {
        y1 = y0 + 1.0;
    }
    let pad = (y1 - y0) * 0.05;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            ticks::TickedAxis::new(x0, x1, args.logx),
            ticks::TickedAxis::new(y0 - pad, y1 + pad, args.logy),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fmt_axis = |log: bool| move |v: &f64| compact(if log { 10f64.powf(*v) } else { *v });
    chart
        .configure_mesh()
        .x_desc({
            let x =
                args.x_label
                    .as_deref()
                    .unwrap_or(if args.query.is_some() { "x" } else { "step" });
            match (args.logx, curves.iter().find_map(|c| c.zero_at)) {
                (true, Some(z)) => format!("{x} (log; step 0 drawn at {})", compact(z)),
                (true, None) => format!("{x} (log)"),
                _ => x.to_string(),
            }
        })
        .y_desc(if args.logy {
            format!("{metric} (log)")
        } else {
            metric.to_string()
        })
        .x_label_formatter(&fmt_axis(args.logx))
        .y_label_formatter(&fmt_axis(args.logy))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (i, c) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        if c.band.len() > 1 {
            let mut poly: Vec<(f64, f64)> = c
                .band
                .iter()
                .map(|&(x, lo, _)| {
                    (
                        tx(x),
                        ty(if args.logy {
                            lo.max(f64::MIN_POSITIVE)
                        } else {
                            lo
                        }),
                    )
                })
                .collect();
            poly.extend(c.band.iter().rev().map(|&(x, _, hi)| (tx(x), ty(hi))));
            chart
                .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        chart
            .draw_series(LineSeries::new(
                c.points.iter().map(|&(x, y)| (tx(x), ty(y))),
                color.stroke_width(2),
            ))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .label(c.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        if c.points.len() <= 40 {
            chart
                .draw_series(
                    c.points
                        .iter()
                        .map(|&(x, y)| Circle::new((tx(x), ty(y)), 3, color.filled())),
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Fills `root` with one panel per `(metric, curves)`, stacked, and writes it.
fn draw_panels<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[(String, Vec<Curve>)],
    args: &Plot,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (i, ((metric, curves), area)) in panels.iter().zip(&areas).enumerate() {
        let title = match (&args.title, i) {
            (Some(t), 0) if panels.len() == 1 => t.clone(),
            (Some(t), 0) => format!("{t}: {metric}"),
            _ => metric.clone(),
        };
        draw(area, curves, args, metric, &title)?;
    }
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// A tick label with at most four significant digits.
fn compact(x: f64) -> String {
    if x.abs() < 1e-12 {
        return "0".into();
    }
    if x.abs() >= 1e5 || x.abs() < 1e-3 {
        return format!("{x:.1e}");
    }
    let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Draws one panel per `(metric, curves)` into `out` (PNG or SVG by extension).
pub fn render(panels: &[(String, Vec<Curve>)], args: &Plot, out: &Path) -> anyhow::Result<()> {
    register_font()?;
    let size = (960, 600 + 360 * (panels.len().max(1) as u32 - 1));
    match out.extension().and_then(|e| e.to_str()) {
        Some("png") => draw_panels(
            BitMapBackend::new(out, size).into_drawing_area(),
            panels,
            args,
        ),
        Some("svg") => draw_panels(SVGBackend::new(out, size).into_drawing_area(), panels, args),
        _ => bail!("--out {}: use a .png or .svg file name", out.display()),
    }
}

/// Draws one panel per `(metric, curves)` as an SVG document (what the dashboard serves).
pub fn render_svg(panels: &[(String, Vec<Curve>)], args: &Plot) -> anyhow::Result<String> {
    register_font()?;
    let size = (960, 600 + 360 * (panels.len().max(1) as u32 - 1));
    let mut svg = String::new();
    draw_panels(
        SVGBackend::with_string(&mut svg, size).into_drawing_area(),
        panels,
        args,
    )?;
    Ok(svg)
}

/// The panels of `plot`: its query's, or one per metric.
pub fn panels(store: &Store, plot: &Plot) -> anyhow::Result<Vec<(String, Vec<Curve>)>> {
    match &plot.query {
        Some(sql) => query_panels(store, sql, plot),
        None => plot
            .metrics
            .iter()
            .map(|m| Ok((m.clone(), curves(store, plot, m)?)))
            .collect(),
    }
}

/// Draws every metric of `plot` (or its query's panels) into `plot.out`; returns the number of
/// curves drawn.
pub fn draw_all(store: &Store, plot: &Plot) -> anyhow::Result<usize> {
    let panels = panels(store, plot)?;
    render(&panels, plot, &plot.out)?;
    Ok(panels.iter().map(|(_, c)| c.len()).sum())
}
