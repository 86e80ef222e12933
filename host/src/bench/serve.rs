//! `assay bench serve`: the dashboard's time to first table on a store of many runs, and what a
//! dashboard watching a training run costs that run.
//!
//! 1. A generated store (`--runs` x `--rows`, as `assay bench query` makes it) served by `assay
//!    serve` in this process: the time of the first `/api/runs` page (the runs table the page
//!    opens with, final metrics included) before the store has a query index (the server never
//!    writes one), again once warm, and after `assay query` has built the index.
//! 2. The engine benchmark's MLP trained for `--steps` steps into a fresh store, alone and while
//!    a client polls that store's runs table and the run's metrics every 250 ms (twelve times as
//!    often as the page does), alternating; steps/s and their ratio.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::Context;

use assay_catalog::Catalog;
use assay_engine::{run, RunOptions};
use assay_spec::Override;
use assay_store::Store;

use super::median;

/// Arguments of `assay bench serve`.
#[derive(clap::Args, Debug)]
pub struct ServeBenchArgs {
    /// Runs in the generated store.
    #[arg(long, default_value_t = 2000)]
    pub runs: usize,
    /// Metric rows per run.
    #[arg(long, default_value_t = 1000)]
    pub rows: usize,
    /// Training steps of the watched run.
    #[arg(long, default_value_t = 20000)]
    pub steps: u64,
    /// Repetitions of the training comparison.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
}

/// Starts `assay serve` on `store` in a thread; returns its port.
fn start(store: &std::path::Path) -> anyhow::Result<u16> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let opts = assay_serve::ServeOptions {
        store: store.to_path_buf(),
        addr: format!("127.0.0.1:{port}").parse()?,
        token: None,
    };
    std::thread::spawn(move || {
        if let Err(e) = assay_serve::serve(opts) {
            eprintln!("bench serve: the server stopped: {e:#}");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(port)
}

/// GET `path`; returns the status and the body's length.
fn get(port: u16, path: &str) -> anyhow::Result<(u16, usize)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len());
    Ok((status, body))
}

/// The first page of the runs table, plain or grouped by the synthetic runs' learning rate
/// (which aggregates the final metrics of every run).
const PAGE: &str = "/api/runs?limit=100";
const GROUPED: &str = "/api/runs?limit=100&group_by=optimizer.lr";

fn timed_page(port: u16, path: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    let (status, _) = get(port, path)?;
    anyhow::ensure!(status == 200, "/api/runs answered {status}");
    Ok(t.elapsed().as_secs_f64())
}

/// Runs the benchmark and prints its figures.
pub fn serve(catalog: &Catalog, args: &ServeBenchArgs) -> anyhow::Result<()> {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let dir = std::env::temp_dir().join(format!("assay-bench-serve-{}", std::process::id()));
    let big = dir.join("many");
    let store = super::query::synthetic_store(&big, args.runs, args.rows)?;
    let port = start(&big)?;
    let cold = timed_page(port, PAGE)?;
    let warm = timed_page(port, PAGE)?;
    let grouped = timed_page(port, GROUPED)?;
    assay_store::tables::query(&store, "SELECT count(*) FROM final_metrics")?;
    let indexed = timed_page(port, PAGE)?;
    let grouped_indexed = timed_page(port, GROUPED)?;
    println!(
        "dashboard ({profile} build): first runs page (100 rows with final metrics) of {} runs x {} metric rows",
        args.runs, args.rows
    );
    println!("  without a query index: {cold:.3} s (again: {warm:.3} s); with the index `assay query` keeps: {indexed:.3} s");
    println!("  grouped by optimizer.lr (every run's final metrics aggregated): {grouped:.3} s without the index, {grouped_indexed:.3} s with it");

    let small = dir.join("watched");
    std::fs::create_dir_all(&small)?;
    let watched = Store::at(&small);
    let port = start(&small)?;
    let mut raw = assay_spec::parse_raw(super::SPEC, "bench")?;
    assay_spec::apply_overrides(
        &mut raw,
        &[Override::new(
            "bench",
            "train.steps",
            toml::Value::Integer(args.steps as i64),
        )],
    )?;
    let spec = assay_spec::resolve(&raw, "bench", catalog)?;
    let id = spec.run_id();
    let opts = RunOptions {
        quiet: true,
        force: true,
        pause_at: None,
    };
    let (mut alone, mut watched_rates, mut requests) = (Vec::new(), Vec::new(), 0usize);
    for _ in 0..args.repeats.max(1) {
        let t = Instant::now();
        run(catalog, &spec, &watched, &opts)?;
        alone.push(args.steps as f64 / t.elapsed().as_secs_f64());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let poller = {
            let stop = stop.clone();
            let id = id.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = get(port, "/api/runs");
                    let _ = get(port, &format!("/api/runs/{id}/metrics"));
                    n += 2;
                    std::thread::sleep(Duration::from_millis(250));
                }
                n
            })
        };
        let t = Instant::now();
        run(catalog, &spec, &watched, &opts)?;
        watched_rates.push(args.steps as f64 / t.elapsed().as_secs_f64());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        requests += poller
            .join()
            .map_err(|_| anyhow::anyhow!("the polling thread panicked"))?;
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    let (a, w) = (median(&mut alone), median(&mut watched_rates));
    println!(
        "training the engine benchmark's MLP, {} steps, median of {}: {a:.0} steps/s alone, {w:.0} steps/s watched ({requests} requests); ratio {:.3}",
        args.steps,
        args.repeats,
        w / a
    );
    Ok(())
}
