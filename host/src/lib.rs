//! # assay
//!
//! The host of the assay platform: a spec goes in, a run directory comes out, and tables are read
//! across run directories.
//!
//! - [`catalog`], [`loader`], [`registry`], [`guard`]: the components the host can build, from
//!   built-in plugin crates and from dynamic libraries listed in `registry.toml`.
//! - [`distribution`] and [`scaffold`]: the SDK distribution this host runs on, and plugin
//!   crates built against it anywhere.
//! - [`spec`]: parse a spec, apply `--set` overrides, fill defaults, check, hash into a run id;
//!   [`device`]: device names (checked without opening anything).
//! - [`engine`], [`online`], [`pruning`], [`loss`], [`lifecycle`]: the run loop, online runs,
//!   masks and rewinding, losses, checkpoints and resume, outcomes and exit codes.
//! - [`store`], [`record`], [`lock`], [`identity`], [`layout`]: run directories, written
//!   atomically, their file names in one place, locks, and who holds them.
//! - [`tables`] and [`plot`]: Polars SQL over every run, exports and plots.
//! - [`cli`]: the `assay` command.

pub mod bench;
pub mod catalog;
pub mod cli;
pub mod device;
pub mod distribution;
pub mod engine;
pub mod generate;
pub mod guard;
pub mod identity;
pub mod layout;
pub mod lifecycle;
pub mod loader;
pub mod lock;
pub mod loss;
pub mod online;
pub mod plot;
pub mod pruning;
pub mod record;
pub mod reference;
pub mod registry;
pub mod report;
pub mod scaffold;
pub mod spec;
pub mod store;
pub mod sweep;
pub mod tables;

/// Keeps the built-in plugin crates' registrations in the binary (the linker drops object files
/// nothing refers to, and with them their `inventory` entries).
pub fn link_builtins() {
    assay_arith::link();
    assay_nets::link();
    assay_optim::link();
    assay_prune::link();
    assay_tabular::link();
    assay_text::link();
}

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
/// `perf`). Call once at the start of `main`, before other threads exist.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread starts.
    unsafe {
        // 32 MiB is glibc's largest mmap threshold on 64-bit targets.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
