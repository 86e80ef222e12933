//! `assay bench query`: a grouped aggregate, the runs table and final metrics over a generated
//! store of many runs, through `assay query`'s code path.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use assay_store::Store;

/// Arguments of `assay bench query`.
#[derive(clap::Args, Debug)]
pub struct QueryBenchArgs {
    /// Runs in the generated store.
    #[arg(long, default_value_t = 2000)]
    pub runs: usize,
    /// Metric rows per run.
    #[arg(long, default_value_t = 1000)]
    pub rows: usize,
    /// Repetitions of the query.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Generate the store here and keep it (to profile `assay query` on it); by default a
    /// temporary directory, removed at the end.
    #[arg(long)]
    pub keep: Option<std::path::PathBuf>,
}

/// Generates a store of `runs` runs with `rows` metric rows each and times a grouped aggregate
/// over all of it through `assay query`'s code path.
pub fn query(args: &QueryBenchArgs) -> anyhow::Result<()> {
    let dir = args.keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("assay-bench-query-{}", std::process::id()))
    });
    if dir.exists() {
        anyhow::bail!("{} exists: give a new directory to --keep", dir.display());
    }
    let t = Instant::now();
    let store = synthetic_store(&dir, args.runs, args.rows)?;
    let generated = t.elapsed().as_secs_f64();
    let sql = "SELECT r.\"optimizer.lr\" AS lr, m.name, avg(m.value) AS mean, count(*) AS n \
               FROM metrics m JOIN runs r ON m.run_id = r.id GROUP BY 1, 2 ORDER BY 1, 2";
    let time = |sql: &str| -> anyhow::Result<(Vec<f64>, usize)> {
        let mut secs = Vec::new();
        let mut rows = 0;
        for _ in 0..args.repeats.max(1) {
            let t = Instant::now();
            let df = assay_store::tables::query(&store, sql)?;
            secs.push(t.elapsed().as_secs_f64());
            rows = df.height();
        }
        Ok((secs, rows))
    };
    let (secs, rows) = time(sql)?;
    let (runs_secs, runs_rows) = time("SELECT * FROM runs")?;
    let (final_secs, final_rows) = time(
        "SELECT r.\"optimizer.lr\" AS lr, f.name, avg(f.value) AS mean FROM final_metrics f \
         JOIN runs r ON f.run_id = r.id GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    if args.keep.is_none() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "query benchmark ({profile} build): {} runs x {} metric rows generated in {generated:.1} s",
        args.runs,
        (args.rows / NAMES.len()) * NAMES.len()
    );
    let shown = |secs: &[f64]| {
        secs.iter()
            .map(|s| format!("{s:.3} s"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "grouped aggregate over every run ({rows} result rows): {}",
        shown(&secs)
    );
    println!("runs alone ({runs_rows} rows): {}", shown(&runs_secs));
    println!(
        "grouped aggregate of final metrics ({final_rows} result rows): {}",
        shown(&final_secs)
    );
    Ok(())
}

/// The metrics of every generated run.
const NAMES: [&str; 4] = ["train/loss", "train/acc", "test/loss", "test/acc"];

/// Writes a store of `runs` finished runs at `dir`, each with `rows` metric rows (four metrics)
/// and a spec varying the learning rate and seed, as the query and dashboard benchmarks use.
pub(super) fn synthetic_store(dir: &Path, runs: usize, rows: usize) -> anyhow::Result<Store> {
    use assay_store::identity::{host_name, now_rfc3339, user_name};
    use assay_store::{RunRecord, Status};
    let store = Store::at(dir);
    let names = NAMES;
    for i in 0..runs {
        let id = format!("bench-{i:05}");
        let run_dir = store.run_dir(&id)?;
        std::fs::create_dir_all(&run_dir)?;
        let lr = [1e-4, 1e-3, 1e-2, 1e-1][i % 4];
        let spec = format!(
            "name = \"bench\"\nseed = {}\n[optimizer]\nplugin = \"adam\"\nlr = {lr:?}\n",
            i % 5
        );
        assay_store::store::write_atomic(
            &run_dir.join(assay_store::layout::SPEC),
            spec.as_bytes(),
        )?;
        let per_name = rows / names.len();
        let mut log = assay_store::record::RunLog::default();
        for s in 0..per_name as u64 {
            for (k, n) in names.iter().enumerate() {
                log.metric(s * 10, n, (i * 7 + k) as f64 / (s as f64 + 1.0));
            }
        }
        log.flush(&run_dir)?;
        store.write_record(&RunRecord {
            id: id.clone(),
            name: "bench".into(),
            status: Status::Completed,
            started_at: now_rfc3339(),
            ended_at: Some(now_rfc3339()),
            duration_s: Some(1.0),
            steps_done: per_name as u64,
            steps_total: per_name as u64,
            host: host_name(),
            user: user_name(),
            pid: 0,
            git_commit: None,
            assay_version: env!("CARGO_PKG_VERSION").into(),
            components: Vec::new(),
            error: None,
            resumed: 0,
        })?;
    }
    Ok(store)
}
