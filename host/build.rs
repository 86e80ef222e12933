//! Lets the `assay` binary find the shared Rust libraries it links (libstd and libassay_sdk)
//! without LD_LIBRARY_PATH: an rpath to its own directory, to `deps/` beside it, and to the
//! toolchain's library directory.
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,$ORIGIN:$ORIGIN/deps");
    if let Some(root) = sysroot {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{root}/lib/rustlib/{target}/lib");
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
}
