//! Solver `leduc_cfr`: counterfactual regret minimisation on Leduc Hold'em, with exploitability
//! (chips per hand, exact best response) as its metric and the average policy as its result.
//!
//! Algorithms: `cfr` (vanilla, full traversal), `cfr_plus` (regret-matching+, alternating,
//! linear averaging), `chance_sampling` (rlcard's `CFRAgent`: one sampled deal per iteration,
//! seeded by the run). Keying: `full_history` (perfect recall) or `obs` (rlcard's imperfect
//! recall by chip counts). Metrics: `exploitability`, `infosets`; final table `policy` (key,
//! action, probability, keying), which agent `tabular_policy` loads.
//!
//! Checkpoints hold the number of iterations done: every algorithm here is deterministic given
//! the run seed, so a resumed run recomputes those iterations and continues exactly as the
//! uninterrupted run (a few seconds for thousands of iterations).

use assay_sdk::prelude::*;

use crate::best_response::exploitability;
use crate::cfr::{Cfr, CfrVariant};
use crate::infoset::Keying;
use crate::policy::Policy;
use crate::rlcard_cfr::RlcardCfr;
use crate::rules::{Rules, Variant};
use crate::tree::PublicTree;

use super::environment::RulesChoice;

/// Which CFR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Algorithm {
    /// Vanilla CFR, full traversal.
    Cfr,
    /// CFR+.
    CfrPlus,
    /// rlcard's chance-sampling CFR.
    ChanceSampling,
}

/// Information-set keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum KeyingChoice {
    /// Card, public card and the whole action history.
    FullHistory,
    /// Card, public card and the chip counts (rlcard's observation).
    Obs,
}

/// The parameters of `leduc_cfr`.
#[derive(Debug, Params)]
pub struct CfrParams {
    /// rlcard or southey.
    #[param(default = "rlcard")]
    pub rules: RulesChoice,
    /// cfr, cfr_plus or chance_sampling.
    #[param(default = "cfr_plus")]
    pub algorithm: Algorithm,
    /// full_history or obs.
    #[param(default = "full_history")]
    pub keying: KeyingChoice,
}

enum Engine {
    Full(Box<Cfr>),
    Sampled(Box<RlcardCfr>),
}

/// The solver.
pub struct LeducCfr {
    p: CfrParams,
    seed: u64,
    engine: Engine,
}

impl LeducCfr {
    fn rules(p: &CfrParams) -> Rules {
        Rules::new(match p.rules {
            RulesChoice::Rlcard => Variant::Rlcard,
            RulesChoice::Southey => Variant::Southey,
        })
    }

    fn fresh(p: &CfrParams, seed: u64) -> Engine {
        let keying = match p.keying {
            KeyingChoice::FullHistory => Keying::FullHistory,
            KeyingChoice::Obs => Keying::Obs,
        };
        let rules = Self::rules(p);
        match p.algorithm {
            Algorithm::Cfr => Engine::Full(Box::new(Cfr::new(rules, CfrVariant::Vanilla, keying))),
            Algorithm::CfrPlus => Engine::Full(Box::new(Cfr::new(rules, CfrVariant::Plus, keying))),
            Algorithm::ChanceSampling => {
                Engine::Sampled(Box::new(RlcardCfr::new(rules, keying, seed)))
            }
        }
    }

    /// A solver for `p`, seeded by `seed` (only chance sampling draws).
    pub fn new(p: CfrParams, seed: u64) -> LeducCfr {
        let engine = Self::fresh(&p, seed);
        LeducCfr { p, seed, engine }
    }

    fn parts(&self) -> (&PublicTree, Policy, u64, usize) {
        match &self.engine {
            Engine::Full(c) => (c.tree(), c.average_policy(), c.iteration(), c.infosets()),
            Engine::Sampled(c) => (c.tree(), c.average_policy(), c.iteration(), c.infosets()),
        }
    }
}

impl Solver for LeducCfr {
    fn iterate(&mut self) -> Result<()> {
        match &mut self.engine {
            Engine::Full(c) => c.step(),
            Engine::Sampled(c) => c.step(),
        }
        Ok(())
    }

    fn evaluate(&mut self, _iteration: u64, is_final: bool) -> Result<Observation> {
        let (tree, policy, _, infosets) = self.parts();
        let obs = Observation::default()
            .metric("exploitability", exploitability(tree, &policy))
            .metric("infosets", infosets as f64);
        if !is_final {
            return Ok(obs);
        }
        let rows = policy.to_rows();
        let keying = policy.keying().name().to_string();
        Ok(obs.table(
            Table::new("policy")
                .column(
                    "key",
                    Column::Str(rows.iter().map(|r| Some(r.key.clone())).collect()),
                )
                .column(
                    "action",
                    Column::Str(
                        rows.iter()
                            .map(|r| Some(r.action.name().to_string()))
                            .collect(),
                    ),
                )
                .column(
                    "probability",
                    Column::F64(rows.iter().map(|r| Some(r.probability)).collect()),
                )
                .column(
                    "keying",
                    Column::Str(rows.iter().map(|_| Some(keying.clone())).collect()),
                ),
        ))
    }

    fn save_state(&self) -> Result<Vec<u8>> {
        Ok(self.parts().2.to_le_bytes().to_vec())
    }

    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let bytes: [u8; 8] = state.try_into().map_err(|_| {
            PluginError::invalid("leduc_cfr: the checkpoint's state is not 8 bytes")
        })?;
        let done = u64::from_le_bytes(bytes);
        self.engine = Self::fresh(&self.p, self.seed);
        for _ in 0..done {
            self.iterate()?;
        }
        Ok(())
    }
}

/// Registers the solver.
pub fn register(r: &mut dyn Registrar) {
    r.add(
        Component::solver_with("leduc_cfr", "0.1.0", |p: CfrParams, cx| {
            Ok(Box::new(LeducCfr::new(p, cx.seed)))
        })
        .summary("CFR, CFR+ or rlcard's chance-sampling CFR on Leduc Hold'em; exploitability and the average policy"),
    );
}
