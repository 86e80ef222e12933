//! A multi-layer perceptron.
//!
//! Features are flattened; token inputs are embedded (one table shared by all positions) and the
//! embeddings concatenated or summed. Hidden layers apply the activation; `d_unembed > 0` adds a
//! linear layer of that width before the output (no activation between them), and the output
//! layer is linear. With `hidden = [48]`, `d_embed = 500`, `d_unembed = 500`, `combine = "sum"`,
//! `bias = false` and `init = "normal_fan_in"` this is the grokking-tickets MLP (embed, inproj,
//! sum, ReLU, outproj, unembed).
//!
//! `init = "pytorch"` initialises as PyTorch's `nn.Linear` and `nn.Embedding` do (uniform
//! ±1/sqrt(fan_in) and standard normal); `init = "normal_fan_in"` draws every matrix from
//! N(0, init_scale / sqrt(fan_in)), the embedding's fan-in being the vocabulary size. Both use
//! the run seed.
//!
//! Hook points: `hook_embed` (token inputs), `blocks.{i}.mlp.hook_pre` and
//! `blocks.{i}.mlp.hook_post` for hidden layer `i`, and `hook_logits`.

use assay_sdk::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
enum Activation {
    Relu,
    Tanh,
    Gelu,
}

struct Layer {
    w: Var,
    b: Option<Var>,
}

struct Mlp {
    embed: Option<Var>,
    /// Sum the token embeddings instead of concatenating them.
    sum: bool,
    layers: Vec<Layer>,
    /// The last hidden-to-output step is two linear layers without an activation between.
    linear_head: bool,
    activation: Activation,
    hook_pre: Vec<String>,
    hook_post: Vec<String>,
}

impl Layer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.matmul(self.w.as_tensor())?;
        Ok(match &self.b {
            Some(b) => y.broadcast_add(b.as_tensor())?,
            None => y,
        })
    }
}

impl Mlp {
    fn activate(&self, i: usize, x: Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        if i >= self.hook_pre.len() {
            return Ok(x);
        }
        let x = hooks.point(&self.hook_pre[i], x)?;
        let x = match self.activation {
            Activation::Relu => assay_sdk::ops::relu(&x)?,
            Activation::Tanh => x.tanh()?,
            Activation::Gelu => x.gelu_erf()?,
        };
        hooks.point(&self.hook_post[i], x)
    }

    /// Same logits as the layer-by-layer computation, with less work, for when no hook point
    /// is watched: summed embeddings meet the first layer as the projected vocabulary table,
    /// Σ_i E[tok_i] W = Σ_i (E W)[tok_i]; and a linear layer followed by the output layer
    /// (no activation between) is one product, h (W_a W_b) + (b_a W_b + b_b).
    fn forward_fused(&self, e: &Var, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        let first = &self.layers[0];
        let table = e.as_tensor().matmul(first.w.as_tensor())?;
        let mut x = crate::fused::embedding_sum(&table, input)?;
        if let Some(b) = &first.b {
            x = x.broadcast_add(b.as_tensor())?;
        }
        x = self.activate(0, x, hooks)?;
        let n = self.layers.len();
        let mut i = 1;
        while i < n {
            if self.linear_head && i == n - 2 {
                let (a, b) = (&self.layers[i], &self.layers[i + 1]);
                let w = a.w.as_tensor().matmul(b.w.as_tensor())?;
                x = x.matmul(&w)?;
                let bias = match (&a.b, &b.b) {
                    (Some(ba), Some(bb)) => Some(
                        (ba.as_tensor()
                            .unsqueeze(0)?
                            .matmul(b.w.as_tensor())?
                            .squeeze(0)?
                            + bb.as_tensor())?,
                    ),
                    (Some(ba), None) => Some(
                        ba.as_tensor()
                            .unsqueeze(0)?
                            .matmul(b.w.as_tensor())?
                            .squeeze(0)?,
                    ),
                    (None, Some(bb)) => Some(bb.as_tensor().clone()),
                    (None, None) => None,
                };
                if let Some(bias) = bias {
                    x = x.broadcast_add(&bias)?;
                }
                break;
            }
            x = self.layers[i].forward(&x)?;
            x = self.activate(i, x, hooks)?;
            i += 1;
        }
        Ok(x)
    }
}

impl Model for Mlp {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        if let Some(e) = &self.embed {
            if self.sum && !hooks.is_active() {
                return self.forward_fused(e, input, hooks);
            }
        }
        let mut x = match &self.embed {
            Some(e) => {
                let (b, t) = input.dims2()?;
                let emb = e.as_tensor().embedding(&input.flatten_all()?)?;
                let emb = hooks.point(hook_names::EMBED, emb.reshape((b, t, ()))?)?;
                if self.sum {
                    crate::fused::sum_positions(&emb)?
                } else {
                    emb.flatten_from(1)?
                }
            }
            None => input.flatten_from(1)?,
        };
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x)?;
            x = self.activate(i, x, hooks)?;
        }
        hooks.point(hook_names::LOGITS, x)
    }

    fn parameters(&self) -> Vec<(String, Var)> {
        let mut out = Vec::new();
        if let Some(e) = &self.embed {
            out.push(("embed.W_E".to_string(), e.clone()));
        }
        for (i, l) in self.layers.iter().enumerate() {
            out.push((format!("layers.{i}.weight"), l.w.clone()));
            if let Some(b) = &l.b {
                out.push((format!("layers.{i}.bias"), b.clone()));
            }
        }
        out
    }

    fn hook_points(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.embed.is_some() {
            out.push(hook_names::EMBED.to_string());
        }
        for (pre, post) in self.hook_pre.iter().zip(&self.hook_post) {
            out.push(pre.clone());
            out.push(post.clone());
        }
        out.push(hook_names::LOGITS.to_string());
        out
    }
}

fn build(p: &Params, cx: &ModelContext) -> Result<Box<dyn Model>> {
    let device = &cx.build.device;
    let mut rng = cx.build.rng("mlp");
    let hidden: Vec<usize> = p
        .i64_list("hidden")?
        .into_iter()
        .map(|h| {
            usize::try_from(h).ok().filter(|h| *h > 0).ok_or_else(|| {
                PluginError::param("hidden", format!("layer width {h} must be positive"))
            })
        })
        .collect::<Result<_>>()?;
    let activation: Activation = assay_sdk::params::read(p, "activation")?;
    let bias = p.bool("bias")?;
    let combine_sum = p.str("combine")? == "sum";
    let fan_in_normal = p.str("init")? == "normal_fan_in";
    let scale = p.f64("init_scale")? as f32;
    let d_unembed = p.usize("d_unembed")?;
    let (embed, mut width) = match &cx.data.input {
        InputKind::Tokens { vocab_size } => {
            let d = p.usize("d_embed")?;
            let std = if fan_in_normal {
                scale / (*vocab_size as f32).sqrt()
            } else {
                scale
            };
            let e = init::normal(&mut rng, &[*vocab_size, d], 0.0, std, device)?;
            let positions = if combine_sum {
                1
            } else {
                cx.data.input_shape.iter().product::<usize>()
            };
            (Some(Var::from_tensor(&e)?), d * positions)
        }
        _ => (None, cx.data.input_shape.iter().product::<usize>()),
    };
    let mut layers = Vec::new();
    let linear_head = (d_unembed > 0).then_some(d_unembed);
    for out in hidden
        .iter()
        .copied()
        .chain(linear_head)
        .chain(std::iter::once(cx.data.objective.outputs()))
    {
        let w = if fan_in_normal {
            init::normal(
                &mut rng,
                &[width, out],
                0.0,
                scale / (width as f32).sqrt(),
                device,
            )?
        } else {
            init::kaiming_uniform(&mut rng, width, &[width, out], device)?
        };
        let b = if bias {
            Some(Var::from_tensor(&init::kaiming_uniform(
                &mut rng,
                width,
                &[out],
                device,
            )?)?)
        } else {
            None
        };
        layers.push(Layer {
            w: Var::from_tensor(&w)?,
            b,
        });
        width = out;
    }
    Ok(Box::new(Mlp {
        embed,
        sum: combine_sum,
        layers,
        linear_head: d_unembed > 0,
        activation,
        hook_pre: (0..hidden.len())
            .map(|i| hook_names::block(i, "mlp.hook_pre"))
            .collect(),
        hook_post: (0..hidden.len())
            .map(|i| hook_names::block(i, "mlp.hook_post"))
            .collect(),
    }))
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::model("mlp", "0.3.0", build)
            .summary("multi-layer perceptron over features or concatenated token embeddings")
            .param(Param::list(
                "hidden",
                ParamType::IntList,
                vec![Value::Int(64)],
                "widths of the hidden layers",
            ))
            .param(assay_sdk::params::declare::<Activation>(
                "activation",
                Some("relu".into()),
                "hidden activation",
            ))
            .param(Param::bool("bias", true, "biases in every layer"))
            .param(Param::int("d_embed", 128, "embedding width for token inputs").min(1.0))
            .param(
                Param::str(
                    "combine",
                    "concat",
                    "token embeddings: `concat` or `sum` (the grokking-tickets MLP)",
                )
                .choices(&["concat", "sum"]),
            )
            .param(
                Param::int(
                    "d_unembed",
                    0,
                    "width of a linear layer (no activation) before the output; 0 = none",
                )
                .min(0.0),
            )
            .param(
                Param::str(
                    "init",
                    "pytorch",
                    "`pytorch` (nn.Linear / nn.Embedding defaults) or `normal_fan_in` (N(0, scale/sqrt(fan_in)))",
                )
                .choices(&["pytorch", "normal_fan_in"]),
            )
            .param(
                Param::float("init_scale", 1.0, "scale of the `normal_fan_in` initialisation")
                    .min(0.0),
            ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(data: DataInfo, given: &[(&str, Value)]) -> Box<dyn Model> {
        let mut found = Vec::new();
        register(&mut found);
        let cx = ModelContext {
            build: BuildContext {
                seed: 3,
                device: Device::Cpu,
            },
            data,
        };
        found[0].build_model(given, &cx).unwrap()
    }

    #[test]
    fn features_give_logits_per_class_and_hooks_see_hidden_layers() {
        let m = make(
            DataInfo::features(vec![8], Objective::Classification { classes: 3 }),
            &[("hidden", Value::List(vec![Value::Int(5), Value::Int(4)]))],
        );
        let x = Tensor::ones((2, 8), DType::F32, &Device::Cpu).unwrap();
        let mut hooks = Hooks::capture_all();
        let y = m.forward(&x, &mut hooks).unwrap();
        assert_eq!(y.dims(), &[2, 3]);
        assert_eq!(
            hooks.cached("blocks.1.mlp.hook_post").unwrap().dims(),
            &[2, 4]
        );
        assert_eq!(m.hook_points().len(), 5);
    }

    #[test]
    fn tokens_are_embedded_and_concatenated() {
        let m = make(
            DataInfo::tokens(3, 11, Objective::Classification { classes: 11 }),
            &[("d_embed", Value::Int(6)), ("bias", Value::Bool(false))],
        );
        let x = Tensor::new(&[[1u32, 2, 3], [4, 5, 6]], &Device::Cpu).unwrap();
        assert_eq!(m.forward(&x, &mut Hooks::none()).unwrap().dims(), &[2, 11]);
        assert_eq!(m.parameters()[1].1.dims(), &[18, 64]);
    }

    #[test]
    fn the_grokking_tickets_mlp_has_its_shapes_and_fan_in_init() {
        // p = 67: W_E 67x500, inproj 500x48, ReLU after the sum, outproj 48x500, W_U 500x67.
        let m = make(
            DataInfo::tokens(2, 67, Objective::Classification { classes: 67 }),
            &[
                ("hidden", Value::List(vec![Value::Int(48)])),
                ("d_embed", Value::Int(500)),
                ("d_unembed", Value::Int(500)),
                ("combine", Value::Str("sum".into())),
                ("bias", Value::Bool(false)),
                ("init", Value::Str("normal_fan_in".into())),
            ],
        );
        let shapes: Vec<Vec<usize>> = m
            .parameters()
            .iter()
            .map(|(_, v)| v.dims().to_vec())
            .collect();
        assert_eq!(
            shapes,
            vec![vec![67, 500], vec![500, 48], vec![48, 500], vec![500, 67]]
        );
        let n: usize = m.parameters().iter().map(|(_, v)| v.elem_count()).sum();
        assert_eq!(n, 115_000);
        // One activation: only the 48-wide layer has hook points.
        assert_eq!(m.hook_points().len(), 4);
        let std = |i: usize| {
            let v = m.parameters()[i]
                .1
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt()
        };
        assert!((std(0) - 1.0 / 67f32.sqrt()).abs() < 0.01);
        assert!((std(1) - 1.0 / 500f32.sqrt()).abs() < 0.005);
        assert!((std(2) - 1.0 / 48f32.sqrt()).abs() < 0.01);
        let x = Tensor::new(&[[1u32, 2], [4, 5]], &Device::Cpu).unwrap();
        assert_eq!(m.forward(&x, &mut Hooks::none()).unwrap().dims(), &[2, 67]);
    }

    #[test]
    fn the_fused_computation_gives_the_layer_by_layer_logits() {
        for bias in [false, true] {
            let m = make(
                DataInfo::tokens(2, 13, Objective::Classification { classes: 13 }),
                &[
                    ("hidden", Value::List(vec![Value::Int(8), Value::Int(6)])),
                    ("d_embed", Value::Int(10)),
                    ("d_unembed", Value::Int(9)),
                    ("combine", Value::Str("sum".into())),
                    ("bias", Value::Bool(bias)),
                ],
            );
            let x = Tensor::new(&[[1u32, 2], [12, 5], [0, 0]], &Device::Cpu).unwrap();
            let fused = m.forward(&x, &mut Hooks::none()).unwrap();
            let plain = m
                .forward(&x, &mut Hooks::capture([hook_names::LOGITS]))
                .unwrap();
            let diff = (fused - plain)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-5, "bias {bias}: {diff}");
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let info = DataInfo::features(vec![4], Objective::Classification { classes: 2 });
        let a = make(info.clone(), &[]).parameters()[0]
            .1
            .as_tensor()
            .to_vec2::<f32>()
            .unwrap();
        let b = make(info, &[]).parameters()[0]
            .1
            .as_tensor()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(a, b);
    }
}
