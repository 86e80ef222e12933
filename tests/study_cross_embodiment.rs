//! Study 9 end to end at small sizes: the expert's episodes recorded as RLDS Parquet by an
//! episode run, read back by `rlds_mixture` (also after pandas rewrote them), a tokenised-action
//! policy trained on them and played as an agent, and bad dataset directories refused before
//! anything is stored.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The end of each pandas script: leave without the interpreter's teardown, where pyarrow's
/// reader threads can abort the process after the work is done ("terminate called without an
/// active exception", apache/arrow#34314; seen once in a full test run here).
const EXIT: &str = "import os, sys\nsys.stdout.flush()\nos._exit(0)\n";

/// Records `count` expert episodes of `embodiment` on `tasks` into `dir/demos` with an episode
/// run in `store`.
fn record(dir: &Path, store: &str, embodiment: &str, count: usize, tasks: &str) -> String {
    let demos = dir.join(format!("demos-{embodiment}"));
    let spec = write_spec(
        dir,
        &format!("demos-{embodiment}.toml"),
        &format!(
            r#"name = "demos"
seed = 0
[environment]
plugin = "reach_push"
embodiment = "{embodiment}"
tasks = {tasks}
record = "{}"
[[agent]]
plugin = "reach_push_expert"
noise = 0.1
[episodes]
count = {count}
"#,
            demos.display()
        ),
    );
    let out = assay_in(
        dir,
        &["--store", store, "run", spec.to_str().unwrap(), "-q"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    demos.display().to_string()
}

#[test]
fn recorded_episodes_read_back_identically_after_pandas_rewrites_them() {
    let Some(python) = python_with(&["pandas", "pyarrow"]) else {
        return;
    };
    let dir = scratch();
    let store = dir.path().join("store").display().to_string();
    let demos = record(dir.path(), &store, "c", 4, "[]");
    let ours = assay_robot::rlds_dir::read_dir(Path::new(&demos)).unwrap();
    assert_eq!(ours.len(), 4);
    assert!(ours
        .iter()
        .all(|e| e.metadata.success && e.metadata.embodiment == "C"));
    // One file per episode, 21 + 1 + ... columns; the run's episodes table has the same steps
    // (RLDS adds the final observation as a last step).
    let q = assay_in(
        dir.path(),
        &[
            "--store",
            &store,
            "query",
            "SELECT count(*) AS n FROM episodes",
            "--format",
            "csv",
        ],
    );
    let stored: usize = stdout(&q).lines().nth(1).unwrap().trim().parse().unwrap();
    let steps: usize = ours.iter().map(|e| e.steps.len()).sum();
    assert_eq!(steps, stored + ours.len());

    // pandas reads the directory, makes the id and step columns int64 (pandas' own type; the
    // seeds are full 64-bit unsigned), and writes the episodes back as two files in another
    // order.
    let copy = dir.path().join("pandas");
    let script = format!(
        r#"
import pandas as pd, pathlib
df = pd.read_parquet("{demos}")
for c in ["episode_id", "step"]:
    df[c] = df[c].astype("int64")
ids = sorted(df["episode_id"].unique(), reverse=True)
out = pathlib.Path("{copy}"); out.mkdir()
df[df["episode_id"].isin(ids[:2])].to_parquet(out / "part-0.parquet", index=False)
df[df["episode_id"].isin(ids[2:])].to_parquet(out / "part-1.parquet", index=False)
{EXIT}"#,
        copy = copy.display(),
        EXIT = EXIT
    );
    let o = Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut theirs = assay_robot::rlds_dir::read_dir(&copy).unwrap();
    let mut ours = ours;
    ours.sort_by_key(|e| e.episode_id);
    theirs.sort_by_key(|e| e.episode_id);
    assert_eq!(theirs, ours);

    // Broken directories, as other tools could write them, are refused by a training run with
    // one message naming the file and the episode or column, and nothing is stored.
    let breaks = [
        (
            "missing",
            "df = df.drop(columns=['discount'])",
            "column `discount`: missing",
        ),
        (
            "mistyped",
            "df['reward'] = df['reward'].astype(str)",
            "column `reward`: expected float values",
        ),
        (
            "no-last",
            "df = df[~((df.episode_id == df.episode_id.iloc[0]) & df.is_last)]",
            "field `is_last`",
        ),
        (
            "nan-obs",
            "df.loc[2, 'obs_red_cube_0'] = float('nan')",
            "obs_red_cube_0",
        ),
    ];
    for (name, edit, needle) in breaks {
        let bad = dir.path().join(name);
        let script = format!(
            r#"
import pandas as pd, pathlib
df = pd.read_parquet("{copy}/part-0.parquet")
{edit}
out = pathlib.Path("{bad}"); out.mkdir()
df.to_parquet(out / "steps.parquet", index=False)
{EXIT}"#,
            copy = copy.display(),
            bad = bad.display(),
            EXIT = EXIT
        );
        let o = Command::new(&python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let spec = write_spec(
            dir.path(),
            &format!("train-{name}.toml"),
            &format!(
                r#"name = "bc-{name}"
[dataset]
plugin = "rlds_mixture"
sources = ["{}"]
[model]
plugin = "rt_policy"
[optimizer]
plugin = "adam"
[train]
steps = 5
"#,
                bad.display()
            ),
        );
        let out = assay_in(
            dir.path(),
            &["--store", &store, "run", spec.to_str().unwrap(), "-q"],
        );
        assert_error(&out, &[&format!("{}/steps.parquet", bad.display()), needle]);
        let runs: Vec<String> = std::fs::read_dir(&store)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("bc-"))
            .collect();
        assert!(runs.is_empty(), "{name}: stored {runs:?}");
    }
}

#[test]
fn behaviour_cloning_beats_a_random_policy() {
    let dir = scratch();
    let store = dir.path().join("store").display().to_string();
    let tasks = r#"["reach the red cube", "reach the green cube"]"#;
    let demos = record(dir.path(), &store, "a", 40, tasks);
    write_spec(
        dir.path(),
        "train.toml",
        &format!(
            r#"name = "bc"
seed = 0
[dataset]
plugin = "rlds_mixture"
sources = ["{demos}"]
[model]
plugin = "rt_policy"
hidden = 128
[optimizer]
plugin = "adam"
lr = 0.002
[train]
steps = 600
batch_size = 64
eval_every = 300
"#
        ),
    );
    // The same spec with no training steps is the randomly initialised policy.
    let eval = |name: &str, set: &str| {
        let spec = write_spec(
            dir.path(),
            &format!("{name}.toml"),
            &format!(
                r#"name = "{name}"
seed = 0
[environment]
plugin = "reach_push"
embodiment = "a"
tasks = {tasks}
[[agent]]
plugin = "rt_policy_agent"
from = "train.toml"
set = {{ {set} }}
statistics = "{demos}"
[episodes]
count = 20
"#
            ),
        );
        let out = assay_in(
            dir.path(),
            &["--store", &store, "run", spec.to_str().unwrap(), "-q"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let q = assay_in(
            dir.path(),
            &[
                "--store",
                &store,
                "query",
                &format!(
                    "SELECT a.mean_return FROM agent_results a JOIN runs r ON a.run_id = r.id WHERE r.run_name = '{name}'"
                ),
                "--format",
                "csv",
            ],
        );
        assert!(q.status.success(), "{}", stderr(&q));
        stdout(&q)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<f64>()
            .unwrap()
    };
    let trained = eval("bc-policy", "");
    let random = eval("random-policy", r#""train.steps" = 0"#);
    assert!(
        trained >= random + 0.3,
        "trained policy {trained}, random policy {random}"
    );
}

#[test]
fn a_policy_agent_without_a_trained_run_is_refused_naming_the_key() {
    let env = Env::new();
    let out = env.run(
        r#"name = "no-model"
[environment]
plugin = "reach_push"
[[agent]]
plugin = "rt_policy_agent"
statistics = "nowhere"
[episodes]
count = 1
"#,
        &[],
    );
    assert_error(&out, &["agent.0", "from"]);
}
