//! A run's life: starting it (or reusing an identical finished one), resuming it, computing the
//! runs it starts from first, and recording how it ended in `run.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use assay_catalog::Catalog;
use assay_spec::Spec;
use assay_store::identity::{host_name, now_rfc3339, user_name};
use assay_store::layout;
use assay_store::store::{git_commit, write_atomic};
use assay_store::{ComponentRecord, RunRecord, Status, Store};

use crate::heartbeat::{lock_run, Heartbeat};
use crate::outcome::{Outcome, RunOptions};

/// What `run.json` says about each component: kind, name, version, library and origin.
fn component_records(spec: &Spec) -> Vec<ComponentRecord> {
    spec.components()
        .into_iter()
        .map(|(kind, c)| ComponentRecord {
            kind: kind.to_string(),
            name: c.plugin().to_string(),
            version: c.version().to_string(),
            library: c.entry.library.clone(),
            origin: c.entry.origin.to_string(),
        })
        .collect()
}

/// Empties a run directory except its lock.
fn clear_run_dir(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n == layout::LOCK) {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// Runs `spec` into `store`, or reuses an identical finished run. Returns the run id. When
/// another process is computing the same run, waits for it and reuses its result, so that two
/// simultaneous starts of one spec run it once.
pub fn run(
    catalog: &Catalog,
    spec: &Spec,
    store: &Store,
    opts: &RunOptions,
) -> anyhow::Result<(String, Outcome)> {
    let id = spec.run_id();
    run_dependencies(catalog, spec, store, opts)?;
    let dir = store.run_dir(&id)?;
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating run directory {}", dir.display()))?;
    let lock = lock_run(store, &id, &dir, true)?;
    let fresh = !dir.join(layout::RUN_RECORD).exists();
    if !fresh {
        let status = match store.record(&id) {
            Ok(rec) => Some(rec.status),
            Err(e) if opts.force => {
                tracing::warn!("{e}; recomputing because of --force");
                None
            }
            Err(e) => bail!("{e}\nrecompute it with --force"),
        };
        match status {
            Some(s @ (Status::Completed | Status::Diverged)) if !opts.force => {
                if let Some(why) = store.damage(&id) {
                    bail!(
                        "run {id} finished, but {why}; it is not reused: recompute it with --force"
                    );
                }
                eprintln!(
                    "run {id} already {} in {}; reusing it (--force recomputes)",
                    s.as_str(),
                    store.root().display()
                );
                return Ok((id, Outcome::Reused(s)));
            }
            // `running` under a lock we hold means its process died: it is lost.
            Some(s @ (Status::Interrupted | Status::Running | Status::Lost | Status::Failed))
                if !opts.force =>
            {
                let s = if s == Status::Running {
                    Status::Lost
                } else {
                    s
                };
                bail!("run {id} exists with status {}; continue it with `assay run --resume {id}` or recompute with --force", s.as_str())
            }
            _ => clear_run_dir(&dir)?,
        }
    }
    // A training run's dataset, model and optimizer are built before anything is written, so
    // that a refused spec (a broken dataset directory, a model that does not fit the data)
    // leaves no run behind.
    let trains = spec.problem.is_none() && spec.solver.is_none() && spec.environment.is_none();
    let parts = if trains {
        match crate::parts::build(spec) {
            Ok(parts) => Some(parts),
            Err(e) => {
                drop(lock);
                if fresh {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                return Err(e);
            }
        }
    } else {
        None
    };
    std::fs::create_dir_all(dir.join(layout::CHECKPOINTS))
        .with_context(|| format!("creating run directory {}", dir.display()))?;
    write_atomic(&dir.join(layout::SPEC), spec.to_toml().as_bytes())?;
    store.beat(&id)?;
    let record = RunRecord {
        id: id.clone(),
        name: spec.name.clone(),
        status: Status::Running,
        started_at: now_rfc3339(),
        ended_at: None,
        duration_s: None,
        steps_done: 0,
        steps_total: spec.train.steps,
        host: host_name(),
        user: user_name(),
        pid: std::process::id(),
        git_commit: git_commit(),
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        components: component_records(spec),
        error: None,
        resumed: 0,
    };
    store.write_record(&record)?;
    let outcome = execute(catalog, spec, store, record, None, parts, opts)?;
    drop(lock);
    Ok((id, outcome))
}

/// Computes (or reuses) the runs that `spec`'s `[init]` and `[prune]` name by spec file.
fn run_dependencies(
    catalog: &Catalog,
    spec: &Spec,
    store: &Store,
    opts: &RunOptions,
) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for dep in &spec.dependencies {
        let dep_id = dep.run_id();
        if !seen.insert(dep_id.clone()) {
            continue;
        }
        let finished = store
            .record(&dep_id)
            .is_ok_and(|r| r.status == Status::Completed);
        if !finished {
            eprintln!(
                "run {} starts from run {dep_id}, which is not finished; computing it first",
                spec.run_id()
            );
        }
        let dep_opts = RunOptions {
            quiet: opts.quiet,
            force: false,
            pause_at: None,
        };
        let (_, outcome) = run_or_resume(catalog, dep, store, &dep_opts)
            .with_context(|| format!("computing run {dep_id}, which this run starts from"))?;
        match outcome {
            Outcome::Completed | Outcome::Reused(Status::Completed) => {}
            other => bail!("run {dep_id}, which this run starts from, did not complete: {other:?}"),
        }
    }
    // Runs named by id only: if one is being computed right now, wait for it.
    let referenced = spec.init.iter().map(|i| &i.source.id).chain(
        spec.prune
            .iter()
            .filter_map(|p| p.source.as_ref().map(|s| &s.id)),
    );
    for id in referenced {
        let running = store
            .record(id)
            .is_ok_and(|r| r.effective_status(store.heartbeat(id)) == Status::Running);
        if running {
            drop(lock_run(store, id, &store.run_dir(id)?, true)?);
        }
    }
    Ok(())
}

/// Continues run `id` from its last checkpoint, taking over its lock if the process that held it
/// is gone.
pub fn resume(
    catalog: &Catalog,
    store: &Store,
    id: &str,
    opts: &RunOptions,
) -> anyhow::Result<(String, Outcome)> {
    let dir = store.run_dir(id)?;
    let mut record = store.record(id)?;
    let lock = lock_run(store, id, &dir, false)?;
    let status = if record.status == Status::Running {
        Status::Lost
    } else {
        record.status
    };
    if status == Status::Completed {
        eprintln!("run {id} already completed; nothing to resume");
        return Ok((id.to_string(), Outcome::Reused(status)));
    }
    let spec_path = dir.join(layout::SPEC);
    let raw = assay_spec::read_raw(&spec_path, &[])?;
    let spec = assay_spec::resolve(&raw, &spec_path.display().to_string(), catalog)?;
    if spec.run_id() != id {
        bail!(
            "{}: the components or their versions changed since run {id} started (it would now be {}); resume needs the same plugins",
            spec_path.display(),
            spec.run_id()
        );
    }
    let checkpoint = store.checkpoints(id)?.pop();
    if checkpoint.is_none() {
        tracing::info!("run {id} has no checkpoint; starting it from step 0");
    }
    record.status = Status::Running;
    record.pid = std::process::id();
    record.host = host_name();
    record.user = user_name();
    record.error = None;
    record.ended_at = None;
    record.resumed += 1;
    store.beat(id)?;
    store.write_record(&record)?;
    let outcome = execute(
        catalog,
        &spec,
        store,
        record,
        checkpoint.map(|c| c.1),
        None,
        opts,
    )?;
    drop(lock);
    Ok((id.to_string(), outcome))
}

/// What a sweep task does with its run: computes it, reuses it when finished, resumes it when
/// it was interrupted or lost (a requeued Slurm task), and recomputes it when it failed.
pub fn run_or_resume(
    catalog: &Catalog,
    spec: &Spec,
    store: &Store,
    opts: &RunOptions,
) -> anyhow::Result<(String, Outcome)> {
    let id = spec.run_id();
    match store
        .record(&id)
        .ok()
        .map(|r| r.effective_status(store.heartbeat(&id)))
    {
        Some(Status::Interrupted | Status::Lost) => resume(catalog, store, &id, opts),
        Some(Status::Failed) => run(
            catalog,
            spec,
            store,
            &RunOptions {
                force: true,
                ..opts.clone()
            },
        ),
        _ => run(catalog, spec, store, opts),
    }
}

/// Trains `spec` under a heartbeat and writes how it ended into `run.json`.
fn execute(
    catalog: &Catalog,
    spec: &Spec,
    store: &Store,
    mut record: RunRecord,
    checkpoint: Option<PathBuf>,
    parts: Option<crate::parts::Parts>,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    let id = record.id.clone();
    let dir = store.run_dir(&id)?;
    let started = Instant::now();
    let previous = record.duration_s.unwrap_or(0.0);
    assay_store::store::append_log(
        &dir,
        &format!(
            "{} {} (seed {}, {} steps) as {}@{} pid {}{}",
            if record.resumed > 0 {
                "resume"
            } else {
                "start"
            },
            record.name,
            spec.seed,
            spec.train.steps,
            record.user,
            record.host,
            record.pid,
            match &checkpoint {
                Some(c) => format!(" from {}", c.display()),
                None => String::new(),
            }
        ),
    );
    let _heartbeat = Heartbeat::start(store.clone(), id.clone());
    let compute = || {
        crate::train::train(
            catalog,
            spec,
            store,
            &dir,
            &mut record,
            crate::train::Start { checkpoint, parts },
            opts,
        )
    };
    // CPU runs compute on the pool's threads; a GPU run stays on the thread that opened its
    // device.
    let result = match assay_spec::device::parse(&spec.device) {
        Ok(assay_spec::device::DeviceName::Cpu) => crate::on_pool(compute),
        _ => compute(),
    };
    record.ended_at = Some(now_rfc3339());
    record.duration_s = Some(previous + started.elapsed().as_secs_f64());
    let outcome = match &result {
        Ok(o) => {
            record.status = match o {
                Outcome::Completed => Status::Completed,
                Outcome::Diverged => Status::Diverged,
                Outcome::Interrupted => Status::Interrupted,
                Outcome::Reused(s) => *s,
            };
            Ok(*o)
        }
        Err(e) => {
            record.status = Status::Failed;
            record.error = Some(format!("{e:#}"));
            Err(anyhow!("run {id} failed: {e:#}"))
        }
    };
    assay_store::store::append_log(
        &dir,
        &format!(
            "end {} at step {} after {:.1} s{}",
            record.status.as_str(),
            record.steps_done,
            record.duration_s.unwrap_or(0.0),
            record
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
    );
    store.write_record(&record)?;
    outcome
}
