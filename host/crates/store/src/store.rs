//! The store: one directory per run, written so that a run killed at any instant leaves files
//! every command can still read.
//!
//! ```text
//! STORE/<run-id>/spec.toml          the resolved spec
//! STORE/<run-id>/run.json           status, times, host, user, git commit, component versions, error
//! STORE/<run-id>/heartbeat          seconds since the epoch, refreshed while the run is alive
//! STORE/<run-id>/metrics.parquet    long format: step, name, value
//! STORE/<run-id>/tables/*.parquet   probe tables
//! STORE/<run-id>/checkpoints/       step-NNNNNNNNN.safetensors: weights and optimizer state
//! ```
//!
//! Every file is written to a temporary name in the same directory, synced and renamed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Prefix of temporary files; `assay runs gc` may remove strays.
pub const TMP_PREFIX: &str = ".tmp-";

/// A run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In progress (or killed: see [`RunRecord::effective_status`]).
    Running,
    /// Finished every step.
    Completed,
    /// Stopped on a NaN or infinite loss.
    Diverged,
    /// Stopped on an error.
    Failed,
    /// Stopped by Ctrl-C or a signal, after a checkpoint.
    Interrupted,
    /// Marked running, but its process is gone (derived, never stored).
    Lost,
    /// Stopped, but one of its Parquet files cannot be read (derived, never stored): left out
    /// of queries and never reused; `assay run --force` recomputes it.
    Damaged,
}

impl Status {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Diverged => "diverged",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::Lost => "lost",
            Status::Damaged => "damaged",
        }
    }
}

/// One component as the run used it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComponentRecord {
    /// `dataset`, `model`, `optimizer` or `probe`.
    pub kind: String,
    /// Component name.
    pub name: String,
    /// Component version.
    pub version: String,
    /// The crate that provided it.
    pub library: String,
    /// `builtin` or the library path.
    pub origin: String,
}

/// `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// The run id (the directory name).
    pub id: String,
    /// The spec's name.
    pub name: String,
    /// Status as last written.
    pub status: Status,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339, when the run stopped.
    pub ended_at: Option<String>,
    /// Seconds from start to end (of this process's part, for resumed runs: the sum).
    pub duration_s: Option<f64>,
    /// Steps completed.
    pub steps_done: u64,
    /// Steps asked for.
    pub steps_total: u64,
    /// Host name.
    pub host: String,
    /// User name.
    pub user: String,
    /// Process id of the process that runs it.
    pub pid: u32,
    /// `git rev-parse HEAD` of the working directory, with `-dirty` if it had changes.
    pub git_commit: Option<String>,
    /// The assay version.
    pub assay_version: String,
    /// Components used.
    pub components: Vec<ComponentRecord>,
    /// Why it stopped, if not completed.
    pub error: Option<String>,
    /// How many times it was resumed.
    #[serde(default)]
    pub resumed: u32,
}

impl RunRecord {
    /// `lost` for a run marked running whose process is gone: on this host, its pid is dead; on
    /// another host, its heartbeat is missing or older than [`STALE_AFTER`].
    pub fn effective_status(&self, heartbeat: Option<SystemTime>) -> Status {
        if self.status != Status::Running {
            return self.status;
        }
        if process_alive(&self.host, self.pid, heartbeat) {
            Status::Running
        } else {
            Status::Lost
        }
    }
}

pub use crate::identity::{host_name, now_rfc3339, process_alive, user_name, STALE_AFTER};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `run.json` cannot be read.
    #[error("{path}: corrupt run record: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// No such run.
    #[error("no run `{id}` in store {store}")]
    NoRun {
        /// The id asked for.
        id: String,
        /// The store.
        store: PathBuf,
    },
    /// A live process holds the run.
    #[error("run {id} is running ({owner}); stop it first")]
    Busy {
        /// The run.
        id: String,
        /// Who holds it.
        owner: String,
    },
    /// The id could name a path outside the store.
    #[error("{0}")]
    BadId(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Appends `line` to the log of the run in `dir` with a UTC timestamp. Best effort: a log that
/// cannot be written is reported at debug level and never stops a run.
pub fn append_log(dir: &Path, line: &str) {
    use std::io::Write;
    let path = dir.join(crate::layout::LOG);
    let written = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{} {line}", crate::identity::now_rfc3339()));
    if let Err(e) = written {
        tracing::debug!("not logging to {}: {e}", path.display());
    }
}

/// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync, rename,
/// fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!("{TMP_PREFIX}{}-{name}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// One entry of [`Store::list`]: a run and its effective status, or why its record is unreadable.
pub type Listed = Result<(RunRecord, Status), StoreError>;

/// A store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    /// Never write, not even the query index (the dashboard's store).
    read_only: bool,
}

impl Store {
    /// `--store`, else `ASSAY_STORE`, else `./runs`.
    pub fn locate(flag: Option<&Path>) -> Store {
        let root = flag
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("ASSAY_STORE").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("runs"));
        Store {
            root,
            read_only: false,
        }
    }

    /// The store at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Store {
        Store {
            root: root.into(),
            read_only: false,
        }
    }

    /// The same store, for reading only: queries neither build nor refresh the index of
    /// finished runs' metrics (they read the runs' own files where it is stale).
    pub fn read_only(mut self) -> Store {
        self.read_only = true;
        self
    }

    /// Whether this handle never writes.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// When the store directory is group-shared (setgid), makes every file and directory this
    /// process creates group-writable (umask 002), so that the lab's other users can resume,
    /// collect garbage and add runs. New subdirectories inherit the group from the setgid bit.
    pub fn share_with_group_if_setgid(&self) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(&self.root) {
            if meta.permissions().mode() & 0o2000 != 0 {
                // SAFETY: umask only changes this process's file-creation mask.
                unsafe {
                    libc::umask(0o002);
                }
            }
        }
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks that `id` is a plain name, so that it cannot point outside the store.
    pub fn check_id(id: &str) -> Result<(), StoreError> {
        assay_spec::identity::check_run_id(id).map_err(StoreError::BadId)
    }

    /// The directory of run `id`.
    pub fn run_dir(&self, id: &str) -> Result<PathBuf, StoreError> {
        Self::check_id(id)?;
        Ok(self.root.join(id))
    }

    /// Reads `run.json` of `id`.
    pub fn record(&self, id: &str) -> Result<RunRecord, StoreError> {
        let dir = self.run_dir(id)?;
        let path = dir.join(crate::layout::RUN_RECORD);
        if !path.exists() {
            return Err(StoreError::NoRun {
                id: id.to_string(),
                store: self.root.clone(),
            });
        }
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path,
            message: e.to_string(),
        })
    }

    /// Writes `run.json` of the record's run.
    pub fn write_record(&self, record: &RunRecord) -> Result<(), StoreError> {
        let dir = self.run_dir(&record.id)?;
        let text = serde_json::to_string_pretty(record).unwrap_or_default();
        write_atomic(&dir.join(crate::layout::RUN_RECORD), text.as_bytes())
    }

    /// When the run last showed a sign of life.
    pub fn heartbeat(&self, id: &str) -> Option<SystemTime> {
        let path = self.run_dir(id).ok()?.join(crate::layout::HEARTBEAT);
        let text = fs::read_to_string(path).ok()?;
        let secs: f64 = text.trim().parse().ok()?;
        Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
    }

    /// Refreshes the heartbeat of `id`.
    pub fn beat(&self, id: &str) -> Result<(), StoreError> {
        let dir = self.run_dir(id)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        write_atomic(
            &dir.join(crate::layout::HEARTBEAT),
            format!("{now:.3}\n").as_bytes(),
        )
    }

    /// Ids of every run directory, sorted.
    pub fn ids(&self) -> Result<Vec<String>, StoreError> {
        if !self.root.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(io(&self.root))? {
            let entry = entry.map_err(io(&self.root))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if entry.path().join(crate::layout::RUN_RECORD).exists()
                && Self::check_id(&name).is_ok()
            {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Run directories without `run.json`: a run killed in the milliseconds between creating its
    /// directory and writing its record, or one starting right now (`live` when a live process
    /// holds its lock). `runs list` shows them and `runs rm` removes them.
    pub fn incomplete(&self) -> Result<Vec<(String, bool)>, StoreError> {
        if !self.root.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(io(&self.root))? {
            let entry = entry.map_err(io(&self.root))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            // Run ids end in `-` and 12 hex digits; other directories (sweeps/) are not runs.
            let looks_like_run = name
                .rsplit_once('-')
                .is_some_and(|(_, h)| h.len() == 12 && h.chars().all(|c| c.is_ascii_hexdigit()));
            if looks_like_run
                && path.is_dir()
                && !path.join(crate::layout::RUN_RECORD).exists()
                && Self::check_id(&name).is_ok()
            {
                let live = crate::lock::RunLock::owner(&path)
                    .is_some_and(|owner| owner.alive(self.heartbeat(&name)));
                out.push((name, live));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every run with its effective status; unreadable records come back as errors in place.
    pub fn list(&self) -> Result<Vec<Listed>, StoreError> {
        Ok(self
            .ids()?
            .into_iter()
            .map(|id| {
                let rec = self.record(&id)?;
                let mut status = rec.effective_status(self.heartbeat(&id));
                if status != Status::Running && self.damage(&id).is_some() {
                    status = Status::Damaged;
                }
                Ok((rec, status))
            })
            .collect())
    }

    /// What is wrong with run `id`'s Parquet files (metrics and tables), if anything: the first
    /// damaged file and why (see [`crate::damage::parquet_damage`]).
    pub fn damage(&self, id: &str) -> Option<String> {
        let dir = self.run_dir(id).ok()?;
        let mut files = vec![dir.join(crate::layout::METRICS)];
        if let Ok(rd) = fs::read_dir(dir.join(crate::layout::TABLES)) {
            let mut tables: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "parquet")
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with(TMP_PREFIX))
                })
                .collect();
            tables.sort();
            files.extend(tables);
        }
        files.iter().find_map(|f| {
            crate::damage::parquet_damage(f).map(|why| format!("{}: {why}", f.display()))
        })
    }

    /// Removes run `id`, unless a live process holds its lock.
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        let dir = self.run_dir(id)?;
        if !dir.is_dir() {
            return Err(StoreError::NoRun {
                id: id.to_string(),
                store: self.root.clone(),
            });
        }
        if let Some(owner) = crate::lock::RunLock::owner(&dir) {
            if owner.alive(self.heartbeat(id)) {
                return Err(StoreError::Busy {
                    id: id.to_string(),
                    owner: owner.to_string(),
                });
            }
        }
        fs::remove_dir_all(&dir).map_err(io(&dir))
    }

    /// Removes every checkpoint of finished runs but the first (step 0) and the last, and stray
    /// temporary files of runs
    /// that are not running. Returns `(files removed, bytes freed)`; with `dry_run`, only counts.
    pub fn gc(&self, dry_run: bool) -> Result<(usize, u64), StoreError> {
        let mut files = 0;
        let mut bytes = 0;
        let mut drop_file = |p: &Path| -> Result<(), StoreError> {
            bytes += fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            files += 1;
            if !dry_run {
                fs::remove_file(p).map_err(io(p))?;
            }
            Ok(())
        };
        for item in self.list()? {
            let Ok((rec, status)) = item else { continue };
            if status == Status::Running {
                continue;
            }
            let dir = self.run_dir(&rec.id)?;
            if matches!(status, Status::Completed | Status::Diverged) {
                let mut ckpts = self.checkpoints(&rec.id)?;
                ckpts.pop();
                // Step 0 stays: other runs rewind to it (`checkpoint = "init"`).
                ckpts.retain(|(step, _)| *step != 0);
                for (_, p) in ckpts {
                    drop_file(&p)?;
                }
            }
            for sub in [
                dir.clone(),
                dir.join(crate::layout::CHECKPOINTS),
                dir.join(crate::layout::TABLES),
            ] {
                let Ok(rd) = fs::read_dir(&sub) else { continue };
                for e in rd.flatten() {
                    if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                        drop_file(&e.path())?;
                    }
                }
            }
        }
        Ok((files, bytes))
    }

    /// Checkpoint files of `id`, sorted by step.
    pub fn checkpoints(&self, id: &str) -> Result<Vec<(u64, PathBuf)>, StoreError> {
        let dir = self.run_dir(id)?.join(crate::layout::CHECKPOINTS);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(step) = name
                .strip_prefix("step-")
                .and_then(|s| s.strip_suffix(".safetensors"))
                .and_then(|s| s.parse::<u64>().ok())
            {
                out.push((step, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// `git rev-parse HEAD` of the current directory, `-dirty` when there are uncommitted changes.
pub fn git_commit() -> Option<String> {
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut commit = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        commit.push_str("-dirty");
    }
    Some(commit)
}
