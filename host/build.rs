//! Lets the `assay` binary find the shared Rust libraries it links without LD_LIBRARY_PATH: an
//! rpath to the SDK distribution it was built against (`libassay_sdk.so`, from sdk/link's build
//! script) and to the toolchain's library directory (`libstd-*.so`).
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
    if let Ok(dist) = std::env::var("DEP_ASSAY_SDK_DIST") {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dist}");
    }
    if let Some(root) = sysroot {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{root}/lib/rustlib/{target}/lib");
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-env-changed=DEP_ASSAY_SDK_DIST");
}
