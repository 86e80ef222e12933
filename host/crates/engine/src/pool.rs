//! The thread pool a run computes on.
//!
//! candle's operations, gemm and the plugins' parallel loops all use the current rayon pool.
//! Called from the main thread, each parallel operation hands its work to the pool's threads
//! and puts the main thread to sleep until they finish: a wake-up per operation, thousands per
//! training step. Run on one of the pool's own threads instead, the same operations split their
//! work with the other threads directly. CPU runs compute here (`lifecycle`); a GPU run stays on
//! the thread that opened its device.
//!
//! The pool's idle threads look for work for [`ROUNDS_UNTIL_SLEEPY`] rounds before they sleep,
//! not rayon's default 32. A training step alternates parallel operations with short stretches
//! on one thread (the autograd's bookkeeping, small operations, the loss); with 32 rounds
//! (about 20 µs) each stretch put the other threads to sleep, and the next operation waited for
//! their wake-up: `assay bench lm --threads 2` showed about 54 sleeps per step of the second
//! thread, and the thread running the step slept about 28 times per step at a `join`, waiting
//! for the other's half. Spinning a little longer is what OpenMP runtimes do by default
//! (PyTorch's CPU threads among them). The setting is `rounds_until_sleepy`, which the SDK's
//! patched rayon-core adds (`sdk/patches/README.md`); results never depend on it, since which
//! thread runs a job never changes what the job computes.
//!
//! The pool has as many threads as candle uses (`RAYON_NUM_THREADS`, else every core), each
//! with a 256 MiB stack (a main thread has 8 MiB, rayon's threads 2 MiB by default): candle
//! walks the graph recursively in the backward pass, and deep models make deep graphs.

use std::sync::OnceLock;

use assay_sdk::rayon::{ThreadPool, ThreadPoolBuilder};

/// Stack of each of the pool's threads (address space, committed only as it is used).
const STACK_BYTES: usize = 256 << 20;

/// Rounds an idle thread of the pool looks for work before it sleeps: about 2 ms on the 2-core
/// machine of the README's benchmarks (a round, one `sched_yield` and a look at every queue,
/// took 0.6 µs there). Against rayon's 32, at two threads, with variants alternating in one
/// binary: decoder training +5-8 % (`assay bench lm`), the grokking transformer +16 % and the
/// tickets MLP +3 % (`assay bench grokking`); 1,000 rounds gained less, 10,000 no more.
const ROUNDS_UNTIL_SLEEPY: u32 = 3_000;

fn pool() -> Option<&'static ThreadPool> {
    static POOL: OnceLock<Option<ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        ThreadPoolBuilder::new()
            .num_threads(assay_sdk::candle::utils::get_num_threads())
            .stack_size(STACK_BYTES)
            .thread_name(|i| format!("assay-compute-{i}"))
            .rounds_until_sleepy(ROUNDS_UNTIL_SLEEPY)
            .build()
            .map_err(|e| tracing::warn!("no compute thread pool ({e}); computing on this thread"))
            .ok()
    })
    .as_ref()
}

/// Runs `f` on one of the compute pool's threads (on this thread if the pool could not be
/// started) and returns its result.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match pool() {
        Some(p) => p.install(f),
        None => f(),
    }
}
