//! The SDK's own suite (unit tests and the worked examples shown in its docs), run as part of the
//! workspace's tests: the SDK is its own cargo workspace (see sdk/README.md), so `cargo test
//! --workspace` here would not reach it otherwise.

use crate::common;

use common::*;

#[test]
fn the_sdk_passes_its_own_tests() {
    // From sdk/, so that its .cargo/config.toml gives the flags of the SDK's own build (the
    // distribution's), and its artifacts are shared with it.
    let out = cargo()
        .current_dir(workspace().join("sdk"))
        .arg("test")
        .output()
        .expect("running cargo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo test in sdk/ failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passed: usize = text
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 10, "only {passed} SDK tests ran:\n{text}");
}
