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
use crate::rlcard_cfr::RlcardCfr;
use crate::rules::{Rules, Variant};
use crate::tabular_cfr::TabularCfr;

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

/// The solver.
pub struct LeducCfr {
    p: CfrParams,
    seed: u64,
    engine: Box<dyn TabularCfr + Send>,
}

impl LeducCfr {
    fn rules(p: &CfrParams) -> Rules {
        Rules::new(match p.rules {
            RulesChoice::Rlcard => Variant::Rlcard,
            RulesChoice::Southey => Variant::Southey,
        })
    }

    fn fresh(p: &CfrParams, seed: u64) -> Box<dyn TabularCfr + Send> {
        let keying = match p.keying {
            KeyingChoice::FullHistory => Keying::FullHistory,
            KeyingChoice::Obs => Keying::Obs,
        };
        let rules = Self::rules(p);
        match p.algorithm {
            Algorithm::Cfr => Box::new(Cfr::new(rules, CfrVariant::Vanilla, keying)),
            Algorithm::CfrPlus => Box::new(Cfr::new(rules, CfrVariant::Plus, keying)),
            Algorithm::ChanceSampling => Box::new(RlcardCfr::new(rules, keying, seed)),
        }
    }

    /// A solver for `p`, seeded by `seed` (only chance sampling draws).
    pub fn new(p: CfrParams, seed: u64) -> LeducCfr {
        let engine = Self::fresh(&p, seed);
        LeducCfr { p, seed, engine }
    }
}

impl Solver for LeducCfr {
    fn iterate(&mut self) -> Result<()> {
        self.engine.step();
        Ok(())
    }

    fn evaluate(&mut self, _iteration: u64, is_final: bool) -> Result<Observation> {
        let policy = self.engine.average_policy();
        let obs = Observation::default()
            .metric(
                "exploitability",
                exploitability(self.engine.tree(), &policy),
            )
            .metric("infosets", self.engine.infosets() as f64);
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
        Ok(self.engine.iteration().to_le_bytes().to_vec())
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
