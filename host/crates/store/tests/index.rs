//! The index of finished runs: queries give the same answer with it, without it, and after runs
//! change or disappear under it.

use std::path::PathBuf;

use assay_store::identity::{host_name, now_rfc3339, user_name};
use assay_store::record::RunLog;
use assay_store::{layout, tables, RunRecord, Status, Store};

struct TempStore(PathBuf);

impl TempStore {
    fn new(name: &str) -> TempStore {
        let dir = std::env::temp_dir().join(format!("assay-index-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempStore(dir)
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes run `i` with `rows` steps of `loss` and `acc`, values shifted by `shift`.
fn write_run(store: &Store, i: usize, status: Status, shift: f64) -> String {
    let id = format!("run-{i:03}");
    let dir = store.run_dir(&id).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let mut log = RunLog::default();
    for s in 0..10u64 {
        log.metric(s, "loss", 1.0 / (s as f64 + 1.0) + i as f64 + shift);
        log.metric(s, "acc", s as f64 / 10.0 + shift);
    }
    log.flush(&dir).unwrap();
    store
        .write_record(&RunRecord {
            id: id.clone(),
            name: "index".into(),
            status,
            started_at: now_rfc3339(),
            ended_at: Some(now_rfc3339()),
            duration_s: Some(1.0),
            steps_done: 10,
            steps_total: 10,
            host: host_name(),
            user: user_name(),
            // A live pid keeps a `running` record running.
            pid: std::process::id(),
            git_commit: None,
            assay_version: "test".into(),
            components: Vec::new(),
            error: None,
            resumed: 0,
        })
        .unwrap();
    id
}

/// (run id, number of rows, sum of values, final loss) for every run, in id order.
fn summary(store: &Store) -> Vec<(String, u32, f64, f64)> {
    let df = tables::query(
        store,
        "SELECT m.run_id, count(*) AS n, sum(m.value) AS total, max(f.value) AS last_loss \
         FROM metrics m JOIN final_metrics f ON m.run_id = f.run_id \
         WHERE f.name = 'loss' GROUP BY m.run_id ORDER BY m.run_id",
    )
    .unwrap();
    let ids = df.column("run_id").unwrap().str().unwrap().clone();
    let n = df
        .column("n")
        .unwrap()
        .cast(&polars::prelude::DataType::UInt32);
    let n = n.unwrap();
    let n = n.u32().unwrap();
    let total = df.column("total").unwrap().f64().unwrap().clone();
    let last = df.column("last_loss").unwrap().f64().unwrap().clone();
    (0..df.height())
        .map(|i| {
            (
                ids.get(i).unwrap().to_string(),
                n.get(i).unwrap(),
                total.get(i).unwrap(),
                last.get(i).unwrap(),
            )
        })
        .collect()
}

/// `count(*)` of `metrics` (a shape Polars answers from file metadata).
fn count(store: &Store) -> u32 {
    let df = tables::query(store, "SELECT count(*) AS n FROM metrics").unwrap();
    let n = df
        .column("n")
        .unwrap()
        .cast(&polars::prelude::DataType::UInt32);
    n.unwrap().u32().unwrap().get(0).unwrap()
}

fn expected(i: usize, shift: f64) -> (String, u32, f64, f64) {
    let mut total = 0.0;
    for s in 0..10 {
        total += 1.0 / (s as f64 + 1.0) + i as f64 + shift;
        total += s as f64 / 10.0 + shift;
    }
    // Each of the 20 metric rows meets the one final loss row of its run.
    (format!("run-{i:03}"), 20, total, 0.1 + i as f64 + shift)
}

fn close(a: &[(String, u32, f64, f64)], b: &[(String, u32, f64, f64)]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!((&x.0, x.1), (&y.0, y.1));
        assert!((x.2 - y.2).abs() < 1e-9, "{x:?} vs {y:?}");
        assert!((x.3 - y.3).abs() < 1e-12, "{x:?} vs {y:?}");
    }
}

#[test]
fn queries_agree_with_and_without_the_index_and_never_read_a_stale_one() {
    let tmp = TempStore::new("agree");
    let store = Store::at(&tmp.0);
    let n = 40;
    for i in 0..n {
        write_run(&store, i, Status::Completed, 0.0);
    }
    let manifest = tmp.0.join(layout::INDEX).join(layout::INDEX_MANIFEST);
    assert!(!manifest.exists());
    let want: Vec<_> = (0..n).map(|i| expected(i, 0.0)).collect();
    close(&summary(&store), &want);
    assert!(manifest.exists(), "40 finished runs are indexed");
    let built = std::fs::read_to_string(&manifest).unwrap();
    // Same answer from the index, to the last digit.
    let first = summary(&store);
    assert_eq!(first, summary(&store));
    close(&first, &want);
    assert_eq!(count(&store), 20 * n as u32);

    // A run resumed (its metrics rewritten) and one removed: read around the index, not from it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_run(&store, 3, Status::Completed, 100.0);
    store.remove("run-007").unwrap();
    // A running run is read from its own files, never indexed.
    write_run(&store, 50, Status::Running, 0.0);
    let mut want: Vec<_> = (0..n)
        .filter(|&i| i != 7)
        .map(|i| expected(i, if i == 3 { 100.0 } else { 0.0 }))
        .collect();
    want.push(expected(50, 0.0));
    close(&summary(&store), &want);
    assert_eq!(count(&store), 20 * n as u32);
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        built,
        "three stale runs do not rebuild it"
    );

    // An unreadable manifest is ignored and rebuilt.
    std::fs::write(&manifest, "{ not json").unwrap();
    close(&summary(&store), &want);
    let rebuilt = std::fs::read_to_string(&manifest).unwrap();
    assert!(rebuilt.contains("run-003") && !rebuilt.contains("run-007"));
    assert!(!rebuilt.contains("run-050"), "running runs stay out");

    // Deleting the index loses nothing.
    std::fs::remove_dir_all(tmp.0.join(layout::INDEX)).unwrap();
    close(&summary(&store), &want);
}

#[test]
fn a_small_store_is_read_directly_and_an_empty_one_has_empty_tables() {
    let tmp = TempStore::new("small");
    let store = Store::at(&tmp.0);
    let df = tables::query(&store, "SELECT count(*) AS n FROM metrics").unwrap();
    assert_eq!(df.height(), 1);
    for i in 0..3 {
        write_run(&store, i, Status::Completed, 0.0);
    }
    let want: Vec<_> = (0..3).map(|i| expected(i, 0.0)).collect();
    close(&summary(&store), &want);
    assert_eq!(count(&store), 60);
    assert!(!tmp.0.join(layout::INDEX).exists());
}
