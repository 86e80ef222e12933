//! The patched rayon-core (`sdk/patches/`) lets a pool choose how many rounds its idle threads
//! look for work before they sleep (`ThreadPoolBuilder::rounds_until_sleepy`; upstream fixes 32).
//! The setting changes only when threads sleep, never what a pool computes: checked here from
//! no rounds at all (a thread sleeps at once) to the largest (threads never sleep), through
//! joins, scopes and broadcasts, a wake-up after every thread has had time to fall asleep, and
//! the end of every thread when the pool is dropped while they spin.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_sdk::rayon::{self, ThreadPoolBuilder};

/// Sum of `values` by recursive halving over the current pool.
fn joined_sum(values: &[u64]) -> u64 {
    if values.len() <= 64 {
        return values.iter().sum();
    }
    let (left, right) = values.split_at(values.len() / 2);
    let (a, b) = rayon::join(|| joined_sum(left), || joined_sum(right));
    a + b
}

/// Runs a join, a scope and a broadcast on a pool of three threads with `rounds`, twice with a
/// pause between (long enough for threads with few rounds to fall asleep), and checks that all
/// three threads end once the pool is dropped.
fn check(rounds: u32) {
    let values: Vec<u64> = (0..20_000).map(|i| i * i % 1_009).collect();
    let expected: u64 = values.iter().sum();
    let exited = Arc::new(AtomicUsize::new(0));
    let pool = {
        let exited = exited.clone();
        ThreadPoolBuilder::new()
            .num_threads(3)
            .rounds_until_sleepy(rounds)
            .exit_handler(move |_| {
                exited.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .expect("pool")
    };
    for _ in 0..2 {
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
        std::thread::sleep(Duration::from_millis(20));
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
fn every_number_of_rounds_computes_the_same() {
    for rounds in [0, 1, 32, 3_000, u32::MAX] {
        check(rounds);
    }
}

#[test]
fn the_builder_shows_its_rounds() {
    let builder = ThreadPoolBuilder::new().rounds_until_sleepy(3_000);
    assert!(format!("{builder:?}").contains("rounds_until_sleepy: 3000"));
    assert!(format!("{:?}", ThreadPoolBuilder::new()).contains("rounds_until_sleepy: 32"));
}
