//! The second kind of run, on the built-in Leduc Hold'em components: solver runs (CFR with its
//! exploitability and policy table) and episode runs (agents per seat, duplicate deals, every
//! step stored, faults forfeited, an agent loading a solver run's policy), with checkpoints,
//! `--pause-at` and `--resume` ending as the uninterrupted run, and spec errors that name the key.

use crate::common;

use std::path::Path;

use common::*;

fn query(env: &Env, sql: &str) -> Vec<serde_json::Value> {
    let o = env.assay(&["query", sql, "--format", "json"]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

const CFR: &str = r#"
name = "cfr"
seed = 1
[solver]
plugin = "leduc_cfr"
algorithm = "cfr_plus"
[train]
steps = 60
eval_every = 20
checkpoint_every = 20
"#;

fn match_spec(agents: &str, episodes: &str) -> String {
    format!(
        "name = \"match\"\nseed = 5\n[environment]\nplugin = \"leduc_holdem\"\n{agents}\n[episodes]\n{episodes}\n"
    )
}

#[test]
fn a_solver_run_records_exploitability_and_its_policy_and_resumes_exactly() {
    let env = Env::new();
    let out = env.run(CFR, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = last_line(&out);
    let curve = query(
        &env,
        "SELECT step, value FROM metrics WHERE name = 'exploitability' ORDER BY step",
    );
    let steps: Vec<f64> = curve.iter().map(|r| f(r, "step")).collect();
    assert_eq!(steps, vec![0.0, 20.0, 40.0, 60.0]);
    let values: Vec<f64> = curve.iter().map(|r| f(r, "value")).collect();
    assert!(values.windows(2).all(|w| w[1] < w[0]), "{values:?}");
    let policy = query(
        &env,
        "SELECT key, sum(probability) AS total, min(keying) AS keying FROM policy GROUP BY key",
    );
    assert!(policy.len() > 100, "{} keys", policy.len());
    for p in &policy {
        assert!((f(p, "total") - 1.0).abs() < 1e-9, "{p}");
        assert_eq!(p["keying"], "full_history");
    }
    assert_eq!(env.record(&id)["steps_done"], 60);

    // Paused after 30 iterations, resumed: the same curve and the same policy.
    let other = Env::new();
    let paused = other.run(CFR, &["--pause-at", "30"]);
    assert!(
        stderr(&paused).contains("interrupted"),
        "{}",
        stderr(&paused)
    );
    assert_eq!(other.record(&id)["status"], "interrupted");
    let resumed = other.assay(&["run", "-q", "--resume", &id]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let again = query(
        &other,
        "SELECT step, value FROM metrics WHERE name = 'exploitability' ORDER BY step",
    );
    assert_eq!(again, curve);
    let sql = "SELECT key, action, probability FROM policy ORDER BY key, action";
    assert_eq!(query(&other, sql), query(&env, sql));
}

#[test]
fn an_episode_run_stores_every_step_and_duplicate_deals_cancel_luck() {
    let env = Env::new();
    let agents = "[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"leduc_rule_v1\"";
    let out = env.run(
        &match_spec(
            agents,
            "count = 40\nduplicate = true\ncheckpoint_every = 10",
        ),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Zero-sum: the two agents' returns cancel in every episode.
    let sums = query(
        &env,
        "SELECT episode, sum(\"return\") AS total, count(*) AS n FROM episode_results GROUP BY episode",
    );
    assert_eq!(sums.len(), 40);
    assert!(sums
        .iter()
        .all(|r| f(r, "total") == 0.0 && f(r, "n") == 2.0));
    // Duplicate: episodes 2k and 2k+1 are one deal with the agents in exchanged seats.
    let seats = query(
        &env,
        "SELECT episode, deal, seat FROM episode_results WHERE agent = '0:random' ORDER BY episode",
    );
    for pair in seats.chunks(2) {
        assert_eq!(pair[0]["deal"], pair[1]["deal"]);
        assert_eq!(f(&pair[0], "seat") + f(&pair[1], "seat"), 1.0);
    }
    // Every step: the acting agent, legal actions by name, the action among them; the first
    // step of each episode has both blinds in.
    let steps = query(
        &env,
        "SELECT episode, t, player, agent, legal_actions, action, done, fault, text FROM episodes ORDER BY episode, t",
    );
    assert!(steps.len() >= 80);
    for s in &steps {
        let legal: Vec<&str> = s["legal_actions"].as_str().unwrap().split(',').collect();
        assert!(legal.contains(&s["action"].as_str().unwrap()), "{s}");
        assert!(s["fault"].is_null());
    }
    assert!(steps
        .iter()
        .filter(|s| s["t"] == 0)
        .all(|s| s["text"].as_str().unwrap().contains("(pot 3)")));
    let ends = steps.iter().filter(|s| s["done"] == true).count();
    assert_eq!(ends, 40);
    // The summary: the rule agent beats random over duplicate deals.
    let results = query(
        &env,
        "SELECT agent, episodes, deals, mean_return, ci95_lo, ci95_hi FROM agent_results ORDER BY agent",
    );
    assert_eq!(results.len(), 2);
    assert_eq!(
        (f(&results[0], "episodes"), f(&results[0], "deals")),
        (40.0, 20.0)
    );
    assert_eq!(
        f(&results[0], "mean_return"),
        -f(&results[1], "mean_return")
    );
    assert!(f(&results[0], "ci95_lo") <= f(&results[0], "mean_return"));
}

#[test]
fn a_paused_episode_run_resumes_to_the_same_results() {
    let agents = "[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"random\"";
    let text = match_spec(
        agents,
        "count = 30\nswap_seats = true\ncheckpoint_every = 10",
    );
    let whole = Env::new();
    let out = whole.run(&text, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = last_line(&out);
    let parts = Env::new();
    let paused = parts.run(&text, &["--pause-at", "15"]);
    assert!(
        stderr(&paused).contains("interrupted"),
        "{}",
        stderr(&paused)
    );
    assert_eq!(parts.record(&id)["status"], "interrupted");
    let resumed = parts.assay(&["run", "-q", "--resume", &id]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    for sql in [
        "SELECT episode, agent, seat, \"return\" FROM episode_results ORDER BY episode, agent",
        "SELECT episode, t, action FROM episodes ORDER BY episode, t",
        "SELECT agent, mean_return, se FROM agent_results ORDER BY agent",
    ] {
        assert_eq!(query(&parts, sql), query(&whole, sql), "{sql}");
    }
}

#[test]
fn an_agent_plays_the_policy_of_a_solver_run_it_names_by_spec_file() {
    let env = Env::new();
    write_spec(env.path(), "cfr.toml", CFR);
    let agents = "[[agent]]\nplugin = \"tabular_policy\"\nfrom = \"cfr.toml\"\n[[agent]]\nplugin = \"random\"";
    let out = env.run(&match_spec(agents, "count = 200\nduplicate = true"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The solver run was computed first and the match names it by id in its spec.
    let runs = query(&env, "SELECT run_name, status FROM runs ORDER BY run_name");
    assert_eq!(runs.len(), 2, "{runs:?}");
    let spec =
        std::fs::read_to_string(env.store().join(last_line(&out)).join("spec.toml")).unwrap();
    assert!(spec.contains("from = \"run:cfr-"), "{spec}");
    // A 60-iteration CFR+ policy already beats random by far.
    let r = query(
        &env,
        "SELECT mean_return, ci95_lo FROM agent_results WHERE agent = '0:tabular_policy'",
    );
    assert!(f(&r[0], "ci95_lo") > 0.5, "{r:?}");

    // Without `from`, the agent says what it needs.
    let bad = env.run(
        &match_spec(
            "[[agent]]\nplugin = \"tabular_policy\"\n[[agent]]\nplugin = \"random\"",
            "count = 2",
        ),
        &[],
    );
    assert_error(&bad, &["agent.0", "from = \"run:ID\""]);
}

fn faulty_registry(dir: &Path) -> std::path::PathBuf {
    let lib = plugin_library("panicking", "panicking");
    write_registry(dir, &[(&lib, None)])
}

#[test]
fn faulting_agents_forfeit_and_the_run_goes_on() {
    let env = Env::new();
    let registry = faulty_registry(env.path());
    for (fault, needle) in [
        ("illegal", "illegal action"),
        ("error", "deliberate error"),
        ("panic", "panicked in Agent::act"),
        ("slow", "over the limit"),
    ] {
        let text = match_spec(
            &format!("[[agent]]\nplugin = \"faulty\"\nfault = \"{fault}\"\n[[agent]]\nplugin = \"random\""),
            "count = 12\nswap_seats = true\ndecision_timeout_s = 0.1\n",
        )
        .replace("name = \"match\"", &format!("name = \"match-{fault}\""));
        let spec = write_spec(env.path(), &format!("{fault}.toml"), &text);
        let out = run_with_registry(env.path(), &registry, &env.store(), &spec);
        assert!(out.status.success(), "{fault}: {}", stderr(&out));
        let id = last_line(&out);
        let faults = query(
            &env,
            &format!(
                "SELECT e.fault, e.action FROM episodes e WHERE e.run_id = '{id}' AND e.fault IS NOT NULL"
            ),
        );
        assert!(!faults.is_empty(), "{fault}: no fault recorded");
        for r in &faults {
            assert!(r["fault"].as_str().unwrap().contains(needle), "{r}");
            assert_eq!(r["action"], "forfeit");
        }
        let summary = query(
            &env,
            &format!(
                "SELECT faults FROM agent_results WHERE run_id = '{id}' AND agent = '0:faulty'"
            ),
        );
        assert_eq!(f(&summary[0], "faults"), faults.len() as f64);
    }
}

#[test]
fn spec_errors_name_the_key() {
    let env = Env::new();
    let one_agent = env.run(
        &match_spec("[[agent]]\nplugin = \"random\"", "count = 2"),
        &[],
    );
    assert_error(&one_agent, &["`agent`", "has 2 seats", "1 [[agent]] table"]);
    let unknown = env.run(
        &match_spec(
            "[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"nobody\"",
            "count = 2",
        ),
        &[],
    );
    assert_error(&unknown, &["agent.1.plugin", "nobody"]);
    let no_env = env.run(
        "name = \"x\"\n[environment]\nplugin = \"poker9\"\n[[agent]]\nplugin = \"random\"\n",
        &[],
    );
    assert_error(&no_env, &["environment.plugin", "poker9"]);
    let mixed = env.run(&format!("{CFR}\n[optimizer]\nplugin = \"adam\"\n"), &[]);
    assert_error(
        &mixed,
        &["optimizer", "a solver run ([solver]) has no [optimizer]"],
    );
    let zero = env.run(
        &match_spec(
            "[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"random\"",
            "count = 0",
        ),
        &[],
    );
    assert_error(&zero, &["episodes.count"]);
}

#[test]
fn a_killed_episode_run_is_lost_and_resumes_to_the_uninterrupted_results() {
    let agents = "[[agent]]\nplugin = \"random\"\n[[agent]]\nplugin = \"leduc_rule_v1\"";
    let text = match_spec(
        agents,
        "count = 400000\nduplicate = true\ncheckpoint_every = 2000",
    )
    .replace("name = \"match\"", "name = \"long-match\"");
    let env = Env::new();
    let spec_path = write_spec(env.path(), "long.toml", &text);
    let store = env.store();
    let mut child = spawn_assay(&[
        "--store",
        store.to_str().unwrap(),
        "run",
        "-q",
        spec_path.to_str().unwrap(),
    ]);
    let run_dir = wait_for("the second checkpoint", || {
        run_dir_where(&store, |d| {
            d.join("checkpoints/step-000004000.safetensors").exists()
        })
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let id = run_dir.file_name().unwrap().to_str().unwrap().to_string();
    let list = env.assay(&["runs", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(rows[0]["status"], "lost");

    // Resumed with a shorter count is a different run; so resume, then Ctrl-C it, and resume
    // again: the episodes before the last checkpoint are kept, none is lost or doubled.
    let child = spawn_assay(&[
        "--store",
        store.to_str().unwrap(),
        "run",
        "-q",
        "--resume",
        &id,
    ]);
    wait_for("a checkpoint after the resume", || {
        run_dir_where(&store, |d| {
            d.join("checkpoints/step-000008000.safetensors").exists()
        })
    });
    let kill = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.record(&id)["status"], "interrupted");
    let done = env.record(&id)["steps_done"].as_u64().unwrap();
    let q = |sql: &str| query(&env, sql);
    let results = q("SELECT count(*) AS n, count(DISTINCT episode) AS e, max(episode) AS last FROM episode_results");
    assert_eq!(f(&results[0], "n"), 2.0 * done as f64, "{results:?}");
    assert_eq!(f(&results[0], "e"), done as f64);
    assert_eq!(f(&results[0], "last"), done as f64 - 1.0);
}
