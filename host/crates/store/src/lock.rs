//! Per-run lock files, so that many processes on many machines can share one store.
//!
//! `STORE/<run-id>/lock` is created with `O_EXCL` and holds its owner (user, host, pid, time).
//! While the owner lives it refreshes the run's `heartbeat`; a lock whose owner is gone (a dead
//! pid on this host, or a heartbeat older than [`crate::identity::STALE_AFTER`] from another host)
//! is stale and may be taken over. Taking over renames the stale lock aside first: the rename
//! succeeds for exactly one contender, so two processes never both believe they hold the lock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::identity::{host_name, now_rfc3339, user_name};

/// A lock file that cannot be written or moved.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct LockError {
    /// The lock file.
    pub path: std::path::PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// User name.
    pub user: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// When the lock was taken (RFC 3339).
    pub since: String,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        Owner {
            user: user_name(),
            host: host_name(),
            pid: std::process::id(),
            since: now_rfc3339(),
        }
    }

    /// Whether the owner still runs, judged from this host (pid) or from the heartbeat.
    pub fn alive(&self, heartbeat: Option<SystemTime>) -> bool {
        crate::identity::process_alive(&self.host, self.pid, heartbeat)
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{} pid {} since {}",
            self.user, self.host, self.pid, self.since
        )
    }
}

/// A held lock; released (the file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

/// Why a lock was not acquired.
#[derive(Debug)]
pub enum Contention {
    /// A live process holds it.
    Held(Owner),
    /// Its owner is gone; [`RunLock::take_over`] may break it.
    Stale(Owner),
}

fn read_owner(path: &Path) -> Option<Owner> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

impl RunLock {
    fn path(run_dir: &Path) -> PathBuf {
        run_dir.join(crate::layout::LOCK)
    }

    /// Tries to take the lock of the run in `run_dir` (which must exist).
    pub fn acquire(
        run_dir: &Path,
        heartbeat: Option<SystemTime>,
    ) -> Result<Result<RunLock, Contention>, LockError> {
        let path = Self::path(run_dir);
        let me = Owner::me();
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let text = serde_json::to_string(&me).unwrap_or_default();
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|source| LockError {
                        path: path.clone(),
                        source,
                    })?;
                Ok(Ok(RunLock { path }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // An owner that has not finished writing the file yet is alive by definition.
                let owner = match read_owner(&path) {
                    Some(o) => o,
                    None => {
                        return Ok(Err(Contention::Held(Owner {
                            user: "?".into(),
                            host: "?".into(),
                            pid: 0,
                            since: "just now".into(),
                        })))
                    }
                };
                if owner.pid == me.pid && owner.host == me.host {
                    return Ok(Err(Contention::Held(owner)));
                }
                Ok(Err(if owner.alive(heartbeat) {
                    Contention::Held(owner)
                } else {
                    Contention::Stale(owner)
                }))
            }
            Err(source) => Err(LockError { path, source }),
        }
    }

    /// Breaks the stale lock of `stale` and takes it. Fails with [`Contention`] when another
    /// process was faster.
    pub fn take_over(
        run_dir: &Path,
        stale: &Owner,
        heartbeat: Option<SystemTime>,
    ) -> Result<Result<RunLock, Contention>, LockError> {
        let path = Self::path(run_dir);
        let aside = run_dir.join(format!("lock.stale-{}-{}", host_name(), std::process::id()));
        match std::fs::rename(&path, &aside) {
            Ok(()) => match read_owner(&aside) {
                // What we moved is the stale lock we judged: drop it.
                Some(o) if &o == stale => {
                    let _ = std::fs::remove_file(&aside);
                }
                // Someone took over between our look and our rename: put theirs back.
                other => {
                    let _ = std::fs::rename(&aside, &path);
                    return Ok(Err(Contention::Held(
                        other.unwrap_or_else(|| stale.clone()),
                    )));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(LockError { path, source }),
        }
        Self::acquire(run_dir, heartbeat)
    }

    /// The current owner of the run's lock, if any.
    pub fn owner(run_dir: &Path) -> Option<Owner> {
        read_owner(&Self::path(run_dir))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
