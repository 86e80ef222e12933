//! Who and where: this host, this user, the time, and whether a process recorded by a run or
//! a lock is still alive. Shared by run records and locks, so that both judge liveness by one
//! rule.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How old a heartbeat may be before a `running` run counts as lost.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// Whether the process `pid` on `host` still runs: on this host, whether the pid exists; on
/// another, whether `heartbeat` is at most [`STALE_AFTER`] old. Run records and lock owners are
/// judged by this one rule.
pub fn process_alive(host: &str, pid: u32, heartbeat: Option<SystemTime>) -> bool {
    if host == host_name() {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    heartbeat
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age <= STALE_AFTER)
}

/// This machine's name.
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The user running this process: `$USER`, `$LOGNAME`, else the password database.
pub fn user_name() -> String {
    if let Ok(u) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        return u;
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy the name at once
    // and call it from one thread at a time at worst (run start).
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned();
        }
        format!("uid{}", libc::getuid())
    }
}

/// Now, RFC 3339.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
