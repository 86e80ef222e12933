//! The public game tree: every betting history and public card, with the private cards left
//! out and handled as probability vectors over ranks by the solvers that walk it.
//!
//! The tree is built in *role* space: role 0 is the opening seat (rlcard's small blind,
//! Southey's first player), role 1 the other. Policies are keyed without seats (see
//! [`crate::infoset`]), so a seat plays the same strategy in a role whichever seat it is, and a
//! value for a role is a value for whichever seat holds it.
//!
//! Chance is exact: the private ranks `(r0, r1)` of the two roles are drawn with probability
//! `n(r0)·(n(r1) − [r0 = r1]) / (N·(N − 1))` and the public rank `c` then with
//! `(n(c) − [c = r0] − [c = r1]) / (N − 2)`, where `n` counts a rank's cards and `N` the deck.
//! Each terminal stores role 0's payoff for every pair of private ranks, already multiplied by
//! the probability of those ranks (and of its public card), so that a walk need not revisit
//! chance.

use crate::action::Action;
use crate::betting::Betting;
use crate::cards::{Deck, Rank};
use crate::infoset::{full_history_key, obs_key, Keying};
use crate::rules::{settle, Rules};

/// Largest number of ranks in a deck; rank vectors have this length (unused entries are 0).
pub const MAX_RANKS: usize = 3;

/// A vector over the ranks of the deck (entry `i` is rank `Rank::ALL[i]`).
pub type RankVec = [f64; MAX_RANKS];

/// Index of a node in [`PublicTree::nodes`].
pub type NodeId = usize;

/// What happens at a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A role acts; one child per legal action, in rlcard's order.
    Decision {
        /// The acting role (0 opens the hand).
        player: usize,
        /// The legal actions and the nodes they lead to.
        children: Vec<(Action, NodeId)>,
    },
    /// The public card is revealed; one child per rank of the deck.
    Chance {
        /// The public rank and the node it leads to.
        children: Vec<(Rank, NodeId)>,
    },
    /// The hand is over.
    Terminal {
        /// The role that folded, if the hand ended by a fold.
        folded: Option<usize>,
        /// `weighted[r0][r1]`: role 0's chips when role 0 holds rank `r0` and role 1 rank
        /// `r1`, times the probability of those ranks and of this node's public card.
        weighted: [RankVec; MAX_RANKS],
    },
}

/// A node of the public tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What happens here.
    pub kind: NodeKind,
    /// The public card's rank once revealed.
    pub public: Option<Rank>,
    /// Chips put in by role 0 and role 1.
    pub in_chips: [u32; 2],
    /// The actions of round 1 and round 2 so far.
    pub actions: [Vec<Action>; 2],
}

/// The public tree of one rule set.
#[derive(Debug, Clone)]
pub struct PublicTree {
    rules: Rules,
    nodes: Vec<Node>,
}

impl PublicTree {
    /// Builds the whole tree of `rules` (a few hundred nodes for Leduc).
    pub fn new(rules: Rules) -> PublicTree {
        let mut tree = PublicTree {
            rules,
            nodes: Vec::new(),
        };
        match Betting::new(rules, 0) {
            Ok(root) => {
                tree.build(&root, None);
            }
            Err(_) => unreachable!("seat 0 always exists"),
        }
        tree
    }

    /// The rules the tree was built for.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The root (the first decision of role 0).
    pub fn root(&self) -> NodeId {
        0
    }

    /// All nodes; a node's children come after it.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Number of ranks in the deck (the used length of a [`RankVec`]).
    pub fn ranks(&self) -> usize {
        self.rules.deck().ranks().len()
    }

    /// The key of the decision at `node` for the acting role holding rank index `rank`, or
    /// `None` when `node` is not a decision.
    pub fn key(&self, node: NodeId, rank: usize, keying: Keying) -> Option<String> {
        let n = &self.nodes[node];
        let NodeKind::Decision { player, .. } = n.kind else {
            return None;
        };
        let hand = Rank::from_index(rank)?;
        Some(match keying {
            Keying::FullHistory => full_history_key(hand, n.public, &n.actions),
            Keying::Obs => obs_key(hand, n.public, n.in_chips[player], n.in_chips[1 - player]),
        })
    }

    /// Probability that role 0 holds rank `r0`, role 1 rank `r1` and (when given) the public
    /// card has rank `public`.
    pub fn chance(&self, r0: usize, r1: usize, public: Option<usize>) -> f64 {
        chance(self.rules.deck(), r0, r1, public)
    }

    fn build(&mut self, betting: &Betting, public: Option<Rank>) -> NodeId {
        let id = self.nodes.len();
        let actions = betting.actions();
        self.nodes.push(Node {
            kind: NodeKind::Chance {
                children: Vec::new(),
            },
            public,
            in_chips: betting.in_chips(),
            actions,
        });
        let kind = match betting.current_player() {
            None => NodeKind::Terminal {
                folded: betting.folded(),
                weighted: self.weighted_payoffs(betting, public),
            },
            Some(player) => {
                let mut children = Vec::new();
                for action in betting.legal_actions() {
                    let mut next = betting.clone();
                    if next.apply(action).is_err() {
                        unreachable!("legal actions apply");
                    }
                    let child = if public.is_none() && next.round() == 1 && !next.is_terminal() {
                        self.build_chance(&next)
                    } else {
                        self.build(&next, public)
                    };
                    children.push((action, child));
                }
                NodeKind::Decision { player, children }
            }
        };
        self.nodes[id].kind = kind;
        id
    }

    fn build_chance(&mut self, betting: &Betting) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind: NodeKind::Chance {
                children: Vec::new(),
            },
            public: None,
            in_chips: betting.in_chips(),
            actions: betting.actions(),
        });
        let children = self
            .rules
            .deck()
            .ranks()
            .iter()
            .map(|&rank| (rank, self.build(betting, Some(rank))))
            .collect();
        self.nodes[id].kind = NodeKind::Chance { children };
        id
    }

    fn weighted_payoffs(&self, betting: &Betting, public: Option<Rank>) -> [RankVec; MAX_RANKS] {
        let deck = self.rules.deck();
        let mut out = [[0.0; MAX_RANKS]; MAX_RANKS];
        for (i, &r0) in deck.ranks().iter().enumerate() {
            for (j, &r1) in deck.ranks().iter().enumerate() {
                let p = chance(deck, i, j, public.map(Rank::index));
                if p > 0.0 {
                    // The public rank matters only at a showdown, where it is known.
                    let shown = public.unwrap_or(Rank::J);
                    let pay = settle(betting.in_chips(), betting.folded(), [r0, r1], shown);
                    out[i][j] = p * pay[0];
                }
            }
        }
        out
    }
}

fn chance(deck: Deck, r0: usize, r1: usize, public: Option<usize>) -> f64 {
    let ranks = deck.ranks().len();
    if r0 >= ranks || r1 >= ranks || public.is_some_and(|c| c >= ranks) {
        return 0.0;
    }
    let n = Deck::COPIES as f64;
    let total = deck.size() as f64;
    let same = |a: usize, b: usize| if a == b { 1.0 } else { 0.0 };
    let private = n * (n - same(r0, r1)) / (total * (total - 1.0));
    match public {
        None => private,
        Some(c) => private * (n - same(c, r0) - same(c, r1)).max(0.0) / (total - 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chance_sums_to_one_with_and_without_the_public_card() {
        for deck in [Deck::LEDUC, Deck::with_ranks(2).expect("two ranks")] {
            let tree = PublicTree::new(Rules::rlcard().with_deck(deck));
            let r = tree.ranks();
            let mut private = 0.0;
            let mut full = 0.0;
            for i in 0..r {
                for j in 0..r {
                    private += tree.chance(i, j, None);
                    for c in 0..r {
                        full += tree.chance(i, j, Some(c));
                    }
                }
            }
            assert!((private - 1.0).abs() < 1e-12 && (full - 1.0).abs() < 1e-12);
        }
        let tree = PublicTree::new(Rules::rlcard());
        // Both kings dealt: no king can be the public card.
        assert_eq!(tree.chance(2, 2, Some(2)), 0.0);
        assert!((tree.chance(2, 2, None) - 2.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn tree_shape_matches_the_rules() {
        let tree = PublicTree::new(Rules::rlcard());
        let decisions = tree
            .nodes()
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Decision { .. }))
            .count();
        let chances = tree
            .nodes()
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Chance { .. }))
            .count();
        // Round 1 closes without a fold in 5 ways (ck, rc, crc, rrc, crrc), each followed by 3
        // public ranks.
        assert_eq!(chances, 5);
        assert!(decisions > 50, "{decisions}");
        let NodeKind::Decision { player, children } = &tree.node(tree.root()).kind else {
            panic!("root is a decision");
        };
        assert_eq!(*player, 0);
        let actions: Vec<Action> = children.iter().map(|(a, _)| *a).collect();
        assert_eq!(actions, [Action::Call, Action::Raise, Action::Fold]);
        assert_eq!(
            tree.key(tree.root(), 2, Keying::FullHistory).as_deref(),
            Some("K-:")
        );
        assert_eq!(
            tree.key(tree.root(), 0, Keying::Obs).as_deref(),
            Some("J-|1|2")
        );
    }

    #[test]
    fn an_opening_fold_loses_the_small_blind_whatever_the_cards() {
        let tree = PublicTree::new(Rules::rlcard());
        let NodeKind::Decision { children, .. } = &tree.node(tree.root()).kind else {
            panic!("root is a decision");
        };
        let (_, fold) = children[2];
        let NodeKind::Terminal { folded, weighted } = &tree.node(fold).kind else {
            panic!("a fold ends the hand");
        };
        assert_eq!(*folded, Some(0));
        let total: f64 = weighted.iter().flatten().sum();
        assert!((total + 1.0).abs() < 1e-12, "{total}");
    }
}
