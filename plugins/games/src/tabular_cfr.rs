//! What the two CFR solvers ([`crate::cfr::Cfr`], [`crate::rlcard_cfr::RlcardCfr`]) have in
//! common: iterations over the public tree with tables per information set, an average policy,
//! and its exploitability. The solver component and the tests drive either through it.

use crate::best_response;
use crate::policy::Policy;
use crate::tree::PublicTree;

/// A CFR solver with tables per information set.
pub trait TabularCfr {
    /// One iteration.
    fn step(&mut self);

    /// Iterations done.
    fn iteration(&self) -> u64;

    /// The public tree the solver walks (also what [`crate::best_response`] needs).
    fn tree(&self) -> &PublicTree;

    /// Number of information sets of its keying.
    fn infosets(&self) -> usize;

    /// The average strategy: what converges to equilibrium (with perfect recall), and what
    /// rlcard's `eval_step` plays.
    fn average_policy(&self) -> Policy;

    /// Runs `iterations` more iterations and calls `checkpoint` after every `every`-th one
    /// (counted from the start of training; never when `every` is 0), e.g. to record
    /// exploitability.
    fn run(&mut self, iterations: u64, every: u64, mut checkpoint: impl FnMut(&Self))
    where
        Self: Sized,
    {
        for _ in 0..iterations {
            self.step();
            if every > 0 && self.iteration().is_multiple_of(every) {
                checkpoint(self);
            }
        }
    }

    /// Exploitability of the average policy, in chips per hand
    /// ([`best_response::exploitability`]).
    fn exploitability(&self) -> f64 {
        best_response::exploitability(self.tree(), &self.average_policy())
    }
}
