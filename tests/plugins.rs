//! The plugin catalog end to end: built-ins, a third-party library loaded through
//! `registry.toml`, and every way a library can be unusable.

use crate::common;

use common::*;

fn list_json(
    cwd: &std::path::Path,
    registry: &std::path::Path,
) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = assay_in(
        cwd,
        &[
            "--registry",
            registry.to_str().unwrap(),
            "plugins",
            "list",
            "--json",
        ],
    );
    let rows = serde_json::from_str(&stdout(&out)).unwrap_or_default();
    (out, rows)
}

fn names(rows: &[serde_json::Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn builtins_survive_the_linker() {
    let dir = scratch();
    let out = assay_in(dir.path(), &["plugins", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let got = names(&rows);
    for expected in [
        "sgd",
        "adam",
        "adamw",
        "mlp",
        "csv",
        "transformer",
        "modular",
        "fourier",
        "magnitude",
        "synflow",
        "text_corpus",
    ] {
        assert!(
            got.contains(&expected.to_string()),
            "{expected} missing from {got:?}"
        );
    }
    assert!(rows.iter().all(|r| r["origin"] == "builtin"));
    assert!(
        !got.contains(&"signum".to_string()),
        "the example plugin must not be linked into the host"
    );
}

#[test]
fn example_plugin_loads_from_the_registry_with_its_path_as_origin() {
    let lib = plugin_library("assay-example", "assay_example");
    let dir = scratch();
    let reg = write_registry(dir.path(), &[(&lib, Some(&sha256(&lib)))]);
    let (out, rows) = list_json(dir.path(), &reg);
    assert!(out.status.success(), "{}", stderr(&out));
    let signum = rows
        .iter()
        .find(|r| r["name"] == "signum")
        .expect("signum listed");
    assert_eq!(signum["kind"], "optimizer");
    assert_eq!(signum["version"], "0.1.0");
    assert_eq!(
        signum["origin"],
        lib.canonicalize().unwrap().display().to_string()
    );
    assert!(rows
        .iter()
        .any(|r| r["name"] == "weight_stats" && r["kind"] == "probe"));

    let check = assay_in(dir.path(), &["plugins", "check", lib.to_str().unwrap()]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).contains("signum") && stdout(&check).contains("compatible"));

    let info = assay_in(
        dir.path(),
        &[
            "--registry",
            reg.to_str().unwrap(),
            "plugins",
            "info",
            "signum",
        ],
    );
    assert!(info.status.success(), "{}", stderr(&info));
    let text = stdout(&info);
    for needle in ["lr", "beta", "weight_decay", "float", "0.9", "momentum"] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
}

#[test]
fn checksum_mismatch_is_not_loaded_and_others_still_load() {
    let example = plugin_library("assay-example", "assay_example");
    let toy = plugin_library("toy-model", "toy_model");
    let dir = scratch();
    let wrong = "0".repeat(64);
    let reg = write_registry(dir.path(), &[(&example, Some(&wrong)), (&toy, None)]);
    let (out, rows) = list_json(dir.path(), &reg);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("sha256") && err.contains(&wrong) && err.contains("libassay_example.so"),
        "{err}"
    );
    assert!(!names(&rows).contains(&"signum".to_string()));
    assert!(names(&rows).contains(&"toy_mlp".to_string()));
}

#[test]
fn missing_library_is_reported_and_others_still_load() {
    let example = plugin_library("assay-example", "assay_example");
    let dir = scratch();
    let missing = dir.path().join("libnowhere.so");
    let reg = write_registry(dir.path(), &[(&missing, None), (&example, None)]);
    let (out, rows) = list_json(dir.path(), &reg);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("libnowhere.so") && stderr(&out).contains("not found"),
        "{}",
        stderr(&out)
    );
    assert!(names(&rows).contains(&"signum".to_string()));
}

#[test]
fn tampered_stamp_is_refused_naming_the_field() {
    let lib = plugin_library("tampered", "tampered");
    let dir = scratch();
    let out = assay_in(dir.path(), &["plugins", "check", lib.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("built for a different host"), "{err}");
    assert!(
        err.contains("rustc: plugin has `rustc 0.0.0 (tampered for tests)`"),
        "{err}"
    );
    assert!(err.contains("rebuild"), "{err}");
    // Through the registry: reported, not loaded, and the host goes on.
    let reg = write_registry(dir.path(), &[(&lib, None)]);
    let (out, rows) = list_json(dir.path(), &reg);
    assert!(out.status.success());
    assert!(!names(&rows).contains(&"never_loaded".to_string()));
    assert!(names(&rows).contains(&"adam".to_string()));
}

#[test]
fn files_that_are_not_plugins_are_refused() {
    let dir = scratch();
    let garbage = dir.path().join("libgarbage.so");
    std::fs::write(&garbage, b"this is not an ELF file at all").unwrap();
    let out = assay_in(dir.path(), &["plugins", "check", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a loadable library"),
        "{}",
        stderr(&out)
    );

    // A real shared library without the entry symbol: the SDK itself.
    let sdk = distribution(dir.path()).join("libassay_sdk.so");
    let out = assay_in(dir.path(), &["plugins", "check", sdk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no symbol `assay_plugin__assay_sdk`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn duplicate_component_names_both_origins() {
    let lib = plugin_library("duplicate", "duplicate");
    let dir = scratch();
    let reg = write_registry(dir.path(), &[(&lib, None)]);
    let (out, _) = list_json(dir.path(), &reg);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("optimizer `adam` is registered twice"),
        "{err}"
    );
    assert!(err.contains("assay_optim` (builtin)"), "{err}");
    assert!(err.contains("libduplicate.so"), "{err}");
}

#[test]
fn a_panicking_plugin_fails_its_run_and_the_host_survives() {
    let lib = plugin_library("panicking", "panicking");
    let dir = scratch();
    let reg = write_registry(dir.path(), &[(&lib, None)]);
    let spec = write_spec(
        dir.path(),
        "panics.toml",
        "name = \"panics\"\n[dataset]\nplugin = \"csv\"\nblob_examples = 60\n[model]\nplugin = \"mlp\"\nhidden = [4]\n[optimizer]\nplugin = \"panicky\"\npanic_at = 3\n[train]\nsteps = 10\n",
    );
    let store = dir.path().join("store");
    let out = run_with_registry(dir.path(), &reg, &store, &spec);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("optimizer `panicky`") && err.contains("panicked in Optimizer::step"),
        "{err}"
    );
    assert!(err.contains("deliberate panic at step 3"), "{err}");
    let runs = std::fs::read_dir(&store)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "failed");
    assert_eq!(record["steps_done"], 2);
    assert!(record["error"].as_str().unwrap().contains("panicked"));
    // One clear line, not the panic hook's report and backtrace hint.
    assert!(!err.contains("thread '"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
}

#[test]
fn a_panicking_host_memory_optimizer_fails_its_run_and_the_host_survives() {
    let lib = plugin_library("panicking", "panicking");
    let dir = scratch();
    let reg = write_registry(dir.path(), &[(&lib, None)]);
    let spec = write_spec(
        dir.path(),
        "online.toml",
        "name = \"online-panics\"\n[problem]\nplugin = \"online_convex\"\n[optimizer]\nplugin = \"panicky\"\npanic_at = 5\n[train]\nsteps = 100\n",
    );
    let store = dir.path().join("store");
    let out = run_with_registry(dir.path(), &reg, &store, &spec);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("optimizer `panicky`") && err.contains("panicked in HostOptimizer::step"),
        "{err}"
    );
    assert!(
        err.contains("deliberate host-memory panic at step 5"),
        "{err}"
    );
    assert!(
        err.contains("(at tests/fixtures/panicking/src/lib.rs:"),
        "{err}"
    );
    assert!(!err.contains("thread '"), "{err}");
    let run = std::fs::read_dir(&store)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("run.json").exists())
        .expect("a run directory");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "failed");
}

/// The SDK distribution the host under test runs on.
fn distribution(cwd: &std::path::Path) -> std::path::PathBuf {
    let out = assay_in(cwd, &["plugins", "sdk"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::path::PathBuf::from(stdout(&out).trim())
}

/// Every file of a directory tree with its length and modification time.
fn listing(dir: &std::path::Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path().display().to_string(),
                    meta.len(),
                    meta.modified().unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// `cargo` in `dir`, outside the workspace, as a plugin author runs it.
fn author_cargo(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = cargo().current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn plugin_in_its_own_repository_builds_loads_runs_and_survives_host_rebuilds() {
    build_plugins();
    let dir = scratch();
    let out = assay_in(
        dir.path(),
        &["new-plugin", "outside-descent", "--kind", "optimizer"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let root = dir.path().join("outside-descent");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains(&root.display().to_string()), "{readme}");

    // A dependency of its own that the host also uses, with a feature the host's build lacks
    // (`Number::from_string_unchecked` exists only with `arbitrary_precision`).
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest = manifest.replace(
        "\n# A crate of its own",
        "serde_json = { version = \"1\", features = [\"arbitrary_precision\"] }\n\n# A crate of its own",
    );
    std::fs::write(root.join("Cargo.toml"), manifest).unwrap();
    let mut source = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    source.push_str(
        "\n/// Keeps every digit of a decimal number.\npub fn exact(text: &str) -> String {\n    serde_json::Number::from_string_unchecked(text.to_string()).to_string()\n}\n\n#[test]\nfn keeps_every_digit() {\n    assert_eq!(exact(\"0.10000000000000000000001\"), \"0.10000000000000000000001\");\n}\n",
    );
    std::fs::write(root.join("src/lib.rs"), source).unwrap();

    // As its author would: plain `cargo test` in the crate's own directory, then a build for the
    // host. Neither compiles candle or the SDK: both come from the distribution.
    let tested = author_cargo(&root, &["test", "--offline"]);
    let text = String::from_utf8_lossy(&tested.stdout);
    assert!(text.contains("2 passed"), "{text}");
    let compiled = String::from_utf8_lossy(&tested.stderr).to_string();
    assert!(
        !compiled.contains("Compiling candle") && !compiled.contains("Compiling assay-sdk "),
        "{compiled}"
    );
    let built = assay_in(&root, &["plugins", "build", "."]);
    assert!(built.status.success(), "{}", stderr(&built));
    assert!(
        stdout(&built).contains("outside_descent"),
        "{}",
        stdout(&built)
    );
    let lib = root.join("target/debug/liboutside_descent.so");

    let reg = write_registry(dir.path(), &[(&lib, None)]);
    let spec = write_spec(
        dir.path(),
        "outside.toml",
        "name = \"outside\"\n[dataset]\nplugin = \"csv\"\nblob_examples = 60\n[model]\nplugin = \"mlp\"\nhidden = [4]\n[optimizer]\nplugin = \"outside_descent\"\nlr = 0.1\n[train]\nsteps = 20\n",
    );
    let store = dir.path().join("store");
    let run = |force: bool| {
        let mut args = vec![
            "--registry",
            reg.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            spec.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        assay_in(dir.path(), &args)
    };
    let first = run(false);
    assert!(first.status.success(), "{}", stderr(&first));

    // Rebuild parts of the host in other cargo graphs, as a developer of the host would: the
    // SDK's own tests and a single plugin crate. Neither touches the distribution the host and
    // the plugin link, so the plugin still loads and runs.
    let dist = distribution(dir.path());
    let before = listing(&dist);
    author_cargo(
        &workspace(),
        &["test", "--quiet", "-p", "assay-sdk-link", "--no-run"],
    );
    author_cargo(&workspace(), &["build", "--quiet", "-p", "assay-example"]);
    assert_eq!(listing(&dist), before, "the distribution changed");
    let check = assay_in(dir.path(), &["plugins", "check", lib.to_str().unwrap()]);
    assert!(check.status.success(), "{}", stderr(&check));
    let again = run(true);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(last_line(&first), last_line(&again));
}

/// Replaces every occurrence of `from` in `bytes` by `to` (same length).
fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + to.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn library_built_against_another_sdk_build_is_refused_naming_the_fix() {
    let lib = plugin_library("assay-example", "assay_example");
    let dir = scratch();
    let build = assay_sdk::abi::SDK_BUILD.as_bytes();
    let other: Vec<u8> = build
        .iter()
        .map(|b| if *b == b'0' { b'1' } else { b'0' })
        .collect();

    // Same symbols, another SDK build in the stamp (the SDK's sources changed, say): the stamp
    // check refuses it.
    let mut bytes = std::fs::read(&lib).unwrap();
    assert!(patch(&mut bytes, build, &other) >= 1);
    let stamped = dir.path().join("libassay_example.so");
    std::fs::write(&stamped, &bytes).unwrap();
    let out = assay_in(dir.path(), &["plugins", "check", stamped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("sdk build: plugin has"), "{err}");
    let crate_dir = workspace().join("plugins/example");
    assert!(
        err.contains(&format!("assay plugins build {}", crate_dir.display())),
        "{err}"
    );

    // Symbols of another SDK build too (the anchor's hash changed): the dynamic loader refuses
    // it, and the message still comes from the stamp inside the file.
    let mangled = b"10SDK_ANCHOR17h";
    let anchor = bytes
        .windows(mangled.len())
        .position(|w| w == mangled)
        .expect("the anchor's mangled name");
    let hash_at = anchor + mangled.len();
    let original = bytes[hash_at..hash_at + 16].to_vec();
    let changed: Vec<u8> = original
        .iter()
        .map(|b| if *b == b'a' { b'b' } else { b'a' })
        .collect();
    patch(&mut bytes, &original, &changed);
    let relinked = dir.path().join("other/libassay_example.so");
    std::fs::create_dir_all(relinked.parent().unwrap()).unwrap();
    std::fs::write(&relinked, &bytes).unwrap();
    let out = assay_in(
        dir.path(),
        &["plugins", "check", relinked.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("sdk build: plugin has"), "{err}");
    assert!(err.contains("assay plugins build"), "{err}");
}

#[test]
fn every_kind_scaffolds_a_crate_that_passes_its_own_test() {
    let dir = scratch();
    let help = assay_in(dir.path(), &["new-plugin", "--help"]);
    let help = stdout(&help);
    for kind in assay_sdk::Kind::ALL {
        assert!(help.contains(kind.as_str()), "--help lacks {kind}: {help}");
    }
    let target = dir.path().join("shared-target");
    for kind in assay_sdk::Kind::ALL {
        let name = format!("my-{kind}");
        let out = assay_in(dir.path(), &["new-plugin", &name, "--kind", kind.as_str()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = cargo()
            .current_dir(dir.path().join(&name))
            .env("CARGO_TARGET_DIR", &target)
            .args(["test", "--offline"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "{kind}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = assay_in(dir.path(), &["new-plugin", "bad", "--kind", "optimiser"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("optimizer"), "{}", stderr(&out));
}

#[test]
fn every_choice_of_every_builtin_names_the_closest_valid_value_when_misspelt() {
    assay::link_builtins();
    let catalog = assay_catalog::Catalog::builtin().unwrap();
    let mut checked = 0;
    for entry in catalog.entries() {
        for param in &entry.component.params {
            for choice in &param.choices {
                let misspelt = format!("{choice}x");
                let err = param
                    .check(&assay_sdk::Value::Str(misspelt.clone()))
                    .expect_err("a misspelt choice is refused");
                assert!(
                    err.contains(&format!("did you mean `{choice}`?")),
                    "{} `{}`.{}: {misspelt} -> {err}",
                    entry.component.kind(),
                    entry.component.name,
                    param.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} choices checked");
}

#[test]
fn a_misspelt_parameter_is_a_compile_error() {
    // Declared once as a field, read as a field: reading `lrr` instead of `lr` does not compile,
    // so the declaration and its use cannot drift apart.
    let dir = scratch();
    let out = assay_in(dir.path(), &["new-plugin", "typo", "--kind", "optimizer"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lib = dir.path().join("typo/src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    assert!(source.contains("lr: p.lr"), "{source}");
    std::fs::write(&lib, source.replace("lr: p.lr", "lr: p.lrr")).unwrap();
    let out = cargo()
        .current_dir(dir.path().join("typo"))
        .args(["build", "--offline"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no field `lrr`"), "{err}");
}
