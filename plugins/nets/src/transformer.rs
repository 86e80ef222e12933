//! A decoder-only transformer, as in the grokking studies (Nanda et al.; Furuta et al.): token
//! and optional learned position embeddings, `n_layers` blocks of causal multi-head attention and
//! an MLP, optional LayerNorm and biases, and an unembedding read at the **last position** (the
//! classification setup of modular arithmetic) or, for a next-token dataset, at every position
//! (`[batch, pos, vocab]` logits: a GPT-2-style language model with `layer_norm = true` and
//! `activation = "gelu"`).
//!
//! Initialisation (the grokking code's): `W_E ~ N(0, 1/√vocab)`, `W_pos`, attention and MLP
//! weights `~ N(0, 1/√d_model)`, `W_U ~ N(0, 1/√d_model)`, biases 0, LayerNorm weights 1.
//!
//! Parameters (TransformerLens names; matrices stored input-major): `embed.W_E [vocab, d]`,
//! `pos_embed.W_pos [n_ctx, d]`, `blocks.{i}.attn.W_Q|W_K|W_V [d, heads·d_head]`,
//! `blocks.{i}.attn.W_O [heads·d_head, d]`, `blocks.{i}.mlp.W_in [d, d_mlp]`,
//! `blocks.{i}.mlp.W_out [d_mlp, d]`, `unembed.W_U [d, classes]`, with `b_*` biases and
//! `ln1`, `ln2`, `ln_final` `w`/`b` when enabled.
//!
//! Hook points: `hook_embed`, `hook_pos_embed`, and per block `blocks.{i}.hook_resid_pre`,
//! `attn.hook_q`, `attn.hook_k`, `attn.hook_v` (`[batch, heads, pos, d_head]`),
//! `attn.hook_attn_scores`, `attn.hook_pattern` (`[batch, heads, query, key]`), `attn.hook_z`,
//! `hook_attn_out`, `hook_resid_mid`, `mlp.hook_pre`, `mlp.hook_post`, `hook_mlp_out`,
//! `hook_resid_post`; then `ln_final.hook_normalized` and `hook_logits`.

use assay_sdk::prelude::*;
use assay_sdk::KvCache;

use crate::linear::{lora_targets, per_row, trained_and_frozen, Linear, Named};
use crate::softmax::{masked_scores, scaled_softmax};

pub(crate) struct Norm {
    pub w: Var,
    pub b: Var,
}

impl Norm {
    pub fn new(d: usize, dev: &Device) -> Result<Norm> {
        Ok(Norm {
            w: Var::from_tensor(&Tensor::ones(d, DType::F32, dev)?)?,
            b: Var::from_tensor(&Tensor::zeros(d, DType::F32, dev)?)?,
        })
    }

    /// LayerNorm over the last dimension, from basic ops (candle's fused kernel has no backward).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + 1e-5)?.sqrt()?)?;
        let scaled = normed.mul(&per_row(self.w.as_tensor(), &normed)?)?;
        Ok((&scaled + per_row(self.b.as_tensor(), &scaled)?)?)
    }
}

pub(crate) struct Names {
    pub resid_pre: String,
    pub q: String,
    pub k: String,
    pub v: String,
    pub scores: String,
    pub pattern: String,
    pub z: String,
    pub attn_out: String,
    pub resid_mid: String,
    pub mlp_pre: String,
    pub mlp_post: String,
    pub mlp_out: String,
    pub resid_post: String,
}

impl Names {
    pub fn new(i: usize) -> Names {
        let b = |s: &str| hook_names::block(i, s);
        Names {
            resid_pre: b("hook_resid_pre"),
            q: b("attn.hook_q"),
            k: b("attn.hook_k"),
            v: b("attn.hook_v"),
            scores: b("attn.hook_attn_scores"),
            pattern: b("attn.hook_pattern"),
            z: b("attn.hook_z"),
            attn_out: b("hook_attn_out"),
            resid_mid: b("hook_resid_mid"),
            mlp_pre: b("mlp.hook_pre"),
            mlp_post: b("mlp.hook_post"),
            mlp_out: b("hook_mlp_out"),
            resid_post: b("hook_resid_post"),
        }
    }

    pub fn all(&self) -> Vec<String> {
        [
            &self.resid_pre,
            &self.q,
            &self.k,
            &self.v,
            &self.scores,
            &self.pattern,
            &self.z,
            &self.attn_out,
            &self.resid_mid,
            &self.mlp_pre,
            &self.mlp_post,
            &self.mlp_out,
            &self.resid_post,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

pub(crate) struct Block {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub w_in: Linear,
    pub w_out: Linear,
    pub ln1: Option<Norm>,
    pub ln2: Option<Norm>,
    pub names: Names,
}

/// `table` (`[n, d]`, one row per position) repeated for each of `batch` examples, as
/// `[batch, n, d]`. A gather rather than a broadcast: the backward pass of a broadcast over the
/// batch sums along the leading axis, which candle does with a slow strided loop.
pub(crate) fn rows_per_example(table: &Tensor, batch: usize) -> Result<Tensor> {
    let (n, d) = table.dims2()?;
    let ids: Vec<u32> = (0..batch).flat_map(|_| 0..n as u32).collect();
    let ids = Tensor::from_vec(ids, batch * n, table.device())?;
    Ok(table.embedding(&ids)?.reshape((batch, n, d))?)
}

/// The MLP's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub(crate) enum Act {
    Relu,
    /// Exact GELU (erf).
    Gelu,
    /// GELU's tanh approximation (GPT-2's `gelu_new`).
    GeluTanh,
}

impl Act {
    pub(crate) fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Act::Relu => x.relu()?,
            Act::Gelu => x.gelu_erf()?,
            Act::GeluTanh => x.gelu()?,
        })
    }
}

/// Where a block's queries, keys and values are projected from.
enum Source<'a> {
    /// The block's (normalised) input, `[batch, pos, d]`.
    Resid(&'a Tensor),
    /// The token ids `[batch, pos]` of a first block that reads the embeddings unnormalised.
    Tokens(&'a Tensor),
}

pub(crate) struct Transformer {
    pub embed: Var,
    pub pos: Option<Var>,
    pub blocks: Vec<Block>,
    pub ln_final: Option<Norm>,
    pub unembed: Linear,
    pub heads: usize,
    pub d_head: usize,
    pub act: Act,
    /// Dropout on the embeddings and on each attention and MLP output.
    pub dropout: f64,
    /// Keep dropout on when not training (Monte Carlo dropout).
    pub mc_dropout: bool,
    pub training: bool,
    pub dropout_rng: std::sync::Mutex<init::Rng>,
    /// Logits at every position (next-token training) instead of the last only.
    pub all_positions: bool,
}

impl Transformer {
    /// Adds rank-`rank` LoRA adapters to the named projections (`W_Q`, `W_K`, `W_V`, `W_O`,
    /// `W_in`, `W_out`; checked by [`lora_targets`]) of every block; the base weights then stop
    /// training.
    fn add_lora(
        &mut self,
        targets: &[String],
        rank: usize,
        alpha: f64,
        rng: &mut init::Rng,
    ) -> Result<()> {
        for b in &mut self.blocks {
            for t in targets {
                let lin = match t.as_str() {
                    "W_Q" => &mut b.q,
                    "W_K" => &mut b.k,
                    "W_V" => &mut b.v,
                    "W_O" => &mut b.o,
                    "W_in" => &mut b.w_in,
                    _ => &mut b.w_out,
                };
                lin.add_lora(rng, rank, alpha)?;
            }
        }
        Ok(())
    }

    /// Inverted dropout with the model's own seeded generator (candle's would not be seeded),
    /// when training or with Monte Carlo dropout on.
    fn drop(&self, x: Tensor) -> Result<Tensor> {
        if self.dropout <= 0.0 || !(self.training || self.mc_dropout) {
            return Ok(x);
        }
        let keep = 1.0 - self.dropout;
        let mask = {
            let mut rng = self
                .dropout_rng
                .lock()
                .map_err(|_| PluginError::invalid("dropout generator poisoned"))?;
            init::uniform(&mut rng, x.dims(), 0.0, 1.0, x.device())?
        };
        let mask = (mask.ge(self.dropout)?.to_dtype(x.dtype())? / keep)?;
        Ok(x.mul(&mask)?)
    }

    /// Every weight by name, and the LoRA adapters' (trained instead when there are any).
    pub(crate) fn weights(&self) -> (Named, Named) {
        let mut ad = Vec::new();
        let mut out = vec![("embed.W_E".to_string(), self.embed.clone())];
        if let Some(p) = &self.pos {
            out.push(("pos_embed.W_pos".to_string(), p.clone()));
        }
        for (i, b) in self.blocks.iter().enumerate() {
            let pre = format!("blocks.{i}");
            if let Some(n) = &b.ln1 {
                out.push((format!("{pre}.ln1.w"), n.w.clone()));
                out.push((format!("{pre}.ln1.b"), n.b.clone()));
            }
            b.q.push(&format!("{pre}.attn"), "W_Q", "b_Q", &mut out, &mut ad);
            b.k.push(&format!("{pre}.attn"), "W_K", "b_K", &mut out, &mut ad);
            b.v.push(&format!("{pre}.attn"), "W_V", "b_V", &mut out, &mut ad);
            b.o.push(&format!("{pre}.attn"), "W_O", "b_O", &mut out, &mut ad);
            if let Some(n) = &b.ln2 {
                out.push((format!("{pre}.ln2.w"), n.w.clone()));
                out.push((format!("{pre}.ln2.b"), n.b.clone()));
            }
            b.w_in
                .push(&format!("{pre}.mlp"), "W_in", "b_in", &mut out, &mut ad);
            b.w_out
                .push(&format!("{pre}.mlp"), "W_out", "b_out", &mut out, &mut ad);
        }
        if let Some(n) = &self.ln_final {
            out.push(("ln_final.w".to_string(), n.w.clone()));
            out.push(("ln_final.b".to_string(), n.b.clone()));
        }
        self.unembed
            .push("unembed", "W_U", "b_U", &mut out, &mut ad);
        (out, ad)
    }

    /// Causal self-attention of `x` (`[batch, pos, d]`). With `last_only`, only the last
    /// position's query is computed (it attends to every position, so no mask is needed) and the
    /// result is `[batch, 1, d]`.
    /// `lin` applied to the block's input at positions `from..t` of `src`: `[batch, n, out]`.
    fn project(&self, lin: &Linear, src: &Source<'_>, from: usize) -> Result<Tensor> {
        match src {
            Source::Resid(x) => {
                let t = x.dim(1)?;
                lin.forward(&x.narrow(1, from, t - from)?)
            }
            Source::Tokens(ids) => {
                // (E[tok] + P[pos]) W = (E W)[tok] + (P W)[pos]: project the vocabulary table
                // once instead of every token of the batch.
                let (batch, t) = ids.dims2()?;
                let n = t - from;
                let table = self.embed.as_tensor().matmul(lin.w.as_tensor())?;
                let ids = ids.narrow(1, from, n)?.contiguous()?.flatten_all()?;
                let mut y = table.embedding(&ids)?.reshape((batch, n, ()))?;
                if let Some(pos) = &self.pos {
                    let p = pos
                        .as_tensor()
                        .narrow(0, from, n)?
                        .matmul(lin.w.as_tensor())?;
                    y = (y + rows_per_example(&p, batch)?)?;
                }
                Ok(match &lin.b {
                    Some(b) => (&y + per_row(b.as_tensor(), &y)?)?,
                    None => y,
                })
            }
        }
    }

    fn attention(
        &self,
        b: &Block,
        src: &Source<'_>,
        hooks: &mut Hooks,
        last_only: bool,
    ) -> Result<Tensor> {
        let (batch, t) = match src {
            Source::Resid(x) => (x.dim(0)?, x.dim(1)?),
            Source::Tokens(ids) => ids.dims2()?,
        };
        let split = |y: Tensor| -> Result<Tensor> {
            let n = y.dim(1)?;
            Ok(y.reshape((batch, n, self.heads, self.d_head))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let from = if last_only { t - 1 } else { 0 };
        let tq = t - from;
        let q = hooks.point(&b.names.q, split(self.project(&b.q, src, from)?)?)?;
        let k = hooks.point(&b.names.k, split(self.project(&b.k, src, 0)?)?)?;
        let v = hooks.point(&b.names.v, split(self.project(&b.v, src, 0)?)?)?;
        let scale = 1.0 / (self.d_head as f64).sqrt();
        let pattern = if hooks.is_active() {
            let scores = masked_scores(&q.matmul(&k.t()?)?, scale)?;
            let scores = hooks.point(&b.names.scores, scores)?;
            // candle's fused softmax_last_dim has no backward; this one is built from basic ops.
            hooks.point(
                &b.names.pattern,
                assay_sdk::nn::ops::softmax(&scores, D::Minus1)?,
            )?
        } else {
            // The last query (last_only) sees every key: the causal rule gives that too.
            scaled_softmax(&q.matmul(&k.t()?)?, scale, true)?
        };
        let z = hooks.point(&b.names.z, pattern.matmul(&v)?)?;
        let z = z
            .transpose(1, 2)?
            .reshape((batch, tq, self.heads * self.d_head))?;
        b.o.forward(&z)
    }
}

impl Model for Transformer {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        let (batch, t) = input.dims2()?;
        let d = self.embed.dims()[1];
        let mut x = hooks.point(
            hook_names::EMBED,
            self.embed
                .as_tensor()
                .embedding(&input.flatten_all()?)?
                .reshape((batch, t, d))?,
        )?;
        if let Some(pos) = &self.pos {
            if t > pos.dims()[0] {
                return Err(PluginError::invalid(format!(
                    "sequence of {t} tokens, but n_ctx is {}",
                    pos.dims()[0]
                )));
            }
            let p = hooks.point(hook_names::POS_EMBED, pos.as_tensor().narrow(0, 0, t)?)?;
            x = (x + rows_per_example(&p, batch)?)?;
        }
        let dropping = self.dropout > 0.0 && (self.training || self.mc_dropout);
        x = self.drop(x)?;
        // Only the last position reaches the logits, so when nothing watches the activations
        // the last block computes its query, MLP and residual at that position alone: the same
        // logits for a third of the work at three positions.
        let n_blocks = self.blocks.len();
        for (i, b) in self.blocks.iter().enumerate() {
            let last_only = !self.all_positions && !hooks.is_active() && i + 1 == n_blocks && t > 1;
            x = hooks.point(&b.names.resid_pre, x)?;
            let a_in = match &b.ln1 {
                Some(n) => n.forward(&x)?,
                None => x.clone(),
            };
            // Block 0 without LayerNorm reads the embeddings directly: when nothing watches,
            // its projections come from the projected vocabulary table.
            let src = if i == 0 && b.ln1.is_none() && !hooks.is_active() && !dropping {
                Source::Tokens(input)
            } else {
                Source::Resid(&a_in)
            };
            let attn = self.attention(b, &src, hooks, last_only)?;
            let attn = hooks.point(&b.names.attn_out, self.drop(attn)?)?;
            if last_only {
                x = x.narrow(1, t - 1, 1)?;
            }
            x = hooks.point(&b.names.resid_mid, (x + attn)?)?;
            let m_in = match &b.ln2 {
                Some(n) => n.forward(&x)?,
                None => x.clone(),
            };
            let pre = hooks.point(&b.names.mlp_pre, b.w_in.forward(&m_in)?)?;
            let post = hooks.point(&b.names.mlp_post, self.act.apply(&pre)?)?;
            let out = hooks.point(&b.names.mlp_out, self.drop(b.w_out.forward(&post)?)?)?;
            x = hooks.point(&b.names.resid_post, (x + out)?)?;
        }
        if let Some(n) = &self.ln_final {
            x = hooks.point("ln_final.hook_normalized", n.forward(&x)?)?;
        }
        if self.all_positions {
            return hooks.point(hook_names::LOGITS, self.unembed.forward(&x)?);
        }
        let last = x.narrow(1, x.dim(1)? - 1, 1)?.squeeze(1)?;
        hooks.point(hook_names::LOGITS, self.unembed.forward(&last)?)
    }

    fn parameters(&self) -> Vec<(String, Var)> {
        trained_and_frozen(self.weights()).0
    }

    fn buffers(&self) -> Vec<(String, Var)> {
        trained_and_frozen(self.weights()).1
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn hook_points(&self) -> Vec<String> {
        let mut out = vec![hook_names::EMBED.to_string()];
        if self.pos.is_some() {
            out.push(hook_names::POS_EMBED.to_string());
        }
        for b in &self.blocks {
            out.extend(b.names.all());
        }
        if self.ln_final.is_some() {
            out.push("ln_final.hook_normalized".to_string());
        }
        out.push(hook_names::LOGITS.to_string());
        out
    }

    fn generative(&self) -> Option<&dyn Generative> {
        Some(self)
    }
}

impl Generative for Transformer {
    fn context_length(&self) -> Option<usize> {
        self.pos.as_ref().map(|p| p.dims()[0])
    }

    fn forward_cached(&self, input: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let (batch, n) = input.dims2()?;
        let p0 = cache.position();
        let d = self.embed.dims()[1];
        let mut x = self
            .embed
            .as_tensor()
            .embedding(&input.flatten_all()?)?
            .reshape((batch, n, d))?;
        if let Some(pos) = &self.pos {
            if p0 + n > pos.dims()[0] {
                return Err(PluginError::invalid(format!(
                    "position {} is beyond n_ctx = {}",
                    p0 + n,
                    pos.dims()[0]
                )));
            }
            x = (x + rows_per_example(&pos.as_tensor().narrow(0, p0, n)?, batch)?)?;
        }
        x = self.drop(x)?;
        let split = |y: Tensor| -> Result<Tensor> {
            Ok(y.reshape((batch, n, self.heads, self.d_head))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let scale = 1.0 / (self.d_head as f64).sqrt();
        for (i, b) in self.blocks.iter().enumerate() {
            let a_in = match &b.ln1 {
                Some(norm) => norm.forward(&x)?,
                None => x.clone(),
            };
            let q = split(b.q.forward(&a_in)?)?;
            let (k, v) =
                cache.append(i, split(b.k.forward(&a_in)?)?, split(b.v.forward(&a_in)?)?)?;
            let pattern = scaled_softmax(&q.matmul(&k.t()?)?, scale, true)?;
            let z = pattern.matmul(&v)?.transpose(1, 2)?.reshape((
                batch,
                n,
                self.heads * self.d_head,
            ))?;
            x = (x + self.drop(b.o.forward(&z)?)?)?;
            let m_in = match &b.ln2 {
                Some(norm) => norm.forward(&x)?,
                None => x.clone(),
            };
            let pre = b.w_in.forward(&m_in)?;
            let post = self.act.apply(&pre)?;
            x = (x + self.drop(b.w_out.forward(&post)?)?)?;
        }
        if let Some(norm) = &self.ln_final {
            x = norm.forward(&x)?;
        }
        self.unembed.forward(&x)
    }
}

fn build(p: &Params, cx: &ModelContext) -> Result<Box<dyn Model>> {
    let InputKind::Tokens { vocab_size } = cx.data.input else {
        return Err(PluginError::invalid(
            "the transformer needs a dataset of tokens",
        ));
    };
    let dev = &cx.build.device;
    let mut rng = cx.build.rng("transformer");
    let (d, heads, layers, d_mlp) = (
        p.usize("d_model")?,
        p.usize("n_heads")?,
        p.usize("n_layers")?,
        p.usize("d_mlp")?,
    );
    let d_head = match p.usize("d_head")? {
        0 if d % heads == 0 => d / heads,
        0 => {
            return Err(PluginError::param(
                "d_head",
                format!("d_model {d} is not a multiple of n_heads {heads}; set d_head"),
            ))
        }
        h => h,
    };
    let (bias, ln) = (p.bool("bias")?, p.bool("layer_norm")?);
    let std_d = 1.0 / (d as f32).sqrt();
    let embed = Var::from_tensor(&init::normal(
        &mut rng,
        &[vocab_size, d],
        0.0,
        1.0 / (vocab_size as f32).sqrt(),
        dev,
    )?)?;
    let n_ctx = cx.data.input_shape.first().copied().unwrap_or(1);
    let pos = if p.bool("pos_embed")? {
        Some(Var::from_tensor(&init::normal(
            &mut rng,
            &[n_ctx, d],
            0.0,
            std_d,
            dev,
        )?)?)
    } else {
        None
    };
    let mut blocks = Vec::new();
    for i in 0..layers {
        let hd = heads * d_head;
        blocks.push(Block {
            q: Linear::new(&mut rng, (d, hd), std_d, bias, dev)?,
            k: Linear::new(&mut rng, (d, hd), std_d, bias, dev)?,
            v: Linear::new(&mut rng, (d, hd), std_d, bias, dev)?,
            o: Linear::new(&mut rng, (hd, d), std_d, bias, dev)?,
            w_in: Linear::new(&mut rng, (d, d_mlp), std_d, bias, dev)?,
            w_out: Linear::new(&mut rng, (d_mlp, d), std_d, bias, dev)?,
            ln1: if ln { Some(Norm::new(d, dev)?) } else { None },
            ln2: if ln { Some(Norm::new(d, dev)?) } else { None },
            names: Names::new(i),
        });
    }
    let unembed = Linear::new(&mut rng, (d, cx.data.objective.outputs()), std_d, bias, dev)?;
    let mut model = Transformer {
        embed,
        pos,
        blocks,
        ln_final: if ln { Some(Norm::new(d, dev)?) } else { None },
        unembed,
        heads,
        d_head,
        act: assay_sdk::params::read(p, "activation")?,
        all_positions: matches!(cx.data.objective, Objective::NextToken { .. }),
        dropout: p.f64("dropout")?,
        mc_dropout: p.bool("mc_dropout")?,
        training: true,
        dropout_rng: std::sync::Mutex::new(cx.build.rng("transformer/dropout")),
    };
    let rank = p.usize("lora_rank")?;
    if rank > 0 {
        let targets = lora_targets(p, &["W_Q", "W_K", "W_V", "W_O", "W_in", "W_out"])?;
        model.add_lora(
            &targets,
            rank,
            p.f64("lora_alpha")?,
            &mut cx.build.rng("transformer/lora"),
        )?;
    }
    Ok(Box::new(model))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::model("transformer", "0.1.0", build)
            .summary(
                "decoder transformer (causal attention + MLP blocks), logits at the last position",
            )
            .param(Param::int("n_layers", 1, "blocks").min(1.0))
            .param(Param::int("n_heads", 4, "attention heads").min(1.0))
            .param(Param::int("d_model", 128, "residual width").min(1.0))
            .param(Param::int("d_head", 0, "width per head; 0 = d_model / n_heads").min(0.0))
            .param(Param::int("d_mlp", 512, "MLP width").min(1.0))
            .param(assay_sdk::params::declare::<Act>(
                "activation",
                Some("relu".into()),
                "MLP activation (gelu_tanh: GPT-2's gelu_new)",
            ))
            .param(
                Param::float(
                    "dropout",
                    0.0,
                    "dropout on embeddings and attention/MLP outputs",
                )
                .range(0.0, 0.99),
            )
            .param(Param::bool(
                "mc_dropout",
                false,
                "keep dropout on at evaluation and generation (Monte Carlo dropout)",
            ))
            .param(
                Param::int(
                    "lora_rank",
                    0,
                    "rank of LoRA adapters; 0 = none (train every weight)",
                )
                .min(0.0),
            )
            .param(
                Param::float(
                    "lora_alpha",
                    16.0,
                    "LoRA scale numerator: updates are alpha / rank · x A B",
                )
                .min(0.0),
            )
            .param(Param::list(
                "lora_targets",
                ParamType::StrList,
                vec![Value::Str("W_Q".into()), Value::Str("W_V".into())],
                "projections that get adapters: W_Q, W_K, W_V, W_O, W_in, W_out",
            ))
            .param(Param::bool(
                "layer_norm",
                false,
                "LayerNorm before attention, MLP and unembedding",
            ))
            .param(Param::bool("bias", false, "biases in every linear map"))
            .param(Param::bool(
                "pos_embed",
                true,
                "learned position embeddings",
            )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let loss =
            assay_sdk::nn::loss::cross_entropy(&m.forward(&x, &mut Hooks::none()).unwrap(), &y)
                .unwrap();
        let grads = loss.backward().unwrap();
        for (name, v) in m.parameters() {
            assert!(grads.get(&v).is_some(), "{name} has no gradient");
        }
    }
}
