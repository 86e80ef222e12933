//! Tabular policies: information-set key → probabilities over actions.
//!
//! Lookups follow rlcard's `remove_illegal` (`rlcard/utils/utils.py`): the stored probabilities
//! of the legal actions are renormalised, and a key that is missing or gives the legal actions no
//! mass plays uniformly over them. A policy converts to and from rows `(key, action, probability)`
//! so that one run can store it as a table and another can load it.

use std::collections::BTreeMap;

use crate::action::Action;
use crate::error::GameError;
use crate::infoset::Keying;
use crate::rng::SplitMix64;

/// One row of a stored policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRow {
    /// The information-set key.
    pub key: String,
    /// The action.
    pub action: Action,
    /// Its probability (rows of one key sum to 1 when exported).
    pub probability: f64,
}

/// A tabular policy under one keying; unseen keys play uniformly.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    keying: Keying,
    table: BTreeMap<String, Vec<(Action, f64)>>,
}

impl Policy {
    /// The empty policy: uniform over the legal actions everywhere.
    pub fn uniform(keying: Keying) -> Policy {
        Policy {
            keying,
            table: BTreeMap::new(),
        }
    }

    /// How this policy's keys are written.
    pub fn keying(&self) -> Keying {
        self.keying
    }

    /// Number of keys with an entry.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no key has an entry.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The keys with an entry, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.table.keys().map(String::as_str)
    }

    /// The stored entry of `key`, if any.
    pub fn entry(&self, key: &str) -> Option<&[(Action, f64)]> {
        self.table.get(key).map(Vec::as_slice)
    }

    /// Sets the entry of `key`: weights per action (non-negative, finite, each action once);
    /// they need not sum to 1.
    pub fn set(&mut self, key: &str, weights: Vec<(Action, f64)>) -> Result<(), GameError> {
        let bad = |reason: String| GameError::PolicyEntry {
            key: key.to_string(),
            reason,
        };
        if !self.keying.accepts(key) {
            return Err(bad(format!(
                "not a key of the `{}` keying (see the infoset module for the format)",
                self.keying.name()
            )));
        }
        for (i, (action, w)) in weights.iter().enumerate() {
            if !w.is_finite() || *w < 0.0 {
                return Err(bad(format!(
                    "weight {w} of `{action}` is not a finite non-negative number"
                )));
            }
            if weights[..i].iter().any(|(a, _)| a == action) {
                return Err(bad(format!("action `{action}` appears twice")));
            }
        }
        self.table.insert(key.to_string(), weights);
        Ok(())
    }

    /// Probabilities of `legal` (same order) at `key`: the stored weights of the legal actions
    /// renormalised, or uniform when the key is unseen or gives them no weight.
    pub fn probabilities(&self, key: &str, legal: &[Action]) -> Vec<f64> {
        let stored = self.table.get(key);
        let weights: Vec<f64> = legal
            .iter()
            .map(|a| {
                stored
                    .and_then(|e| e.iter().find(|(b, _)| b == a))
                    .map_or(0.0, |(_, w)| *w)
            })
            .collect();
        normalise_or_uniform(weights)
    }

    /// An action drawn from [`Policy::probabilities`].
    pub fn sample(
        &self,
        key: &str,
        legal: &[Action],
        rng: &mut SplitMix64,
    ) -> Result<Action, GameError> {
        if legal.is_empty() {
            return Err(GameError::NoLegalActions);
        }
        let probs = self.probabilities(key, legal);
        Ok(legal[rng.weighted(&probs)])
    }

    /// The policy as rows, sorted by key then action, each key's probabilities normalised
    /// (uniform over its actions when its weights are all zero).
    pub fn to_rows(&self) -> Vec<PolicyRow> {
        let mut rows = Vec::new();
        for (key, entry) in &self.table {
            let mut entry = entry.clone();
            entry.sort_by_key(|(a, _)| *a);
            let probs = normalise_or_uniform(entry.iter().map(|(_, w)| *w).collect());
            for ((action, _), probability) in entry.into_iter().zip(probs) {
                rows.push(PolicyRow {
                    key: key.clone(),
                    action,
                    probability,
                });
            }
        }
        rows
    }

    /// The policy of `rows` (as [`Policy::to_rows`] writes them); refuses malformed keys,
    /// negative or non-finite probabilities and repeated (key, action) pairs.
    pub fn from_rows(
        keying: Keying,
        rows: impl IntoIterator<Item = PolicyRow>,
    ) -> Result<Policy, GameError> {
        let mut grouped: BTreeMap<String, Vec<(Action, f64)>> = BTreeMap::new();
        for row in rows {
            grouped
                .entry(row.key)
                .or_default()
                .push((row.action, row.probability));
        }
        let mut policy = Policy::uniform(keying);
        for (key, weights) in grouped {
            policy.set(&key, weights)?;
        }
        Ok(policy)
    }
}

/// `weights` scaled to sum to 1, or uniform when their sum is not positive.
pub(crate) fn normalise_or_uniform(mut weights: Vec<f64>) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let n = weights.len() as f64;
    if total > 0.0 {
        weights.iter_mut().for_each(|w| *w /= total);
    } else {
        weights.iter_mut().for_each(|w| *w = 1.0 / n);
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    #[test]
    fn lookups_mask_illegal_actions_and_default_to_uniform() {
        let mut p = Policy::uniform(Keying::FullHistory);
        p.set("K-:", vec![(Call, 0.2), (Raise, 0.6), (Fold, 0.2)])
            .expect("valid");
        assert_eq!(
            p.probabilities("K-:", &[Call, Raise, Fold]),
            [0.2, 0.6, 0.2]
        );
        let masked = p.probabilities("K-:", &[Call, Fold]);
        assert!((masked[0] - 0.5).abs() < 1e-12 && (masked[1] - 0.5).abs() < 1e-12);
        assert_eq!(
            p.probabilities("J-:", &[Raise, Fold, Check]),
            [1.0 / 3.0; 3]
        );
        assert_eq!(p.probabilities("K-:", &[Check]), [1.0]);
    }

    #[test]
    fn rows_round_trip_and_bad_rows_are_refused() {
        let mut p = Policy::uniform(Keying::Obs);
        p.set("Q-|2|2", vec![(Raise, 3.0), (Check, 1.0), (Fold, 0.0)])
            .expect("valid");
        p.set("KJ|6|6", vec![(Check, 1.0)]).expect("valid");
        let rows = p.to_rows();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].key, "KJ|6|6");
        let back = Policy::from_rows(Keying::Obs, rows.clone()).expect("rows");
        assert_eq!(back.to_rows(), rows);
        assert_eq!(
            back.probabilities("Q-|2|2", &[Raise, Fold, Check]),
            [0.75, 0.0, 0.25]
        );

        let row = |key: &str, action, probability| PolicyRow {
            key: key.into(),
            action,
            probability,
        };
        assert!(Policy::from_rows(Keying::Obs, [row("Q-:c", Call, 1.0)]).is_err());
        assert!(Policy::from_rows(Keying::Obs, [row("Q-|2|2", Call, -0.1)]).is_err());
        assert!(Policy::from_rows(Keying::Obs, [row("Q-|2|2", Call, f64::NAN)]).is_err());
        let twice = [row("Q-|2|2", Call, 0.5), row("Q-|2|2", Call, 0.5)];
        assert!(Policy::from_rows(Keying::Obs, twice).is_err());
    }

    #[test]
    fn sampling_follows_the_probabilities_and_needs_legal_actions() {
        let mut p = Policy::uniform(Keying::FullHistory);
        p.set("J-:c", vec![(Raise, 0.0), (Fold, 1.0), (Check, 0.0)])
            .expect("valid");
        let mut rng = SplitMix64::new(5);
        for _ in 0..50 {
            assert_eq!(p.sample("J-:c", &[Raise, Fold, Check], &mut rng), Ok(Fold));
        }
        assert_eq!(
            p.sample("J-:c", &[], &mut rng),
            Err(GameError::NoLegalActions)
        );
    }
}
