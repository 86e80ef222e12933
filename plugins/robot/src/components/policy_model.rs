//! Model `rt_policy`: the notes' small tokenised-action policy, an MLP over the policy features
//! ([`crate::policy_input`]) with one 256-way head per action dimension (RT-1's action
//! tokens). It outputs `[batch, action_dim, vocab]` logits, so a next-token objective over the
//! action positions trains every head at once.
//!
//! Initialised as PyTorch's `nn.Linear` (uniform ±1/sqrt(fan_in)) from the run seed. Hook
//! points: `blocks.{i}.mlp.hook_post` after each hidden layer's ReLU, and `hook_logits`.

use assay_sdk::prelude::*;

/// The parameters of `rt_policy`.
#[derive(Debug, Params)]
pub struct PolicyParams {
    /// Width of each hidden layer.
    #[param(default = 256, min = 1)]
    pub hidden: usize,
    /// Number of hidden layers.
    #[param(default = 2, min = 1, max = 16)]
    pub layers: usize,
    /// Action dimensions, one head each (7: world vector, rotation, gripper).
    #[param(default = 7, min = 1)]
    pub action_dim: usize,
}

struct Linear {
    w: Var,
    b: Var,
}

impl Linear {
    fn new(
        rng: &mut assay_sdk::init::Rng,
        n_in: usize,
        n_out: usize,
        device: &Device,
    ) -> Result<Linear> {
        let w = assay_sdk::init::kaiming_uniform(rng, n_in, &[n_in, n_out], device)?;
        let b = assay_sdk::init::kaiming_uniform(rng, n_in, &[n_out], device)?;
        Ok(Linear {
            w: Var::from_tensor(&w)?,
            b: Var::from_tensor(&b)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(self.w.as_tensor())?
            .broadcast_add(self.b.as_tensor())?)
    }
}

/// The model.
pub struct RtPolicy {
    hidden: Vec<Linear>,
    head: Linear,
    action_dim: usize,
    vocab: usize,
    hook_post: Vec<String>,
}

impl RtPolicy {
    /// The policy for `cx`'s dataset: float features `[F]` and a next-token objective (the
    /// vocabulary is the number of action tokens).
    pub fn new(p: &PolicyParams, cx: &ModelContext) -> Result<RtPolicy> {
        let (Some(&inputs), InputKind::Features, Objective::NextToken { vocab }) = (
            cx.data.input_shape.first(),
            &cx.data.input,
            &cx.data.objective,
        ) else {
            return Err(PluginError::invalid(format!(
                "rt_policy needs float features of shape [F] and action tokens as targets (dataset rlds_mixture); this dataset has {:?}",
                cx.data
            )));
        };
        if cx.data.input_shape.len() != 1 {
            return Err(PluginError::invalid(format!(
                "rt_policy takes one feature vector per example, not shape {:?}",
                cx.data.input_shape
            )));
        }
        let device = &cx.build.device;
        let mut rng = cx.build.rng("rt_policy");
        let mut hidden = Vec::new();
        let mut width = inputs;
        for _ in 0..p.layers {
            hidden.push(Linear::new(&mut rng, width, p.hidden, device)?);
            width = p.hidden;
        }
        let head = Linear::new(&mut rng, width, p.action_dim * vocab, device)?;
        Ok(RtPolicy {
            hidden,
            head,
            action_dim: p.action_dim,
            vocab: *vocab,
            hook_post: (0..p.layers)
                .map(|i| format!("blocks.{i}.mlp.hook_post"))
                .collect(),
        })
    }
}

impl Model for RtPolicy {
    fn forward(&self, input: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        let mut x = input.clone();
        for (layer, name) in self.hidden.iter().zip(&self.hook_post) {
            x = assay_sdk::ops::relu(&layer.forward(&x)?)?;
            x = hooks.point(name, x)?;
        }
        let batch = x.dim(0)?;
        let logits = self
            .head
            .forward(&x)?
            .reshape((batch, self.action_dim, self.vocab))?;
        hooks.point(hook_names::LOGITS, logits)
    }

    fn parameters(&self) -> Vec<(String, Var)> {
        let mut out = Vec::new();
        for (i, l) in self.hidden.iter().enumerate() {
            out.push((format!("blocks.{i}.w"), l.w.clone()));
            out.push((format!("blocks.{i}.b"), l.b.clone()));
        }
        out.push(("head.w".to_string(), self.head.w.clone()));
        out.push(("head.b".to_string(), self.head.b.clone()));
        out
    }

    fn hook_points(&self) -> Vec<String> {
        let mut points = self.hook_post.clone();
        points.push(hook_names::LOGITS.to_string());
        points
    }
}
