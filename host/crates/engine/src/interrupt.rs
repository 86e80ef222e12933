//! Ctrl-C and SIGTERM: the loop stops after the current step, checkpoints, and marks the run
//! `interrupted`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

pub(crate) static INTERRUPTED: AtomicBool = AtomicBool::new(false);
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

/// Whether Ctrl-C or SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
