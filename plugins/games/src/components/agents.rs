//! Agents: `random` (any environment with discrete actions), and for `leduc_holdem`
//! `leduc_rule_v1`, `leduc_rule_v2` (rlcard's rule agents) and `tabular_policy` (a policy table
//! of a solver run, named by `from = "run:ID"` or by the solver's spec file). The Leduc agents
//! decode the environment's observation into the seat's view ([`super::encoding`]) and play the
//! game core's [`Player`]s, so they act through the SDK exactly as in [`crate::matches`].

use assay_sdk::prelude::*;

use crate::infoset::Keying;
use crate::player::{Player, PolicyPlayer, RuleV1Player, RuleV2Player};
use crate::policy::{Policy, PolicyRow};
use crate::rng::SplitMix64;
use crate::rule_agents::V2Reading;

use super::encoding::decode;

/// Uniform over the legal actions, seeded per episode.
pub struct RandomAgent {
    rng: SplitMix64,
}

impl RandomAgent {
    /// A random agent (its generator is reseeded at every episode).
    pub fn new() -> RandomAgent {
        RandomAgent {
            rng: SplitMix64::new(0),
        }
    }
}

impl Default for RandomAgent {
    fn default() -> Self {
        Self::new()
    }
}

impl Agent for RandomAgent {
    fn begin_episode(&mut self, start: &EpisodeStart) -> Result<()> {
        self.rng = SplitMix64::new(start.seed);
        Ok(())
    }

    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        if step.legal_actions.is_empty() {
            return Err(PluginError::invalid(
                "agent `random` plays discrete actions; this step lists none",
            ));
        }
        let i = self.rng.below(step.legal_actions.len());
        Ok(Action::Discrete(step.legal_actions[i]))
    }
}

/// A game-core player as an agent of `leduc_holdem`.
pub struct PlayerAgent<P: Player + Send> {
    player: P,
    rng: SplitMix64,
}

impl<P: Player + Send> PlayerAgent<P> {
    /// Wraps `player`.
    pub fn new(player: P) -> Self {
        PlayerAgent {
            player,
            rng: SplitMix64::new(0),
        }
    }
}

impl<P: Player + Send> Agent for PlayerAgent<P> {
    fn begin_episode(&mut self, start: &EpisodeStart) -> Result<()> {
        self.rng = SplitMix64::new(start.seed);
        Ok(())
    }

    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        let view = decode(&step.observation, &step.legal_actions)?;
        if view.legal_actions.is_empty() {
            return Err(PluginError::invalid(format!(
                "agent `{}`: no legal action to choose from",
                self.player.name()
            )));
        }
        Ok(Action::Discrete(
            self.player.act(&view, &mut self.rng).index(),
        ))
    }
}

/// How `leduc_rule_v2` reads its card in round 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Reading {
    /// As rlcard's code does (it tests the suit letter: folds every hand in round 1).
    AsWritten,
    /// As the code meant: K raises, Q checks, J folds in round 1.
    ByRank,
}

/// The parameters of `leduc_rule_v2`.
#[derive(Debug, Params)]
pub struct RuleV2Params {
    /// as_written (rlcard's behaviour) or by_rank (its intent).
    #[param(default = "as_written")]
    pub reading: Reading,
}

/// The policy of table `policy` of the agent's source run.
pub fn source_policy(cx: &AgentContext) -> Result<Policy> {
    let table = cx.source_table("policy")?;
    let column = |name: &str| {
        table
            .columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .ok_or_else(|| {
                PluginError::param(
                    "from",
                    format!("table `policy` of the source run has no column `{name}`"),
                )
            })
    };
    let (Column::Str(keys), Column::Str(actions), Column::F64(probs), Column::Str(keyings)) = (
        column("key")?,
        column("action")?,
        column("probability")?,
        column("keying")?,
    ) else {
        return Err(PluginError::param(
            "from",
            "table `policy` needs key, action and keying as text and probability as numbers",
        ));
    };
    let keying_name = keyings.iter().flatten().next().cloned().unwrap_or_default();
    let keying = Keying::from_name(&keying_name).ok_or_else(|| {
        PluginError::param(
            "from",
            format!("table `policy`: unknown keying `{keying_name}`"),
        )
    })?;
    let mut rows = Vec::new();
    for ((k, a), p) in keys.iter().zip(actions).zip(probs) {
        let (Some(key), Some(action), Some(probability)) = (k, a, p) else {
            return Err(PluginError::param("from", "table `policy` has empty cells"));
        };
        let action = action
            .parse()
            .map_err(|e| PluginError::param("from", format!("table `policy`: {e}")))?;
        rows.push(PolicyRow {
            key: key.clone(),
            action,
            probability: *probability,
        });
    }
    Policy::from_rows(keying, rows)
        .map_err(|e| PluginError::param("from", format!("table `policy`: {e}")))
}

/// Registers the agents.
pub fn register(r: &mut dyn Registrar) {
    r.add(
        Component::agent("random", "0.1.0", |_p, _cx| {
            Ok(Box::new(RandomAgent::new()))
        })
        .summary("uniform over the legal actions (any environment with discrete actions)"),
    );
    r.add(
        Component::agent("leduc_rule_v1", "0.1.0", |_p, _cx| {
            Ok(Box::new(PlayerAgent::new(RuleV1Player)))
        })
        .summary("rlcard's Leduc rule agent V1: raise, else call, else check, else fold"),
    );
    r.add(
        Component::agent_with("leduc_rule_v2", "0.1.0", |p: RuleV2Params, _cx| {
            let reading = match p.reading {
                Reading::AsWritten => V2Reading::AsWritten,
                Reading::ByRank => V2Reading::ByRank,
            };
            Ok(Box::new(PlayerAgent::new(RuleV2Player(reading))))
        })
        .summary(
            "rlcard's Leduc rule agent V2 (card-based; as written it folds every first round)",
        ),
    );
    r.add(
        Component::agent("tabular_policy", "0.1.0", |_p, cx| {
            let policy = source_policy(cx)?;
            let name = cx.source_run.clone().unwrap_or_default();
            Ok(Box::new(PlayerAgent::new(PolicyPlayer::new(&name, policy))))
        })
        .summary(
            "samples the `policy` table of a solver run (`from = \"run:ID\"`) for leduc_holdem",
        ),
    );
}
