//! The run loop: build the components, train, evaluate, probe, checkpoint, and record it all in
//! the store.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use assay_sdk::prelude::*;

use crate::catalog::{Catalog, Entry};
use crate::guard::{GuardedDataset, GuardedModel};
use crate::lock::{Contention, RunLock};
use crate::record::RunLog;
use crate::spec::{ProbeSchedule, Spec};
use crate::store::{now_rfc3339, ComponentRecord, RunRecord, Status, Store};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Installs the Ctrl-C / SIGTERM handler once per process: the loop stops after the current step,
/// checkpoints, and marks the run `interrupted`.
pub fn install_interrupt_handler() {
    HANDLER.call_once(|| {
        if let Err(e) = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst)) {
            tracing::warn!("cannot install the Ctrl-C handler: {e}");
        }
    });
}

pub use crate::lifecycle::{Outcome, RunOptions};
pub use crate::loss::{loss, loss_and_accuracy};

/// Everything built for a run.
struct Parts {
    device: Device,
    dataset: GuardedDataset,
    model: GuardedModel,
    optimizer: Box<dyn Optimizer>,
    probes: Vec<(ProbeSchedule, Box<dyn Probe>)>,
}

fn entry<'a>(catalog: &'a Catalog, kind: Kind, name: &str) -> anyhow::Result<&'a Entry> {
    Ok(catalog.get(kind, name)?)
}

/// The dataset and model of a training spec, built as a run builds them (fresh weights), and the
/// device: what `assay generate` loads a finished run's checkpoint into.
pub fn build_data_and_model(
    catalog: &Catalog,
    spec: &Spec,
) -> anyhow::Result<(GuardedDataset, GuardedModel, Device)> {
    let parts = build(catalog, spec)?;
    Ok((parts.dataset, parts.model, parts.device))
}

fn build(catalog: &Catalog, spec: &Spec) -> anyhow::Result<Parts> {
    let device = crate::device::open(&spec.device).map_err(|m| anyhow!("device: {m}"))?;
    let cx = BuildContext {
        seed: spec.seed,
        device: device.clone(),
    };
    let (Some(dspec), Some(mspec)) = (&spec.dataset, &spec.model) else {
        bail!("a training run needs [dataset] and [model]");
    };
    let d = entry(catalog, Kind::Dataset, &dspec.plugin)?;
    let dataset = d
        .build_dataset(&dspec.params, &cx)
        .with_context(|| format!("building {}", d.label()))?;
    if dataset.len(Split::Train) == 0 {
        bail!("{} has no training examples", d.label());
    }
    let m = entry(catalog, Kind::Model, &mspec.plugin)?;
    let model = m
        .build_model(
            &mspec.params,
            &ModelContext {
                build: cx.clone(),
                data: dataset.info(),
            },
        )
        .with_context(|| format!("building {}", m.label()))?;
    let o = entry(catalog, Kind::Optimizer, &spec.optimizer.plugin)?;
    let optimizer = o
        .build_optimizer(
            &spec.optimizer.params,
            crate::catalog::optimizer_parameters(&model, &spec.no_decay),
        )
        .with_context(|| format!("building {}", o.label()))?;
    let mut probes = Vec::new();
    for p in &spec.probes {
        let e = entry(catalog, Kind::Probe, &p.component.plugin)?;
        let probe = e
            .build_probe(&p.component.params, &cx)
            .with_context(|| format!("building {}", e.label()))?;
        probes.push((p.schedule.clone(), probe));
    }
    Ok(Parts {
        device,
        dataset,
        model,
        optimizer,
        probes,
    })
}

/// The batch indices of training step `step` (1-based): consecutive slices of per-epoch
/// permutations drawn from the run seed, so any step's batch is known without replaying the
/// ones before it.
struct Sampler {
    seed: u64,
    n: usize,
    batch: usize,
    cache: HashMap<u64, Vec<usize>>,
}

impl Sampler {
    fn new(seed: u64, n: usize, batch: usize) -> Self {
        let batch = if batch == 0 || batch > n { n } else { batch };
        Sampler {
            seed,
            n,
            batch,
            cache: HashMap::new(),
        }
    }

    fn full_batch(&self) -> bool {
        self.batch == self.n
    }

    fn permutation(&mut self, epoch: u64) -> &[usize] {
        if !self.cache.contains_key(&epoch) {
            use assay_sdk::rand::seq::SliceRandom;
            let mut p: Vec<usize> = (0..self.n).collect();
            p.shuffle(&mut init::rng(self.seed, &format!("batches/{epoch}")));
            self.cache.retain(|e, _| *e + 1 >= epoch);
            self.cache.insert(epoch, p);
        }
        &self.cache[&epoch]
    }

    fn indices(&mut self, step: u64) -> Vec<usize> {
        if self.full_batch() {
            return (0..self.n).collect();
        }
        let start = (step - 1) * self.batch as u64;
        (start..start + self.batch as u64)
            .map(|k| {
                let (epoch, i) = (k / self.n as u64, (k % self.n as u64) as usize);
                self.permutation(epoch)[i]
            })
            .collect()
    }
}

/// Evaluation runs in chunks of about this many input positions (a chunk of 2,048 three-token
/// examples, or of 16 blocks of 1,024 tokens), so that activations stay within memory.
const EVAL_POSITIONS: usize = 16_384;

fn evaluate(parts: &mut Parts, split: Split, max: usize) -> anyhow::Result<(f64, Option<f64>)> {
    let n = parts.dataset.len(split);
    let n = if max > 0 { n.min(max) } else { n };
    if n == 0 {
        return Ok((f64::NAN, None));
    }
    parts.model.set_training(false);
    let objective = parts.dataset.info().objective;
    let (mut loss_sum, mut acc_sum, mut has_acc) = (0.0f64, 0.0f64, false);
    let idx: Vec<usize> = (0..n).collect();
    let positions: usize = parts
        .dataset
        .info()
        .input_shape
        .iter()
        .product::<usize>()
        .max(1);
    let chunk_size = (EVAL_POSITIONS / positions).clamp(1, 2048);
    for chunk in idx.chunks(chunk_size) {
        let batch = parts.dataset.batch(split, chunk, &parts.device)?;
        let out = parts
            .model
            .forward(&batch.input, &mut Hooks::none())?
            .detach();
        let (loss, acc) = loss_and_accuracy(&objective, &out, &batch.target)?;
        let w = chunk.len() as f64;
        loss_sum += f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?) * w;
        if let Some(a) = acc {
            has_acc = true;
            acc_sum += f64::from(a.to_scalar::<f32>()?) * w;
        }
    }
    parts.model.set_training(true);
    Ok((loss_sum / n as f64, has_acc.then(|| acc_sum / n as f64)))
}

fn checkpoint_path(dir: &Path, step: u64) -> std::path::PathBuf {
    dir.join(crate::layout::CHECKPOINTS)
        .join(format!("step-{step:09}.safetensors"))
}

/// A model's trained parameters and its buffers (frozen weights): what a checkpoint holds.
pub fn all_weights(model: &dyn Model) -> Vec<(String, Var)> {
    let mut all = model.parameters();
    all.extend(model.buffers());
    all
}

fn save_checkpoint(parts: &Parts, dir: &Path, step: u64) -> anyhow::Result<()> {
    let mut map: HashMap<String, Tensor> = HashMap::new();
    for (name, var) in all_weights(&parts.model) {
        map.insert(
            format!("{}{name}", crate::layout::MODEL_KEY),
            var.as_tensor().clone(),
        );
    }
    for (name, t) in parts.optimizer.state()? {
        map.insert(format!("optim.{name}"), t);
    }
    map.insert(
        "meta.step".into(),
        Tensor::new(&[step as i64], &Device::Cpu)?,
    );
    std::fs::create_dir_all(dir.join(crate::layout::CHECKPOINTS))?;
    let bytes = assay_sdk::safetensors::serialize(map.iter(), None)
        .map_err(|e| anyhow!("serialising the checkpoint of step {step}: {e}"))?;
    crate::store::write_atomic(&checkpoint_path(dir, step), &bytes)?;
    Ok(())
}

fn load_checkpoint(parts: &mut Parts, path: &Path) -> anyhow::Result<u64> {
    let map = assay_sdk::candle::safetensors::load(path, &parts.device)
        .with_context(|| format!("reading checkpoint {}", path.display()))?;
    let step = map
        .get("meta.step")
        .ok_or_else(|| anyhow!("{}: no meta.step", path.display()))?
        .to_vec1::<i64>()?[0] as u64;
    for (name, var) in all_weights(&parts.model) {
        let t = map
            .get(&format!("{}{name}", crate::layout::MODEL_KEY))
            .ok_or_else(|| {
                anyhow!(
                    "{}: no weights for model parameter `{name}`",
                    path.display()
                )
            })?;
        var.set(t)
            .with_context(|| format!("{}: restoring `{name}`", path.display()))?;
    }
    let state: Vec<(String, Tensor)> = map
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(crate::layout::OPTIMIZER_KEY)
                .map(|n| (n.to_string(), v.clone()))
        })
        .collect();
    parts.optimizer.load_state(&state)?;
    Ok(step)
}

fn component_records(catalog: &Catalog, spec: &Spec) -> Vec<ComponentRecord> {
    spec.components()
        .into_iter()
        .map(|(kind, c)| {
            let e = catalog.get(kind, &c.plugin).ok();
            ComponentRecord {
                kind: kind.to_string(),
                name: c.plugin.clone(),
                version: c.version.clone(),
                library: e.map(|e| e.library.clone()).unwrap_or_default(),
                origin: e.map(|e| e.origin.to_string()).unwrap_or_default(),
            }
        })
        .collect()
}

/// Keeps the run's heartbeat fresh from a background thread until dropped.
struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(store: Store, id: String) -> Heartbeat {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if let Err(e) = store.beat(&id) {
                    tracing::warn!("heartbeat: {e}");
                }
                for _ in 0..50 {
                    if flag.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Heartbeat {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Takes the lock of the run in `dir`, waiting while a live process holds it (printing once who
/// it is) and breaking it when its owner is gone.
fn lock_run(store: &Store, id: &str, dir: &Path, wait: bool) -> anyhow::Result<RunLock> {
    let mut told = false;
    loop {
        match RunLock::acquire(dir, store.heartbeat(id))? {
            Ok(lock) => return Ok(lock),
            Err(Contention::Stale(owner)) => {
                tracing::info!("run {id}: breaking the stale lock of {owner}");
                if let Ok(lock) = RunLock::take_over(dir, &owner, store.heartbeat(id))? {
                    return Ok(lock);
                }
            }
            Err(Contention::Held(owner)) => {
                if !wait {
                    bail!("run {id} is running ({owner}); it cannot be run twice at once");
                }
                if !told {
                    eprintln!("run {id} is being computed by {owner}; waiting for it");
                    told = true;
                }
                if INTERRUPTED.load(Ordering::SeqCst) {
                    bail!("interrupted while waiting for run {id}");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// Empties a run directory except its lock.
fn clear_run_dir(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n == crate::layout::LOCK) {
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
    if dir.join(crate::layout::RUN_RECORD).exists() {
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
    std::fs::create_dir_all(dir.join(crate::layout::CHECKPOINTS))
        .with_context(|| format!("creating run directory {}", dir.display()))?;
    crate::store::write_atomic(&dir.join(crate::layout::SPEC), spec.to_toml().as_bytes())?;
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
        host: crate::store::host_name(),
        user: crate::store::user_name(),
        pid: std::process::id(),
        git_commit: crate::store::git_commit(),
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        components: component_records(catalog, spec),
        error: None,
        resumed: 0,
    };
    store.write_record(&record)?;
    let outcome = execute(catalog, spec, store, record, None, opts)?;
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
    let spec_path = dir.join(crate::layout::SPEC);
    let raw = crate::spec::read_raw(&spec_path, &[])?;
    let spec = crate::spec::resolve(&raw, &spec_path.display().to_string(), catalog)?;
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
    record.host = crate::store::host_name();
    record.user = crate::store::user_name();
    record.error = None;
    record.ended_at = None;
    record.resumed += 1;
    store.beat(id)?;
    store.write_record(&record)?;
    let outcome = execute(catalog, &spec, store, record, checkpoint.map(|c| c.1), opts)?;
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

fn execute(
    catalog: &Catalog,
    spec: &Spec,
    store: &Store,
    mut record: RunRecord,
    checkpoint: Option<std::path::PathBuf>,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    let id = record.id.clone();
    let dir = store.run_dir(&id)?;
    let started = Instant::now();
    let previous = record.duration_s.unwrap_or(0.0);
    let _heartbeat = Heartbeat::start(store.clone(), id.clone());
    let result = train(catalog, spec, store, &dir, &mut record, checkpoint, opts);
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
    store.write_record(&record)?;
    outcome
}

fn train(
    catalog: &Catalog,
    spec: &Spec,
    store: &Store,
    dir: &Path,
    record: &mut RunRecord,
    checkpoint: Option<std::path::PathBuf>,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    install_interrupt_handler();
    if spec.problem.is_some() {
        return crate::online::train(catalog, spec, dir, record, opts, &INTERRUPTED);
    }
    let mut parts = build(catalog, spec)?;
    let objective = parts.dataset.info().objective;
    let start = match &checkpoint {
        Some(path) => load_checkpoint(&mut parts, path)?,
        None => 0,
    };
    let mut log = if start > 0 {
        RunLog::load(dir, start)?
    } else {
        RunLog::default()
    };
    let total = spec.train.steps;
    let mut sampler = Sampler::new(
        spec.seed,
        parts.dataset.len(Split::Train),
        spec.train.batch_size,
    );
    let holds_mask = spec
        .prune
        .as_ref()
        .is_some_and(|p| p.apply == crate::spec::PruneApply::Mask);
    let mask = if checkpoint.is_none() {
        let held = crate::pruning::prepare(
            catalog,
            spec,
            store,
            dir,
            &crate::pruning::Start {
                model: &parts.model,
                dataset: &parts.dataset,
                device: &parts.device,
                batch: sampler.indices(1),
            },
            &mut log,
        )?;
        // The weights the run starts from: what `checkpoint = "init"` of another run rewinds to.
        save_checkpoint(&parts, dir, 0)?;
        held
    } else if holds_mask {
        Some(crate::pruning::load_mask(dir, &parts.device)?)
    } else {
        None
    };
    let masked = mask
        .as_ref()
        .map(|_| crate::pruning::weight_matrices(&parts.model));
    let bar = if opts.quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} [{bar:30}] {per_sec} loss {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    bar.set_position(start);

    // Evaluates and probes at `step`; returns whether the step is the run's last, which it
    // becomes early when `train.stop_when` holds after the evaluation.
    let observe = |parts: &mut Parts,
                   log: &mut RunLog,
                   step: u64,
                   mut is_final: bool|
     -> anyhow::Result<bool> {
        let eval_due =
            is_final || (spec.train.eval_every > 0 && step.is_multiple_of(spec.train.eval_every));
        if eval_due {
            for split in [Split::Train, Split::Test] {
                if parts.dataset.len(split) == 0 {
                    continue;
                }
                let (loss, acc) = evaluate(parts, split, spec.train.eval_max_examples)?;
                log.metric(step, &format!("{}/loss", split.as_str()), loss);
                if let Some(a) = acc {
                    log.metric(step, &format!("{}/acc", split.as_str()), a);
                }
            }
            let stop = spec
                .train
                .stop_when
                .as_ref()
                .is_some_and(|c| log.value_at(&c.metric, step).is_some_and(|v| c.holds(v)));
            if stop && !is_final && step > 0 {
                is_final = true;
                log.metric(step, "train/stopped_early", 1.0);
            }
        }
        let Parts {
            model,
            dataset,
            device,
            probes,
            ..
        } = parts;
        for (schedule, probe) in probes.iter_mut() {
            let due = match schedule {
                ProbeSchedule::Every(n) => is_final || step.is_multiple_of(*n),
                ProbeSchedule::End => is_final,
            };
            if !due {
                continue;
            }
            let cx = ProbeContext {
                step,
                is_final,
                model: &*model,
                dataset: &*dataset,
                device,
            };
            let obs = probe.observe(&cx)?;
            for m in &obs.metrics {
                log.metric(step, &m.name, m.value);
            }
            for t in &obs.tables {
                log.table(step, t)?;
            }
        }
        Ok(is_final)
    };

    if start == 0 {
        observe(&mut parts, &mut log, 0, total == 0)?;
    }
    // Full-batch training sees the same batch every step: build it once.
    let full_batch = if sampler.full_batch() {
        Some(
            parts
                .dataset
                .batch(Split::Train, &sampler.indices(1), &parts.device)?,
        )
    } else {
        None
    };
    let mut last_flush = Instant::now();
    parts.model.set_training(true);
    for step in start + 1..=total {
        let paused = opts.pause_at.is_some_and(|p| step > p);
        if paused || INTERRUPTED.load(Ordering::SeqCst) {
            log.flush(dir)?;
            save_checkpoint(&parts, dir, step - 1)?;
            record.steps_done = step - 1;
            record.error = Some(format!(
                "{} after step {}",
                if paused { "paused" } else { "interrupted" },
                step - 1
            ));
            bar.abandon();
            return Ok(Outcome::Interrupted);
        }
        let fresh;
        let batch = match &full_batch {
            Some(b) => b,
            None => {
                fresh = parts
                    .dataset
                    .batch(Split::Train, &sampler.indices(step), &parts.device)?;
                &fresh
            }
        };
        let out = parts.model.forward(&batch.input, &mut Hooks::none())?;
        let loss = loss(&objective, &out, &batch.target)?;
        let value = f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?);
        let log_due = spec.train.log_every > 0 && step.is_multiple_of(spec.train.log_every);
        if log_due || !value.is_finite() {
            log.metric(step, "train/batch_loss", value);
        }
        if !value.is_finite() {
            log.flush(dir)?;
            record.steps_done = step - 1;
            record.error = Some(format!("loss is {value} at step {step}"));
            bar.abandon();
            return Ok(Outcome::Diverged);
        }
        let grads = loss.backward()?;
        parts.optimizer.step(&grads, spec.train.lr_factor(step))?;
        if let (Some(m), Some(vars)) = (&mask, &masked) {
            m.apply(vars)?;
        }
        let is_final = observe(&mut parts, &mut log, step, step == total)?;
        record.steps_done = step;
        let ckpt_due = is_final
            || (spec.train.checkpoint_every > 0
                && step.is_multiple_of(spec.train.checkpoint_every));
        // Metrics reach the disk before the checkpoint that covers them: a run killed between
        // the two resumes from the older checkpoint and drops the newer rows, never leaves a gap.
        if ckpt_due || last_flush.elapsed() > Duration::from_secs(10) {
            log.flush(dir)?;
            store.write_record(record)?;
            last_flush = Instant::now();
        }
        if ckpt_due {
            save_checkpoint(&parts, dir, step)?;
        }
        bar.set_message(format!("{value:.4}"));
        bar.inc(1);
        if is_final {
            break;
        }
    }
    log.flush(dir)?;
    bar.finish_and_clear();
    Ok(Outcome::Completed)
}
