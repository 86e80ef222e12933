//! The probe against fixed recoverers and a local model that breaks midway.

use super::*;
use crate::testing::{dataset, metric, newline, observe, s};

fn probe(given: &[(&str, Value)]) -> Result<Box<dyn Probe>> {
    let mut found = Vec::new();
    register(&mut found);
    found[0].build_probe(
        given,
        &BuildContext {
            seed: 0,
            device: Device::Cpu,
        },
    )
}

#[test]
fn identity_scores_zero_the_oracle_one_hundred_and_the_anagram_solver_over_ninety() {
    let data = dataset();
    let model = newline(0);
    let all = Value::List(vec![
        s("random"),
        s("keep_first"),
        s("keep_first_last"),
        s("substitute"),
    ]);
    for (rec, sentences) in [
        ("identity", "dataset"),
        ("oracle", "corpus"),
        ("anagram", "corpus"),
    ] {
        let mut p = probe(&[
            ("recoverer", s(rec)),
            ("sentences", s(sentences)),
            ("scramblers", all.clone()),
        ])
        .unwrap();
        let obs = observe(&mut *p, &model, &*data).unwrap();
        let table = &obs.tables[0];
        assert_eq!(table.name, "scramble_recovery");
        for slug in [
            "random_20",
            "random_50",
            "random_100",
            "keep_first",
            "keep_first_last",
        ] {
            let rr = metric(&obs, &format!("scramble/{rec}/rr/{slug}")).unwrap();
            match rec {
                "identity" => assert_eq!(rr, 0.0),
                "oracle" => assert_eq!(rr, 100.0),
                _ => assert!(rr >= 90.0, "anagram RR on {slug}: {rr}"),
            }
        }
        let items = obs.tables[1].rows().unwrap();
        let expected = if sentences == "dataset" { 72 } else { 360 };
        assert_eq!(items, 6 * expected, "{rec}");
    }
}

#[test]
fn a_local_model_that_breaks_midway_keeps_what_it_recovered_and_then_stops_the_run() {
    let data = dataset();
    let mut p = probe(&[
        ("recoverer", s("model")),
        ("label", s("decoder")),
        ("batch", Value::Int(8)),
        ("limit", Value::Int(20)),
    ])
    .unwrap();
    // One forward pass per chunk of equal-length prompts: enough for some chunks, not all.
    let model = newline(30);
    let obs = observe(&mut *p, &model, &*data).unwrap();
    assert_eq!(metric(&obs, "scramble/decoder/backend_lost"), Some(1.0));
    let done = metric(&obs, "scramble/decoder/recovered").unwrap();
    assert!(done > 0.0 && done < 100.0, "{done}");
    // A model that answers an empty line makes the text worse: RR below zero.
    let rr = metric(&obs, "scramble/decoder/rr/random_20").unwrap();
    assert!(rr < 0.0, "{rr}");
    let table = &obs.tables[0];
    let Some((_, Column::Str(errors))) = table.columns.iter().find(|(n, _)| n == "error") else {
        panic!("no error column");
    };
    assert!(
        errors.iter().flatten().any(|e| e.contains("went away")),
        "{errors:?}"
    );
    let err = observe(&mut *p, &model, &*data).unwrap_err().to_string();
    assert!(
        err.contains("`backend`") && err.contains(PROBE) && err.contains("went away"),
        "{err}"
    );
}

#[test]
fn a_backend_that_fails_at_once_is_one_error_naming_probe_and_key() {
    let data = dataset();
    let model = newline(0);
    let mut p = probe(&[("recoverer", s("model"))]).unwrap();
    let err = observe(&mut *p, &model, &*data).unwrap_err().to_string();
    assert!(
        err.contains("`backend`") && err.contains(PROBE) && err.contains("local"),
        "{err}"
    );
}

#[test]
fn bad_scramblers_and_rates_are_refused_naming_the_key() {
    let err = |given: &[(&str, Value)]| probe(given).err().unwrap().to_string();
    let e = err(&[("scramblers", Value::List(vec![s("reverse")]))]);
    assert!(
        e.contains("`scramblers`") && e.contains("reverse") && e.contains(PROBE),
        "{e}"
    );
    for bad in [0.0, 1.2, -0.5] {
        let e = err(&[("rates", Value::List(vec![Value::Float(bad)]))]);
        assert!(e.contains("`rates`") && e.contains("(0, 1]"), "{e}");
    }
    let e = err(&[("corpus", s("/nonexistent/c.txt"))]);
    assert!(e.contains("`corpus`"), "{e}");
}
