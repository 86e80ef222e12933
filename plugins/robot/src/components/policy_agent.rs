//! Agent `rt_policy_agent`: a trained `rt_policy` model playing `reach_push`. Its spec names the
//! training run with `from` (a run id or the training spec, computed first); the host hands over
//! the trained model. At each step the agent builds the same features the dataset built
//! ([`crate::policy_input`]), takes the most likely token of each action head, and detokenises
//! with the action bounds of the dataset named by `statistics`: the demonstrations of the
//! embodiment being controlled, as Octo and RT-X un-normalise with the statistics of the
//! dataset whose robot they drive.

use assay_sdk::prelude::*;

use crate::actions::ActionBounds;
use crate::embodiment::Embodiment;
use crate::policy_input::{feature_len, features};

use super::environment::Seen;

/// The parameters of `rt_policy_agent`.
#[derive(Debug, Params)]
pub struct PolicyAgentParams {
    /// The RLDS directory whose action bounds turn tokens back into actions (the controlled
    /// embodiment's demonstrations, as in the training mixture).
    pub statistics: String,
    /// Earlier observations in each input (as the dataset had).
    #[param(default = 2, max = 8)]
    pub history: usize,
    /// How tokens become an action: `argmax` (RT-1: each head's most likely token) or `mean`
    /// (each head's expected value under its softmax, which averages out the demonstrators'
    /// noise that argmax picks a side of).
    #[param(default = "argmax")]
    pub decode: Decode,
}

/// See [`PolicyAgentParams::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Decode {
    /// Most likely token per head.
    Argmax,
    /// Expected normalised value per head.
    Mean,
}

/// The agent.
pub struct PolicyAgent {
    model: assay_sdk::SharedModel,
    bounds: ActionBounds,
    embodiment: Embodiment,
    history: usize,
    decode: Decode,
    seen: Vec<Vec<f64>>,
}

impl PolicyAgent {
    /// The agent for `p`, playing the model `cx` brings.
    pub fn new(p: &PolicyAgentParams, cx: &AgentContext) -> Result<PolicyAgent> {
        let Some(model) = cx.model.clone() else {
            return Err(PluginError::param(
                "from",
                "rt_policy_agent plays a trained rt_policy: set `from` to the training run (\"run:ID\" or its spec file)",
            ));
        };
        let want = vec![feature_len(p.history)];
        if model.data.input_shape != want {
            return Err(PluginError::param(
                "history",
                format!(
                    "the model takes inputs of shape {:?}; history = {} gives {want:?} (use the dataset's history)",
                    model.data.input_shape, p.history
                ),
            ));
        }
        let source = super::mixture::read_source(&p.statistics)
            .map_err(|e| PluginError::param("statistics", e.to_string()))?;
        let embodiment = source.episodes[0]
            .metadata
            .embodiment
            .parse::<Embodiment>()
            .map_err(|e| PluginError::param("statistics", e.to_string()))?;
        Ok(PolicyAgent {
            model,
            bounds: source.bounds,
            embodiment,
            history: p.history,
            decode: p.decode,
            seen: Vec::new(),
        })
    }

    /// The action for features `x`.
    fn action(&self, x: Vec<f32>) -> Result<Vec<f64>> {
        let model = self.model.model.lock().map_err(|_| {
            PluginError::invalid("the shared model was poisoned by an earlier panic")
        })?;
        let input = Tensor::from_vec(x, (1, feature_len(self.history)), &self.model.device)?;
        let logits = model.forward(&input, &mut Hooks::none())?.squeeze(0)?;
        let (heads, vocab) = logits.dims2()?;
        if heads != self.bounds.dim() || vocab != crate::actions::BINS {
            return Err(PluginError::invalid(format!(
                "the model has {heads} action heads of {vocab} tokens; the statistics' actions have {} dimensions of {} tokens",
                self.bounds.dim(),
                crate::actions::BINS
            )));
        }
        let invalid = |e: crate::actions::ActionError| PluginError::invalid(e.to_string());
        match self.decode {
            Decode::Argmax => {
                let best = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
                let tokens: Vec<u8> = best.into_iter().map(|t| t.min(255) as u8).collect();
                self.bounds.detokenise(&tokens).map_err(invalid)
            }
            Decode::Mean => {
                let p = assay_sdk::nn::ops::softmax_last_dim(&logits)?.to_vec2::<f32>()?;
                let normalised: Vec<f64> = p
                    .iter()
                    .map(|row| {
                        row.iter()
                            .enumerate()
                            .map(|(t, &q)| {
                                q as f64 * crate::actions::detokenise(t as u8, -1.0, 1.0)
                            })
                            .sum()
                    })
                    .collect();
                self.bounds.denormalise(&normalised).map_err(invalid)
            }
        }
    }
}

impl Agent for PolicyAgent {
    fn begin_episode(&mut self, _start: &EpisodeStart) -> Result<()> {
        self.seen.clear();
        Ok(())
    }

    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        let seen = Seen::read(step, "rt_policy_agent")?;
        if seen.embodiment != self.embodiment {
            return Err(PluginError::param(
                "statistics",
                format!(
                    "the statistics are embodiment {}'s, the environment's robot is {}",
                    self.embodiment.name(),
                    seen.embodiment.name()
                ),
            ));
        }
        self.seen.push(seen.observation.to_vec());
        let input = features(&self.seen, self.history, &seen.instruction)
            .map_err(|e| PluginError::invalid(format!("rt_policy_agent: {e}")))?;
        let action = self.action(input)?;
        Ok(Action::Continuous(
            action.iter().map(|v| *v as f32).collect(),
        ))
    }
}
