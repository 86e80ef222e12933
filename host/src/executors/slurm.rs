//! The Slurm backend: one `sbatch` job array whose task `i` runs manifest entry `i` into the
//! shared store. Submission returns at once with the job id; state comes from the run
//! directories (and from `squeue` where it answers, never from `sacct`).
//!
//! Preemption and time limits: the job asks Slurm (`--signal=B:TERM@60`) for SIGTERM a minute
//! before the end; the task checkpoints, marks its run `interrupted` and requeues itself
//! (`scontrol requeue`), and the requeued task resumes from the checkpoint.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use assay_store::manifest::Manifest;
use assay_store::store::write_atomic;
use assay_store::{Status, Store};

/// What `sbatch` is asked for beyond the array itself.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// Slurm partition.
    pub partition: Option<String>,
    /// Time limit per task (e.g. 01:00:00).
    pub time: Option<String>,
    /// GPUs per task.
    pub gpus_per_task: Option<u32>,
    /// At most this many array tasks at once.
    pub array_parallelism: Option<usize>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `0-3,5,7-9`: Slurm's array syntax for sorted indices.
fn ranges(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// The batch script for `indices` of the manifest at `manifest_path`.
pub fn script(
    manifest_path: &Path,
    m: &Manifest,
    store: &Store,
    indices: &[usize],
    args: &SlurmOptions,
) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("locating the assay binary")?;
    let store_root = store
        .root()
        .canonicalize()
        .unwrap_or_else(|_| store.root().to_path_buf());
    let logs = m.work_dir(store).canonicalize()?.join("logs");
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=assay-{}\n", m.id));
    let mut array = ranges(indices);
    if let Some(k) = args.array_parallelism {
        array.push_str(&format!("%{k}"));
    }
    s.push_str(&format!("#SBATCH --array={array}\n"));
    s.push_str(&format!("#SBATCH --output={}/%a.log\n", logs.display()));
    s.push_str("#SBATCH --open-mode=append\n#SBATCH --ntasks=1\n#SBATCH --requeue\n#SBATCH --signal=B:TERM@60\n");
    if let Some(p) = &args.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &args.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if let Some(g) = args.gpus_per_task {
        s.push_str(&format!("#SBATCH --gpus-per-task={g}\n"));
    }
    let mut cmd = format!(
        "exec {} --store {}",
        quote(&exe.display().to_string()),
        quote(&store_root.display().to_string())
    );
    if let Some(r) = &m.registry {
        cmd.push_str(&format!(" --registry {}", quote(r)));
    }
    cmd.push_str(&format!(
        " sweep task {} --index \"$SLURM_ARRAY_TASK_ID\" --quiet\n",
        quote(&manifest_path.display().to_string())
    ));
    s.push_str(&cmd);
    Ok(s)
}

/// Submits the unfinished entries; returns the job id and records it in the manifest.
pub fn submit(
    manifest_path: &Path,
    m: &Manifest,
    store: &Store,
    args: &SlurmOptions,
) -> anyhow::Result<String> {
    let indices: Vec<usize> = m
        .entries
        .iter()
        .filter(|e| {
            !matches!(
                store
                    .record(&e.run_id)
                    .map(|r| r.effective_status(store.heartbeat(&e.run_id))),
                Ok(Status::Completed | Status::Diverged)
            )
        })
        .map(|e| e.index)
        .collect();
    if indices.is_empty() {
        bail!(
            "every run of sweep {} is already finished; nothing to submit",
            m.id
        );
    }
    let script_path = m.work_dir(store).join("job.sh");
    write_atomic(
        &script_path,
        script(manifest_path, m, store, &indices, args)?.as_bytes(),
    )?;
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script_path)
        .output()
        .context("running sbatch (is Slurm installed and SLURM_CONF set?)")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            script_path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let job = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if job.is_empty() {
        bail!("sbatch printed no job id");
    }
    let mut updated = m.clone();
    updated.slurm_job = Some(job.clone());
    updated.write(manifest_path)?;
    Ok(job)
}

/// `(array index, state)` of the job's tasks still known to `squeue`; empty when squeue does
/// not answer.
pub fn queued_tasks(job: &str) -> Vec<(usize, String)> {
    let Ok(out) = Command::new("squeue")
        .args(["-h", "-r", "-j", job, "-o", "%K %T"])
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.parse().ok()?, it.next()?.to_string()))
        })
        .collect()
}

/// Inside a Slurm array task, asks Slurm to requeue this task (after a checkpoint), so that it
/// resumes later. Set `ASSAY_SLURM_REQUEUE=0` to stop instead.
pub fn requeue_if_in_slurm() {
    let (Ok(job), Ok(task)) = (
        std::env::var("SLURM_ARRAY_JOB_ID"),
        std::env::var("SLURM_ARRAY_TASK_ID"),
    ) else {
        return;
    };
    if std::env::var("ASSAY_SLURM_REQUEUE").is_ok_and(|v| v == "0") {
        return;
    }
    let target = format!("{job}_{task}");
    match Command::new("scontrol").args(["requeue", &target]).status() {
        Ok(s) if s.success() => {
            eprintln!("requeued Slurm task {target}; it resumes from the checkpoint")
        }
        other => eprintln!("could not requeue Slurm task {target}: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn array_ranges_are_compressed() {
        assert_eq!(super::ranges(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
        assert_eq!(super::ranges(&[4]), "4");
    }
}
