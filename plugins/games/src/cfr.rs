//! Counterfactual regret minimisation with full traversal of chance: vanilla CFR (Zinkevich et
//! al. 2007: simultaneous updates, average weighted by own reach) and CFR+ (Tammelin 2014:
//! regret-matching+, alternating updates, average weighted by own reach times the iteration).
//!
//! Each iteration walks the public tree once per update with reach probabilities kept as vectors
//! over private ranks ([`crate::tree`]), so one walk covers every deal. Counterfactual values
//! include chance and the opponent's reach; a decision's regret for an action is its child's
//! counterfactual value minus the decision's. Strategies are fixed by regret matching at the
//! start of each walk, so under the obs keying (where one infoset recurs along a walk) every
//! visit of an iteration plays the same strategy.

use crate::infoset::Keying;
use crate::policy::Policy;
use crate::rules::Rules;
use crate::tables::{at_node, regret_matching, ActionVec, InfosetIndex};
use crate::tabular_cfr::TabularCfr;
use crate::tree::{NodeId, NodeKind, PublicTree, RankVec, MAX_RANKS};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CfrVariant {
    /// Regret matching, both roles updated in the same walk, uniform average over iterations.
    Vanilla,
    /// Regret-matching+ (regrets floored at 0 after each update), roles updated in turn, average
    /// weighted linearly by the iteration number.
    Plus,
}

/// A CFR solver over the whole game.
#[derive(Debug, Clone)]
pub struct Cfr {
    tree: PublicTree,
    index: InfosetIndex,
    variant: CfrVariant,
    regrets: Vec<ActionVec>,
    sums: Vec<ActionVec>,
    iteration: u64,
}

impl Cfr {
    /// A solver for `rules` with infosets keyed by `keying` (perfect recall for
    /// [`Keying::FullHistory`]).
    pub fn new(rules: Rules, variant: CfrVariant, keying: Keying) -> Cfr {
        let tree = PublicTree::new(rules);
        let index = InfosetIndex::new(&tree, keying);
        let n = index.len();
        Cfr {
            tree,
            index,
            variant,
            regrets: vec![[0.0; 4]; n],
            sums: vec![[0.0; 4]; n],
            iteration: 0,
        }
    }

    /// The update rule.
    pub fn variant(&self) -> CfrVariant {
        self.variant
    }

    /// The current (regret-matching) strategy of the last iteration.
    pub fn current_policy(&self) -> Policy {
        self.index.policy(&self.strategies())
    }

    fn strategies(&self) -> Vec<ActionVec> {
        self.regrets
            .iter()
            .enumerate()
            .map(|(i, r)| regret_matching(r, self.index.legal(i)))
            .collect()
    }

    fn walk(&mut self, update: [bool; 2], weight: f64) {
        let strategy = self.strategies();
        let mut walk = Walk {
            tree: &self.tree,
            index: &self.index,
            strategy: &strategy,
            regrets: &mut self.regrets,
            sums: &mut self.sums,
            update,
            weight,
        };
        let ones = [1.0; MAX_RANKS];
        walk.node(self.tree.root(), [ones, ones]);
    }
}

/// One walk's borrowed state.
struct Walk<'a> {
    tree: &'a PublicTree,
    index: &'a InfosetIndex,
    strategy: &'a [ActionVec],
    regrets: &'a mut [ActionVec],
    sums: &'a mut [ActionVec],
    update: [bool; 2],
    weight: f64,
}

impl Walk<'_> {
    /// Counterfactual values of both roles per own rank at `id`, given each role's own reach.
    fn node(&mut self, id: NodeId, reach: [RankVec; 2]) -> [RankVec; 2] {
        let tree = self.tree;
        let ranks = tree.ranks();
        let mut value = [[0.0; MAX_RANKS]; 2];
        match &tree.node(id).kind {
            NodeKind::Terminal { weighted, .. } => {
                for i in 0..ranks {
                    for j in 0..ranks {
                        value[0][i] += weighted[i][j] * reach[1][j];
                        value[1][j] -= weighted[i][j] * reach[0][i];
                    }
                }
            }
            NodeKind::Chance { children } => {
                for (_, child) in children {
                    let v = self.node(*child, reach);
                    for role in 0..2 {
                        for i in 0..ranks {
                            value[role][i] += v[role][i];
                        }
                    }
                }
            }
            NodeKind::Decision { player, children } => {
                let (me, other) = (*player, 1 - *player);
                let mut local = [[0.0; 4]; MAX_RANKS];
                for (i, probs) in local.iter_mut().enumerate().take(ranks) {
                    *probs = at_node(&self.strategy[self.index.infoset(id, i)], children);
                }
                let mut mine = [[0.0; MAX_RANKS]; 4];
                for (k, (_, child)) in children.iter().enumerate() {
                    let mut next = reach;
                    for i in 0..ranks {
                        next[me][i] *= local[i][k];
                    }
                    let v = self.node(*child, next);
                    for i in 0..ranks {
                        value[me][i] += local[i][k] * v[me][i];
                        value[other][i] += v[other][i];
                    }
                    mine[k] = v[me];
                }
                if self.update[me] {
                    for i in 0..ranks {
                        let infoset = self.index.infoset(id, i);
                        for (k, (action, _)) in children.iter().enumerate() {
                            let a = action.index();
                            self.regrets[infoset][a] += mine[k][i] - value[me][i];
                            self.sums[infoset][a] += self.weight * reach[me][i] * local[i][k];
                        }
                    }
                }
            }
        }
        value
    }
}

impl TabularCfr for Cfr {
    fn step(&mut self) {
        self.iteration += 1;
        match self.variant {
            CfrVariant::Vanilla => self.walk([true, true], 1.0),
            CfrVariant::Plus => {
                let weight = self.iteration as f64;
                for role in 0..2 {
                    let mut update = [false; 2];
                    update[role] = true;
                    self.walk(update, weight);
                    for r in &mut self.regrets {
                        r.iter_mut().for_each(|x| *x = x.max(0.0));
                    }
                }
            }
        }
    }

    fn iteration(&self) -> u64 {
        self.iteration
    }

    fn tree(&self) -> &PublicTree {
        &self.tree
    }

    fn infosets(&self) -> usize {
        self.index.len()
    }

    fn average_policy(&self) -> Policy {
        self.index.policy(&self.sums)
    }
}
