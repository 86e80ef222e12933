//! The hooked decoder (`decoder`), through the components built on it (`transformer`, `llama`): every hook point fires, interventions change exactly what they name, the
//! hooked path equals the fast path, the lens readout equals the logits, and hooks fire during
//! cached generation.

use assay_sdk::prelude::*;
use assay_sdk::KvCache;

/// A model of component `name` (`transformer` or `llama`) over 40 tokens of context 8.
fn model(name: &str, objective: Objective, given: &[(&str, Value)]) -> Box<dyn Model> {
    let mut found = Vec::new();
    match name {
        "transformer" => crate::transformer::register(&mut found),
        _ => crate::llama::register(&mut found),
    }
    let cx = ModelContext {
        build: BuildContext {
            seed: 11,
            device: Device::Cpu,
        },
        data: DataInfo::tokens(8, 40, objective),
    };
    found[0].build_model(given, &cx).unwrap()
}

fn lm(name: &str) -> Box<dyn Model> {
    let small = [
        ("d_model", Value::Int(16)),
        ("d_mlp", Value::Int(24)),
        ("n_layers", Value::Int(2)),
    ];
    let mut given = small.to_vec();
    if name == "transformer" {
        given.push(("layer_norm", Value::Bool(true)));
        given.push(("bias", Value::Bool(true)));
    }
    model(name, Objective::NextToken { vocab: 40 }, &given)
}

fn ids(rows: &[&[u32]]) -> Tensor {
    let n = rows[0].len();
    let flat: Vec<u32> = rows.iter().flat_map(|r| r.to_vec()).collect();
    Tensor::from_vec(flat, (rows.len(), n), &Device::Cpu).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn every_listed_hook_point_fires_and_no_other() {
    for name in ["transformer", "llama"] {
        let m = lm(name);
        let mut hooks = Hooks::capture_all();
        m.forward(&ids(&[&[1, 2, 3, 4]]), &mut hooks).unwrap();
        let mut fired: Vec<String> = hooks.cache().keys().cloned().collect();
        let mut listed = m.hook_points();
        fired.sort();
        listed.sort();
        assert_eq!(fired, listed, "{name}");
        assert_eq!(
            listed.contains(&"hook_pos_embed".to_string()),
            name == "transformer"
        );
    }
}

#[test]
fn a_hooked_forward_without_interventions_equals_the_fast_path() {
    let x = ids(&[&[1, 2, 3, 4, 5, 6], &[6, 5, 4, 3, 2, 1]]);
    let classifier = model(
        "transformer",
        Objective::Classification { classes: 40 },
        &[
            ("d_model", Value::Int(16)),
            ("d_mlp", Value::Int(24)),
            ("n_layers", Value::Int(2)),
        ],
    );
    let fused = model(
        "transformer",
        Objective::Classification { classes: 40 },
        &[
            ("d_model", Value::Int(16)),
            ("d_mlp", Value::Int(24)),
            ("fused_attention", Value::Bool(true)),
        ],
    );
    // One block without a norm, with biases and learned positions: the fast path projects the
    // vocabulary table (position rows and biases added in one pass) and gathers the residual
    // stream at the last position only.
    let one_block = model(
        "transformer",
        Objective::Classification { classes: 40 },
        &[
            ("d_model", Value::Int(16)),
            ("d_mlp", Value::Int(24)),
            ("n_layers", Value::Int(1)),
            ("bias", Value::Bool(true)),
            ("pos_embed", Value::Bool(true)),
        ],
    );
    for m in [lm("transformer"), lm("llama"), classifier, fused, one_block] {
        let fast = m.forward(&x, &mut Hooks::none()).unwrap();
        let mut hooks = Hooks::capture_all();
        let hooked = m.forward(&x, &mut hooks).unwrap();
        assert_eq!(fast.dims(), hooked.dims());
        assert!(max_diff(&fast, &hooked) < 1e-5);
        assert!(hooks.applied().is_empty());
    }
}

/// Past the fused attention's 16 positions, the unwatched transformer with `fused_qkv` projects queries, keys and values side by side into the blocked causal attention; the hooked
/// path composes them. Their logits agree and so does every parameter's gradient of a
/// next-token loss.
#[test]
fn long_sequences_train_as_the_hooked_path_does() {
    let mut found = Vec::new();
    crate::transformer::register(&mut found);
    let (t, vocab) = (40, 40);
    let cx = ModelContext {
        build: BuildContext {
            seed: 11,
            device: Device::Cpu,
        },
        data: DataInfo::tokens(t, vocab, Objective::NextToken { vocab }),
    };
    let given = [
        ("d_model", Value::Int(32)),
        ("n_heads", Value::Int(2)),
        ("d_mlp", Value::Int(48)),
        ("n_layers", Value::Int(2)),
        ("layer_norm", Value::Bool(true)),
        ("bias", Value::Bool(true)),
        ("fused_qkv", Value::Bool(true)),
    ];
    let m = found[0].build_model(&given, &cx).unwrap();
    let seq = |k: u32| -> Vec<u32> { (0..t as u32).map(|i| (i * 7 + k * 3) % 40).collect() };
    let (a, b) = (seq(1), seq(2));
    let x = ids(&[&a, &b]);
    let target = Tensor::from_vec([a, b].concat(), 2 * t, &Device::Cpu).unwrap();
    let run = |hooks: &mut Hooks| {
        let logits = m.forward(&x, hooks).unwrap();
        let loss = assay_sdk::ops::cross_entropy(&logits.flatten_to(1).unwrap(), &target);
        (logits, loss.unwrap().backward().unwrap())
    };
    let (fast, g_fast) = run(&mut Hooks::none());
    let (hooked, g_hooked) = run(&mut Hooks::capture_all());
    assert!(max_diff(&fast, &hooked) < 1e-5);
    for (name, v) in m.parameters() {
        let (p, q) = (g_fast.get(&v).unwrap(), g_hooked.get(&v).unwrap());
        let scale = values(q).iter().fold(0f32, |a, x| a.max(x.abs()));
        let diff = max_diff(p, q);
        assert!(diff <= 1e-4 * scale.max(1e-3), "{name}: {diff} of {scale}");
    }
}

#[test]
fn the_readout_of_the_last_residual_equals_the_logits_exactly() {
    for name in ["transformer", "llama"] {
        let m = lm(name);
        let last = format!("blocks.{}.hook_resid_post", 1);
        let mut hooks = Hooks::capture([last.as_str()]);
        let logits = m.forward(&ids(&[&[3, 1, 4, 1, 5]]), &mut hooks).unwrap();
        let lens = m
            .generative()
            .unwrap()
            .readout(hooks.cached(&last).unwrap())
            .unwrap();
        assert_eq!(values(&lens), values(&logits), "{name}");
    }
}

#[test]
fn each_intervention_changes_what_it_names() {
    let m = lm("transformer");
    let x = ids(&[&[1, 2, 3, 4, 5]]);
    let clean = m.forward(&x, &mut Hooks::none()).unwrap();
    // Zeroing one head of block 0 changes the output.
    let mut hooks = Hooks::capture(["blocks.0.attn.hook_z"]);
    hooks.zero_heads("blocks.0.attn.hook_z", vec![1]);
    let ablated = m.forward(&x, &mut hooks).unwrap();
    assert!(max_diff(&clean, &ablated) > 1e-4);
    let z = hooks.cached("blocks.0.attn.hook_z").unwrap();
    assert_eq!(values(&z.narrow(1, 1, 1).unwrap()), vec![0.0; 5 * 4]);
    assert!(values(&z.narrow(1, 0, 1).unwrap())
        .iter()
        .any(|v| *v != 0.0));
    // Overwritten units are what the hook holds and what the next layer reads: hook_mlp_out is
    // W_out applied to the overwritten hook_post.
    let mut hooks = Hooks::capture(["blocks.1.mlp.hook_post", "blocks.1.hook_mlp_out"]);
    hooks.overwrite_units(
        "blocks.1.mlp.hook_post",
        vec![2, 7],
        vec![5.0, -3.0],
        Some(vec![1, 3]),
    );
    let steered = m.forward(&x, &mut hooks).unwrap();
    assert!(max_diff(&clean, &steered) > 1e-4);
    let post = hooks
        .cached("blocks.1.mlp.hook_post")
        .unwrap()
        .squeeze(0)
        .unwrap();
    let rows = post.to_vec2::<f32>().unwrap();
    for (p, row) in rows.iter().enumerate() {
        if p == 1 || p == 3 {
            assert_eq!((row[2], row[7]), (5.0, -3.0));
        } else {
            assert_ne!(row[2], 5.0);
        }
    }
    let mut hooks_plain = Hooks::capture(["blocks.1.mlp.hook_post"]);
    m.forward(&x, &mut hooks_plain).unwrap();
    let plain = hooks_plain
        .cached("blocks.1.mlp.hook_post")
        .unwrap()
        .squeeze(0)
        .unwrap();
    let unchanged = |r: &[f32], q: &[f32]| {
        r.iter()
            .zip(q)
            .enumerate()
            .all(|(u, (a, b))| u == 2 || u == 7 || a == b)
    };
    let plain_rows = plain.to_vec2::<f32>().unwrap();
    assert!(rows.iter().zip(&plain_rows).all(|(r, q)| unchanged(r, q)));
    // Zero and mean ablation of the residual stream.
    let mut hooks = Hooks::capture(["blocks.0.hook_resid_post"]);
    hooks.mean_ablate("blocks.0.hook_resid_post", None);
    m.forward(&x, &mut hooks).unwrap();
    let resid = hooks
        .cached("blocks.0.hook_resid_post")
        .unwrap()
        .squeeze(0)
        .unwrap();
    let r = resid.to_vec2::<f32>().unwrap();
    assert!(
        r.iter().all(|row| row == &r[0]),
        "every position holds the mean"
    );
    let mut hooks = Hooks::capture(["blocks.0.hook_resid_post"]);
    hooks.zero_ablate("blocks.0.hook_resid_post");
    m.forward(&x, &mut hooks).unwrap();
    assert!(values(hooks.cached("blocks.0.hook_resid_post").unwrap())
        .iter()
        .all(|v| *v == 0.0));
    assert_eq!(hooks.applied(), ["blocks.0.hook_resid_post"]);
}

#[test]
fn patching_the_clean_run_s_own_activation_restores_its_logits_exactly() {
    for name in ["transformer", "llama"] {
        let m = lm(name);
        let clean = ids(&[&[1, 2, 3, 4, 5]]);
        let corrupt = ids(&[&[1, 2, 9, 4, 5]]);
        let hook = "blocks.1.hook_resid_pre";
        let mut record = Hooks::capture([hook]);
        let want = m.forward(&clean, &mut record).unwrap();
        let mut patch = Hooks::none();
        patch.replace(hook, record.cached(hook).unwrap().clone());
        let got = m.forward(&corrupt, &mut patch).unwrap();
        assert_eq!(values(&got), values(&want), "{name}");
        let unpatched = m.forward(&corrupt, &mut Hooks::none()).unwrap();
        assert!(max_diff(&unpatched, &want) > 1e-5);
    }
}

#[test]
fn bad_hook_names_and_shapes_are_errors_naming_both() {
    let m = lm("llama");
    let mut hooks = Hooks::none();
    hooks.zero_ablate("blocks.0.hook_resid_pots");
    let err = hooks.check(&m.hook_points()).unwrap_err().to_string();
    assert!(
        err.contains("blocks.0.hook_resid_pots") && err.contains("blocks.0.hook_resid_post"),
        "{err}"
    );
    let mut hooks = Hooks::none();
    hooks.replace(
        "blocks.0.hook_resid_post",
        Tensor::zeros((1, 3, 7), DType::F32, &Device::Cpu).unwrap(),
    );
    let err = m
        .forward(&ids(&[&[1, 2, 3]]), &mut hooks)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("blocks.0.hook_resid_post")
            && err.contains("[1, 3, 7]")
            && err.contains("[1, 3, 16]"),
        "{err}"
    );
    let mut hooks = Hooks::none();
    hooks.overwrite_units("blocks.0.mlp.hook_pre", vec![99], vec![1.0], None);
    let err = m
        .forward(&ids(&[&[1, 2]]), &mut hooks)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("unit 99") && err.contains("blocks.0.mlp.hook_pre"),
        "{err}"
    );
}

#[test]
fn hooks_fire_in_the_cached_forward_at_absolute_positions() {
    for name in ["transformer", "llama"] {
        let m = lm(name);
        let g = m.generative().unwrap();
        let x = ids(&[&[3, 1, 4, 1, 5, 9]]);
        let hook = "blocks.0.hook_resid_mid";
        // Overwrite a unit at position 4 only: the full pass and the cached one (4 positions,
        // then 2) agree, and the cached hook sees the new positions.
        let steer = |h: &mut Hooks| {
            h.overwrite_units(hook, vec![0], vec![7.0], Some(vec![4]));
            h.also_capture(hook);
        };
        let mut full_hooks = Hooks::none();
        steer(&mut full_hooks);
        let full = m.forward(&x, &mut full_hooks).unwrap();
        let mut cache = KvCache::new();
        let mut hooks = Hooks::none();
        steer(&mut hooks);
        let a = g
            .forward_cached_with_hooks(&x.narrow(1, 0, 4).unwrap(), &mut cache, &mut hooks)
            .unwrap();
        assert_eq!(hooks.cached(hook).unwrap().dims(), &[1, 4, 16]);
        let b = g
            .forward_cached_with_hooks(&x.narrow(1, 4, 2).unwrap(), &mut cache, &mut hooks)
            .unwrap();
        let seen = hooks
            .cached(hook)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0][0], 7.0);
        assert_ne!(seen[1][0], 7.0);
        let cached = Tensor::cat(&[&a, &b], 1).unwrap();
        assert!(max_diff(&cached, &full) < 1e-5, "{name}");
        assert_eq!(hooks.applied().len(), 2);
        // Generation with an intervention on every step differs from plain generation.
        let s = assay_sdk::Sampling {
            max_tokens: 6,
            temperature: 0.0,
            ..Default::default()
        };
        let tok = Bytes;
        let plain = assay_sdk::generate(&*m, &tok, &["ab"], &s, &Device::Cpu).unwrap();
        let mut force = Hooks::none();
        force.replace(
            "hook_logits",
            Tensor::from_vec(
                (0..40)
                    .map(|i| if i == 7 { 10.0f32 } else { 0.0 })
                    .collect::<Vec<_>>(),
                40,
                &Device::Cpu,
            )
            .unwrap()
            .reshape((1, 40))
            .unwrap(),
        );
        let forced =
            assay_sdk::generate_with_hooks(&*m, &tok, &["ab"], &s, &Device::Cpu, &mut force);
        // hook_logits of a cached pass is [batch, new, vocab]: the [1, 40] replacement does not
        // fit the first pass of two positions, and the error says so.
        let err = forced.err().unwrap().to_string();
        assert!(err.contains("hook_logits"), "{err}");
        let mut force = Hooks::none();
        force.overwrite_units("hook_logits", vec![7], vec![1e4], None);
        let forced =
            assay_sdk::generate_with_hooks(&*m, &tok, &["ab"], &s, &Device::Cpu, &mut force)
                .unwrap();
        assert!(forced[0].ids.iter().all(|&t| t == 7), "{:?}", forced[0].ids);
        assert_ne!(plain[0].ids, forced[0].ids);
    }
}

/// Bytes modulo 40 as tokens.
struct Bytes;

impl Tokenizer for Bytes {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(text.bytes().map(|b| u32::from(b) % 40).collect())
    }
    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(ids.iter().map(|&i| char::from(b'0' + i as u8)).collect())
    }
    fn vocab_size(&self) -> usize {
        40
    }
    fn eos(&self) -> Option<u32> {
        None
    }
}

#[test]
fn the_sdk_lens_of_the_last_layer_is_the_model_s_own_distribution() {
    let m = lm("llama");
    let ids = [3u32, 1, 4, 1, 5];
    let rows = assay_sdk::interp::logit_lens(&*m, &ids, &[4], &[7], 2, &Device::Cpu).unwrap();
    assert_eq!(rows.len(), 2 * 3, "2 layers x (2 top + 1 target)");
    let logits = m
        .forward(
            &Tensor::new(&[ids], &Device::Cpu).unwrap(),
            &mut Hooks::none(),
        )
        .unwrap();
    let probs = assay_sdk::nn::ops::softmax(&logits, D::Minus1)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .get(4)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let last: Vec<_> = rows.iter().filter(|r| r.layer == 1).collect();
    let best = (0..40)
        .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
        .unwrap();
    assert_eq!(last[0].token as usize, best);
    assert!((last[0].prob - probs[best]).abs() < 1e-6);
    assert!((last[2].prob - probs[7]).abs() < 1e-6);
    assert_eq!(
        last[2].rank,
        1 + probs.iter().filter(|&&p| p > probs[7]).count()
    );
}

#[test]
fn monte_carlo_dropout_varies_only_when_dropout_stays_on() {
    let with = |mc: bool| {
        model(
            "transformer",
            Objective::NextToken { vocab: 40 },
            &[
                ("d_model", Value::Int(16)),
                ("d_mlp", Value::Int(24)),
                ("dropout", Value::Float(0.1)),
                ("mc_dropout", Value::Bool(mc)),
            ],
        )
    };
    let x = ids(&[&[1, 2, 3]]);
    let mut on = with(true);
    on.set_training(false);
    let s = assay_sdk::interp::mc_dropout(&*on, &x, 8).unwrap();
    assert_eq!(s.mean.dims(), &[1, 3, 40]);
    assert!(s.varied > 0);
    let total: f32 = s
        .mean
        .get(0)
        .unwrap()
        .get(0)
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!((total - 1.0).abs() < 1e-5);
    let mut off = with(false);
    off.set_training(false);
    assert_eq!(
        assay_sdk::interp::mc_dropout(&*off, &x, 4).unwrap().varied,
        0
    );
}
