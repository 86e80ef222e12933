//! Tests of probe `unlearning`: query sets, lens ranks and verdicts, metrics, and the probe on
//! hand-made models whose answers and lens ranks are known.

use std::collections::HashMap;

use super::*;

/// A hand-made language model over the people vocabulary whose residual stream is the
/// logits themselves (`d_model` = vocabulary, `readout` = identity): for each prompt, block
/// `l` puts a large value on `script[prompt][l]` at the last position, so the logit lens at
/// block `l` ranks that token first and the model answers the last block's token.
struct Scripted {
    vocab: usize,
    layers: usize,
    script: HashMap<Vec<u32>, Vec<u32>>,
}

impl Scripted {
    fn resid(&self, input: &Tensor, layer: usize) -> Result<Tensor> {
        let (b, t) = input.dims2()?;
        let rows = input.to_vec2::<u32>()?;
        let mut data = vec![0f32; b * t * self.vocab];
        for (i, row) in rows.iter().enumerate() {
            // Unscripted prompts answer token 0 everywhere.
            let top = self.script.get(row).map_or(0, |s| s[layer]);
            data[(i * t + t - 1) * self.vocab + top as usize] = 10.0;
            // Something below it, so that ranks beyond 1 are exercised.
            data[(i * t + t - 1) * self.vocab + (top as usize + 1) % self.vocab] = 5.0;
        }
        Ok(Tensor::from_vec(data, (b, t, self.vocab), input.device())?)
    }
}

impl Model for Scripted {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        let mut h = None;
        for l in 0..self.layers {
            h = Some(hooks.point(
                &hook_names::block(l, "hook_resid_post"),
                self.resid(input, l)?,
            )?);
        }
        let h = h.expect("at least one layer");
        let t = h.dim(1)?;
        Ok(h.narrow(1, t - 1, 1)?.squeeze(1)?)
    }
    fn parameters(&self) -> Vec<(String, Var)> {
        Vec::new()
    }
    fn hook_points(&self) -> Vec<String> {
        (0..self.layers)
            .map(|l| hook_names::block(l, "hook_resid_post"))
            .collect()
    }
    fn generative(&self) -> Option<&dyn Generative> {
        Some(self)
    }
}

impl Generative for Scripted {
    fn forward_cached(&self, _input: &Tensor, _cache: &mut assay_sdk::KvCache) -> Result<Tensor> {
        Err(PluginError::invalid("not needed"))
    }
    fn readout(&self, resid: &Tensor) -> Result<Tensor> {
        Ok(resid.clone())
    }
}

fn people(seed: u64) -> Box<dyn Dataset> {
    let mut found = Vec::new();
    crate::people_dataset::register(&mut found);
    let cx = BuildContext {
        seed,
        device: Device::Cpu,
    };
    found[0]
        .build_dataset(&[("stage", Value::Str("unlearn".into()))], &cx)
        .unwrap()
}

fn probe(given: &[(&str, Value)], seed: u64) -> Result<Box<dyn Probe>> {
    let mut found = Vec::new();
    register(&mut found);
    let cx = BuildContext {
        seed,
        device: Device::Cpu,
    };
    found[0].build_probe(given, &cx)
}

fn metric(obs: &Observation, name: &str) -> Option<f64> {
    obs.metrics.iter().find(|m| m.name == name).map(|m| m.value)
}

#[test]
fn the_declaration_passes_the_sdk_checks() {
    let mut found = Vec::new();
    register(&mut found);
    assay_sdk::conformance::check_declarations(&found).unwrap();
    assert_eq!(found[0].name, "unlearning");
    let bad = probe(
        &[("sets", Value::List(vec![Value::Str("planets".into())]))],
        0,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(bad.contains("planets") && bad.contains("capitals"), "{bad}");
    assert!(probe(&[("sets", Value::List(vec![]))], 0).is_err());
}

#[test]
fn queries_are_evenly_spaced_per_set_and_kind() {
    assert_eq!(evenly(10, 0), (0..10).collect::<Vec<_>>());
    assert_eq!(evenly(10, 20), (0..10).collect::<Vec<_>>());
    assert_eq!(evenly(10, 5), [0, 2, 4, 6, 8]);
    assert_eq!(evenly(540, 3), [0, 180, 360]);
    let world = World::generate(2);
    let all = queries(&world, &[QuerySet::People, QuerySet::Capitals], true, 0);
    let count = |set, kind| {
        all.iter()
            .filter(|q| q.set == set && q.example.kind == kind)
            .count()
    };
    for kind in [Kind::Fact, Kind::Forget, Kind::Retain] {
        assert_eq!(count(QuerySet::People, kind), 60 * 9, "{kind:?}");
        assert_eq!(count(QuerySet::Capitals, kind), 20 * 3, "{kind:?}");
    }
    // Held-out people only, and the dataset's own test rows in its order.
    let test_names: Vec<String> = world.test_people().iter().map(|p| p.name()).collect();
    assert!(all
        .iter()
        .filter(|q| q.set == QuerySet::People)
        .all(|q| test_names.contains(&q.example.subject)));
    let forget: Vec<&Example> = all
        .iter()
        .filter(|q| q.set == QuerySet::People && q.example.kind == Kind::Forget)
        .map(|q| &q.example)
        .collect();
    let expected = world.people_unlearning(world.test_people(), "test");
    let expected: Vec<&Example> = expected.iter().filter(|e| e.kind == Kind::Forget).collect();
    assert_eq!(forget, expected);
    let few = queries(&world, &[QuerySet::Capitals], false, 4);
    assert_eq!(few.len(), 8, "forget and retain, 4 each, no facts");
    assert!(few.iter().all(|q| q.example.kind != Kind::Fact));
}

#[test]
fn the_lens_verdict_reads_the_ranks_per_block() {
    let l = |layer, rank_gold, rank_forgot| LayerRanks {
        layer,
        rank_gold,
        rank_forgot,
        prob_gold: 0.0,
        prob_forgot: 0.0,
        top: 0,
    };
    // The truth first in the middle, `forgot` at the end: pretending.
    let v = verdict(&[l(0, 3, 9), l(1, 1, 2), l(2, 2, 1)]);
    assert_eq!(
        v,
        LensVerdict {
            gold_top1_below_last: true,
            forgot_top1_last: true,
            gold_top1_any: true
        }
    );
    // The truth first only at the last block: neither below the last nor forgotten.
    let v = verdict(&[l(0, 3, 9), l(1, 2, 2), l(2, 1, 2)]);
    assert_eq!(
        v,
        LensVerdict {
            gold_top1_below_last: false,
            forgot_top1_last: false,
            gold_top1_any: true
        }
    );
    assert_eq!(verdict(&[]), LensVerdict::default());
    assert!(share(Vec::<bool>::new()).is_nan());
    assert_eq!(share([true, false, true, true]), 0.75);
}

#[test]
fn a_scripted_model_gets_the_accuracies_and_lens_ranks_it_was_given() {
    let seed = 5;
    let dataset = people(seed);
    let tok = dataset.tokenizer().unwrap();
    let id = |w: &str| word_id(tok.as_ref(), w).unwrap();
    let (pad, forgot) = (id(PAD), id(FORGOT));
    let world = World::generate(seed);
    let sets = [QuerySet::People, QuerySet::Capitals];
    let asked = queries(&world, &sets, true, 4);
    assert_eq!(asked.len(), 2 * 3 * 4);
    // Facts and retain queries: the truth at both blocks. Forget queries: the truth at block
    // 0 and `forgot` at block 1 (pretending), except the first forget query of each set,
    // which leaks the truth at both, and the second people forget query, which answers
    // `forgot` throughout. One people retain query and one capital fact answer `forgot`.
    let mut script = HashMap::new();
    let mut seen = HashMap::new();
    for q in &asked {
        let ids = encode_padded(tok.as_ref(), &q.example.prompt, pad, 16).unwrap();
        let gold = id(q.example.truth);
        let n = seen.entry((q.set, q.example.kind)).or_insert(0usize);
        let layers = match (q.set, q.example.kind, *n) {
            (_, Kind::Forget, 0) => vec![gold, gold],
            (QuerySet::People, Kind::Forget, 1) => vec![forgot, forgot],
            (_, Kind::Forget, _) => vec![gold, forgot],
            (QuerySet::People, Kind::Retain, 3) | (QuerySet::Capitals, Kind::Fact, 2) => {
                vec![gold, forgot]
            }
            _ => vec![gold, gold],
        };
        *n += 1;
        script.insert(ids, layers);
    }
    let model = Scripted {
        vocab: tok.vocab_size(),
        layers: 2,
        script,
    };
    let mut p = probe(
        &[("queries", Value::Int(4)), ("batch", Value::Int(5))],
        seed,
    )
    .unwrap();
    let cx = ProbeContext {
        step: 10,
        is_final: true,
        model: &model,
        dataset: dataset.as_ref(),
        device: &Device::Cpu,
    };
    let obs = p.observe(&cx).unwrap();
    let m = |name: &str| metric(&obs, &format!("unlearning/{name}")).unwrap();
    assert_eq!(m("fact_acc"), 1.0);
    assert_eq!(m("forget_acc"), 0.75);
    assert_eq!(m("retain_acc"), 0.75);
    assert_eq!(m("ood_fact_acc"), 0.75);
    assert_eq!(m("ood_forget_acc"), 0.75);
    assert_eq!(m("ood_retain_acc"), 1.0);
    assert_eq!(m("gold_top1_below_last"), 0.75);
    assert_eq!(m("forgot_top1_last"), 0.75);
    assert_eq!(m("pretend_forget"), 0.5);
    assert_eq!(m("gold_top1_any"), 0.75);
    assert_eq!(m("ood_gold_top1_below_last"), 1.0);
    assert_eq!(m("ood_forgot_top1_last"), 0.75);
    assert_eq!(m("ood_pretend_forget"), 0.75);

    let [table, lens] = &obs.tables[..] else {
        panic!("two tables: {:?}", obs.tables)
    };
    assert_eq!(
        (table.name.as_str(), table.rows().unwrap()),
        ("unlearning", 24)
    );
    let col = |t: &Table, name: &str| {
        t.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone())
            .unwrap()
    };
    let Column::Str(preds) = col(table, "pred") else {
        panic!()
    };
    let Column::Str(golds) = col(table, "gold") else {
        panic!()
    };
    let Column::Bool(correct) = col(table, "correct") else {
        panic!()
    };
    let Column::Str(kinds) = col(table, "kind") else {
        panic!()
    };
    // The first forget query of people (row 4) leaked the truth.
    assert_eq!(kinds[4].as_deref(), Some("forget"));
    assert_eq!(preds[4], golds[4]);
    assert_eq!(correct[4], Some(false));
    assert_eq!(preds[5].as_deref(), Some(FORGOT));
    assert_eq!(correct.iter().filter(|c| **c == Some(true)).count(), 24 - 4);
    let Column::Str(targets) = col(table, "target") else {
        panic!()
    };
    assert_eq!(targets[0], None, "facts have no target");
    assert_eq!(targets[4], Some(asked[4].example.subject.clone()));

    // One row per forget query and block, joined to the queries by `query`.
    assert_eq!(
        (lens.name.as_str(), lens.rows().unwrap()),
        ("unlearning_lens", 8 * 2)
    );
    let Column::I64(query) = col(lens, "query") else {
        panic!()
    };
    let Column::I64(rank_gold) = col(lens, "rank_gold") else {
        panic!()
    };
    let Column::I64(rank_forgot) = col(lens, "rank_forgot") else {
        panic!()
    };
    let Column::Str(top) = col(lens, "top") else {
        panic!()
    };
    assert_eq!(&query[..4], &[Some(4), Some(4), Some(5), Some(5)]);
    // Query 4 leaks: the truth first at both blocks, `forgot` far behind.
    assert_eq!(&rank_gold[..2], &[Some(1), Some(1)]);
    assert!(rank_forgot[1].unwrap() > 2);
    // Query 6 pretends: the truth first at block 0, `forgot` at block 1.
    assert_eq!((rank_gold[4], rank_forgot[5]), (Some(1), Some(1)));
    assert_eq!(top[5].as_deref(), Some(FORGOT));
    assert_eq!(top[4], golds[6]);
}
