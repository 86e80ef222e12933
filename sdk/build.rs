//! Records what the ABI stamp needs: the compiler that builds the SDK, and the **build id** of
//! this SDK build, a hash of everything that decides the compiled library (its sources, lock
//! file, compiler, features, profile, flags and location). Plugins built against one build of
//! `libassay_sdk.so` carry its id, and the host refuses a library whose id differs from its own,
//! naming the command that rebuilds it.
use std::path::Path;
use std::process::Command;

/// 64-bit FNV-1a: stable across toolchains, unlike `DefaultHasher`.
struct Fnv(u64);

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x100_0000_01b3);
    }
}

fn hash_tree(h: &mut Fnv, dir: &Path) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(_) => return,
    };
    entries.sort();
    for path in entries {
        if path.is_dir() {
            hash_tree(h, &path);
        } else if let Ok(bytes) = std::fs::read(&path) {
            h.write(path.to_string_lossy().as_bytes());
            h.write(&bytes);
        }
    }
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(&rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "rustc unknown".to_string());
    println!("cargo:rustc-env=ASSAY_RUSTC_VERSION={version}");

    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let root = Path::new(&root);
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(version.as_bytes());
    h.write(root.to_string_lossy().as_bytes());
    for file in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        h.write(&std::fs::read(root.join(file)).unwrap_or_default());
    }
    hash_tree(&mut h, &root.join("src"));
    hash_tree(&mut h, &root.join("derive"));
    // The patched candle-core and rayon-core compiled into the SDK.
    hash_tree(&mut h, &root.join("patches"));
    // The link crate is copied into every distribution: a change to it is a new distribution.
    for file in ["link/Cargo.toml", "link/build.rs", "link/src/lib.rs"] {
        h.write(&std::fs::read(root.join(file)).unwrap_or_default());
    }
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("CARGO_FEATURE_")
                || k == "CARGO_ENCODED_RUSTFLAGS"
                || k == "PROFILE"
                || k == "OPT_LEVEL"
                || k == "DEBUG"
                || k == "TARGET"
                // The GPU generation candle's CUDA kernels are compiled for.
                || k == "CUDA_COMPUTE_CAP"
        })
        .collect();
    env.sort();
    for (k, v) in env {
        h.write(k.as_bytes());
        h.write(v.as_bytes());
    }
    let build = format!("{:016x}", h.0);
    println!("cargo:rustc-env=ASSAY_SDK_BUILD={build}");
    // For sdk/link's build script, which names the frozen distribution after it.
    if let Some(out) = std::env::var_os("OUT_DIR") {
        let _ = std::fs::write(Path::new(&out).join("sdk-build"), &build);
    }

    println!("cargo:rerun-if-env-changed=CUDA_COMPUTE_CAP");
    for path in [
        "src",
        "derive",
        "patches",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "link/Cargo.toml",
        "link/build.rs",
        "link/src/lib.rs",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
}
