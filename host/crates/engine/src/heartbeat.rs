//! A run's liveness while it computes: its heartbeat, refreshed from a background thread, and
//! its lock, waited for or broken when its owner is gone.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use assay_store::lock::{Contention, RunLock};
use assay_store::Store;

/// Keeps the run's heartbeat fresh from a background thread until dropped.
pub(crate) struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    pub fn start(store: Store, id: String) -> Heartbeat {
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
pub(crate) fn lock_run(store: &Store, id: &str, dir: &Path, wait: bool) -> anyhow::Result<RunLock> {
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
                if crate::interrupt::interrupted() {
                    bail!("interrupted while waiting for run {id}");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}
