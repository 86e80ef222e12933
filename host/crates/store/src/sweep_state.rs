//! Where each run of a sweep stands, from the run directories and the sweep's logs: what
//! `assay sweep status` prints and the dashboard shows.

use crate::manifest::{Entry, Manifest};
use crate::store::{Status, Store};

/// The state of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// Finished: completed or diverged.
    Done(Status),
    /// Its process is alive.
    Running,
    /// Failed, lost or damaged.
    Failed(Status),
    /// Refused before its run started (no run directory; its log ends in an error).
    Refused,
    /// Interrupted; resumes when the sweep runs again.
    Interrupted,
    /// Not started.
    Pending,
}

impl EntryState {
    /// The column of `done / running / failed / pending` it counts in.
    pub fn bucket(self) -> &'static str {
        match self {
            EntryState::Done(_) => "done",
            EntryState::Running => "running",
            EntryState::Failed(_) | EntryState::Refused => "failed",
            EntryState::Interrupted | EntryState::Pending => "pending",
        }
    }

    /// In words, for tables.
    pub fn describe(self, index: usize) -> String {
        match self {
            EntryState::Done(Status::Diverged) => "done (diverged)".to_string(),
            EntryState::Done(_) => "done".to_string(),
            EntryState::Running => "running".to_string(),
            EntryState::Failed(s) => s.as_str().to_string(),
            EntryState::Refused => format!("failed before it started (logs/{index}.log)"),
            EntryState::Interrupted => "interrupted (resumes when run again)".to_string(),
            EntryState::Pending => "pending".to_string(),
        }
    }
}

/// The status of run `id` in `store`, with a stale heartbeat read as lost.
pub fn run_status(store: &Store, id: &str) -> Option<Status> {
    store
        .record(id)
        .ok()
        .map(|r| r.effective_status(store.heartbeat(id)))
}

/// Where `entry` of `manifest` stands.
pub fn entry_state(store: &Store, manifest: &Manifest, entry: &Entry) -> EntryState {
    match run_status(store, &entry.run_id) {
        Some(s @ (Status::Completed | Status::Diverged)) => EntryState::Done(s),
        Some(Status::Running) => EntryState::Running,
        Some(s @ (Status::Failed | Status::Lost | Status::Damaged)) => EntryState::Failed(s),
        Some(Status::Interrupted) => EntryState::Interrupted,
        None if refused(manifest, store, entry.index) => EntryState::Refused,
        None => EntryState::Pending,
    }
}

/// Whether the last attempt at entry `index` ended in an error line in its log (a spec refused
/// before its run directory was written).
fn refused(manifest: &Manifest, store: &Store, index: usize) -> bool {
    let log = manifest
        .work_dir(store)
        .join("logs")
        .join(format!("{index}.log"));
    std::fs::read_to_string(log)
        .ok()
        .and_then(|log| {
            log.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.starts_with("error:"))
        })
        .unwrap_or(false)
}

/// `(done, running, failed, pending)` over `states`.
pub fn counts(states: &[EntryState]) -> (usize, usize, usize, usize) {
    let n = |b: &str| states.iter().filter(|s| s.bucket() == b).count();
    (n("done"), n("running"), n("failed"), n("pending"))
}
