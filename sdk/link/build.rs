//! Finds the SDK distribution to link, in this order:
//!
//! 1. this crate is inside a distribution (`DIST/link/`, as `assay new-plugin` points to): that
//!    distribution;
//! 2. `ASSAY_SDK_DIST` names one;
//! 3. inside the assay checkout (`sdk/link/`): builds the SDK workspace `sdk/` with its own cargo
//!    invocation and lock file, and freezes the result into
//!    `TARGET/PROFILE/assay-sdk/assay-sdk-VERSION-BUILD/`, next to the binaries that use it.
//!
//! A distribution is never rewritten once complete: a host or plugin built against it keeps
//! working whatever is rebuilt later, and a different SDK build gets a new directory.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The file that marks a complete distribution (written last).
const MARKER: &str = "assay-sdk-dist.toml";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let parent = manifest.parent().expect("link/ has a parent").to_path_buf();
    println!("cargo:rerun-if-env-changed=ASSAY_SDK_DIST");
    let dist = if parent.join(MARKER).is_file() {
        parent
    } else if let Some(dist) = std::env::var_os("ASSAY_SDK_DIST") {
        let dist = PathBuf::from(dist);
        if !dist.join(MARKER).is_file() {
            fail(&format!(
                "ASSAY_SDK_DIST={} is not an assay SDK distribution (no {MARKER}); `assay plugins sdk` prints the one your host uses",
                dist.display()
            ));
        }
        dist
    } else if parent.join("Cargo.toml").is_file() && parent.join("src/abi.rs").is_file() {
        build_from_source(&parent)
    } else {
        fail(&format!(
            "{} is neither inside an assay SDK distribution nor in the assay checkout's sdk/; depend on DIST/link (`assay plugins sdk` prints DIST) or set ASSAY_SDK_DIST",
            manifest.display()
        ));
    };
    println!("cargo:rustc-link-search=all={}", dist.display());
    for dir in link_search(&dist) {
        println!("cargo:rustc-link-search=native={dir}");
    }
    println!("cargo:dist={}", dist.display());
}

/// The marker's key for folders of native libraries outside the distribution.
const LINK_SEARCH: &str = "link_search";

/// The folders of native libraries a distribution's marker records (one line,
/// `link_search = ["…", …]`; absent in distributions that need none).
fn link_search(dist: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dist.join(MARKER)).unwrap_or_default();
    let Some(line) = text
        .lines()
        .find_map(|l| l.strip_prefix(LINK_SEARCH)?.trim_start().strip_prefix('='))
    else {
        return Vec::new();
    };
    line.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(", ")
        .map(|s| s.trim().trim_matches('"').replace("\\\\", "\\"))
        .filter(|s| !s.is_empty())
        .collect()
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

/// The value of `"key":"…"` in one line of cargo's JSON messages (paths need no unescaping on
/// the platforms the SDK supports, except `\\`).
fn json_string(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = start + line[start..].find('"')?;
    Some(line[start..end].replace("\\\\", "\\"))
}

fn build_from_source(sdk: &Path) -> PathBuf {
    for path in [
        "src",
        "derive",
        "patches",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        ".cargo",
    ] {
        println!("cargo:rerun-if-changed={}", sdk.join(path).display());
    }
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(sdk)
        .args([
            "build",
            "--lib",
            "--locked",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--profile", if release { "release" } else { "dev" }])
        .arg("--target-dir")
        .arg(sdk.join("target"));
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        cmd.args(["--features", "cuda"]);
    }
    // The outer build's settings must not leak into the SDK's own build: its flags come from
    // sdk/.cargo/config.toml, its lock file and profile from sdk/.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let outer =
            (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_NET_OFFLINE")
                || key.starts_with("RUSTC")
                || key.starts_with("DEP_")
                || [
                    "RUSTFLAGS",
                    "RUSTDOCFLAGS",
                    "TARGET",
                    "HOST",
                    "OUT_DIR",
                    "PROFILE",
                    "OPT_LEVEL",
                    "DEBUG",
                    "NUM_JOBS",
                ]
                .contains(&key.as_str());
        if outer {
            cmd.env_remove(&key);
        }
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let output = cmd.output().unwrap_or_else(|e| {
        fail(&format!(
            "cannot run cargo to build the SDK in {}: {e}",
            sdk.display()
        ))
    });
    if !output.status.success() {
        fail(&format!(
            "building the SDK in {} failed (its messages are above)",
            sdk.display()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut library = None;
    let mut out_dir = None;
    // What this build of the SDK consists of: the metadata of every library in its graph, and
    // the proc macros (rustc resolves every dependency of a dylib when a dependent loads it,
    // and dependents expand the SDK's own derives).
    let mut metadata = Vec::new();
    // Where the graph's build scripts told the linker to look: a dependent links some of the
    // same native libraries again (the CUDA build's libcuda, libcublas, candle's kernels).
    let mut linked_paths = Vec::new();
    for line in stdout.lines() {
        if line.contains("\"reason\":\"compiler-artifact\"") {
            for file in filenames(line) {
                let is_sdk = line.contains("#assay-sdk@");
                if is_sdk && file.ends_with(".so") {
                    library = Some(PathBuf::from(file));
                } else if file.ends_with(".rmeta") || file.ends_with(".so") {
                    metadata.push(PathBuf::from(file));
                }
            }
        } else if line.contains("\"reason\":\"build-script-executed\"") {
            if line.contains("#assay-sdk@") {
                out_dir = json_string(line, "out_dir");
            }
            linked_paths.extend(
                json_array(line, "linked_paths")
                    .into_iter()
                    .map(|p| PathBuf::from(p.split_once('=').map_or(p.as_str(), |(_, path)| path))),
            );
        }
    }
    let library =
        library.unwrap_or_else(|| fail("cargo built the SDK but named no libassay_sdk.so"));
    let out_dir = PathBuf::from(
        out_dir.unwrap_or_else(|| fail("cargo ran the SDK's build script but named no OUT_DIR")),
    );
    let build = std::fs::read_to_string(out_dir.join("sdk-build"))
        .unwrap_or_else(|e| fail(&format!("{}: {e}", out_dir.join("sdk-build").display())));
    let build = build.trim();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    freeze(
        &library,
        &metadata,
        &linked_paths,
        &format!("assay-sdk-{version}-{build}"),
        build,
    )
}

/// The paths in the `"filenames":[…]` array of one cargo JSON message.
fn filenames(line: &str) -> Vec<String> {
    json_array(line, "filenames")
}

/// The strings of the array `"key":[…]` in one cargo JSON message.
fn json_array(line: &str, key: &str) -> Vec<String> {
    let pattern = format!("\"{key}\":[");
    let Some(start) = line.find(&pattern) else {
        return Vec::new();
    };
    let rest = &line[start + pattern.len()..];
    let Some(end) = rest.find(']') else {
        return Vec::new();
    };
    rest[..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').replace("\\\\", "\\"))
        .filter(|s| !s.is_empty())
        .collect()
}

/// `TARGET/PROFILE` of the outer build, from `OUT_DIR` (`TARGET/PROFILE/build/PKG-HASH/out`).
fn outer_profile_dir() -> PathBuf {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    out.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| fail("cannot find the target directory from OUT_DIR"))
}

fn freeze(
    library: &Path,
    metadata: &[PathBuf],
    linked_paths: &[PathBuf],
    name: &str,
    build: &str,
) -> PathBuf {
    let root = outer_profile_dir().join("assay-sdk");
    let dist = root.join(name);
    if dist.join(MARKER).is_file() {
        return dist;
    }
    let tmp = root.join(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let io = |what: &str, e: std::io::Error| -> ! {
        fail(&format!(
            "freezing the SDK into {}: {what}: {e}",
            dist.display()
        ))
    };
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| io("create", e));
    copy(library, &tmp.join("libassay_sdk.so")).unwrap_or_else(|e| io("libassay_sdk.so", e));
    // The compiled metadata of the SDK's dependencies, which a dependent's rustc reads for the
    // types and generic code the SDK exposes (their machine code is inside libassay_sdk.so),
    // and the proc macros of the graph.
    for file in metadata {
        let name = file.file_name().unwrap_or_default();
        copy(file, &tmp.join(name)).unwrap_or_else(|e| io(&name.to_string_lossy(), e));
    }
    // Native libraries the graph's build scripts made (candle's CUDA kernels: `libmoe.a`) are
    // copied in, as the distribution is on every dependent's search path; folders outside the
    // SDK's build (a CUDA toolkit's) are recorded in the marker and searched from there.
    let sdk_target = library
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf);
    let mut external = Vec::new();
    for dir in linked_paths {
        if sdk_target.as_ref().is_some_and(|t| dir.starts_with(t)) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "a") {
                    let name = entry.file_name();
                    copy(&path, &tmp.join(&name))
                        .unwrap_or_else(|e| io(&name.to_string_lossy(), e));
                }
            }
        } else if !external.contains(dir) {
            external.push(dir.clone());
        }
    }
    // The link crate itself, so that crates outside the checkout can depend on `DIST/link`.
    let link = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    std::fs::create_dir_all(tmp.join("link/src")).unwrap_or_else(|e| io("link/", e));
    for file in ["Cargo.toml", "build.rs", "src/lib.rs"] {
        copy(&link.join(file), &tmp.join("link").join(file)).unwrap_or_else(|e| io(file, e));
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    let link_search: Vec<String> = external
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let marker = format!(
        "# An assay SDK distribution: libassay_sdk.so and the metadata plugins compile against.\n# Never edit; a different SDK build gets a different directory.\nversion = \"{}\"\nbuild = \"{build}\"\nstd_dir = \"{sysroot}/lib/rustlib/{target}/lib\"\n{LINK_SEARCH} = [{}]\n",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        link_search.join(", ")
    );
    std::fs::write(tmp.join(MARKER), marker).unwrap_or_else(|e| io(MARKER, e));
    if std::fs::rename(&tmp, &dist).is_err() {
        // Another build froze the same distribution first; theirs is identical.
        let _ = std::fs::remove_dir_all(&tmp);
        if !dist.join(MARKER).is_file() {
            fail(&format!(
                "cannot move {} to {}",
                tmp.display(),
                dist.display()
            ));
        }
    }
    dist
}

/// A copy, never a hard link: the SDK's build directory may rewrite its files in place later.
fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to).map(|_| ())
}
