//! The thread pool a run computes on.
//!
//! candle's operations, gemm and the plugins' parallel loops all use the current rayon pool.
//! Called from the main thread, each parallel operation hands its work to the pool's threads
//! and puts the main thread to sleep until they finish: a wake-up per operation, thousands per
//! training step. Run on one of the pool's own threads instead, the same operations split their
//! work with the other threads directly, and the other threads do not sleep between operations
//! while it runs (`awake`). `assay bench grokking` and `assay bench lm` measured both at two
//! threads (see the README's Benchmarks). CPU runs compute here
//! (`lifecycle`); a GPU run stays on the thread that opened its device.
//!
//! The pool has as many threads as candle uses (`RAYON_NUM_THREADS`, else every core), each
//! with a 256 MiB stack (a main thread has 8 MiB, rayon's threads 2 MiB by default): candle
//! walks the graph recursively in the backward pass, and deep models make deep graphs.

use std::sync::atomic::AtomicUsize;
use std::sync::OnceLock;

use assay_sdk::rayon::{ThreadPool, ThreadPoolBuilder};

use crate::awake::Awake;

/// Stack of each of the pool's threads (address space, committed only as it is used).
const STACK_BYTES: usize = 256 << 20;

fn pool() -> Option<&'static ThreadPool> {
    static POOL: OnceLock<Option<ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        ThreadPoolBuilder::new()
            .num_threads(assay_sdk::candle::utils::get_num_threads())
            .stack_size(STACK_BYTES)
            .thread_name(|i| format!("assay-compute-{i}"))
            .build()
            .map_err(|e| tracing::warn!("no compute thread pool ({e}); computing on this thread"))
            .ok()
    })
    .as_ref()
}

/// Runs `f` on one of the compute pool's threads (on this thread if the pool could not be
/// started), the pool's other threads kept looking for work meanwhile ([`Awake`]), and returns
/// its result.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static HOLDING: AtomicUsize = AtomicUsize::new(0);
    match pool() {
        Some(p) => p.install(|| {
            let _awake = Awake::hold(p, &HOLDING);
            f()
        }),
        None => f(),
    }
}
