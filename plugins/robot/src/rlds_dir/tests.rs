use super::*;
use crate::demos::{demonstrations, DemoPlan};
use crate::embodiment::Embodiment;

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Scratch {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "assay-rlds-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn episodes(n: usize) -> Vec<Episode> {
    let mut plan = DemoPlan::study(Embodiment::C, 3, 0.1);
    plan.episodes = n;
    demonstrations(&plan).unwrap()
}

fn read_frame(file: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(file).unwrap())
        .finish()
        .unwrap()
}

fn write_frame(file: &Path, mut df: DataFrame) {
    ParquetWriter::new(std::fs::File::create(file).unwrap())
        .finish(&mut df)
        .unwrap();
}

/// A dataset directory of `n` episodes whose single file has been passed through `edit`.
fn edited(n: usize, edit: impl FnOnce(DataFrame) -> DataFrame) -> (Scratch, PathBuf) {
    let dir = tempdir();
    write_dir(dir.path(), &episodes(n)).unwrap();
    let file = dir.path().join("steps.parquet");
    let df = edit(read_frame(&file));
    write_frame(&file, df);
    (dir, file)
}

fn refused(dir: &Path) -> String {
    match read_dir(dir) {
        Ok(e) => panic!("{} episodes read from a broken directory", e.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_directory_round_trips_exactly_across_files() {
    let all = episodes(6);
    let dir = tempdir();
    write_file(&dir.path().join("part-0.parquet"), &all[..4]).unwrap();
    write_file(&dir.path().join("part-1.parquet"), &all[4..]).unwrap();
    let back = read_dir(dir.path()).unwrap();
    assert_eq!(back, all);
    // The columns other tools see.
    let df = read_frame(&dir.path().join("part-0.parquet"));
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for c in [
        "episode_id",
        "step",
        "is_first",
        "is_last",
        "is_terminal",
        "reward",
        "discount",
        "language_instruction",
        "obs_ee_position_0",
        "obs_blue_cube_2",
        "action_6",
        "embodiment",
    ] {
        assert!(names.iter().any(|n| n == c), "{c} not in {names:?}");
    }
    assert!(!dir.path().join("part-0.parquet.tmp").exists());
}

#[test]
fn invalid_episodes_are_refused_on_write_and_nothing_is_written() {
    let mut bad = episodes(2);
    let last = bad[1].steps.len() - 1;
    bad[1].steps[last].is_last = false;
    let dir = tempdir();
    let err = write_dir(dir.path(), &bad).unwrap_err().to_string();
    let id = bad[1].episode_id;
    assert!(
        err.contains("steps.parquet") && err.contains(&format!("episode {id}")),
        "{err}"
    );
    assert!(err.contains("is_last"), "{err}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn an_episode_without_a_last_step_is_refused_naming_file_episode_and_field() {
    let all = episodes(3);
    let id = all[1].episode_id;
    let (dir, _) = edited(3, |df| {
        let ids = df.column("episode_id").unwrap().i64().unwrap().clone();
        let keep: BooleanChunked = ids
            .iter()
            .zip(df.column("is_last").unwrap().bool().unwrap().iter())
            .map(|(e, last)| Some(!(e == Some(id as i64) && last == Some(true))))
            .collect();
        df.filter(&keep).unwrap()
    });
    let err = refused(dir.path());
    assert!(err.contains("steps.parquet"), "{err}");
    assert!(err.contains(&format!("episode {id}")), "{err}");
    assert!(err.contains("is_last"), "{err}");
}

#[test]
fn missing_mistyped_and_null_columns_are_refused_naming_the_column() {
    let (dir, _) = edited(2, |df| df.drop("discount").unwrap());
    let err = refused(dir.path());
    assert!(
        err.contains("steps.parquet, column `discount`: missing"),
        "{err}"
    );

    let (dir, _) = edited(2, |mut df| {
        let n = df.height();
        df.replace("reward", Column::new("reward".into(), vec!["0"; n]))
            .unwrap();
        df
    });
    let err = refused(dir.path());
    assert!(
        err.contains("column `reward`: expected float values"),
        "{err}"
    );

    let (dir, _) = edited(2, |mut df| {
        let n = df.height();
        let mut v: Vec<Option<f64>> = vec![Some(0.5); n];
        v[3] = None;
        df.replace("obs_red_cube_1", Column::new("obs_red_cube_1".into(), v))
            .unwrap();
        df
    });
    let err = refused(dir.path());
    assert!(
        err.contains("column `obs_red_cube_1`: null in row 3 (episode"),
        "{err}"
    );

    let (dir, _) = edited(2, |df| df.drop("obs_ee_position_1").unwrap());
    let err = refused(dir.path());
    assert!(err.contains("obs_ee_position_2"), "{err}");
}

#[test]
fn files_with_different_columns_are_refused_as_mixed_schemas() {
    let all = episodes(4);
    let dir = tempdir();
    write_file(&dir.path().join("a.parquet"), &all[..2]).unwrap();
    write_file(&dir.path().join("b.parquet"), &all[2..]).unwrap();
    let b = dir.path().join("b.parquet");
    write_frame(&b, read_frame(&b).drop("noise").unwrap());
    let err = refused(dir.path());
    assert!(
        err.contains("b.parquet") && err.contains("a.parquet") && err.contains("`noise`"),
        "{err}"
    );
}

#[test]
fn an_empty_or_missing_directory_is_refused() {
    let dir = tempdir();
    assert!(refused(dir.path()).contains("no .parquet files"));
    assert!(refused(&dir.path().join("nowhere")).contains("nowhere"));
}
