//! Helpers shared by the end-to-end tests: the `assay` binary, plugin libraries built by cargo in
//! this workspace, temporary stores and registries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod sweep;

/// The `assay` binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_assay"))
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// `cargo` with a clean environment: the variables cargo sets for test processes would change
/// the fingerprints of build scripts and rebuild half the workspace.
pub fn cargo() -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.env_clear();
    for key in [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "TMPDIR",
        "USER",
    ] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.current_dir(workspace());
    cmd
}

/// Builds every workspace member's dynamic library, once per test process. `cargo test` builds
/// the test targets but not every library's cdylib; `cargo build --workspace` resolves features
/// exactly as `cargo test --workspace` does, so it only adds what is missing or stale.
pub fn build_plugins() {
    static ONCE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let out = cargo()
            .args(["build", "--quiet", "--workspace"])
            .output()
            .expect("running cargo");
        assert!(
            out.status.success(),
            "cargo build --workspace failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// The dynamic library of workspace package `package` (crate `crate_name`), built by cargo.
pub fn plugin_library(package: &str, crate_name: &str) -> PathBuf {
    build_plugins();
    let lib = bin()
        .parent()
        .expect("target dir")
        .join(format!("lib{crate_name}.so"));
    assert!(
        lib.exists(),
        "{} is missing after building {package}",
        lib.display()
    );
    lib
}

/// SHA-256 of a file, hex.
pub fn sha256(path: &Path) -> String {
    assay_catalog::loader::sha256_file(path).expect("hashing")
}

/// A directory removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh scratch directory under the system's temporary directory.
pub fn scratch() -> Scratch {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let p = std::env::temp_dir().join(format!(
        "assay-test-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&p).expect("scratch dir");
    Scratch(p.canonicalize().expect("scratch dir"))
}

/// Writes a registry listing `libs` as (path, optional sha256).
pub fn write_registry(dir: &Path, libs: &[(&Path, Option<&str>)]) -> PathBuf {
    let mut text = String::new();
    for (path, sum) in libs {
        text.push_str(&format!(
            "[[library]]\npath = {:?}\n",
            path.display().to_string()
        ));
        if let Some(s) = sum {
            text.push_str(&format!("sha256 = {s:?}\n"));
        }
    }
    let p = dir.join("registry.toml");
    std::fs::write(&p, text).expect("writing registry");
    p
}

/// Runs `assay` with `args` in `cwd`, with no inherited store or registry settings.
pub fn assay_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("ASSAY_STORE")
        .env_remove("ASSAY_REGISTRY")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("running assay")
}

/// `assay --store STORE run -q SPEC` in `cwd`.
pub fn run_spec(cwd: &Path, store: &Path, spec: &Path) -> Output {
    assay_in(
        cwd,
        &[
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            spec.to_str().unwrap(),
        ],
    )
}

/// `assay --registry REGISTRY --store STORE run -q SPEC` in `cwd`.
pub fn run_with_registry(cwd: &Path, registry: &Path, store: &Path, spec: &Path) -> Output {
    assay_in(
        cwd,
        &[
            "--registry",
            registry.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            spec.to_str().unwrap(),
        ],
    )
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last line of standard output: `assay run` prints the run id there.
pub fn last_line(o: &Output) -> String {
    stdout(o)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `(step, value)` of metric `name` in a run directory, in logged order.
pub fn metric(run_dir: &Path, name: &str) -> Vec<(u64, f64)> {
    let df = assay_store::record::read_parquet(&run_dir.join("metrics.parquet"))
        .expect("metrics.parquet");
    let steps = df.column("step").unwrap().u64().unwrap().clone();
    let names = df.column("name").unwrap().str().unwrap().clone();
    let values = df.column("value").unwrap().f64().unwrap().clone();
    (0..df.height())
        .filter(|&i| names.get(i) == Some(name))
        .map(|i| (steps.get(i).unwrap(), values.get(i).unwrap()))
        .collect()
}

/// Writes `text` as a spec file in `dir`.
pub fn write_spec(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, text).expect("writing spec");
    p
}

/// Starts `assay` with `args` in the background, output captured.
pub fn spawn_assay(args: &[&str]) -> std::process::Child {
    Command::new(bin())
        .args(args)
        .env_remove("ASSAY_STORE")
        .env_remove("ASSAY_REGISTRY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting assay")
}

/// Polls `probe` every 5 ms until it returns a value; fails naming `what` after 60 s.
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The first run directory in `store` for which `ready` holds.
pub fn run_dir_where(store: &Path, ready: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let dir = std::fs::read_dir(store)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("run.json").exists() || p.join("heartbeat").exists())?;
    ready(&dir).then_some(dir)
}

/// A valid spec with the given `[train]` body and optimizer settings.
pub fn spec(train: &str, optimizer: &str) -> String {
    format!(
        "name = \"tiny\"\nseed = 3\n\n[dataset]\nplugin = \"csv\"\nblob_examples = 120\nblob_dim = 4\n\n[model]\nplugin = \"mlp\"\nhidden = [8]\n\n[optimizer]\n{optimizer}\n\n[train]\n{train}\n"
    )
}

/// A scratch directory with a store, and the `assay` binary run inside it.
pub struct Env {
    dir: Scratch,
}

impl Env {
    pub fn new() -> Env {
        Env { dir: scratch() }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn store(&self) -> PathBuf {
        self.path().join("store")
    }
    pub fn run(&self, spec_text: &str, extra: &[&str]) -> Output {
        let p = write_spec(self.path(), "spec.toml", spec_text);
        let store = self.store();
        let mut args = vec![
            "--store",
            store.to_str().unwrap(),
            "run",
            "-q",
            p.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        assay_in(self.path(), &args)
    }
    pub fn assay(&self, args: &[&str]) -> Output {
        let store = self.store();
        let mut all = vec!["--store", store.to_str().unwrap()];
        all.extend_from_slice(args);
        assay_in(self.path(), &all)
    }
    pub fn record(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.store().join(id).join("run.json")).unwrap(),
        )
        .unwrap()
    }
}

/// Asserts that the command failed with exactly one `error` line containing every needle.
pub fn assert_error(out: &Output, needles: &[&str]) {
    assert!(
        !out.status.success(),
        "expected failure, got success:\n{}",
        stdout(out)
    );
    let err = stderr(out);
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from:\n{err}");
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "one message:\n{err}"
    );
}

/// A one-thread HTTP server standing in for an OpenAI-compatible API. `answer(n, head, body)`
/// gives the status line and JSON body for the n-th request (from 0; `head` is the request line
/// and headers). Returns the base URL (`http://127.0.0.1:PORT/v1`) and every request seen.
pub fn mock_server(
    answer: impl Fn(usize, &str, &str) -> (&'static str, String) + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a local port");
    let url = format!(
        "http://{}/v1",
        listener.local_addr().expect("local address")
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            let (mut head, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let body = String::from_utf8_lossy(&body).into_owned();
            let n = {
                let mut l = log.lock().unwrap();
                l.push(format!("{head}\n{body}"));
                l.len() - 1
            };
            let (status, reply) = answer(n, &head, &body);
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (url, seen)
}

/// Runs `assay` in `dir` with the Hugging Face cache at `home` and the Hub offline (checkpoints
/// come from `assay_nets::hf::install_into_cache`).
pub fn assay_offline(dir: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("ASSAY_STORE")
        .env_remove("ASSAY_REGISTRY")
        .env("HF_HOME", home)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("running assay")
}

/// A python3 that imports every module of `modules`: `$ASSAY_PYTHON`, else the virtualenv
/// `.ci/run` makes (`target/ci-python`), else `python3`. `None` when none does; under CI (`CI`
/// set) that is a failure, since `.ci/run` installs them.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let import = format!("import {}", modules.join(", "));
    let candidates = [
        std::env::var_os("ASSAY_PYTHON").map(PathBuf::from),
        Some(workspace().join("target/ci-python/bin/python3")),
        Some(PathBuf::from("python3")),
    ];
    let found = candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", &import])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with {modules:?} is missing; .ci/run installs it into target/ci-python"
        );
        eprintln!(
            "SKIPPED: python3 with {modules:?} not found (pip install them, or set ASSAY_PYTHON)"
        );
    }
    found
}
