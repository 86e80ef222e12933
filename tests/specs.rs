//! Bad input on the command line and in specs: one clear message naming the file (or the
//! `--set` override), the key and the closest valid value; overrides and their run ids.

use crate::common;

use common::*;

#[test]
fn toml_syntax_errors_name_file_line_and_column() {
    let env = Env::new();
    let out = env.run("name = \"x\"\nseed = \n", &[]);
    assert_error(&out, &["spec.toml:2:", "string values must be quoted"]);
}

#[test]
fn unknown_plugins_suggest_close_names() {
    let env = Env::new();
    let out = env.run(&spec("steps = 5", "plugin = \"adamm\""), &[]);
    assert_error(
        &out,
        &[
            "spec.toml",
            "optimizer.plugin",
            "unknown optimizer `adamm`",
            "did you mean `adam`",
        ],
    );
}

#[test]
fn unknown_mistyped_and_out_of_range_parameters_name_table_and_key() {
    let env = Env::new();
    let out = env.run(&spec("steps = 5", "plugin = \"adam\"\nlrr = 0.1"), &[]);
    assert_error(
        &out,
        &[
            "spec.toml",
            "optimizer.lrr",
            "unknown parameter of optimizer `adam`",
            "beta1",
        ],
    );
    let out = env.run(&spec("steps = 5", "plugin = \"adam\"\nlr = \"fast\""), &[]);
    assert_error(
        &out,
        &["optimizer.lr", "expected float, found string `\"fast\"`"],
    );
    let out = env.run(&spec("steps = 5", "plugin = \"adam\"\nlr = -1"), &[]);
    assert_error(&out, &["optimizer.lr", "below the minimum 0"]);
    let out = env.run(&spec("steps = 5\nbatch_sise = 3", "plugin = \"adam\""), &[]);
    assert_error(&out, &["train.batch_sise", "unknown parameter"]);
    let out = env.run(
        &spec("steps = 5", "plugin = \"adam\"").replace("[model]", "colour = 3\n[model]"),
        &[],
    );
    assert_error(
        &out,
        &["dataset.colour", "unknown parameter of dataset `csv`"],
    );
}

#[test]
fn overrides_change_the_resolved_spec_and_the_run_id() {
    let env = Env::new();
    let text = spec("steps = 3\neval_every = 0", "plugin = \"adam\"");
    let a = env.run(&text, &[]);
    let b = env.run(
        &text,
        &["--set", "optimizer.lr=0.05", "--set", "train.batch_size=16"],
    );
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        stderr(&a),
        stderr(&b)
    );
    let (ida, idb) = (last_line(&a), last_line(&b));
    assert_ne!(ida, idb);
    let resolved = std::fs::read_to_string(env.store().join(&idb).join("spec.toml")).unwrap();
    assert!(
        resolved.contains("lr = 0.05") && resolved.contains("batch_size = 16"),
        "{resolved}"
    );
    // Defaults are filled in, so writing a default explicitly gives the same run.
    let c = env.run(
        &spec(
            "steps = 3\neval_every = 0",
            "plugin = \"adam\"\nbeta1 = 0.9",
        ),
        &[],
    );
    assert_eq!(last_line(&c), ida);
    let bad = env.run(&text, &["--set", "optimizer.lr"]);
    assert_error(&bad, &["--set optimizer.lr", "KEY.PATH=VALUE"]);
}

#[test]
fn no_decay_names_roles_and_leaves_the_default_run_id_alone() {
    let env = Env::new();
    let plain = env.run(
        &spec("steps = 3\neval_every = 0", "plugin = \"adamw\""),
        &[],
    );
    let empty = env.run(
        &spec(
            "steps = 3\neval_every = 0",
            "plugin = \"adamw\"\nno_decay = []",
        ),
        &[],
    );
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(last_line(&plain), last_line(&empty));
    let grouped = env.run(
        &spec(
            "steps = 3\neval_every = 0",
            "plugin = \"adamw\"\nweight_decay = 0.5\nno_decay = [\"bias\", \"norm\"]",
        ),
        &[],
    );
    assert!(grouped.status.success(), "{}", stderr(&grouped));
    assert_ne!(last_line(&grouped), last_line(&plain));
    let resolved =
        std::fs::read_to_string(env.store().join(last_line(&grouped)).join("spec.toml")).unwrap();
    assert!(
        resolved.contains("no_decay = [\"bias\", \"norm\"]"),
        "{resolved}"
    );
    let bad = env.run(
        &spec("steps = 3", "plugin = \"adamw\"\nno_decay = [\"bais\"]"),
        &[],
    );
    assert_error(&bad, &["optimizer.no_decay", "did you mean `bias`?"]);
}

#[test]
fn every_choice_typed_key_names_the_closest_valid_value() {
    let env = Env::new();
    for (train, optimizer, model, key, suggestion) in [
        (
            "lr_schedule = \"cosin\"",
            "plugin = \"adam\"",
            "",
            "train.lr_schedule",
            "cosine",
        ),
        (
            "",
            "plugin = \"adopt\"\nclip = \"t^0.5\"",
            "",
            "optimizer.clip",
            "t^0.25",
        ),
        (
            "",
            "plugin = \"adopt\"\nvariant = \"no_reorder\"",
            "",
            "optimizer.variant",
            "no_reordering",
        ),
        (
            "",
            "plugin = \"adam\"",
            "activation = \"tahn\"",
            "model.activation",
            "tanh",
        ),
        (
            "",
            "plugin = \"adam\"",
            "combine = \"summ\"",
            "model.combine",
            "sum",
        ),
        (
            "",
            "plugin = \"adam\"",
            "init = \"pytorh\"",
            "model.init",
            "pytorch",
        ),
    ] {
        let text = spec(&format!("steps = 3\n{train}"), optimizer)
            .replace("hidden = [8]", &format!("hidden = [8]\n{model}"));
        let out = env.run(&text, &[]);
        assert_error(&out, &[key, &format!("did you mean `{suggestion}`?")]);
    }
}

/// The choices the host itself reads (not a plugin's parameters): each misspelt is an error
/// naming the key and the closest valid value.
#[test]
fn every_host_choice_names_the_closest_valid_value() {
    let env = Env::new();
    let online = |precision: &str| {
        format!("name = \"toy\"\n[problem]\nplugin = \"online_convex\"\nprecision = \"{precision}\"\n[optimizer]\nplugin = \"adam\"\n[train]\nsteps = 3\n")
    };
    let pruned = |apply: &str| {
        spec("steps = 3", "plugin = \"adam\"")
            + &format!("\n[prune]\nplugin = \"magnitude\"\nkeep = 0.5\napply = \"{apply}\"\n")
    };
    for (text, key, suggestion) in [
        (online("fp64"), "problem.precision", "f64"),
        (pruned("maks"), "prune.apply", "mask"),
        (pruned("norm_l3"), "prune.apply", "norm_l1"),
        (
            spec("steps = 3", "plugin = \"adamw\"\nno_decay = [\"norms\"]"),
            "optimizer.no_decay",
            "norm",
        ),
        (
            spec(
                "steps = 3\nlr_schedule = \"linear_warmpu\"",
                "plugin = \"adam\"",
            ),
            "train.lr_schedule",
            "linear_warmup",
        ),
    ] {
        let out = env.run(&text, &[]);
        assert_error(&out, &[key, &format!("did you mean `{suggestion}`?")]);
    }
    // The spelt-out values still work, and `apply` defaults to `mask`.
    let out = env.run(&pruned("norm_l2"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_schedule_on_an_optimizer_without_lr_is_a_spec_error() {
    let lib = plugin_library("panicking", "panicking");
    let env = Env::new();
    let registry = write_registry(env.path(), &[(&lib, None)]);
    let text = spec(
        "steps = 3\nlr_schedule = \"cosine\"",
        "plugin = \"panicky\"\npanic_at = 100",
    );
    let p = write_spec(env.path(), "spec.toml", &text);
    let store = env.store();
    let out = run_with_registry(env.path(), &registry, &store, &p);
    assert_error(&out, &["train.lr_schedule", "declares no `lr`"]);
    assert!(!store.exists() || std::fs::read_dir(&store).unwrap().next().is_none());
}

#[test]
fn rough_edges_of_the_command_line() {
    let env = Env::new();
    // A missing spec says its cause once.
    let out = env.assay(&["run", "-q", "nonexistent.toml"]);
    let err = stderr(&out);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    // A bad --set value is reported against --set, not only the file.
    let out = env.run(
        &spec("steps = 3", "plugin = \"adam\""),
        &["--set", "optimizer.lr=fast"],
    );
    assert_error(
        &out,
        &["--set optimizer.lr=fast", "optimizer.lr", "expected float"],
    );
    // JSON to stdout ends with a newline; the same aggregate gives the same digits every time.
    for seed in 0..3 {
        let out = env.run(
            &spec("steps = 20\neval_every = 10", "plugin = \"adam\""),
            &["--set", &format!("seed={seed}")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let sql = "SELECT name, avg(value) AS mean, sum(value) AS total, stddev(value) AS sd FROM metrics GROUP BY name ORDER BY name";
    let first = env.assay(&["query", sql, "--format", "json"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).ends_with('\n'));
    for _ in 0..5 {
        let again = env.assay(&["query", sql, "--format", "json"]);
        assert_eq!(stdout(&again), stdout(&first));
    }
    // A run directory without run.json (killed before writing it) is listed and removable.
    let orphan = env.store().join("tiny-0123456789ab");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("spec.toml"), "name = \"tiny\"\n").unwrap();
    let listed = env.assay(&["runs", "list"]);
    assert!(
        stdout(&listed).contains("tiny-0123456789ab") && stdout(&listed).contains("incomplete"),
        "{}",
        stdout(&listed)
    );
    let removed = env.assay(&["runs", "rm", "tiny-0123456789ab"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(!orphan.exists());
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let env = Env::new();
    let spec_path = write_spec(
        env.path(),
        "sweep.toml",
        &format!(
            "{}\n[sweep]\nseeds = 50\n",
            spec("steps = 3", "plugin = \"adam\"")
        ),
    );
    let mut child = std::process::Command::new(bin())
        .args(["sweep", spec_path.to_str().unwrap(), "--dry-run"])
        .current_dir(env.path())
        .env("ASSAY_STORE", env.store())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    {
        use std::io::BufRead;
        let mut first = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}
