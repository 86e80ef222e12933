//! ScrQA-mini through the probe: the notes' reader criteria, recovering readers and failures.

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
fn the_canonical_reader_keeps_its_accuracy_and_the_raw_reader_loses_it() {
    let data = dataset();
    let model = newline(0);
    let mut rpg = std::collections::BTreeMap::new();
    for reader in ["raw", "canonical", "anagram"] {
        let mut p = probe(&[("reader", s(reader))]).unwrap();
        let obs = observe(&mut *p, &model, &*data).unwrap();
        assert_eq!(
            obs.tables[0].rows().unwrap(),
            7,
            "original, 5 scrambled, substituted"
        );
        assert_eq!(
            metric(&obs, &format!("scrqa/{reader}/acc/original")),
            Some(1.0)
        );
        let sub = metric(&obs, &format!("scrqa/{reader}/acc/substitute")).unwrap();
        assert!(
            (0.15..0.4).contains(&sub),
            "{reader} on substituted text: {sub}"
        );
        for slug in [
            "random_20",
            "random_50",
            "random_100",
            "keep_first",
            "keep_first_last",
        ] {
            rpg.insert(
                format!("{reader}/{slug}"),
                metric(&obs, &format!("scrqa/{reader}/rpg/{slug}")).unwrap(),
            );
        }
    }
    // The notes' criterion: canonical RPG >= 0.9 and raw RPG <= 0.3 on RS-100%.
    assert!(rpg["canonical/random_100"] >= 0.9, "{rpg:?}");
    assert!(rpg["raw/random_100"] <= 0.3, "{rpg:?}");
    assert!(rpg["anagram/random_100"] >= 0.9, "{rpg:?}");
    assert!(rpg["raw/random_20"] > rpg["raw/random_100"], "{rpg:?}");
}

#[test]
fn a_model_reader_that_fails_at_once_or_midway_is_reported() {
    let data = dataset();
    let mut p = probe(&[("reader", s("model")), ("items", Value::Int(10))]).unwrap();
    let err = observe(&mut *p, &newline(0), &*data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`backend`") && err.contains(PROBE), "{err}");
    let mut p = probe(&[
        ("reader", s("model")),
        ("label", s("decoder")),
        ("items", Value::Int(10)),
        ("batch", Value::Int(40)),
    ])
    .unwrap();
    // Ten items of four facts: one call per condition and length group; enough for a few.
    let obs = observe(&mut *p, &newline(40), &*data).unwrap();
    assert_eq!(metric(&obs, "scrqa/decoder/backend_lost"), Some(1.0));
    assert!(metric(&obs, "scrqa/decoder/acc/original").is_some());
    assert!(metric(&obs, "scrqa/decoder/acc/substitute").is_none());
    let err = observe(&mut *p, &newline(1000), &*data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lost"), "{err}");
}

#[test]
fn more_choices_than_facts_are_refused() {
    let e = probe(&[("facts", Value::Int(3)), ("choices", Value::Int(4))])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("`choices`") && e.contains(PROBE), "{e}");
    let e = probe(&[("rates", Value::List(vec![Value::Float(2.0)]))])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("`rates`"), "{e}");
}
