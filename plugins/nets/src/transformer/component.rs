//! The `transformer` component: its parameters and how a model is built from them.

use std::sync::Mutex;

use assay_sdk::prelude::*;

use crate::decoder::{Act, Block, Decoder, Names, Norm, Positions};
use crate::linear::{lora_targets, Linear};

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
    let positions = if p.bool("pos_embed")? {
        Positions::Learned(Var::from_tensor(&init::normal(
            &mut rng,
            &[n_ctx, d],
            0.0,
            std_d,
            dev,
        )?)?)
    } else {
        Positions::None
    };
    let mut blocks = Vec::new();
    for i in 0..layers {
        let hd = heads * d_head;
        blocks.push(Block {
            q: Linear::new(&mut rng, (d, hd), std_d, bias, dev)?,
            k: Linear::new(&mut rng, (d, hd), std_d, bias, dev)?,
            v: Linear::new(&mut rng, (d, hd), std_d, bias, dev)?,
            o: Linear::new(&mut rng, (hd, d), std_d, bias, dev)?,
            gate: None,
            w_in: Linear::new(&mut rng, (d, d_mlp), std_d, bias, dev)?,
            w_out: Linear::new(&mut rng, (d_mlp, d), std_d, bias, dev)?,
            ln1: if ln { Some(Norm::layer(d, dev)?) } else { None },
            ln2: if ln { Some(Norm::layer(d, dev)?) } else { None },
            names: Names::new(i),
        });
    }
    let unembed = Linear::new(&mut rng, (d, cx.data.objective.outputs()), std_d, bias, dev)?;
    let mut model = Decoder {
        embed,
        positions,
        blocks,
        ln_final: if ln { Some(Norm::layer(d, dev)?) } else { None },
        unembed: Some(unembed),
        heads,
        kv_heads: heads,
        d_head,
        act: assay_sdk::params::read::<Act>(p, "activation")?,
        all_positions: matches!(cx.data.objective, Objective::NextToken { .. }),
        dropout: p.f64("dropout")?,
        mc_dropout: p.bool("mc_dropout")?,
        fused_attention: p.bool("fused_attention")?,
        fused_qkv: p.bool("fused_qkv")?,
        training: true,
        dropout_rng: Mutex::new(cx.build.rng("transformer/dropout")),
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
            ))
            .param(Param::bool(
                "fused_attention",
                false,
                "attention as one fused CPU operation for short sequences and one-token \
                 generation (faster; the same function, rounded differently, so off by default to \
                 keep stored runs reproducible)",
            ))
            .param(Param::bool(
                "fused_qkv",
                false,
                "for sequences longer than 16 positions, the query, key and value projections as \
                 one product that the blocked causal attention reads in place (faster; the same \
                 values, but the block input's gradient rounds differently, so off by default to \
                 keep stored runs reproducible)",
            )),
    );
}
