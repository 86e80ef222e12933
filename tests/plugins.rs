//! The plugin catalog end to end: built-ins, a third-party library loaded through
//! `registry.toml`, and every way a library can be unusable.

mod common;

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
    let sdk = bin().parent().unwrap().join("libassay_sdk.so");
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
    let out = assay_in(
        dir.path(),
        &[
            "--registry",
            reg.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            spec.to_str().unwrap(),
        ],
    );
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
}

/// Removes a scaffolded crate from the workspace when the test ends, however it ends.
struct Member(std::path::PathBuf);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn new_plugin_scaffold_builds_passes_its_test_and_loads() {
    build_plugins();
    let name = format!("scaffolded-probe-{}", std::process::id());
    let krate = name.replace('-', "_");
    let dir = scratch();
    let out = assay_in(dir.path(), &["new-plugin", &name, "--kind", "probe"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let member = Member(workspace().join("local-plugins").join(&name));
    assert!(member.0.join("Cargo.toml").exists());
    // Built the way its README says: as a member of the host's workspace, so only the new crate
    // compiles and it links the host's own libassay_sdk.
    for args in [
        &["build", "--quiet", "--workspace"][..],
        &[
            "test",
            "--quiet",
            "--workspace",
            "--lib",
            "declarations_are_valid",
        ][..],
    ] {
        let o = cargo().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "cargo {args:?} failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        if args[0] == "test" {
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("1 passed"),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
    let lib = bin().parent().unwrap().join(format!("lib{krate}.so"));
    let check = assay_in(dir.path(), &["plugins", "check", lib.to_str().unwrap()]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).contains(&krate), "{}", stdout(&check));
    drop(member);
    let _ = std::fs::remove_file(&lib);
}
