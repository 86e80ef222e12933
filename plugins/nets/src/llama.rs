//! A Llama-style decoder (Touvron et al., 2023; Mistral has the same blocks): RMSNorm before
//! attention and MLP, rotary position embeddings, grouped-query attention (`n_kv_heads` key and
//! value heads shared by `n_heads / n_kv_heads` query heads each), a SwiGLU MLP
//! (`down(silu(gate(x)) · up(x))`), no biases, a final RMSNorm and an unembedding, optionally
//! tied to the embedding. Sizes from a few thousand parameters to 7B-class configurations
//! (`d_model 4096, n_layers 32, n_heads 32, n_kv_heads 8, d_mlp 14336`); weights are `f32`.
//!
//! Logits come at every position for a next-token dataset and at the last position otherwise.
//! The model is the shared [`crate::decoder::Decoder`] with RMSNorm, rotary positions and a
//! gated MLP; its hook points are the decoder's (no `hook_pos_embed`; `mlp.hook_pre` is the
//! gate, `mlp.hook_post` is `silu(gate) · up`; keys and values per key/value head).
//! Parameters: `embed.W_E`, `blocks.{i}.ln1.w`, `blocks.{i}.attn.W_Q|W_K|W_V|W_O`,
//! `blocks.{i}.ln2.w`, `blocks.{i}.mlp.W_gate|W_in|W_out`, `ln_final.w`, `unembed.W_U`.

use std::sync::Mutex;

use assay_sdk::prelude::*;

use crate::decoder::{rope_tables, Act, Block, Decoder, Names, Norm, Positions};
use crate::linear::{lora_targets, Linear};

fn build(p: &Params, cx: &ModelContext) -> Result<Box<dyn Model>> {
    let InputKind::Tokens { vocab_size } = cx.data.input else {
        return Err(PluginError::invalid("llama needs a dataset of tokens"));
    };
    let dev = &cx.build.device;
    let mut rng = cx.build.rng("llama");
    let (d, layers, heads, kv_heads, d_mlp) = (
        p.usize("d_model")?,
        p.usize("n_layers")?,
        p.usize("n_heads")?,
        p.usize("n_kv_heads")?,
        p.usize("d_mlp")?,
    );
    if d % heads != 0 || heads % kv_heads.max(1) != 0 || (d / heads) % 2 != 0 {
        return Err(PluginError::param(
            "n_heads",
            format!("need d_model ({d}) divisible by n_heads ({heads}) into an even head size, and n_heads divisible by n_kv_heads ({kv_heads})"),
        ));
    }
    let d_head = d / heads;
    let std = p.f64("init_std")? as f32;
    let lin = |rng: &mut init::Rng, shape: (usize, usize)| Linear::new(rng, shape, std, false, dev);
    let eps = p.f64("norm_eps")?;
    let norm = |eps: f64| Norm::rms(d, eps, dev);
    let embed = Var::from_tensor(&init::normal(&mut rng, &[vocab_size, d], 0.0, std, dev)?)?;
    let mut blocks = Vec::with_capacity(layers);
    for i in 0..layers {
        blocks.push(Block {
            ln1: Some(norm(eps)?),
            q: lin(&mut rng, (d, heads * d_head))?,
            k: lin(&mut rng, (d, kv_heads * d_head))?,
            v: lin(&mut rng, (d, kv_heads * d_head))?,
            o: lin(&mut rng, (heads * d_head, d))?,
            ln2: Some(norm(eps)?),
            gate: Some(lin(&mut rng, (d, d_mlp))?),
            w_in: lin(&mut rng, (d, d_mlp))?,
            w_out: lin(&mut rng, (d_mlp, d))?,
            names: Names::new(i),
        });
    }
    let max = match p.usize("max_positions")? {
        0 => cx.data.input_shape.first().copied().unwrap_or(1),
        n => n,
    };
    let (cos, sin) = rope_tables(max, d_head, p.f64("rope_theta")?, dev)?;
    let unembed = if p.bool("tie_embeddings")? {
        None
    } else {
        Some(lin(&mut rng, (d, cx.data.objective.outputs()))?)
    };
    let mut model = Decoder {
        embed,
        positions: Positions::Rotary { cos, sin },
        blocks,
        ln_final: Some(norm(eps)?),
        unembed,
        heads,
        kv_heads,
        d_head,
        act: Act::Silu,
        dropout: 0.0,
        mc_dropout: false,
        fused_attention: false,
        fused_qkv: false,
        training: true,
        dropout_rng: Mutex::new(cx.build.rng("llama/dropout")),
        all_positions: matches!(cx.data.objective, Objective::NextToken { .. }),
    };
    let rank = p.usize("lora_rank")?;
    if rank > 0 {
        let targets = lora_targets(p, &["W_Q", "W_K", "W_V", "W_O", "W_gate", "W_in", "W_out"])?;
        let mut lrng = cx.build.rng("llama/lora");
        model.add_lora(&targets, rank, p.f64("lora_alpha")?, &mut lrng)?;
    }
    Ok(Box::new(model))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::model("llama", "0.1.0", build)
            .summary("Llama/Mistral-style decoder: RMSNorm, rotary positions, SwiGLU, grouped-query attention")
            .param(Param::int("n_layers", 2, "blocks").min(1.0))
            .param(Param::int("d_model", 64, "residual width").min(2.0))
            .param(Param::int("n_heads", 4, "query heads").min(1.0))
            .param(Param::int("n_kv_heads", 2, "key/value heads (grouped-query attention)").min(1.0))
            .param(Param::int("d_mlp", 176, "SwiGLU hidden width").min(1.0))
            .param(Param::float("rope_theta", 10_000.0, "rotary base").min(1.0))
            .param(Param::float("norm_eps", 1e-6, "RMSNorm epsilon").min(0.0))
            .param(Param::int("max_positions", 0, "positions of the rotary tables; 0 = the dataset's sequence length").min(0.0))
            .param(Param::bool("tie_embeddings", false, "unembed with the transposed embedding"))
            .param(Param::float("init_std", 0.02, "standard deviation of the initial weights").min(0.0))
            .param(Param::int("lora_rank", 0, "rank of LoRA adapters; 0 = none (train every weight)").min(0.0))
            .param(Param::float("lora_alpha", 16.0, "LoRA scale numerator").min(0.0))
            .param(Param::list(
                "lora_targets",
                ParamType::StrList,
                vec![Value::Str("W_Q".into()), Value::Str("W_V".into())],
                "projections that get adapters: W_Q, W_K, W_V, W_O, W_gate, W_in, W_out",
            )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_sdk::KvCache;

    struct Ids;

    impl Tokenizer for Ids {
        fn encode(&self, text: &str) -> Result<Vec<u32>> {
            Ok(text.bytes().map(|b| u32::from(b) % 50).collect())
        }
        fn decode(&self, ids: &[u32]) -> Result<String> {
            Ok(ids.iter().map(|&i| char::from(b'0' + i as u8)).collect())
        }
        fn vocab_size(&self) -> usize {
            50
        }
        fn eos(&self) -> Option<u32> {
            None
        }
    }

    fn make(given: &[(&str, Value)]) -> Box<dyn Model> {
        let mut found = Vec::new();
        register(&mut found);
        let Factory::Model(f) = &found[0].factory else {
            unreachable!()
        };
        let cx = ModelContext {
            build: BuildContext {
                seed: 1,
                device: Device::Cpu,
            },
            data: DataInfo::tokens(32, 50, Objective::NextToken { vocab: 50 }),
        };
        f(&found[0].resolve(given).unwrap(), &cx).unwrap()
    }

    #[test]
    fn grouped_query_attention_with_a_cache_equals_recomputation() {
        let m = make(&[("d_model", Value::Int(32)), ("d_mlp", Value::Int(48))]);
        assert_eq!(m.parameters().len(), 1 + 2 * 9 + 2);
        let x = Tensor::new(&[[3u32, 1, 4, 1, 5, 9, 2, 6, 5, 3]], &Device::Cpu).unwrap();
        let mut hooks = Hooks::capture(["blocks.0.attn.hook_k", "blocks.0.attn.hook_pattern"]);
        let full = m.forward(&x, &mut hooks).unwrap();
        assert_eq!(full.dims(), &[1, 10, 50]);
        assert_eq!(
            hooks.cached("blocks.0.attn.hook_k").unwrap().dims(),
            &[1, 2, 10, 8]
        );
        assert_eq!(
            hooks.cached("blocks.0.attn.hook_pattern").unwrap().dims(),
            &[1, 4, 10, 10]
        );
        let mut cache = KvCache::new();
        let a = m
            .generative()
            .unwrap()
            .forward_cached(&x.narrow(1, 0, 7).unwrap(), &mut cache)
            .unwrap();
        let b = m
            .generative()
            .unwrap()
            .forward_cached(&x.narrow(1, 7, 3).unwrap(), &mut cache)
            .unwrap();
        let diff = (Tensor::cat(&[&a, &b], 1).unwrap() - full)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-5, "{diff}");
        let s = assay_sdk::Sampling {
            max_tokens: 8,
            temperature: 0.7,
            seed: 3,
            ..Default::default()
        };
        let cached = assay_sdk::generate(&*m, &Ids, &["abc", "xyz"], &s, &Device::Cpu).unwrap();
        let plain = assay_sdk::generate(
            &*m,
            &Ids,
            &["abc", "xyz"],
            &assay_sdk::Sampling {
                use_cache: false,
                ..s.clone()
            },
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(cached, plain);
    }

    #[test]
    fn lora_adapters_start_as_the_identity() {
        let base = make(&[]);
        let adapted = make(&[
            ("lora_rank", Value::Int(2)),
            (
                "lora_targets",
                Value::List(vec![Value::Str("W_Q".into()), Value::Str("W_gate".into())]),
            ),
        ]);
        let x = Tensor::new(&[[1u32, 2, 3]], &Device::Cpu).unwrap();
        let a = base.forward(&x, &mut Hooks::none()).unwrap();
        let b = adapted.forward(&x, &mut Hooks::none()).unwrap();
        assert_eq!(
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        let trained: Vec<String> = adapted.parameters().into_iter().map(|(n, _)| n).collect();
        assert!(trained.iter().all(|n| n.contains("lora_")));
        assert!(
            trained.iter().any(|n| n.contains("mlp.W_gate.lora_A")),
            "{trained:?}"
        );
        assert_eq!(
            trained.len(),
            2 * 2 * 2,
            "A and B for 2 targets in 2 blocks"
        );
    }
}
