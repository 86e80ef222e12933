//! The SDK components of this library: environment `reach_push`, agents `reach_push_expert`
//! and `rt_policy_agent`, dataset `rlds_mixture` and model `rt_policy`.

pub mod environment;
pub mod expert_agent;
pub mod mixture;
pub mod policy_agent;
pub mod policy_model;

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
    r.add(
        Component::dataset_with("rlds_mixture", "0.1.0", |p: mixture::MixtureParams, cx| {
            Ok(Box::new(mixture::Mixture::new(&p, cx.seed)?))
        })
        .summary("behaviour cloning from RLDS Parquet directories, mixed with weights; actions as RT-1's 256-bin tokens"),
    );
    r.add(
        Component::model_with("rt_policy", "0.1.0", |p: policy_model::PolicyParams, cx| {
            Ok(Box::new(policy_model::RtPolicy::new(&p, cx)?))
        })
        .summary("tokenised-action policy: an MLP with one 256-way head per action dimension"),
    );
    r.add(
        Component::agent_with(
            "rt_policy_agent",
            "0.1.0",
            |p: policy_agent::PolicyAgentParams, cx| {
                Ok(Box::new(policy_agent::PolicyAgent::new(&p, cx)?))
            },
        )
        .summary("plays reach_push with a trained rt_policy (from = the training run)"),
    );
}
