//! Online optimisation runs ([problem]): both precisions, every coordinate logged, and the spec
//! checks that refuse what cannot run.

use crate::common;

use std::path::Path;

use common::*;

fn online_spec(problem: &str, optimizer: &str) -> String {
    format!(
        "name = \"online\"\nseed = 2\n[problem]\nplugin = \"online_convex\"\n{problem}\n[optimizer]\n{optimizer}\n[train]\nsteps = 3000\nlog_every = 1000\n"
    )
}

fn run(dir: &Path, text: &str, registry: Option<&Path>) -> std::process::Output {
    let spec = write_spec(dir, "online.toml", text);
    let store = dir.join("store");
    let mut args = vec![];
    if let Some(r) = registry {
        args.extend(["--registry", r.to_str().unwrap()]);
    }
    args.extend([
        "--store",
        store.to_str().unwrap(),
        "run",
        "-q",
        spec.to_str().unwrap(),
    ]);
    assay_in(dir, &args)
}

fn names(run_dir: &Path) -> Vec<String> {
    let df = assay_store::record::read_parquet(&run_dir.join("metrics.parquet")).unwrap();
    let column = df.column("name").unwrap().str().unwrap().clone();
    let mut names: Vec<String> = (0..df.height())
        .filter_map(|i| column.get(i).map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_coordinate_is_logged_in_f32_and_f64() {
    let dir = scratch();
    let store = dir.path().join("store");
    let adam = "plugin = \"adam\"\nlr = 0.01\nbeta2 = 0.999";
    let f32_run = run(dir.path(), &online_spec("dim = 2", adam), None);
    assert!(f32_run.status.success(), "{}", stderr(&f32_run));
    let explicit = run(
        dir.path(),
        &online_spec("dim = 2\nprecision = \"f32\"", adam),
        None,
    );
    assert_eq!(
        last_line(&explicit),
        last_line(&f32_run),
        "f32 is the default and leaves the run id alone"
    );
    let f64_run = run(
        dir.path(),
        &online_spec("dim = 2\nprecision = \"f64\"", adam),
        None,
    );
    assert!(f64_run.status.success(), "{}", stderr(&f64_run));
    assert_ne!(last_line(&f64_run), last_line(&f32_run));
    for out in [&f32_run, &f64_run] {
        let run_dir = store.join(last_line(out));
        assert_eq!(names(&run_dir), ["loss", "theta/0", "theta/1"]);
        assert_eq!(
            metric(&run_dir, "theta/1").len(),
            4,
            "steps 0, 1000, 2000, 3000"
        );
    }
    // Both precisions follow the same trajectory to rounding (Adam with beta2 = 0.999 heads for
    // the optimum -1 on this problem).
    let last = |out: &std::process::Output, name: &str| {
        metric(&store.join(last_line(out)), name).last().unwrap().1
    };
    for coordinate in ["theta/0", "theta/1"] {
        let (a, b) = (last(&f32_run, coordinate), last(&f64_run, coordinate));
        assert!((a - b).abs() < 1e-3, "{coordinate}: f32 {a} vs f64 {b}");
        assert!(a < 0.0, "{coordinate} = {a}");
    }
    // One dimension keeps the plain name.
    let scalar = run(dir.path(), &online_spec("", adam), None);
    assert!(scalar.status.success(), "{}", stderr(&scalar));
    assert_eq!(names(&store.join(last_line(&scalar))), ["loss", "theta"]);
}

#[test]
fn specs_that_cannot_run_online_are_refused_before_the_run() {
    let dir = scratch();
    // An optimizer without a host-memory rule (the example plugin's signum).
    let example = plugin_library("assay-example", "assay_example");
    let registry = write_registry(dir.path(), &[(&example, None)]);
    let out = run(
        dir.path(),
        &online_spec("", "plugin = \"signum\""),
        Some(&registry),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("optimizer.plugin") && err.contains("offers no host-memory rule"),
        "{err}"
    );
    assert!(
        err.contains("adopt"),
        "lists the optimizers that have one: {err}"
    );
    assert!(
        !dir.path().join("store").exists()
            || std::fs::read_dir(dir.path().join("store"))
                .unwrap()
                .next()
                .is_none()
    );
    // A misspelt precision.
    let out = run(
        dir.path(),
        &online_spec("precision = \"f6\"", "plugin = \"adam\""),
        None,
    );
    assert!(
        stderr(&out).contains("problem.precision"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("did you mean `f64`?"),
        "{}",
        stderr(&out)
    );
    // The old spelling of an online problem.
    let out = run(
        dir.path(),
        &online_spec("", "plugin = \"adam\"").replace("[problem]", "[environment]"),
        None,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("[problem]"), "{}", stderr(&out));
}
