//! The patched rayon-core (`sdk/patches/`) lets a pool choose how many rounds its idle threads
//! look for work before they sleep (`ThreadPoolBuilder::rounds_until_sleepy`; upstream fixes 32).
//! Checked here:
//! - the setting reaches the pool's threads: with no rounds, idle threads are asleep after a
//!   pause; with the largest count they are still looking for work (on Linux, from each
//!   thread's state in `/proc/self/task`);
//! - it changes only when threads sleep, never what a pool computes: joins, scopes and
//!   broadcasts from no rounds to the largest count, again after the pause (with no rounds, a
//!   wake-up of threads known to be asleep);
//! - every thread ends when the pool is dropped, also while they spin.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_sdk::rayon::{self, ThreadPool, ThreadPoolBuilder};

/// Sum of `values` by recursive halving over the current pool.
fn joined_sum(values: &[u64]) -> u64 {
    if values.len() <= 64 {
        return values.iter().sum();
    }
    let (left, right) = values.split_at(values.len() / 2);
    let (a, b) = rayon::join(|| joined_sum(left), || joined_sum(right));
    a + b
}

/// A pool of three threads named `NAME-INDEX`, counting its threads' exits in `exited`.
fn pool(name: &'static str, rounds: u32, exited: &Arc<AtomicUsize>) -> ThreadPool {
    let exited = exited.clone();
    ThreadPoolBuilder::new()
        .num_threads(3)
        .rounds_until_sleepy(rounds)
        .thread_name(move |i| format!("{name}-{i}"))
        .exit_handler(move |_| {
            exited.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .expect("pool")
}

/// The scheduler states (`R`, `S`, …) of this process's threads named `NAME-…`.
#[cfg(target_os = "linux")]
fn states(name: &str) -> Vec<char> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = task.expect("task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(&format!("{name}-")) {
            continue;
        }
        // `PID (COMM) STATE …`: the state follows the last parenthesis.
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        if let Some(state) = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.trim().chars().next())
        {
            found.push(state);
        }
    }
    found
}

/// Runs a join, a scope and a broadcast on a pool with `rounds`, twice with a pause between,
/// checks the idle threads' states after the pause with `idle` (on Linux), and checks that all
/// three threads end once the pool is dropped.
fn check(name: &'static str, rounds: u32, idle: impl Fn(&[char]) -> bool) {
    let values: Vec<u64> = (0..20_000).map(|i| i * i % 1_009).collect();
    let expected: u64 = values.iter().sum();
    let exited = Arc::new(AtomicUsize::new(0));
    let pool = pool(name, rounds, &exited);
    for pass in 0..2 {
        assert_eq!(
            pool.install(|| joined_sum(&values)),
            expected,
            "{rounds} rounds"
        );
        let spawned = AtomicUsize::new(0);
        pool.scope(|s| {
            for chunk in values.chunks(1_000) {
                let spawned = &spawned;
                s.spawn(move |_| {
                    spawned.fetch_add(chunk.iter().sum::<u64>() as usize, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(spawned.into_inner() as u64, expected, "{rounds} rounds");
        let mut seen = pool.broadcast(|ctx| ctx.index());
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2], "{rounds} rounds");
        if pass == 0 {
            std::thread::sleep(Duration::from_millis(100));
            #[cfg(target_os = "linux")]
            {
                let states = states(name);
                assert_eq!(states.len(), 3, "{rounds} rounds: threads {states:?}");
                assert!(idle(&states), "{rounds} rounds: idle threads {states:?}");
            }
        }
    }
    drop(pool);
    let start = Instant::now();
    while exited.load(Ordering::SeqCst) < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{rounds} rounds: threads still running after the pool was dropped"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn with_no_rounds_idle_threads_sleep() {
    // Asleep on the pool's condition variable.
    check("rounds-none", 0, |s| s.iter().all(|&c| c == 'S'));
}

#[test]
fn with_the_most_rounds_idle_threads_keep_looking() {
    // Yielding between looks for work: running or waiting to run, never asleep (`u32::MAX` is
    // taken as one less, about 40 minutes of rounds).
    check("rounds-most", u32::MAX, |s| s.iter().all(|&c| c == 'R'));
}

#[test]
fn other_rounds_compute_the_same() {
    for (name, rounds) in [("rounds-one", 1), ("rounds-32", 32), ("rounds-3000", 3_000)] {
        check(name, rounds, |_| true);
    }
}

#[test]
fn the_builder_shows_its_rounds() {
    let builder = ThreadPoolBuilder::new().rounds_until_sleepy(3_000);
    assert!(format!("{builder:?}").contains("rounds_until_sleepy: 3000"));
    assert!(format!("{:?}", ThreadPoolBuilder::new()).contains("rounds_until_sleepy: 32"));
}
