//! The SDK components of this library: environment `reach_push` and agent
//! `reach_push_expert`.

pub mod environment;
pub mod expert_agent;

use assay_sdk::prelude::*;

/// Registers every component of the library.
pub fn register(r: &mut dyn Registrar) {
    r.add(
        Component::environment_with("reach_push", "0.1.0", |p: environment::ReachPushParams, _cx| {
            Ok(Box::new(environment::ReachPushEnv::new(&p)?))
        })
        .summary("study 9's simulator: reach or push a coloured cube, embodiments a/b/c, language instructions"),
    );
    r.add(
        Component::agent_with(
            "reach_push_expert",
            "0.1.0",
            |p: expert_agent::ExpertParams, _cx| Ok(Box::new(expert_agent::ExpertAgent::new(&p)?)),
        )
        .summary(
            "the scripted expert of reach_push, with noise: episode runs of it are demonstrations",
        ),
    );
}
