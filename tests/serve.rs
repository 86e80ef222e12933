//! `assay serve` over a store made here: the JSON API (runs table, one run, its metrics, a
//! query, a sweep, a chart), the token rule, path traversal refused, a damaged run shown as
//! such without breaking the page, and nothing in the store written.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Child;

use common::*;

/// A running `assay serve`, stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Stops the server; returns what it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(store: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--store", store.to_str().unwrap(), "serve"];
    args.extend_from_slice(extra);
    if !extra.contains(&"--addr") {
        // A free port: tests run in parallel.
        args.extend_from_slice(&["--addr", "127.0.0.1:0"]);
    }
    let mut child = spawn_assay(&args);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("no `listening on` line: {line:?} {err}")
        });
    Server { child, port }
}

/// One GET: status, headers, body.
fn get(port: u16, path: &str, headers: &[&str]) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn json(port: u16, path: &str) -> serde_json::Value {
    let (status, _, body) = get(port, path, &[]);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every file of `dir` with its size and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.push((p, m.len(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

/// A store with a 2-run sweep of the tiny spec; returns (store, sweep manifest path).
fn store_with_sweep(dir: &Path) -> (PathBuf, PathBuf) {
    let store = dir.join("store");
    let spec = write_spec(
        dir,
        "sweep.toml",
        &format!(
            "{}\n[sweep]\nseeds = [1, 2]\n",
            spec(
                "steps = 20\nbatch_size = 16\neval_every = 10\ncheckpoint_every = 10",
                "plugin = \"adam\"\nlr = 0.01"
            )
        ),
    );
    let out = assay_in(
        dir,
        &[
            "--store",
            store.to_str().unwrap(),
            "sweep",
            spec.to_str().unwrap(),
            "--jobs",
            "1",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (store, PathBuf::from(last_line(&out)))
}

#[test]
fn the_api_serves_runs_metrics_queries_sweeps_and_charts_and_writes_nothing() {
    let dir = scratch();
    let (store, manifest) = store_with_sweep(dir.path());
    let before = snapshot(&store);
    let server = serve(&store, &[]);
    let p = server.port;

    let runs = json(p, "/api/runs?sort=seed");
    assert_eq!(runs["total"], 2, "{runs}");
    let rows = runs["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r["run_name"] == "tiny" && r["status"] == "completed"));
    assert_eq!(
        (rows[0]["seed"].as_i64(), rows[1]["seed"].as_i64()),
        (Some(1), Some(2))
    );
    assert!(rows[0]["final:test/acc"].is_number(), "{}", rows[0]);
    assert!(rows[0]["optimizer.lr"].is_number(), "{}", rows[0]);
    // Filters are SQL conditions, OR included; paging.
    let one = json(
        p,
        &format!("/api/runs?where={}", enc("seed = 2 OR seed = 7")),
    );
    assert_eq!(one["total"], 1);
    let page = json(p, "/api/runs?limit=1&offset=1");
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);

    let id = rows[0]["id"].as_str().unwrap().to_string();
    let run = json(p, &format!("/api/runs/{id}"));
    assert_eq!(run["status"], "completed");
    assert!(run["spec"].as_str().unwrap().contains("[optimizer]"));
    assert_eq!(run["checkpoints"], serde_json::json!([0, 10, 20]));
    assert!(run["reproduce"].as_str().unwrap().contains("spec.toml"));
    assert!(run["record"]["components"].is_array());
    // The run's own log: its start, every evaluation, its end.
    assert_eq!(run["log"]["file"], format!("{id}/log.txt"), "{run}");
    let log = run["log"]["lines"].as_str().unwrap();
    assert!(log.contains(" start tiny (seed 1, 20 steps)"), "{log}");
    assert!(log.contains("step 20: train/loss"), "{log}");
    assert!(log.contains(" end completed at step 20"), "{log}");

    let metrics = json(p, &format!("/api/runs/{id}/metrics"));
    let m = metrics["rows"].as_array().unwrap();
    assert!(
        m.iter().any(|r| r["name"] == "test/acc" && r["step"] == 20),
        "{metrics}"
    );

    let q = json(
        p,
        &format!("/api/query?sql={}", enc("SELECT count(*) AS n FROM runs")),
    );
    assert_eq!(q["rows"][0]["n"], 2);
    let (status, head, body) = get(
        p,
        &format!(
            "/api/query?format=csv&sql={}",
            enc("SELECT seed FROM runs ORDER BY seed")
        ),
        &[],
    );
    assert_eq!(status, 200);
    assert!(
        head.contains("attachment; filename=\"query.csv\""),
        "{head}"
    );
    assert_eq!(body.trim(), "seed\n1\n2");
    let (status, _, body) = get(
        p,
        &format!("/api/query?sql={}", enc("DROP TABLE runs")),
        &[],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("SELECT"), "{body}");

    let sweeps = json(p, "/api/sweeps");
    let s = &sweeps["sweeps"][0];
    assert_eq!(s["counts"]["done"], 2, "{sweeps}");
    let sid = manifest.file_stem().unwrap().to_str().unwrap();
    assert_eq!(s["id"], sid);
    let sweep = json(p, &format!("/api/sweeps/{sid}"));
    assert_eq!(sweep["entries"].as_array().unwrap().len(), 2);
    assert_eq!(sweep["entries"][0]["state"], "done");
    // A sweep over seeds alone has nothing to group its report by: a clear 400.
    let (status, _, body) = get(p, &format!("/api/sweeps/{sid}/report"), &[]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("nothing to group by"), "{body}");

    let (status, head, svg) = get(
        p,
        &format!(
            "/api/plot.svg?metrics=test/loss&group_by={}",
            enc("optimizer.plugin")
        ),
        &[],
    );
    assert_eq!(status, 200, "{svg}");
    assert!(head.contains("image/svg+xml"), "{head}");
    assert!(
        svg.contains("<svg") && svg.contains("test/loss"),
        "{svg:.300}"
    );

    let (status, _, page) = get(p, "/", &[]);
    assert_eq!(status, 200);
    assert!(page.contains("app.js"));
    drop(server);
    assert_eq!(before, snapshot(&store), "the server changed the store");
}

#[test]
fn a_sweep_report_groups_final_metrics_by_the_swept_keys() {
    let dir = scratch();
    let store = dir.path().join("store");
    let spec = write_spec(
        dir.path(),
        "grid.toml",
        &format!(
            "{}\n[sweep]\nseeds = 2\ngrid = {{ \"optimizer.lr\" = [0.01, 0.03] }}\n",
            spec("steps = 10\nbatch_size = 16", "plugin = \"adam\"")
        ),
    );
    let out = assay_in(
        dir.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "sweep",
            spec.to_str().unwrap(),
            "--jobs",
            "1",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = PathBuf::from(last_line(&out));
    let sid = manifest.file_stem().unwrap().to_str().unwrap();
    let server = serve(&store, &[]);
    let report = json(server.port, &format!("/api/sweeps/{sid}/report"));
    assert_eq!(
        report["keys"],
        serde_json::json!(["optimizer.lr"]),
        "{report}"
    );
    let rows = report["rows"].as_array().unwrap();
    // Two learning rates x two metrics (test/acc, test/loss), each over two seeds.
    assert_eq!(rows.len(), 4, "{report}");
    assert!(rows.iter().all(|r| r["n"] == 2), "{report}");
    assert!(report["sql"].as_str().unwrap().contains("GROUP BY"));
    let chart = format!(
        "/api/plot.svg?metrics=test/acc&group_by=optimizer.lr&where={}",
        enc(report["where"].as_str().unwrap())
    );
    let (status, _, svg) = get(server.port, &chart, &[]);
    assert_eq!(status, 200, "{svg}");

    // The runs table grouped by the learning rate: the whole table is ordered by it, so a page
    // of one run still knows its group's size and means over every run of the group.
    let all = json(server.port, "/api/runs?limit=100");
    let mut acc: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for r in all["rows"].as_array().unwrap() {
        acc.entry(r["optimizer.lr"].to_string())
            .or_default()
            .push(r["final:test/acc"].as_f64().unwrap());
    }
    let mut seen = Vec::new();
    for offset in 0..4 {
        let page = json(
            server.port,
            &format!("/api/runs?group_by=optimizer.lr&limit=1&offset={offset}&sort=seed"),
        );
        seen.push(page["rows"][0]["optimizer.lr"].to_string());
        let groups = page["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2, "{page}");
        for g in groups {
            assert_eq!(g["runs"], 2, "{page}");
            let values = &acc[&g["value"].to_string()];
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let m = &g["metrics"]["final:test/acc"];
            assert_eq!(m["n"], 2, "{page}");
            assert!((m["mean"].as_f64().unwrap() - mean).abs() < 1e-9, "{page}");
        }
    }
    // Each learning rate's two runs are on consecutive pages.
    assert!(
        seen[0] == seen[1] && seen[2] == seen[3] && seen[1] != seen[2],
        "{seen:?}"
    );
    // Grouping applies the page's filter to its groups too.
    let filtered = json(
        server.port,
        &format!("/api/runs?group_by=optimizer.lr&where={}", enc("seed = 1")),
    );
    let groups = filtered["groups"].as_array().unwrap();
    assert!(groups.iter().all(|g| g["runs"] == 1), "{filtered}");
}

#[test]
fn a_damaged_run_is_shown_as_damaged_and_the_rest_still_answers() {
    let dir = scratch();
    let (store, _) = store_with_sweep(dir.path());
    let runs: Vec<PathBuf> = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("run.json").exists())
        .collect();
    let victim = &runs[0];
    let metrics = victim.join("metrics.parquet");
    let bytes = std::fs::read(&metrics).unwrap();
    std::fs::write(&metrics, &bytes[..bytes.len() / 2]).unwrap();
    let id = victim.file_name().unwrap().to_str().unwrap();
    let server = serve(&store, &[]);
    let p = server.port;
    let table = json(p, "/api/runs");
    assert_eq!(table["total"], 2);
    let row = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    assert_eq!(row["status"], "damaged", "{row}");
    let run = json(p, &format!("/api/runs/{id}"));
    assert!(
        run["damage"].as_str().unwrap().contains("metrics.parquet"),
        "{run}"
    );
    let (status, _, body) = get(p, &format!("/api/runs/{id}/metrics"), &[]);
    assert_eq!(status, 400);
    assert!(body.contains("metrics.parquet"), "{body}");
    let q = json(
        p,
        &format!(
            "/api/query?sql={}",
            enc("SELECT count(DISTINCT run_id) AS n FROM metrics")
        ),
    );
    assert_eq!(q["rows"][0]["n"], 1);
}

#[test]
fn a_non_loopback_bind_needs_a_token_and_requests_without_it_get_401() {
    let dir = scratch();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let out = assay_in(
        dir.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "serve",
            "--addr",
            "0.0.0.0:0",
        ],
    );
    assert_error(&out, &["0.0.0.0:0", "--token-file", "ASSAY_TOKEN"]);

    let token = "s3cret-token-for-tests";
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let server = serve(
        &store,
        &[
            "--addr",
            "0.0.0.0:0",
            "--token-file",
            file.to_str().unwrap(),
        ],
    );
    let p = server.port;
    let (status, _, body) = get(p, "/api/runs", &[]);
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = get(p, "/", &[]);
    assert_eq!(status, 401);
    let (status, _, _) = get(
        p,
        "/api/runs",
        &["Authorization: Bearer wrong-token-of-same-len"],
    );
    assert_eq!(status, 401);
    let (status, _, body) = get(p, "/api/runs", &[&format!("Authorization: Bearer {token}")]);
    assert_eq!(status, 200, "{body}");
    let (status, head, _) = get(p, &format!("/?token={token}"), &[]);
    assert_eq!(status, 200);
    assert!(head.contains("set-cookie: assay_token="), "{head}");
    let (status, _, _) = get(p, "/api/sweeps", &[&format!("Cookie: assay_token={token}")]);
    assert_eq!(status, 200);
    // Nothing the server printed contains the token.
    let log = server.stop();
    assert!(!log.contains(token), "{log}");
}

#[test]
fn path_traversal_is_refused() {
    let dir = scratch();
    let (store, _) = store_with_sweep(dir.path());
    // A run directory that is a symlink to a directory outside the store.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("tables")).unwrap();
    std::fs::write(outside.join("run.json"), "{}").unwrap();
    std::fs::write(outside.join("tables/secret.parquet"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, store.join("escape-000000000000")).unwrap();
    let id = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("run.json").exists() && !p.is_symlink())
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let server = serve(&store, &[]);
    let p = server.port;
    for (path, want) in [
        ("/api/runs/..%2F..%2Fetc%2Fpasswd".to_string(), 400),
        ("/api/runs/%2e%2e/metrics".to_string(), 400),
        ("/api/runs/..%2Foutside/metrics".to_string(), 400),
        (format!("/api/runs/{id}/tables/..%2F..%2Frun"), 400),
        (format!("/api/runs/{id}/tables/%2e%2e"), 400),
        ("/api/runs/escape-000000000000".to_string(), 403),
        (
            "/api/runs/escape-000000000000/tables/secret".to_string(),
            403,
        ),
        ("/api/sweeps/..%2F..%2Fx".to_string(), 400),
    ] {
        let (status, _, body) = get(p, &path, &[]);
        assert_eq!(status, want, "{path}: {body}");
        assert!(!body.contains("root:"), "{path}: {body}");
    }
    let (status, _, _) = get(p, "/api/runs/../../etc/passwd", &[]);
    assert_ne!(status, 200);
}
