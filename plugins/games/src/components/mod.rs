//! The SDK components of this library: environment `leduc_holdem`, agents (`random`,
//! `leduc_rule_v1`, `leduc_rule_v2`, `tabular_policy`, `suspicion`) and solver `leduc_cfr`.

pub mod agents;
pub mod encoding;
pub mod environment;
pub mod solver;

use assay_sdk::prelude::*;

/// Registers every component of the library.
pub fn register(r: &mut dyn Registrar) {
    r.add(
        Component::environment_with("leduc_holdem", "0.1.0", |p: environment::LeducParams, _cx| {
            Ok(Box::new(environment::Leduc::new(&p)))
        })
        .summary("Leduc Hold'em, rlcard's rules (blinds 1/2) or Southey's (antes), two seats, chips as rewards"),
    );
    agents::register(r);
    r.add(
        Component::agent_with("suspicion", "0.1.0", |p: crate::suspicion::SuspicionParams, cx| {
            Ok(Box::new(crate::suspicion::Suspicion::new(p, cx.text_model.clone())?))
        })
        .summary("Suspicion-Agent: a language model plays Leduc Hold'em through observation, memory, theory-of-mind belief, planning and decision prompts"),
    );
    solver::register(r);
}
