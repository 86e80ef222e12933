//! The best response checked by brute force on the reduced deck (J, Q in two suits).
//!
//! The brute force enumerates every reduced pure strategy of the responder (one action at each
//! of its decisions that its own earlier choices leave reachable) and scores each one by
//! playing it against the fixed policy over all 24 ordered deals of three distinct cards, each
//! with probability 1/24, settling terminals with the judge. It shares neither the tree's chance
//! weights nor its walks with [`best_response_value`]. Strategies are enumerated per own rank:
//! the responder's decisions with a jack and with a queen are disjoint, so the best joint
//! strategy is the best jack strategy plus the best queen strategy.

use assay_games::best_response::best_response_value;
use assay_games::cards::{Deck, Rank};
use assay_games::infoset::Keying;
use assay_games::policy::Policy;
use assay_games::rng::SplitMix64;
use assay_games::rules::{settle, Rules};
use assay_games::tree::{NodeId, NodeKind, PublicTree};

/// A pure strategy: the chosen child index at each node (only the responder's are set).
type Pure = Vec<Option<usize>>;

/// A policy with random weights on every action at every key of `tree` under `keying`.
fn random_policy(tree: &PublicTree, keying: Keying, seed: u64) -> Policy {
    let mut rng = SplitMix64::new(seed);
    let mut policy = Policy::uniform(keying);
    for id in 0..tree.nodes().len() {
        for rank in 0..tree.ranks() {
            let Some(key) = tree.key(id, rank, keying) else {
                continue;
            };
            if policy.entry(&key).is_none() {
                let weights = assay_games::Action::ALL
                    .into_iter()
                    .map(|a| (a, rng.next_f64()))
                    .collect();
                policy.set(&key, weights).expect("valid entry");
            }
        }
    }
    policy
}

/// Every reduced pure strategy of `role` below the nodes in `pending`.
fn strategies(
    tree: &PublicTree,
    role: usize,
    pending: &[NodeId],
    pure: &mut Pure,
    out: &mut Vec<Pure>,
) {
    let Some((&first, rest)) = pending.split_first() else {
        out.push(pure.clone());
        return;
    };
    match &tree.node(first).kind {
        NodeKind::Terminal { .. } => strategies(tree, role, rest, pure, out),
        NodeKind::Decision { player, children } if *player == role => {
            for (k, (_, child)) in children.iter().enumerate() {
                let mut next = rest.to_vec();
                next.push(*child);
                pure[first] = Some(k);
                strategies(tree, role, &next, pure, out);
            }
            pure[first] = None;
        }
        NodeKind::Decision { children, .. } => {
            let mut next = rest.to_vec();
            next.extend(children.iter().map(|(_, c)| *c));
            strategies(tree, role, &next, pure, out);
        }
        NodeKind::Chance { children } => {
            let mut next = rest.to_vec();
            next.extend(children.iter().map(|(_, c)| *c));
            strategies(tree, role, &next, pure, out);
        }
    }
}

/// The opponent's action probabilities at each (node, opponent rank).
fn opponent_table(tree: &PublicTree, policy: &Policy) -> Vec<Vec<Vec<f64>>> {
    (0..tree.nodes().len())
        .map(|id| {
            (0..tree.ranks())
                .map(
                    |rank| match (&tree.node(id).kind, tree.key(id, rank, policy.keying())) {
                        (NodeKind::Decision { children, .. }, Some(key)) => {
                            let legal: Vec<_> = children.iter().map(|(a, _)| *a).collect();
                            policy.probabilities(&key, &legal)
                        }
                        _ => Vec::new(),
                    },
                )
                .collect()
        })
        .collect()
}

/// The responder's payoff below `id` for one deal (`ranks` by role, `public` rank).
fn play(
    tree: &PublicTree,
    opp: &[Vec<Vec<f64>>],
    pure: &Pure,
    role: usize,
    id: NodeId,
    ranks: [Rank; 2],
    public: Rank,
) -> f64 {
    let node = tree.node(id);
    match &node.kind {
        NodeKind::Terminal { folded, .. } => settle(node.in_chips, *folded, ranks, public)[role],
        NodeKind::Chance { children } => {
            let (_, child) = children
                .iter()
                .find(|(r, _)| *r == public)
                .expect("public child");
            play(tree, opp, pure, role, *child, ranks, public)
        }
        NodeKind::Decision { player, children } if *player == role => {
            let k = pure[id].expect("reachable responder decisions are set");
            play(tree, opp, pure, role, children[k].1, ranks, public)
        }
        NodeKind::Decision { player, children } => children
            .iter()
            .enumerate()
            .map(|(k, (_, child))| {
                let p = opp[id][ranks[*player].index()][k];
                p * play(tree, opp, pure, role, *child, ranks, public)
            })
            .sum(),
    }
}

/// The best response value of `role` by enumeration.
fn brute_force(tree: &PublicTree, policy: &Policy, role: usize) -> f64 {
    let mut all = Vec::new();
    strategies(
        tree,
        role,
        &[tree.root()],
        &mut vec![None; tree.nodes().len()],
        &mut all,
    );
    let opp = opponent_table(tree, policy);
    let cards = tree.rules().deck().cards();
    let mut deals = Vec::new();
    for (a, ca) in cards.iter().enumerate() {
        for (b, cb) in cards.iter().enumerate() {
            for (c, cc) in cards.iter().enumerate() {
                if a != b && b != c && a != c {
                    deals.push([ca.rank, cb.rank, cc.rank]);
                }
            }
        }
    }
    let p = 1.0 / deals.len() as f64;
    let mut total = 0.0;
    for &mine in tree.rules().deck().ranks() {
        let best = all
            .iter()
            .map(|pure| {
                deals
                    .iter()
                    .filter(|d| d[role] == mine)
                    .map(|d| p * play(tree, &opp, pure, role, tree.root(), [d[0], d[1]], d[2]))
                    .sum::<f64>()
            })
            .fold(f64::NEG_INFINITY, f64::max);
        total += best;
    }
    total
}

fn reduced(rules: Rules, max_raises: u32) -> PublicTree {
    let deck = Deck::with_ranks(2).expect("two ranks");
    PublicTree::new(
        rules
            .with_deck(deck)
            .with_max_raises(max_raises)
            .expect("cap"),
    )
}

#[test]
fn best_response_equals_brute_force_with_one_raise_per_round() {
    for rules in [Rules::rlcard(), Rules::southey()] {
        let tree = reduced(rules, 1);
        for (seed, keying) in [(1, Keying::FullHistory), (2, Keying::Obs)] {
            let policy = random_policy(&tree, keying, seed);
            for role in 0..2 {
                let exact = best_response_value(&tree, &policy, role);
                let brute = brute_force(&tree, &policy, role);
                assert!(
                    (exact - brute).abs() < 1e-9,
                    "{:?} {keying:?} role {role}: {exact} vs {brute}",
                    rules.variant()
                );
            }
        }
    }
}

#[test]
fn best_response_equals_brute_force_for_the_opener_with_two_raises_per_round() {
    // The opener has 11,737 (rlcard) and 1,925 (Southey) reduced pure strategies per card here;
    // the other role has about a million, too many for a debug-build test.
    for rules in [Rules::rlcard(), Rules::southey()] {
        let tree = reduced(rules, 2);
        let policy = random_policy(&tree, Keying::FullHistory, 3);
        let exact = best_response_value(&tree, &policy, 0);
        let brute = brute_force(&tree, &policy, 0);
        assert!(
            (exact - brute).abs() < 1e-9,
            "{:?}: {exact} vs {brute}",
            rules.variant()
        );
    }
}
