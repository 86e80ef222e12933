//! # assay-robot
//!
//! The core of study 9 (Open X-Embodiment / RT-X, arXiv 2310.08864) in miniature: several
//! point-mass "robots" that differ as real embodiments do, demonstrations recorded as RLDS
//! episodes, and RT-X's action standardisation, so that a policy trained on all embodiments can
//! be compared with one trained on the smallest dataset alone. The simulator core uses only the
//! standard library; [`rlds_dir`] stores RLDS datasets as Parquet (Polars), and
//! [`components`] makes the SDK components: environment `reach_push`, agents
//! `reach_push_expert` and `rt_policy_agent`, dataset `rlds_mixture`, model `rt_policy`.
//!
//! - [`world`]: the 3-D scene (end effector with gripper, three coloured cubes, contacts).
//! - [`embodiment`]: A, B and C: control mode, action scale, frame, gripper convention.
//! - [`layout`]: the observation (13 values) and action (7 values) layouts.
//! - [`task`]: the six tasks, their instructions, parsing, goal features, bag of words.
//! - [`reach_push`]: the simulator: seeded resets, steps, success predicate, step budget.
//! - [`expert`]: the scripted expert with noise.
//! - [`rlds`]: RLDS episodes and steps and their invariant checker.
//! - [`demos`]: expert episodes as RLDS, and the study's datasets (A 300, B 300, C 15).
//! - [`rows`]: episodes as one flat row per step (the Parquet layout) and back, checked.
//! - [`rlds_dir`]: RLDS dataset directories of Parquet files, written and read with checks.
//! - [`policy_input`]: what the tokenised-action policy sees at a step.
//! - [`actions`]: per-dataset bounds normalisation to [−1, 1] and 256-bin tokenisation.
//! - [`rng`]: SplitMix64; a seed fixes every scene and all noise.
//!
//! Recording C's demonstrations, checking them and tokenising their actions (compiled, not run:
//! test binaries find the SDK's shared libraries, doctests do not; the tests run the same steps):
//!
//! ```no_run
//! use assay_robot::actions::ActionBounds;
//! use assay_robot::demos::{demonstrations, DemoPlan};
//! use assay_robot::embodiment::Embodiment;
//! use assay_robot::rlds::check_dataset;
//! use assay_robot::task::goal_features;
//!
//! let episodes = demonstrations(&DemoPlan::study(Embodiment::C, 0, 0.1))?;
//! check_dataset(&episodes)?;
//! let bounds = ActionBounds::from_episodes(&episodes)?;
//! let step = &episodes[0].steps[0];
//! let tokens = bounds.tokenise(&step.action)?; // 7 tokens in 0..=255
//! let goal = goal_features(&step.language_instruction)?; // one-hot kind and colour
//! assert_eq!((tokens.len(), goal.len()), (7, 5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod actions;
pub mod components;
pub mod demos;
pub mod embodiment;
pub mod expert;
pub mod layout;
pub mod policy_input;
pub mod reach_push;
pub mod rlds;
pub mod rlds_dir;
pub mod rng;
pub mod rows;
pub mod task;
pub mod world;

pub use embodiment::Embodiment;
pub use reach_push::ReachPush;
pub use task::Task;

assay_sdk::export_plugin!(components::register);
