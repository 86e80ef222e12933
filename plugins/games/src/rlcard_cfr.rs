//! rlcard's CFR agent, reproduced: chance-sampling CFR keyed by the observation
//! (`rlcard/agents/cfr_agent.py`, the algorithm behind the `leduc-holdem-cfr` baseline that
//! Suspicion-Agent played, whose released checkpoint stops at 100 iterations).
//!
//! What one iteration does, as `CFRAgent.train` does it:
//! 1. the iteration counter `t` goes up by one;
//! 2. for each seat in turn, a fresh random hand is dealt (cards and small-blind seat) and the
//!    whole betting tree of that deal is walked with that seat as the traverser; at the
//!    traverser's decisions the regret of each legal action grows by the opponent's reach times
//!    (action utility − decision utility), and the average-strategy sum by
//!    `t · own reach · action probability` (linear averaging); chance is sampled, not weighted;
//! 3. the current policy of every infoset becomes regret matching over its regrets (uniform when
//!    none is positive), and holds until the next iteration's step 3.
//!
//! Policies are vectors over the four actions, cut down to a node's legal actions and
//! renormalised when used (`remove_illegal`). Utilities are chips (rlcard's are chips / 2, which
//! scales every regret alike and changes no strategy). The deals come from this crate's seeded
//! generator, not numpy's, so runs match rlcard's in distribution, not draw for draw.

use crate::cards::{Deal, FirstSeat};
use crate::infoset::Keying;
use crate::policy::Policy;
use crate::rng::SplitMix64;
use crate::rules::{settle, Rules};
use crate::tables::{at_node, regret_matching, ActionVec, InfosetIndex};
use crate::tabular_cfr::TabularCfr;
use crate::tree::{NodeId, NodeKind, PublicTree};

/// rlcard-style chance-sampling CFR.
#[derive(Debug, Clone)]
pub struct RlcardCfr {
    tree: PublicTree,
    index: InfosetIndex,
    regrets: Vec<ActionVec>,
    policy: Vec<ActionVec>,
    sums: Vec<ActionVec>,
    iteration: u64,
    rng: SplitMix64,
}

/// One sampled deal in role space.
#[derive(Debug, Clone, Copy)]
struct Sample {
    ranks: [usize; 2],
    public: usize,
    traverser: usize,
}

impl RlcardCfr {
    /// A solver for `rules`, keyed by `keying` (rlcard uses [`Keying::Obs`]), drawing its deals
    /// from `seed`.
    pub fn new(rules: Rules, keying: Keying, seed: u64) -> RlcardCfr {
        let tree = PublicTree::new(rules);
        let index = InfosetIndex::new(&tree, keying);
        let n = index.len();
        RlcardCfr {
            tree,
            index,
            regrets: vec![[0.0; 4]; n],
            policy: vec![[0.25; 4]; n],
            sums: vec![[0.0; 4]; n],
            iteration: 0,
            rng: SplitMix64::new(seed),
        }
    }

    /// Utilities of both roles below `id` for the sampled deal; updates the traverser's tables.
    fn traverse(&mut self, id: NodeId, reach: [f64; 2], s: Sample) -> [f64; 2] {
        let tree = &self.tree;
        let node = tree.node(id);
        match &node.kind {
            NodeKind::Terminal { folded, .. } => {
                let ranks = tree.rules().deck().ranks();
                let public = node.public.unwrap_or(ranks[s.public]);
                settle(node.in_chips, *folded, s.ranks.map(|r| ranks[r]), public)
            }
            NodeKind::Chance { children } => {
                let child = children
                    .iter()
                    .find(|(rank, _)| rank.index() == s.public)
                    .map(|(_, c)| *c);
                match child {
                    Some(c) => self.traverse(c, reach, s),
                    None => unreachable!("every rank of the deck has a chance child"),
                }
            }
            NodeKind::Decision { player, children } => {
                let me = *player;
                let children = children.clone();
                let infoset = self.index.infoset(id, s.ranks[me]);
                let local = at_node(&self.policy[infoset], &children);
                let mut state = [0.0; 2];
                let mut utilities = [[0.0; 2]; 4];
                for (k, (_, child)) in children.iter().enumerate() {
                    let mut next = reach;
                    next[me] *= local[k];
                    let u = self.traverse(*child, next, s);
                    state[0] += local[k] * u[0];
                    state[1] += local[k] * u[1];
                    utilities[k] = u;
                }
                if me == s.traverser {
                    let t = self.iteration as f64;
                    for (k, (action, _)) in children.iter().enumerate() {
                        let a = action.index();
                        self.regrets[infoset][a] += reach[1 - me] * (utilities[k][me] - state[me]);
                        self.sums[infoset][a] += t * reach[me] * local[k];
                    }
                }
                state
            }
        }
    }
}

impl TabularCfr for RlcardCfr {
    fn step(&mut self) {
        self.iteration += 1;
        for seat in 0..2 {
            let deck = self.tree.rules().deck();
            let Ok(deal) = Deal::random(deck, FirstSeat::Random, &mut self.rng) else {
                unreachable!("a random deal of a valid deck always exists");
            };
            let (sb, bb) = (deal.first, 1 - deal.first);
            let sample = Sample {
                ranks: [deal.hands[sb].rank.index(), deal.hands[bb].rank.index()],
                public: deal.public.rank.index(),
                traverser: if seat == sb { 0 } else { 1 },
            };
            self.traverse(self.tree.root(), [1.0, 1.0], sample);
        }
        for (i, probs) in self.policy.iter_mut().enumerate() {
            *probs = regret_matching(&self.regrets[i], [true; 4]);
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
