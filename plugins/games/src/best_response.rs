//! Exact best response and exploitability of a tabular policy.
//!
//! The responder has perfect recall and sees its own card, so its information sets are the
//! public nodes paired with its rank; it best-responds by walking the public tree with the
//! opponent's reach probabilities over the opponent's ranks and taking, at each of its
//! decisions and for each of its ranks, the action of highest counterfactual value. The opponent
//! plays the fixed policy, looked up under the policy's own keying (for an obs-keyed policy, by
//! the chip-count key, whatever history led there).
//!
//! **Convention.** Values are chips per hand. [`exploitability`] is
//! `(BR value of role 0 + BR value of role 1) / 2`, OpenSpiel's `exploitability` (NashConv / 2):
//! how much a best responder wins per hand on average when it holds each role half the time,
//! which for rlcard (small blind seat drawn per deal) is the average over both seats. It is 0
//! exactly at a Nash equilibrium and positive otherwise.

use crate::policy::Policy;
use crate::tree::{NodeId, NodeKind, PublicTree, RankVec, MAX_RANKS};

/// The expected chips per hand of a best response holding `role` (0 opens the hand) against
/// `policy` playing the other role.
pub fn best_response_value(tree: &PublicTree, policy: &Policy, role: usize) -> f64 {
    let values = respond(tree, policy, role, tree.root(), [1.0; MAX_RANKS]);
    values.iter().sum()
}

/// `(best_response_value(role 0) + best_response_value(role 1)) / 2`, in chips per hand (see
/// the module documentation).
pub fn exploitability(tree: &PublicTree, policy: &Policy) -> f64 {
    (best_response_value(tree, policy, 0) + best_response_value(tree, policy, 1)) / 2.0
}

/// Role 0's expected chips per hand when role 0 plays `policies[0]` and role 1 `policies[1]`.
pub fn expected_value(tree: &PublicTree, policies: [&Policy; 2]) -> f64 {
    let ones = [1.0; MAX_RANKS];
    evaluate(tree, policies, tree.root(), [ones, ones])
}

/// The probabilities `policy` gives the actions of decision `id` when the actor holds `rank`.
fn probabilities(tree: &PublicTree, policy: &Policy, id: NodeId, rank: usize) -> Vec<f64> {
    let NodeKind::Decision { children, .. } = &tree.node(id).kind else {
        return Vec::new();
    };
    let legal: Vec<_> = children.iter().map(|(a, _)| *a).collect();
    match tree.key(id, rank, policy.keying()) {
        Some(key) => policy.probabilities(&key, &legal),
        None => Vec::new(),
    }
}

/// The responder's counterfactual value per own rank at `id`.
fn respond(tree: &PublicTree, policy: &Policy, role: usize, id: NodeId, opp: RankVec) -> RankVec {
    let ranks = tree.ranks();
    let mut value = [0.0; MAX_RANKS];
    match &tree.node(id).kind {
        NodeKind::Terminal { weighted, .. } => {
            for (i, v) in value.iter_mut().enumerate().take(ranks) {
                for (j, o) in opp.iter().enumerate().take(ranks) {
                    *v += if role == 0 {
                        weighted[i][j] * o
                    } else {
                        -weighted[j][i] * o
                    };
                }
            }
        }
        NodeKind::Chance { children } => {
            for (_, child) in children {
                let v = respond(tree, policy, role, *child, opp);
                (0..ranks).for_each(|i| value[i] += v[i]);
            }
        }
        NodeKind::Decision { player, children } if *player == role => {
            value = [f64::NEG_INFINITY; MAX_RANKS];
            for (_, child) in children {
                let v = respond(tree, policy, role, *child, opp);
                (0..ranks).for_each(|i| value[i] = value[i].max(v[i]));
            }
            value[ranks..].iter_mut().for_each(|v| *v = 0.0);
        }
        NodeKind::Decision { children, .. } => {
            let probs: Vec<Vec<f64>> = (0..ranks)
                .map(|j| probabilities(tree, policy, id, j))
                .collect();
            for (k, (_, child)) in children.iter().enumerate() {
                let mut next = opp;
                (0..ranks).for_each(|j| next[j] *= probs[j][k]);
                let v = respond(tree, policy, role, *child, next);
                (0..ranks).for_each(|i| value[i] += v[i]);
            }
        }
    }
    value
}

/// Role 0's expected chips below `id` given both roles' reach per rank.
fn evaluate(tree: &PublicTree, policies: [&Policy; 2], id: NodeId, reach: [RankVec; 2]) -> f64 {
    let ranks = tree.ranks();
    match &tree.node(id).kind {
        NodeKind::Terminal { weighted, .. } => (0..ranks)
            .flat_map(|i| (0..ranks).map(move |j| (i, j)))
            .map(|(i, j)| weighted[i][j] * reach[0][i] * reach[1][j])
            .sum(),
        NodeKind::Chance { children } => children
            .iter()
            .map(|(_, child)| evaluate(tree, policies, *child, reach))
            .sum(),
        NodeKind::Decision { player, children } => {
            let probs: Vec<Vec<f64>> = (0..ranks)
                .map(|i| probabilities(tree, policies[*player], id, i))
                .collect();
            children
                .iter()
                .enumerate()
                .map(|(k, (_, child))| {
                    let mut next = reach;
                    (0..ranks).for_each(|i| next[*player][i] *= probs[i][k]);
                    evaluate(tree, policies, *child, next)
                })
                .sum()
        }
    }
}
