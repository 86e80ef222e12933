//! The dashboard in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs; `$ASSAY_CHROMIUM` names another) loads the runs table and a compare view of a
//! store with a finished run and a running one, and the test reads the rendered DOM: both runs
//! listed, the running one marked running, one chart per chosen metric, and the running run's
//! last logged step advancing between two loads. Screenshots go to
//! `target/test-artifacts/dashboard/`. Without Chromium the test says so and passes, except
//! under CI (`CI` set), where it fails.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use common::*;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("ASSAY_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("chromium")),
        Some(PathBuf::from("chromium-browser")),
        Some(PathBuf::from("google-chrome")),
    ];
    let found = candidates.into_iter().flatten().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing; .ci/run installs it (apt-get install chromium)"
        );
        eprintln!("SKIPPED: no chromium (apt-get install chromium, or set ASSAY_CHROMIUM)");
    }
    found
}

/// Loads `url` headless and returns the DOM after its scripts ran; with `shot`, also saves a
/// screenshot there.
fn render(browser: &Path, profile: &Path, url: &str, shot: Option<&Path>) -> String {
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=6000",
        "--window-size=1400,1000",
    ];
    let profile_arg = format!("--user-data-dir={}", profile.display());
    if let Some(png) = shot {
        let o = Command::new(browser)
            .args(base)
            .arg(&profile_arg)
            .arg(format!("--screenshot={}", png.display()))
            .arg(url)
            .output()
            .unwrap();
        assert!(
            o.status.success() && png.exists(),
            "screenshot of {url} failed"
        );
    }
    let o = Command::new(browser)
        .args(base)
        .arg(&profile_arg)
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{url}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// [`render`] again (up to five times, a second apart) until `ready` holds for the page: on a
/// loaded machine the page's first data request can outlast the browser's time budget.
fn render_until(
    browser: &Path,
    profile: &Path,
    url: &str,
    shot: Option<&Path>,
    ready: impl Fn(&str) -> bool,
) -> String {
    let mut dom = render(browser, profile, url, shot);
    for _ in 0..4 {
        if ready(&dom) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        dom = render(browser, profile, url, shot);
    }
    dom
}

fn step_shown(dom: &str) -> u64 {
    let rest = dom
        .split("id=\"run-step\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no run-step in {dom:.2000}"));
    rest.split('<').next().unwrap().trim().parse().unwrap_or(0)
}

#[test]
fn the_browser_shows_runs_charts_and_a_live_run() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = scratch();
    let store = dir.path().join("store");
    let finished = write_spec(
        dir.path(),
        "finished.toml",
        &spec(
            "steps = 40\nbatch_size = 16\neval_every = 10",
            "plugin = \"adam\"\nlr = 0.01",
        )
        .replace("name = \"tiny\"", "name = \"finished-run\""),
    );
    let out = assay_in(
        dir.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "run",
            finished.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let finished_id = last_line(&out);
    // A long run that flushes its metrics every 1,000 steps (at each checkpoint).
    let live = write_spec(
        dir.path(),
        "live.toml",
        &spec(
            "steps = 50000000\nbatch_size = 16\neval_every = 500\ncheckpoint_every = 1000",
            "plugin = \"adam\"\nlr = 0.01",
        )
        .replace("name = \"tiny\"", "name = \"live-run\""),
    );
    let _training = Killed(spawn_assay(&[
        "--store",
        store.to_str().unwrap(),
        "run",
        live.to_str().unwrap(),
        "-q",
    ]));
    let live_dir = wait_for("the live run's first metrics", || {
        std::fs::read_dir(&store)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("live-run")
                    && p.join("metrics.parquet").exists()
            })
    });
    let live_id = live_dir.file_name().unwrap().to_str().unwrap().to_string();

    let mut server = Killed(spawn_assay(&[
        "--store",
        store.to_str().unwrap(),
        "serve",
        "--addr",
        "127.0.0.1:0",
    ]));
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let shots = workspace().join("target/test-artifacts/dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = dir.path().join("chromium-profile");

    let runs = render_until(
        &browser,
        &profile,
        &format!("{url}/#/runs"),
        Some(&shots.join("runs.png")),
        |dom| dom.contains(&format!("data-run=\"{live_id}\"")),
    );
    assert!(
        runs.contains(&format!("data-run=\"{finished_id}\"")),
        "{runs:.3000}"
    );
    assert!(
        runs.contains(&format!("data-run=\"{live_id}\"")),
        "{runs:.3000}"
    );
    assert!(runs.contains("status-running"), "{runs:.3000}");
    assert!(runs.contains("2 runs"), "{runs:.3000}");

    let compare = render_until(
        &browser,
        &profile,
        &format!("{url}/#/compare?ids={finished_id},{live_id}&metrics=test/acc,train/loss"),
        Some(&shots.join("compare.png")),
        |dom| dom.matches("<polyline").count() == 2,
    );
    assert_eq!(
        compare.matches("class=\"chart\"").count(),
        2,
        "{compare:.3000}"
    );
    assert!(compare.contains("alt=\"test/acc\"") && compare.contains("alt=\"train/loss\""));
    // The parallel-coordinates view: spec values against a final metric, a line per run.
    assert!(compare.contains("class=\"parallel\""), "{compare:.3000}");
    assert_eq!(compare.matches("<polyline").count(), 2, "{compare:.3000}");

    let run_url = format!("{url}/#/run/{live_id}");
    let first = step_shown(&render(&browser, &profile, &run_url, None));
    std::thread::sleep(std::time::Duration::from_secs(2));
    let second = step_shown(&render(
        &browser,
        &profile,
        &run_url,
        Some(&shots.join("live-run.png")),
    ));
    assert!(
        second > first,
        "the live run's step did not advance: {first} then {second}"
    );
}
