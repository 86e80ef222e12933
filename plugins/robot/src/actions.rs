//! Action standardisation and tokenisation as RT-X does it: per-dataset bounds map each action
//! dimension to [−1, 1] (the coarse alignment of Open X-Embodiment, as for the Taco dataset),
//! then RT-1's 256-bin tokenisation (`models/rt1.py`):
//!
//! - token = ⌊(a − lo) / (hi − lo) · 255⌋ after clipping a to [lo, hi] ([`tokenise`]);
//! - a = token / 255 · (hi − lo) + lo ([`detokenise`]).
//!
//! Bin k covers [lo + k·w, lo + (k+1)·w) with w = (hi − lo)/255; token 255 is hi exactly. A value
//! inside the bounds comes back at most w below itself, so the round trip's error is at most
//! (hi − lo)/255 per dimension (up to floating-point rounding: values exactly on a bin edge can
//! exceed it by ~1e-14 relative); values outside
//! are first clipped. [`ActionBounds`] fits lo and hi per dimension on a dataset's valid actions
//! (the last step of each episode is ignored), normalises with them, and tokenises the
//! normalised value on [−1, 1]. A constant dimension (hi = lo, e.g. the unused rotation)
//! normalises to 0 and comes back as lo exactly.

use crate::rlds::Episode;

/// Number of tokens per action dimension.
pub const BINS: usize = 256;

/// The notes' tokenisation of one value with bounds [lo, hi]; 0 when hi ≤ lo or for NaN.
pub fn tokenise(value: f64, lo: f64, hi: f64) -> u8 {
    let usable = hi > lo;
    if !usable || value.is_nan() {
        return 0;
    }
    let a = value.clamp(lo, hi);
    let t = ((a - lo) / (hi - lo) * (BINS - 1) as f64).floor();
    t.clamp(0.0, (BINS - 1) as f64) as u8
}

/// The notes' detokenisation of one token with bounds [lo, hi].
pub fn detokenise(token: u8, lo: f64, hi: f64) -> f64 {
    token as f64 / (BINS - 1) as f64 * (hi - lo) + lo
}

/// An action that does not fit the bounds, or bounds that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// An action of another length than the bounds.
    #[error("the action has {found} values but the bounds have {expected} dimensions")]
    Dimension {
        /// The bounds' dimensions.
        expected: usize,
        /// The action's length.
        found: usize,
    },
    /// A NaN or infinite action value.
    #[error("action dimension {dim} is {value}: actions must be finite")]
    NotFinite {
        /// Dimension.
        dim: usize,
        /// The value.
        value: f64,
    },
    /// Bounds that are not finite or have lo > hi.
    #[error("bounds of dimension {dim} are [{lo}, {hi}]: they must be finite with lo ≤ hi")]
    Bounds {
        /// Dimension.
        dim: usize,
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// Nothing to fit bounds on.
    #[error("no valid actions to fit bounds on (a dataset's valid actions are all steps but each episode's last)")]
    NoActions,
}

/// Per-dimension bounds of a dataset's actions.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionBounds {
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl ActionBounds {
    /// Bounds from explicit values (finite, `lo[d] ≤ hi[d]`, equal lengths).
    pub fn new(lo: Vec<f64>, hi: Vec<f64>) -> Result<ActionBounds, ActionError> {
        if lo.len() != hi.len() {
            return Err(ActionError::Dimension {
                expected: lo.len(),
                found: hi.len(),
            });
        }
        for (dim, (&l, &h)) in lo.iter().zip(&hi).enumerate() {
            if !(l.is_finite() && h.is_finite() && l <= h) {
                return Err(ActionError::Bounds { dim, lo: l, hi: h });
            }
        }
        Ok(ActionBounds { lo, hi })
    }

    /// The per-dimension minimum and maximum of `actions` (all of one length, finite).
    pub fn fit<'a>(
        actions: impl IntoIterator<Item = &'a [f64]>,
    ) -> Result<ActionBounds, ActionError> {
        let mut bounds: Option<ActionBounds> = None;
        for action in actions {
            let b = bounds.get_or_insert_with(|| ActionBounds {
                lo: vec![f64::INFINITY; action.len()],
                hi: vec![f64::NEG_INFINITY; action.len()],
            });
            b.check(action)?;
            for (d, &a) in action.iter().enumerate() {
                b.lo[d] = b.lo[d].min(a);
                b.hi[d] = b.hi[d].max(a);
            }
        }
        bounds.ok_or(ActionError::NoActions)
    }

    /// Bounds fitted on the valid actions of `episodes` (each episode's last step ignored).
    pub fn from_episodes(episodes: &[Episode]) -> Result<ActionBounds, ActionError> {
        ActionBounds::fit(
            episodes
                .iter()
                .flat_map(|e| e.transitions())
                .map(|s| s.action.as_slice()),
        )
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// Lower bounds.
    pub fn lo(&self) -> &[f64] {
        &self.lo
    }

    /// Upper bounds.
    pub fn hi(&self) -> &[f64] {
        &self.hi
    }

    /// The largest round-trip error per dimension, (hi − lo) / 255.
    pub fn max_error(&self) -> Vec<f64> {
        self.lo
            .iter()
            .zip(&self.hi)
            .map(|(l, h)| (h - l) / (BINS - 1) as f64)
            .collect()
    }

    /// Each dimension mapped to [−1, 1] (clipped); 0 for a constant dimension.
    pub fn normalise(&self, action: &[f64]) -> Result<Vec<f64>, ActionError> {
        self.check(action)?;
        Ok(self.dims(action, |a, lo, hi| {
            if hi > lo {
                (2.0 * (a - lo) / (hi - lo) - 1.0).clamp(-1.0, 1.0)
            } else {
                0.0
            }
        }))
    }

    /// The inverse of [`ActionBounds::normalise`] (input clipped to [−1, 1]); lo for a constant
    /// dimension.
    pub fn denormalise(&self, normalised: &[f64]) -> Result<Vec<f64>, ActionError> {
        self.check(normalised)?;
        Ok(self.dims(normalised, |n, lo, hi| {
            if hi > lo {
                (n.clamp(-1.0, 1.0) + 1.0) / 2.0 * (hi - lo) + lo
            } else {
                lo
            }
        }))
    }

    /// One token per dimension: the normalised action tokenised on [−1, 1].
    pub fn tokenise(&self, action: &[f64]) -> Result<Vec<u8>, ActionError> {
        Ok(self
            .normalise(action)?
            .into_iter()
            .map(|n| tokenise(n, -1.0, 1.0))
            .collect())
    }

    /// The action that `tokens` stand for: detokenised on [−1, 1], then denormalised.
    pub fn detokenise(&self, tokens: &[u8]) -> Result<Vec<f64>, ActionError> {
        let normalised: Vec<f64> = tokens.iter().map(|&t| detokenise(t, -1.0, 1.0)).collect();
        self.denormalise(&normalised)
    }

    fn check(&self, action: &[f64]) -> Result<(), ActionError> {
        if action.len() != self.dim() {
            return Err(ActionError::Dimension {
                expected: self.dim(),
                found: action.len(),
            });
        }
        match action.iter().position(|a| !a.is_finite()) {
            Some(dim) => Err(ActionError::NotFinite {
                dim,
                value: action[dim],
            }),
            None => Ok(()),
        }
    }

    fn dims(&self, values: &[f64], f: impl Fn(f64, f64, f64) -> f64) -> Vec<f64> {
        values
            .iter()
            .zip(self.lo.iter().zip(&self.hi))
            .map(|(&v, (&lo, &hi))| f(v, lo, hi))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Whether `got` is within one bin width of `want` (plus rounding).
    fn within_bin(got: f64, want: f64, lo: f64, hi: f64) -> bool {
        let w = (hi - lo) / 255.0;
        (got - want).abs() <= w * (1.0 + 1e-12)
    }

    #[test]
    fn tokens_follow_the_notes_formula_at_and_outside_the_bounds() {
        let (lo, hi) = (-2.0, 2.0);
        assert_eq!(tokenise(lo, lo, hi), 0);
        assert_eq!(tokenise(hi, lo, hi), 255);
        assert_eq!(
            tokenise(hi - 1e-9, lo, hi),
            254,
            "only hi itself is token 255"
        );
        assert_eq!(tokenise(lo - 3.0, lo, hi), 0);
        assert_eq!(tokenise(hi + 3.0, lo, hi), 255);
        assert_eq!(tokenise(0.0, lo, hi), 127, "⌊0.5 · 255⌋");
        let w = (hi - lo) / 255.0;
        for k in 0..255u8 {
            let mid = lo + (k as f64 + 0.5) * w;
            assert_eq!(tokenise(mid, lo, hi), k);
            assert!((detokenise(k, lo, hi) - (lo + k as f64 * w)).abs() < 1e-12);
        }
        assert_eq!(detokenise(0, lo, hi), lo);
        assert_eq!(detokenise(255, lo, hi), hi);
        assert_eq!(tokenise(f64::NAN, lo, hi), 0);
        assert_eq!(tokenise(0.3, 1.0, 1.0), 0, "hi = lo");
        assert_eq!(tokenise(0.3, 1.0, f64::NAN), 0, "NaN bound");
    }

    #[test]
    fn the_round_trip_error_is_at_most_a_bin_width_per_value() {
        let mut rng = SplitMix64::new(17);
        for (lo, hi) in [
            (-1.0, 1.0),
            (-0.05, 0.05),
            (0.0, 1.0),
            (-std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_2),
            (3.0, 3.0001),
        ] {
            let w = (hi - lo) / 255.0;
            let edges = (0..=255).flat_map(|k| {
                let b = lo + k as f64 * w;
                [b, b - 1e-15, b + 1e-15, b - w * 1e-9]
            });
            let random = (0..20_000).map(|_| rng.uniform(lo, hi));
            for a in edges.chain(random).chain([lo, hi]) {
                let clipped = a.clamp(lo, hi);
                let back = detokenise(tokenise(a, lo, hi), lo, hi);
                assert!(
                    within_bin(back, clipped, lo, hi),
                    "[{lo}, {hi}] {a} → {back}"
                );
                assert!(
                    back <= clipped + 1e-12 * (hi - lo),
                    "detokenised values round down"
                );
            }
        }
    }

    #[test]
    fn bounds_normalise_to_the_unit_interval_and_round_trip_within_a_bin() {
        let actions: Vec<Vec<f64>> = vec![
            vec![-0.05, 0.2, 0.0, 0.0],
            vec![0.05, -0.2, 1.0, 0.0],
            vec![0.01, 0.0, 0.5, 0.0],
        ];
        let b = ActionBounds::fit(actions.iter().map(Vec::as_slice)).expect("fit");
        assert_eq!(
            (b.lo(), b.hi()),
            (&[-0.05, -0.2, 0.0, 0.0][..], &[0.05, 0.2, 1.0, 0.0][..])
        );
        assert_eq!(b.normalise(&actions[0]).expect("n"), [-1.0, 1.0, -1.0, 0.0]);
        assert_eq!(b.normalise(&actions[1]).expect("n"), [1.0, -1.0, 1.0, 0.0]);
        let mut rng = SplitMix64::new(3);
        for _ in 0..5_000 {
            let a: Vec<f64> = (0..4).map(|d| rng.uniform(b.lo()[d], b.hi()[d])).collect();
            let n = b.normalise(&a).expect("n");
            assert!(n.iter().all(|v| (-1.0..=1.0).contains(v)));
            let back = b.detokenise(&b.tokenise(&a).expect("t")).expect("d");
            for d in 0..4 {
                assert!(
                    within_bin(back[d], a[d], b.lo()[d], b.hi()[d]),
                    "dim {d}: {a:?} → {back:?}"
                );
            }
            assert_eq!(back[3], 0.0, "a constant dimension comes back exactly");
            let restored = b.denormalise(&n).expect("dn");
            for d in 0..4 {
                assert!((restored[d] - a[d]).abs() < 1e-12);
            }
        }
        assert_eq!(b.max_error()[0], 0.1 / 255.0);
        assert_eq!(b.max_error()[3], 0.0);
    }

    #[test]
    fn values_outside_the_bounds_are_clipped_and_constant_dimensions_are_kept() {
        let b = ActionBounds::new(vec![-1.0, 2.0], vec![1.0, 2.0]).expect("bounds");
        assert_eq!(b.normalise(&[5.0, 9.0]).expect("n"), [1.0, 0.0]);
        assert_eq!(b.normalise(&[-5.0, -9.0]).expect("n"), [-1.0, 0.0]);
        assert_eq!(b.tokenise(&[5.0, 9.0]).expect("t"), [255, 127]);
        assert_eq!(b.tokenise(&[-5.0, 2.0]).expect("t"), [0, 127]);
        assert_eq!(b.detokenise(&[255, 0]).expect("d"), [1.0, 2.0]);
        assert_eq!(b.detokenise(&[0, 255]).expect("d"), [-1.0, 2.0]);
        assert_eq!(b.denormalise(&[7.0, 0.3]).expect("d"), [1.0, 2.0]);
    }

    #[test]
    fn bad_actions_bounds_and_empty_data_are_refused() {
        let b = ActionBounds::new(vec![0.0; 3], vec![1.0; 3]).expect("bounds");
        let err = b.normalise(&[0.0; 2]).expect_err("short");
        assert_eq!(
            err,
            ActionError::Dimension {
                expected: 3,
                found: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "the action has 2 values but the bounds have 3 dimensions"
        );
        assert!(b.detokenise(&[0; 4]).is_err());
        let err = b.tokenise(&[0.0, f64::NAN, 0.0]).expect_err("nan");
        assert!(
            matches!(err, ActionError::NotFinite { dim: 1, .. }),
            "{err}"
        );
        assert_eq!(
            ActionBounds::new(vec![0.0, 1.0], vec![1.0, 0.5]),
            Err(ActionError::Bounds {
                dim: 1,
                lo: 1.0,
                hi: 0.5
            })
        );
        assert!(ActionBounds::new(vec![f64::NAN], vec![1.0]).is_err());
        assert!(ActionBounds::new(vec![0.0], vec![1.0, 2.0]).is_err());
        assert_eq!(
            ActionBounds::fit(std::iter::empty()),
            Err(ActionError::NoActions)
        );
        let ragged: [&[f64]; 2] = [&[0.0, 1.0], &[0.0]];
        assert!(matches!(
            ActionBounds::fit(ragged),
            Err(ActionError::Dimension {
                expected: 2,
                found: 1
            })
        ));
        let infinite: [&[f64]; 1] = [&[f64::INFINITY]];
        assert!(matches!(
            ActionBounds::fit(infinite),
            Err(ActionError::NotFinite { dim: 0, .. })
        ));
        assert_eq!(
            ActionBounds::from_episodes(&[]),
            Err(ActionError::NoActions)
        );
    }
}
