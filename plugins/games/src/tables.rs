//! The solvers' bookkeeping: which information set each (decision node, own rank) belongs to
//! under a keying, regret matching, and turning accumulated strategy sums into a [`Policy`].
//!
//! Per-infoset vectors have one slot per action in rlcard's order (call, raise, fold, check).
//! Under the obs keying several nodes share an infoset, possibly with different legal actions;
//! an infoset's actions are the union, and a node uses the entries of its own legal actions,
//! renormalised (rlcard's `remove_illegal`).

use std::collections::HashMap;

use crate::action::Action;
use crate::infoset::Keying;
use crate::policy::{normalise_or_uniform, Policy};
use crate::tree::{NodeId, NodeKind, PublicTree, MAX_RANKS};

/// A value per action, indexed by [`Action::index`].
pub type ActionVec = [f64; 4];

/// The infosets of a tree under one keying.
#[derive(Debug, Clone)]
pub struct InfosetIndex {
    keying: Keying,
    slots: Vec<[usize; MAX_RANKS]>,
    keys: Vec<String>,
    legal: Vec<[bool; 4]>,
}

impl InfosetIndex {
    /// Indexes every decision of `tree` under `keying`.
    pub fn new(tree: &PublicTree, keying: Keying) -> InfosetIndex {
        let mut index = InfosetIndex {
            keying,
            slots: vec![[usize::MAX; MAX_RANKS]; tree.nodes().len()],
            keys: Vec::new(),
            legal: Vec::new(),
        };
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (id, node) in tree.nodes().iter().enumerate() {
            let NodeKind::Decision { children, .. } = &node.kind else {
                continue;
            };
            for rank in 0..tree.ranks() {
                let Some(key) = tree.key(id, rank, keying) else {
                    continue;
                };
                let infoset = *by_key.entry(key.clone()).or_insert_with(|| {
                    index.keys.push(key);
                    index.legal.push([false; 4]);
                    index.keys.len() - 1
                });
                for (action, _) in children {
                    index.legal[infoset][action.index()] = true;
                }
                index.slots[id][rank] = infoset;
            }
        }
        index
    }

    /// The keying.
    pub fn keying(&self) -> Keying {
        self.keying
    }

    /// Number of infosets.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none (never, for a built tree).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The infoset of the acting role at decision `node` holding rank index `rank`.
    pub fn infoset(&self, node: NodeId, rank: usize) -> usize {
        self.slots[node][rank]
    }

    /// The key of infoset `i`.
    pub fn key(&self, i: usize) -> &str {
        &self.keys[i]
    }

    /// Which actions are legal somewhere in infoset `i`.
    pub fn legal(&self, i: usize) -> [bool; 4] {
        self.legal[i]
    }

    /// The policy whose entry for each infoset is `sums` normalised over its actions (uniform
    /// where the sums are all zero, e.g. never reached).
    pub fn policy(&self, sums: &[ActionVec]) -> Policy {
        let mut policy = Policy::uniform(self.keying);
        for (i, sum) in sums.iter().enumerate() {
            let actions: Vec<Action> = Action::ALL
                .into_iter()
                .filter(|a| self.legal[i][a.index()])
                .collect();
            let weights = normalise_or_uniform(actions.iter().map(|a| sum[a.index()]).collect());
            let entry = actions.into_iter().zip(weights).collect();
            if policy.set(&self.keys[i], entry).is_err() {
                unreachable!("keys come from the keying and weights are normalised");
            }
        }
        policy
    }
}

/// Regret matching: probabilities proportional to the positive regrets of the legal actions,
/// uniform over them when none is positive.
pub fn regret_matching(regrets: &ActionVec, legal: [bool; 4]) -> ActionVec {
    let mut out = [0.0; 4];
    let positive: f64 = (0..4)
        .filter(|&a| legal[a])
        .map(|a| regrets[a].max(0.0))
        .sum();
    let count = legal.iter().filter(|l| **l).count() as f64;
    for a in 0..4 {
        if legal[a] {
            out[a] = if positive > 0.0 {
                regrets[a].max(0.0) / positive
            } else {
                1.0 / count
            };
        }
    }
    out
}

/// The probabilities of a node's `actions` (in its order) taken from an infoset's vector and
/// renormalised; uniform when they have no mass.
pub fn at_node(probs: &ActionVec, actions: &[(Action, NodeId)]) -> [f64; 4] {
    let mut out = [0.0; 4];
    let weights = normalise_or_uniform(actions.iter().map(|(a, _)| probs[a.index()]).collect());
    out[..weights.len()].copy_from_slice(&weights);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    #[test]
    fn regret_matching_uses_positive_regrets_of_legal_actions() {
        let legal = [true, true, true, false];
        assert_eq!(
            regret_matching(&[1.0, 3.0, -2.0, 9.0], legal),
            [0.25, 0.75, 0.0, 0.0]
        );
        assert_eq!(
            regret_matching(&[-1.0, 0.0, -2.0, 0.0], legal),
            [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0]
        );
    }

    #[test]
    fn obs_keying_merges_histories_that_full_history_keeps_apart() {
        let tree = PublicTree::new(Rules::rlcard());
        let full = InfosetIndex::new(&tree, Keying::FullHistory);
        let obs = InfosetIndex::new(&tree, Keying::Obs);
        let decisions = tree
            .nodes()
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Decision { .. }))
            .count();
        assert_eq!(
            full.len(),
            decisions * 3,
            "perfect recall: one infoset per node and rank"
        );
        assert!(obs.len() < full.len(), "{} vs {}", obs.len(), full.len());
    }
}
