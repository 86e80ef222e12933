//! Tests of the transformer: shapes, hooks, the cache, adapters and the position modes.

use assay_sdk::prelude::*;
use assay_sdk::KvCache;

use super::register;

fn make(given: &[(&str, Value)]) -> Box<dyn Model> {
    let mut found = Vec::new();
    register(&mut found);
    let Factory::Model(f) = &found[0].factory else {
        unreachable!()
    };
    let cx = ModelContext {
        build: BuildContext {
            seed: 5,
            device: Device::Cpu,
        },
        data: DataInfo::tokens(3, 118, Objective::Classification { classes: 113 }),
    };
    f(&found[0].resolve(given).unwrap(), &cx).unwrap()
}

#[test]
fn the_grokking_configuration_has_the_expected_parameters() {
    let m = make(&[]);
    let count: usize = m.parameters().iter().map(|(_, v)| v.elem_count()).sum();
    // W_E 118x128, W_pos 3x128, Q/K/V/O 4 x 128x128, W_in and W_out 128x512, W_U 128x113.
    assert_eq!(
        count,
        118 * 128 + 3 * 128 + 4 * 128 * 128 + 2 * 128 * 512 + 128 * 113
    );
    let with_ln = make(&[
        ("layer_norm", Value::Bool(true)),
        ("bias", Value::Bool(true)),
        ("n_layers", Value::Int(2)),
    ]);
    assert!(with_ln
        .parameters()
        .iter()
        .any(|(n, _)| n == "blocks.1.ln2.b"));
    assert!(with_ln.parameters().iter().any(|(n, _)| n == "unembed.b_U"));
}

#[test]
fn attention_is_causal_and_hooks_have_transformerlens_shapes() {
    let m = make(&[("d_model", Value::Int(16)), ("d_mlp", Value::Int(32))]);
    let a = Tensor::new(&[[1u32, 113, 2], [3, 113, 4]], &Device::Cpu).unwrap();
    let b = Tensor::new(&[[1u32, 113, 9], [3, 113, 7]], &Device::Cpu).unwrap();
    let mut ha = Hooks::capture_all();
    let logits = m.forward(&a, &mut ha).unwrap();
    assert_eq!(logits.dims(), &[2, 113]);
    let pattern = ha.cached("blocks.0.attn.hook_pattern").unwrap();
    assert_eq!(pattern.dims(), &[2, 4, 3, 3]);
    let p4 = pattern.flatten_to(1).unwrap().to_vec3::<f32>().unwrap();
    for head in &p4 {
        // head: [query, key]; keys after the query get no attention.
        for (q, keys) in head.iter().enumerate() {
            let total: f32 = keys.iter().sum();
            assert!((total - 1.0).abs() < 1e-5);
            for (k, w) in keys.iter().enumerate() {
                if k > q {
                    assert_eq!(*w, 0.0);
                }
            }
        }
    }
    assert_eq!(
        ha.cached("blocks.0.attn.hook_z").unwrap().dims(),
        &[2, 4, 3, 4]
    );
    assert_eq!(m.hook_points().len(), 2 + 13 + 1);
    // Changing the last token leaves the first two positions' residual stream alone.
    let mut hb = Hooks::capture_all();
    m.forward(&b, &mut hb).unwrap();
    let first_two = |h: &Hooks| -> Vec<f32> {
        let r = h.cached("blocks.0.hook_resid_post").unwrap();
        r.narrow(1, 0, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    let (ra, rb) = (first_two(&ha), first_two(&hb));
    assert_eq!(ra, rb);
}

#[test]
fn the_last_position_shortcut_gives_the_full_computation_s_logits() {
    for (layers, ln) in [(1, false), (2, true)] {
        let m = make(&[
            ("d_model", Value::Int(16)),
            ("d_mlp", Value::Int(32)),
            ("n_layers", Value::Int(layers)),
            ("layer_norm", Value::Bool(ln)),
            ("bias", Value::Bool(ln)),
        ]);
        let x = Tensor::new(&[[1u32, 113, 2], [7, 113, 50]], &Device::Cpu).unwrap();
        let fast = m.forward(&x, &mut Hooks::none()).unwrap();
        // Watching any hook point makes the model compute every position.
        let mut watched = Hooks::capture([hook_names::LOGITS]);
        let full = m.forward(&x, &mut watched).unwrap();
        let diff = (fast - full)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-5, "{layers} layers: {diff}");
    }
}

/// A byte-level "tokenizer" over the model's 118 ids, for generation tests.
struct Ids;

impl Tokenizer for Ids {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(text.bytes().map(|b| u32::from(b) % 113).collect())
    }
    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(ids
            .iter()
            .map(|&i| char::from(b'0' + (i % 75) as u8))
            .collect())
    }
    fn vocab_size(&self) -> usize {
        118
    }
    fn eos(&self) -> Option<u32> {
        None
    }
}

/// A small next-token decoder with `extra` parameters on top of the base configuration.
fn lm_with(n_ctx: usize, extra: &[(&str, Value)]) -> Result<Box<dyn Model>> {
    let mut found = Vec::new();
    register(&mut found);
    let Factory::Model(f) = &found[0].factory else {
        unreachable!()
    };
    let cx = ModelContext {
        build: BuildContext {
            seed: 9,
            device: Device::Cpu,
        },
        data: DataInfo::tokens(n_ctx, 118, Objective::NextToken { vocab: 118 }),
    };
    let mut given = vec![
        ("d_model", Value::Int(16)),
        ("d_mlp", Value::Int(32)),
        ("n_layers", Value::Int(2)),
        ("layer_norm", Value::Bool(true)),
        ("bias", Value::Bool(true)),
        ("activation", Value::Str("gelu".into())),
    ];
    given.extend(extra.iter().cloned());
    f(&found[0].resolve(&given)?, &cx)
}

fn lm(n_ctx: usize) -> Box<dyn Model> {
    lm_with(n_ctx, &[]).unwrap()
}

#[test]
fn kv_cache_generation_equals_full_recomputation_and_a_seed_fixes_sampling() {
    let m = lm(40);
    let prompts = ["hello", "world", "a longer prompt"];
    for temperature in [0.0, 1.0] {
        let s = assay_sdk::Sampling {
            max_tokens: 12,
            temperature,
            top_k: 20,
            seed: 4,
            ..Default::default()
        };
        let cached = assay_sdk::generate(&*m, &Ids, &prompts, &s, &Device::Cpu).unwrap();
        let full = assay_sdk::generate(
            &*m,
            &Ids,
            &prompts,
            &assay_sdk::Sampling {
                use_cache: false,
                ..s.clone()
            },
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(cached, full, "temperature {temperature}");
        assert!(cached.iter().all(|g| g.ids.len() == 12));
        let again = assay_sdk::generate(&*m, &Ids, &prompts, &s, &Device::Cpu).unwrap();
        assert_eq!(cached, again);
    }
    // Cached logits equal the full forward pass position by position.
    let x = Tensor::new(&[[3u32, 1, 4, 1, 5, 9, 2, 6]], &Device::Cpu).unwrap();
    let full = m.forward(&x, &mut Hooks::none()).unwrap();
    let mut cache = KvCache::new();
    let a = m
        .generative()
        .unwrap()
        .forward_cached(&x.narrow(1, 0, 5).unwrap(), &mut cache)
        .unwrap();
    let b = m
        .generative()
        .unwrap()
        .forward_cached(&x.narrow(1, 5, 3).unwrap(), &mut cache)
        .unwrap();
    assert_eq!(cache.position(), 8, "the cache tracks its own position");
    let stitched = Tensor::cat(&[&a, &b], 1).unwrap();
    let diff = (stitched - full).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    // Past the context window, generation slides it instead of failing.
    let short = lm(8);
    let long = assay_sdk::generate(
        &*short,
        &Ids,
        &["abcdef"],
        &assay_sdk::Sampling {
            max_tokens: 10,
            ..Default::default()
        },
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(long[0].ids.len(), 10);
}

#[test]
fn lora_with_zero_b_leaves_outputs_unchanged_and_trains_only_adapters() {
    let base = lm(16);
    let adapted = lm_with(
        16,
        &[
            ("lora_rank", Value::Int(4)),
            (
                "lora_targets",
                Value::List(vec![Value::Str("W_Q".into()), Value::Str("W_in".into())]),
            ),
        ],
    )
    .unwrap();
    let x = Tensor::new(&[[3u32, 1, 4, 1, 5, 9]], &Device::Cpu).unwrap();
    let a = base.forward(&x, &mut Hooks::none()).unwrap();
    let b = adapted.forward(&x, &mut Hooks::none()).unwrap();
    assert_eq!(
        a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    );
    let trained: Vec<String> = adapted.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        trained.len(),
        2 * 2 * 2,
        "A and B for 2 targets in 2 blocks: {trained:?}"
    );
    assert!(trained.iter().all(|n| n.contains("lora_")));
    assert_eq!(adapted.buffers().len(), base.parameters().len());
    let bad = lm_with(
        16,
        &[
            ("lora_rank", Value::Int(2)),
            ("lora_targets", Value::List(vec![Value::Str("W_X".into())])),
        ],
    );
    assert!(bad.is_err());
}

#[test]
fn monte_carlo_dropout_stays_on_at_evaluation() {
    let mut found = Vec::new();
    register(&mut found);
    let Factory::Model(f) = &found[0].factory else {
        unreachable!()
    };
    let cx = ModelContext {
        build: BuildContext {
            seed: 2,
            device: Device::Cpu,
        },
        data: DataInfo::tokens(8, 118, Objective::NextToken { vocab: 118 }),
    };
    let x = Tensor::new(&[[3u32, 1, 4, 1]], &Device::Cpu).unwrap();
    let run = |mc: bool| {
        let mut m = f(
            &found[0]
                .resolve(&[
                    ("d_model", Value::Int(16)),
                    ("d_mlp", Value::Int(32)),
                    ("dropout", Value::Float(0.5)),
                    ("mc_dropout", Value::Bool(mc)),
                ])
                .unwrap(),
            &cx,
        )
        .unwrap();
        m.set_training(false);
        let once = m.forward(&x, &mut Hooks::none()).unwrap();
        let twice = m.forward(&x, &mut Hooks::none()).unwrap();
        (once - twice)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    assert_eq!(run(false), 0.0, "plain dropout is off at evaluation");
    assert!(
        run(true) > 0.0,
        "Monte Carlo dropout samples a new mask each pass"
    );
}

#[test]
fn every_parameter_gets_a_gradient() {
    let m = make(&[
        ("d_model", Value::Int(16)),
        ("d_mlp", Value::Int(32)),
        ("layer_norm", Value::Bool(true)),
        ("bias", Value::Bool(true)),
    ]);
    let x = Tensor::new(&[[1u32, 113, 2], [5, 113, 6]], &Device::Cpu).unwrap();
    let y = Tensor::new(&[3u32, 11], &Device::Cpu).unwrap();
    let loss = assay_sdk::nn::loss::cross_entropy(&m.forward(&x, &mut Hooks::none()).unwrap(), &y)
        .unwrap();
    let grads = loss.backward().unwrap();
    for (name, v) in m.parameters() {
        assert!(grads.get(&v).is_some(), "{name} has no gradient");
    }
}
