//! System metrics of the run's own process, logged as `sys/*` next to the run's metrics at every
//! evaluation: `sys/cpu_s` (user + system CPU time so far), `sys/rss_mb` (resident memory now)
//! and `sys/peak_rss_mb` (the most it has used). They measure the machine, not the model, so
//! they are the only metrics a seed does not fix. Linux only (read from `/proc/self` and
//! `getrusage`); elsewhere nothing is logged.

use assay_store::record::RunLog;

/// Logs the process's CPU time and memory at `step`.
pub(crate) fn log(log: &mut RunLog, step: u64) {
    for (name, value) in sample() {
        log.metric(step, name, value);
    }
}

#[cfg(target_os = "linux")]
fn sample() -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        out.push(("sys/cpu_s", secs(usage.ru_utime) + secs(usage.ru_stime)));
        // ru_maxrss is in kilobytes on Linux.
        out.push(("sys/peak_rss_mb", usage.ru_maxrss as f64 / 1024.0));
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
        if let Some(resident) = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<f64>().ok())
        {
            if page > 0 {
                out.push(("sys/rss_mb", resident * page as f64 / (1024.0 * 1024.0)));
            }
        }
    }
    out
}

#[cfg(not(target_os = "linux"))]
fn sample() -> Vec<(&'static str, f64)> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn the_process_uses_time_and_memory() {
        let _busy: u64 = (0..2_000_000u64).map(|i| i % 7).sum();
        let s = super::sample();
        let get = |n: &str| s.iter().find(|(k, _)| *k == n).map(|(_, v)| *v).unwrap();
        assert!(get("sys/cpu_s") > 0.0);
        assert!(get("sys/rss_mb") > 1.0);
        assert!(get("sys/peak_rss_mb") >= get("sys/rss_mb") * 0.5);
    }
}
