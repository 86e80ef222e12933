//! A Llama-style decoder (Touvron et al., 2023; Mistral has the same blocks): RMSNorm before
//! attention and MLP, rotary position embeddings, grouped-query attention (`n_kv_heads` key and
//! value heads shared by `n_heads / n_kv_heads` query heads each), a SwiGLU MLP
//! (`down(silu(gate(x)) · up(x))`), no biases, a final RMSNorm and an unembedding, optionally
//! tied to the embedding. Sizes from a few thousand parameters to 7B-class configurations
//! (`d_model 4096, n_layers 32, n_heads 32, n_kv_heads 8, d_mlp 14336`); weights are `f32`.
//!
//! Logits come at every position for a next-token dataset and at the last position otherwise.
//! Hook points as in TransformerLens: `hook_embed`, per block `hook_resid_pre`, `attn.hook_q`,
//! `attn.hook_k`, `attn.hook_v` (after rotation, keys and values per key-value head),
//! `attn.hook_attn_scores`, `attn.hook_pattern`, `attn.hook_z`, `hook_attn_out`,
//! `hook_resid_mid`, `mlp.hook_pre` (the gate), `mlp.hook_post` (`silu(gate) · up`),
//! `hook_mlp_out`, `hook_resid_post`, then `ln_final.hook_normalized` and `hook_logits`.
//! Parameters: `embed.W_E`, `blocks.{i}.ln1.w`, `blocks.{i}.attn.W_Q|W_K|W_V|W_O`,
//! `blocks.{i}.ln2.w`, `blocks.{i}.mlp.W_gate|W_in|W_out`, `ln_final.w`, `unembed.W_U`.

use assay_sdk::prelude::*;
use assay_sdk::KvCache;

use crate::linear::{lora_targets, per_row, trained_and_frozen, Linear, Named};
use crate::softmax::{masked_scores, scaled_softmax};
use crate::transformer::Names;

pub(crate) struct RmsNorm {
    pub w: Var,
    pub eps: f64,
}

impl RmsNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = x.broadcast_div(&(ms + self.eps)?.sqrt()?)?;
        Ok(normed.mul(&per_row(self.w.as_tensor(), &normed)?)?)
    }
}

pub(crate) struct LlamaBlock {
    pub ln1: RmsNorm,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub ln2: RmsNorm,
    pub gate: Linear,
    pub up: Linear,
    pub down: Linear,
    pub names: Names,
}

pub(crate) struct Llama {
    pub embed: Var,
    pub blocks: Vec<LlamaBlock>,
    pub norm: RmsNorm,
    /// `None`: tied to the embedding.
    pub unembed: Option<Linear>,
    pub heads: usize,
    pub kv_heads: usize,
    pub d_head: usize,
    /// `[max_positions, d_head]` cosines and sines of the rotation angles.
    pub cos: Tensor,
    pub sin: Tensor,
    pub all_positions: bool,
}

/// Rotation tables for positions `0..max` (the "rotate half" convention of the HF Llama code).
pub(crate) fn rope_tables(
    max: usize,
    d_head: usize,
    theta: f64,
    dev: &Device,
) -> Result<(Tensor, Tensor)> {
    let half = d_head / 2;
    let mut cos = Vec::with_capacity(max * d_head);
    let mut sin = Vec::with_capacity(max * d_head);
    for p in 0..max {
        let angles: Vec<f64> = (0..half)
            .map(|i| p as f64 / theta.powf(2.0 * i as f64 / d_head as f64))
            .collect();
        for _ in 0..2 {
            cos.extend(angles.iter().map(|a| a.cos() as f32));
            sin.extend(angles.iter().map(|a| a.sin() as f32));
        }
    }
    Ok((
        Tensor::from_vec(cos, (max, d_head), dev)?,
        Tensor::from_vec(sin, (max, d_head), dev)?,
    ))
}

impl Llama {
    /// Rotates `x` (`[batch, heads, t, d_head]`) for positions `p0..p0 + t`.
    fn rotate(&self, x: &Tensor, p0: usize) -> Result<Tensor> {
        let t = x.dim(2)?;
        if p0 + t > self.cos.dim(0)? {
            return Err(PluginError::invalid(format!(
                "position {} is beyond the model's {} positions",
                p0 + t,
                self.cos.dim(0)?
            )));
        }
        let cos = self.cos.narrow(0, p0, t)?;
        let sin = self.sin.narrow(0, p0, t)?;
        let half = self.d_head / 2;
        let x1 = x.narrow(D::Minus1, 0, half)?;
        let x2 = x.narrow(D::Minus1, half, half)?;
        let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
        Ok((x.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?)?)
    }

    /// Repeats each key/value head for the query heads that share it.
    fn expand_kv(&self, x: Tensor) -> Result<Tensor> {
        let rep = self.heads / self.kv_heads;
        if rep == 1 {
            return Ok(x);
        }
        let (b, kv, t, d) = x.dims4()?;
        Ok(x.unsqueeze(2)?
            .broadcast_as((b, kv, rep, t, d))?
            .contiguous()?
            .reshape((b, kv * rep, t, d))?)
    }

    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        match &self.unembed {
            Some(u) => u.forward(x),
            None => {
                let dims = x.dims().to_vec();
                let d = dims[dims.len() - 1];
                let rows = x.elem_count() / d;
                let mut out = dims.clone();
                if let Some(last) = out.last_mut() {
                    *last = self.embed.dim(0)?;
                }
                Ok(x.reshape((rows, d))?
                    .matmul(&self.embed.as_tensor().t()?)?
                    .reshape(out)?)
            }
        }
    }

    /// One block over `x` (`[batch, t, d]`) at positions `p0..`, with the causal mask, reading
    /// and extending `cache` when given.
    fn block(
        &self,
        i: usize,
        b: &LlamaBlock,
        x: Tensor,
        p0: usize,
        cache: Option<&mut KvCache>,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        let (batch, t, _) = x.dims3()?;
        let x = hooks.point(&b.names.resid_pre, x)?;
        let a_in = b.ln1.forward(&x)?;
        let split = |y: Tensor, heads: usize| -> Result<Tensor> {
            Ok(y.reshape((batch, t, heads, self.d_head))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = hooks.point(
            &b.names.q,
            self.rotate(&split(b.q.forward(&a_in)?, self.heads)?, p0)?,
        )?;
        let k = hooks.point(
            &b.names.k,
            self.rotate(&split(b.k.forward(&a_in)?, self.kv_heads)?, p0)?,
        )?;
        let v = hooks.point(&b.names.v, split(b.v.forward(&a_in)?, self.kv_heads)?)?;
        let (k, v) = match cache {
            Some(c) => c.append(i, k, v)?,
            None => (k, v),
        };
        let (k, v) = (self.expand_kv(k)?, self.expand_kv(v)?);
        let scale = 1.0 / (self.d_head as f64).sqrt();
        let pattern = if hooks.is_active() {
            let scores = masked_scores(&q.matmul(&k.t()?)?, scale)?;
            let scores = hooks.point(&b.names.scores, scores)?;
            hooks.point(
                &b.names.pattern,
                assay_sdk::nn::ops::softmax(&scores, D::Minus1)?,
            )?
        } else {
            scaled_softmax(&q.matmul(&k.t()?)?, scale, true)?
        };
        let z = hooks.point(&b.names.z, pattern.matmul(&v)?)?;
        let z = z
            .transpose(1, 2)?
            .reshape((batch, t, self.heads * self.d_head))?;
        let attn = hooks.point(&b.names.attn_out, b.o.forward(&z)?)?;
        let x = hooks.point(&b.names.resid_mid, (x + attn)?)?;
        let m_in = b.ln2.forward(&x)?;
        let gate = hooks.point(&b.names.mlp_pre, b.gate.forward(&m_in)?)?;
        let post = hooks.point(
            &b.names.mlp_post,
            (assay_sdk::nn::ops::silu(&gate)? * b.up.forward(&m_in)?)?,
        )?;
        let out = hooks.point(&b.names.mlp_out, b.down.forward(&post)?)?;
        hooks.point(&b.names.resid_post, (x + out)?)
    }

    /// Logits at every position (`all`) or at the last.
    fn run(
        &self,
        input: &Tensor,
        mut cache: Option<&mut KvCache>,
        hooks: &mut Hooks,
        all: bool,
    ) -> Result<Tensor> {
        let (batch, t) = input.dims2()?;
        let p0 = cache.as_ref().map_or(0, |c| c.position());
        let d = self.embed.dim(1)?;
        let mut x = hooks.point(
            hook_names::EMBED,
            self.embed
                .as_tensor()
                .embedding(&input.flatten_all()?)?
                .reshape((batch, t, d))?,
        )?;
        for (i, b) in self.blocks.iter().enumerate() {
            x = self.block(i, b, x, p0, cache.as_deref_mut(), hooks)?;
        }
        let x = hooks.point("ln_final.hook_normalized", self.norm.forward(&x)?)?;
        if all {
            return hooks.point(hook_names::LOGITS, self.logits(&x)?);
        }
        let last = x.narrow(1, t - 1, 1)?.squeeze(1)?;
        hooks.point(hook_names::LOGITS, self.logits(&last)?)
    }

    /// Every weight by name, and the LoRA adapters'.
    pub(crate) fn weights(&self) -> (Named, Named) {
        let (mut out, mut ad) = (
            vec![("embed.W_E".to_string(), self.embed.clone())],
            Vec::new(),
        );
        for (i, b) in self.blocks.iter().enumerate() {
            let pre = format!("blocks.{i}");
            out.push((format!("{pre}.ln1.w"), b.ln1.w.clone()));
            for (lin, name) in [(&b.q, "W_Q"), (&b.k, "W_K"), (&b.v, "W_V"), (&b.o, "W_O")] {
                lin.push(&format!("{pre}.attn"), name, "b", &mut out, &mut ad);
            }
            out.push((format!("{pre}.ln2.w"), b.ln2.w.clone()));
            for (lin, name) in [(&b.gate, "W_gate"), (&b.up, "W_in"), (&b.down, "W_out")] {
                lin.push(&format!("{pre}.mlp"), name, "b", &mut out, &mut ad);
            }
        }
        out.push(("ln_final.w".to_string(), self.norm.w.clone()));
        if let Some(u) = &self.unembed {
            u.push("unembed", "W_U", "b_U", &mut out, &mut ad);
        }
        (out, ad)
    }
}

impl Model for Llama {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        self.run(input, None, hooks, self.all_positions)
    }

    fn parameters(&self) -> Vec<(String, Var)> {
        trained_and_frozen(self.weights()).0
    }

    fn buffers(&self) -> Vec<(String, Var)> {
        trained_and_frozen(self.weights()).1
    }

    fn hook_points(&self) -> Vec<String> {
        let mut out = vec![hook_names::EMBED.to_string()];
        for b in &self.blocks {
            out.extend(b.names.all());
        }
        out.push("ln_final.hook_normalized".to_string());
        out.push(hook_names::LOGITS.to_string());
        out
    }

    fn generative(&self) -> Option<&dyn Generative> {
        Some(self)
    }
}

impl Generative for Llama {
    fn context_length(&self) -> Option<usize> {
        self.cos.dim(0).ok()
    }

    fn forward_cached(&self, input: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        // A cached call returns every new position's logits.
        self.run(input, Some(cache), &mut Hooks::none(), true)
    }
}

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
    let norm = |eps: f64| -> Result<RmsNorm> {
        Ok(RmsNorm {
            w: Var::from_tensor(&Tensor::ones(d, DType::F32, dev)?)?,
            eps,
        })
    };
    let eps = p.f64("norm_eps")?;
    let embed = Var::from_tensor(&init::normal(&mut rng, &[vocab_size, d], 0.0, std, dev)?)?;
    let mut blocks = Vec::with_capacity(layers);
    for i in 0..layers {
        blocks.push(LlamaBlock {
            ln1: norm(eps)?,
            q: lin(&mut rng, (d, heads * d_head))?,
            k: lin(&mut rng, (d, kv_heads * d_head))?,
            v: lin(&mut rng, (d, kv_heads * d_head))?,
            o: lin(&mut rng, (heads * d_head, d))?,
            ln2: norm(eps)?,
            gate: lin(&mut rng, (d, d_mlp))?,
            up: lin(&mut rng, (d, d_mlp))?,
            down: lin(&mut rng, (d_mlp, d))?,
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
    let mut model = Llama {
        embed,
        blocks,
        norm: norm(eps)?,
        unembed,
        heads,
        kv_heads,
        d_head,
        cos,
        sin,
        all_positions: matches!(cx.data.objective, Objective::NextToken { .. }),
    };
    let rank = p.usize("lora_rank")?;
    if rank > 0 {
        let targets = lora_targets(p, &["W_Q", "W_K", "W_V", "W_O", "W_gate", "W_in", "W_out"])?;
        let mut lrng = cx.build.rng("llama/lora");
        let alpha = p.f64("lora_alpha")?;
        for b in &mut model.blocks {
            for t in &targets {
                let lin = match t.as_str() {
                    "W_Q" => &mut b.q,
                    "W_K" => &mut b.k,
                    "W_V" => &mut b.v,
                    "W_O" => &mut b.o,
                    "W_gate" => &mut b.gate,
                    "W_in" => &mut b.up,
                    _ => &mut b.down,
                };
                lin.add_lora(&mut lrng, rank, alpha)?;
            }
        }
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
