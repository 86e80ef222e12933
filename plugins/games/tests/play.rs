//! Playing hands and matches: zero-sum payoffs, legal play by every provided player, keys seen
//! from a seat equal to the keys of the game tree, and the study's match criteria (CFR against
//! itself ≈ 0, CFR beats random by more than half a chip per hand).

use assay_games::action::Action;
use assay_games::best_response::exploitability;
use assay_games::cards::FirstSeat;
use assay_games::cfr::{Cfr, CfrVariant};
use assay_games::infoset::Keying;
use assay_games::matches::{play_match, MatchConfig, Seating};
use assay_games::player::{Player, PolicyPlayer, RandomPlayer, RuleV1Player, RuleV2Player};
use assay_games::rng::SplitMix64;
use assay_games::rule_agents::V2Reading;
use assay_games::rules::Rules;
use assay_games::state::State;
use assay_games::tabular_cfr::TabularCfr;
use assay_games::tree::{NodeKind, PublicTree};
use assay_games::view::View;

#[test]
fn payoffs_are_zero_sum_on_random_play_over_many_seeds() {
    for rules in [Rules::rlcard(), Rules::southey()] {
        for seed in 0..2000 {
            let mut rng = SplitMix64::new(seed);
            let mut s = State::random(rules, FirstSeat::Random, &mut rng).expect("deal");
            assert_eq!(s.payoffs(), Err(assay_games::GameError::NotTerminal));
            while !s.is_terminal() {
                let legal = s.legal_actions();
                s.apply(legal[rng.below(legal.len())]).expect("legal");
            }
            let [a, b] = s.payoffs().expect("over");
            assert_eq!(a + b, 0.0, "seed {seed}");
            assert!(a.abs() <= 14.0);
            assert!(s.legal_actions().is_empty() && s.current_player().is_none());
        }
    }
}

/// Wraps a player and fails the test if it ever picks an illegal action.
struct Checked<P>(P, usize);

impl<P: Player> Player for Checked<P> {
    fn name(&self) -> String {
        self.0.name()
    }

    fn act(&mut self, view: &View, rng: &mut SplitMix64) -> Action {
        let action = self.0.act(view, rng);
        assert!(
            view.legal_actions.contains(&action),
            "{} chose {action} in {view:?}",
            self.name()
        );
        self.1 += 1;
        action
    }
}

#[test]
fn rule_agents_play_only_legal_actions() {
    for rules in [Rules::rlcard(), Rules::southey()] {
        let config = MatchConfig {
            rules,
            deals: 500,
            seed: 3,
            seating: Seating::Duplicate,
            first: FirstSeat::Random,
        };
        let mut v1 = Checked(RuleV1Player, 0);
        let mut v2 = Checked(RuleV2Player(V2Reading::AsWritten), 0);
        let mut v2r = Checked(RuleV2Player(V2Reading::ByRank), 0);
        let mut rnd = Checked(RandomPlayer, 0);
        play_match(&mut v1, &mut rnd, &config).expect("legal play");
        play_match(&mut v2, &mut rnd, &config).expect("legal play");
        play_match(&mut v2r, &mut v1, &config).expect("legal play");
        assert!(v1.1 > 1000 && v2.1 > 500 && v2r.1 > 500);
    }
}

#[test]
fn keys_seen_from_a_seat_are_the_keys_of_the_tree() {
    for rules in [Rules::rlcard(), Rules::southey()] {
        let tree = PublicTree::new(rules);
        for seed in 0..300 {
            let mut rng = SplitMix64::new(seed);
            let mut s = State::random(rules, FirstSeat::Random, &mut rng).expect("deal");
            let mut node = tree.root();
            while let Some(seat) = s.current_player() {
                if let NodeKind::Chance { children } = &tree.node(node).kind {
                    let public = s.public_card().expect("round 2").rank;
                    node = children
                        .iter()
                        .find(|(r, _)| *r == public)
                        .expect("child")
                        .1;
                }
                let NodeKind::Decision { player, children } = &tree.node(node).kind else {
                    panic!("a seat acts at a decision");
                };
                let role = (seat + 2 - s.deal().first) % 2;
                assert_eq!(*player, role);
                let view = s.view(seat).expect("seat");
                let legal: Vec<Action> = children.iter().map(|(a, _)| *a).collect();
                assert_eq!(view.legal_actions, legal);
                let rank = view.hand.rank.index();
                for keying in [Keying::FullHistory, Keying::Obs] {
                    assert_eq!(Some(keying.key(&view)), tree.key(node, rank, keying));
                }
                let action = legal[rng.below(legal.len())];
                s.apply(action).expect("legal");
                node = children
                    .iter()
                    .find(|(a, _)| *a == action)
                    .expect("child")
                    .1;
            }
            assert!(matches!(tree.node(node).kind, NodeKind::Terminal { .. }));
        }
    }
}

fn trained_policy() -> PolicyPlayer {
    let mut cfr = Cfr::new(Rules::rlcard(), CfrVariant::Plus, Keying::FullHistory);
    cfr.run(2000, 0, |_| {});
    let policy = cfr.average_policy();
    assert!(exploitability(cfr.tree(), &policy) < 0.05);
    PolicyPlayer::new("cfr+", policy)
}

fn duplicate(deals: usize, seed: u64) -> MatchConfig {
    MatchConfig {
        rules: Rules::rlcard(),
        deals,
        seed,
        seating: Seating::Duplicate,
        first: FirstSeat::Random,
    }
}

#[test]
fn cfr_against_itself_over_duplicate_deals_is_even() {
    let mut a = trained_policy();
    let mut b = a.clone();
    let r = play_match(&mut a, &mut b, &duplicate(10_000, 1)).expect("match");
    let s = r.summary;
    println!(
        "CFR+ vs itself, 10,000 duplicate deals: {:.4} ± {:.4} chips/hand (SE {:.4})",
        s.mean, s.ci95, s.se
    );
    assert!(s.mean.abs() < 2.0 * s.se, "{s:?}");
}

#[test]
fn cfr_beats_random_by_more_than_half_a_chip_per_hand() {
    let mut a = trained_policy();
    let r = play_match(&mut a, &mut RandomPlayer, &duplicate(10_000, 2)).expect("match");
    let s = r.summary;
    println!(
        "CFR+ vs random, 10,000 duplicate deals: {:.4} ± {:.4} chips/hand",
        s.mean, s.ci95
    );
    assert!(s.mean - s.ci95 > 0.5, "{s:?}");
}
