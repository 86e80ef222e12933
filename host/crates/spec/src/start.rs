//! Where a run starts: `[init]` (another run's weights) and `[prune]` (a mask scored on this
//! run's or another run's weights).

use crate::component::ComponentSpec;
use crate::reference::RunRef;

/// `[init]`: the run starts from another run's weights instead of a fresh initialisation.
#[derive(Debug, Clone)]
pub struct InitSpec {
    /// Whose weights, at which checkpoint.
    pub source: RunRef,
}

/// What a `[prune]` mask is used for (`apply = "mask" | "norm_l1" | "norm_l2"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, assay_sdk::Choice)]
pub enum PruneApply {
    /// Zero the pruned weights and keep them zero while training.
    Mask,
    /// Train densely, with the weight matrices scaled so that their L1 norm equals the masked
    /// one (the norm-matched dense control).
    NormL1,
    /// The same with the L2 norm.
    NormL2,
}

impl PruneApply {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        assay_sdk::params::Choice::as_choice(&self)
    }
}

/// `[prune]`: a pruner, the fraction of weight-matrix entries kept, whose weights are scored,
/// and what the mask is used for.
#[derive(Debug, Clone)]
pub struct PruneSpec {
    /// The pruner component.
    pub pruner: ComponentSpec,
    /// Fraction `s` of the entries of the weight matrices that is kept.
    pub keep: f64,
    /// Score another run's weights (a ticket); `None` scores the weights this run starts with
    /// (pruning at initialisation).
    pub source: Option<RunRef>,
    /// Hold the mask, or use it for norm matching.
    pub apply: PruneApply,
}
