//! Process-wide settings of the binary (signals, the allocator) and its exit codes.

/// Exit code of a run that diverged.
pub const EXIT_DIVERGED: u8 = 3;
/// Exit code of a run stopped by Ctrl-C or SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Lets a closed pipe end the process quietly, as it ends any Unix tool (`assay sweep ...
/// --dry-run | head -2`): Rust ignores SIGPIPE, so a write to a closed pipe would otherwise be
/// an error that `println!` turns into a panic. Call once at the start of `main`.
pub fn quit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Keeps large tensor buffers in the heap instead of fresh `mmap`s. With glibc's defaults every
/// buffer above the mmap threshold is mapped and unmapped per operation, and each training step
/// pays its page faults again (a quarter of the grokking models' step time, measured with
/// `perf`). One heap for every thread: runs compute on a pool's threads (`assay_engine::on_pool`),
/// and glibc gives other threads heaps of their own that it maps and unmaps as they grow and
/// shrink (the grokking transformer ran at half speed, its time in page faults and TLB
/// shootdowns). Call once at the start of `main`, before other threads exist.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread starts.
    unsafe {
        // 32 MiB is glibc's largest mmap threshold on 64-bit targets.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
