//! The compute pool's other threads kept looking for work while a computation runs on it.
//!
//! A rayon thread that finds no work spins for about 33 rounds of `yield` (tens of
//! microseconds) and then sleeps until new work wakes it. A training step alternates parallel
//! operations with short stretches on one thread (the autograd's bookkeeping, small
//! operations, the loss); each stretch longer than the spin puts the other threads to sleep,
//! and the next parallel operation waits for their wake-up. `assay bench lm --threads 2`
//! showed about 54 sleeps per step of the second thread, most of them 20 µs to 1 ms.
//!
//! While a computation holds [`Awake`], every other thread of the pool runs a keeper instead:
//! it takes work as rayon's own idle loop does (`rayon::yield_now`: its own queue, then
//! stealing, then injected jobs) but does not sleep after a few rounds. After
//! [`SPIN`] without work it polls with short sleeps that double up to [`MAX_NAP`], so a long
//! stretch on one thread (an evaluation, a checkpoint) does not hold a core busy. This is the
//! active wait that OpenMP runtimes use by default (PyTorch's CPU threads spin the same way).
//! The computation's results do not depend on it: which thread runs a job never changes what
//! the job computes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_sdk::rayon::{ThreadPool, Yield};

/// Spin-loop hints between two looks for work while spinning.
const POLL_PAUSES: usize = 32;

/// How long a keeper looks for work without pause before it starts to nap.
const SPIN: Duration = Duration::from_millis(1);

/// The first nap after [`SPIN`]; each idle nap doubles it, up to [`MAX_NAP`].
const FIRST_NAP: Duration = Duration::from_micros(50);

/// The longest nap: how late a keeper may be for work after a long stretch on one thread.
const MAX_NAP: Duration = Duration::from_millis(1);

/// Keepers on the pool's other threads until dropped (also when the computation panics).
pub(crate) struct Awake {
    stop: Arc<AtomicBool>,
    /// Keepers running now (for the tests: all of them end after the drop).
    #[cfg(test)]
    running: Arc<AtomicUsize>,
    /// The pool's count of computations holding keepers.
    holding: &'static AtomicUsize,
}

impl Awake {
    /// Starts a keeper on each thread of `pool` but the calling one, unless the pool has one
    /// thread or another computation holds keepers already (`holding` counts the pool's
    /// computations: only the first of several at once starts keepers, so that concurrent or
    /// nested computations do not stack them on the same threads). Call it on one of `pool`'s
    /// threads.
    pub(crate) fn hold(pool: &ThreadPool, holding: &'static AtomicUsize) -> Awake {
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicUsize::new(0));
        let owner = pool.current_thread_index();
        let first = holding.fetch_add(1, Ordering::AcqRel) == 0;
        if first && owner.is_some() && pool.current_num_threads() > 1 {
            let (stop, running) = (stop.clone(), running.clone());
            running.fetch_add(pool.current_num_threads() - 1, Ordering::AcqRel);
            pool.spawn_broadcast(move |cx| {
                if Some(cx.index()) != owner {
                    keep(&stop);
                    running.fetch_sub(1, Ordering::AcqRel);
                }
            });
        }
        Awake {
            stop,
            #[cfg(test)]
            running,
            holding,
        }
    }

    /// Keepers still running (they end soon after the drop).
    #[cfg(test)]
    fn running(&self) -> Arc<AtomicUsize> {
        self.running.clone()
    }
}

impl Drop for Awake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.holding.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A keeper's loop: run the pool's work until `stop`, spinning while work comes often and
/// napping while it does not.
fn keep(stop: &AtomicBool) {
    let mut idle_since: Option<Instant> = None;
    let mut nap = FIRST_NAP;
    while !stop.load(Ordering::Acquire) {
        if let Some(Yield::Executed) = assay_sdk::rayon::yield_now() {
            idle_since = None;
            nap = FIRST_NAP;
            continue;
        }
        let since = *idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() < SPIN {
            // A microsecond or two between looks: new work is taken about that soon, and the
            // looks (reads of the other threads' queues) stay few.
            for _ in 0..POLL_PAUSES {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(nap);
            nap = (nap * 2).min(MAX_NAP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_sdk::rayon::prelude::*;
    use assay_sdk::rayon::ThreadPoolBuilder;

    fn wait_for_zero(running: &AtomicUsize) {
        let t = Instant::now();
        while running.load(Ordering::Acquire) != 0 {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "keepers still running"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn keepers_share_the_work_and_end_with_the_computation() {
        static HOLDING: AtomicUsize = AtomicUsize::new(0);
        let pool = ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let (sum, running) = pool.install(|| {
            let awake = Awake::hold(&pool, &HOLDING);
            let running = awake.running();
            assert_eq!(running.load(Ordering::Acquire), 2);
            // A nested computation starts none of its own.
            let inner = Awake::hold(&pool, &HOLDING);
            assert_eq!(inner.running().load(Ordering::Acquire), 0);
            drop(inner);
            // Work for the keepers, then a stretch on this thread long enough for them to nap,
            // then work again.
            let a: u64 = (0..1_000_000u64).into_par_iter().map(|i| i % 7).sum();
            std::thread::sleep(Duration::from_millis(5));
            let b: u64 = (0..1_000_000u64).into_par_iter().map(|i| i % 7).sum();
            (a + b, running)
        });
        assert_eq!(HOLDING.load(Ordering::Acquire), 0);
        let want: u64 = 2 * (0..1_000_000u64).map(|i| i % 7).sum::<u64>();
        assert_eq!(sum, want);
        wait_for_zero(&running);
    }

    #[test]
    fn keepers_end_when_the_computation_panics() {
        static HOLDING: AtomicUsize = AtomicUsize::new(0);
        let pool = ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let running = Arc::new(std::sync::Mutex::new(None));
        let slot = running.clone();
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| {
                let awake = Awake::hold(&pool, &HOLDING);
                *slot.lock().unwrap() = Some(awake.running());
                panic!("a failing step");
            })
        }));
        assert!(out.is_err());
        let running = running.lock().unwrap().take().unwrap();
        wait_for_zero(&running);
    }
}
