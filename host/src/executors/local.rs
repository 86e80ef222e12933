//! Runs a sweep's pending entries on this machine, N processes at a time.
//!
//! Each entry runs in its own `assay sweep task` process, so a crash or a divergence fails only
//! that run; its output goes to `STORE/sweeps/<id>/logs/<index>.log`. On a machine with GPUs
//! (entries whose device is `cuda:*`), every process sees one GPU through `CUDA_VISIBLE_DEVICES`
//! and each GPU runs at most its share of the N processes. CPU threads are shared out too: each
//! process gets `RAYON_NUM_THREADS = cores / N` unless that variable is already set.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use assay_store::manifest::Manifest;
use assay_store::{Status, Store};

/// CPU threads for each of `jobs` concurrent tasks: the cores shared out, unless the user set
/// `RAYON_NUM_THREADS` (which the tasks then inherit). Without this every task would start a
/// thread per core, and candle's spinning workers slow each other down several times over.
fn threads_per_task(jobs: usize) -> Option<usize> {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some((cores / jobs.max(1)).max(1))
}

/// How the entries of a local sweep ended.
#[derive(Debug, Default)]
pub struct Summary {
    /// Entries already finished before the sweep started.
    pub cached: usize,
    /// Entries that completed now.
    pub completed: usize,
    /// Entries that diverged.
    pub diverged: usize,
    /// Entries whose process failed, with their log files.
    pub failed: Vec<(usize, String)>,
}

fn gpus() -> Vec<String> {
    if let Ok(v) = std::env::var("CUDA_VISIBLE_DEVICES") {
        return v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            (0..String::from_utf8_lossy(&o.stdout).lines().count())
                .map(|i| i.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs every entry of `manifest` (stored at `manifest_path`) that is not finished yet.
pub fn run(
    manifest_path: &Path,
    manifest: &Manifest,
    store: &Store,
    jobs: usize,
    quiet: bool,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let mut queue: VecDeque<usize> = VecDeque::new();
    for e in &manifest.entries {
        match store
            .record(&e.run_id)
            .map(|r| r.effective_status(store.heartbeat(&e.run_id)))
        {
            Ok(Status::Completed | Status::Diverged) => summary.cached += 1,
            _ => queue.push_back(e.index),
        }
    }
    let total = queue.len();
    let uses_gpu = manifest
        .entries
        .iter()
        .any(|e| e.spec.contains("device = \"cuda"));
    let devices = if uses_gpu { gpus() } else { Vec::new() };
    let jobs = jobs.max(1);
    let per_device = if devices.is_empty() {
        jobs
    } else {
        jobs.div_ceil(devices.len())
    };
    let mut busy = vec![0usize; devices.len()];
    let exe = std::env::current_exe().context("locating the assay binary")?;
    let logs = manifest.work_dir(store).join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut running: Vec<(usize, Option<usize>, Child)> = Vec::new();
    let mut done = 0;
    if !quiet {
        eprintln!(
            "sweep {}: {} runs, {} already finished, {} to run, {} at a time",
            manifest.id,
            manifest.entries.len(),
            summary.cached,
            total,
            jobs
        );
    }
    let threads_per_task = threads_per_task(jobs);
    while !queue.is_empty() || !running.is_empty() {
        while running.len() < jobs && !queue.is_empty() {
            let slot = if devices.is_empty() {
                None
            } else {
                (0..devices.len())
                    .min_by_key(|d| busy[*d])
                    .filter(|d| busy[*d] < per_device)
            };
            if !devices.is_empty() && slot.is_none() {
                break;
            }
            let Some(index) = queue.pop_front() else {
                break;
            };
            let log_path = logs.join(format!("{index}.log"));
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .with_context(|| format!("opening {}", log_path.display()))?;
            let mut cmd = Command::new(&exe);
            cmd.arg("--store").arg(store.root());
            if let Some(r) = &manifest.registry {
                cmd.arg("--registry").arg(r);
            }
            cmd.args(["sweep", "task"]).arg(manifest_path).args([
                "--index",
                &index.to_string(),
                "--quiet",
            ]);
            cmd.stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            if let Some(d) = slot {
                cmd.env("CUDA_VISIBLE_DEVICES", &devices[d]);
                busy[d] += 1;
            }
            if let Some(n) = threads_per_task {
                cmd.env("RAYON_NUM_THREADS", n.to_string());
            }
            let child = cmd.spawn().context("starting a sweep task")?;
            running.push((index, slot, child));
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut i = 0;
        while i < running.len() {
            let finished = running[i].2.try_wait()?;
            let Some(status) = finished else {
                i += 1;
                continue;
            };
            let (index, slot, _) = running.swap_remove(i);
            if let Some(d) = slot {
                busy[d] -= 1;
            }
            done += 1;
            let entry = &manifest.entries[index];
            let word = match status.code() {
                Some(0) => {
                    summary.completed += 1;
                    "completed"
                }
                Some(3) => {
                    summary.diverged += 1;
                    "diverged"
                }
                _ => {
                    summary.failed.push((
                        index,
                        logs.join(format!("{index}.log")).display().to_string(),
                    ));
                    "FAILED"
                }
            };
            if !quiet {
                eprintln!("[{done}/{total}] {} {word}", entry.run_id);
            }
        }
    }
    Ok(summary)
}
