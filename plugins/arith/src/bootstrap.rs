//! The percentile bootstrap of a mean: resample the values with replacement, take each
//! resample's mean, and read the interval off their quantiles.

use assay_sdk::init;
use assay_sdk::rand::Rng as _;

/// A mean and its bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    /// The mean of the values.
    pub mean: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

/// The `q`-quantile of sorted `xs` (linear interpolation between order statistics, as NumPy's
/// default).
fn quantile(xs: &[f64], q: f64) -> f64 {
    let pos = q * (xs.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match xs.get(i + 1) {
        Some(next) => xs[i] + frac * (next - xs[i]),
        None => xs[i],
    }
}

/// The mean of `values` and its `level` (e.g. 0.95) percentile-bootstrap interval from
/// `resamples` resamples drawn with `rng`; `None` for no values. With no resamples the interval
/// is the mean itself.
pub(crate) fn mean_interval(
    values: &[f64],
    resamples: usize,
    level: f64,
    rng: &mut init::Rng,
) -> Option<Interval> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    if resamples == 0 {
        return Some(Interval {
            mean,
            lo: mean,
            hi: mean,
        });
    }
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - level).clamp(0.0, 1.0);
    Some(Interval {
        mean,
        lo: quantile(&means, alpha / 2.0),
        hi: quantile(&means, 1.0 - alpha / 2.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&xs, 0.0), 1.0);
        assert_eq!(quantile(&xs, 1.0), 4.0);
        // numpy.quantile([1, 2, 3, 4], 0.25) == 1.75
        assert!((quantile(&xs, 0.25) - 1.75).abs() < 1e-12);
        assert!((quantile(&xs, 0.5) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn constant_values_have_a_point_interval_and_no_values_none() {
        let mut rng = init::rng(0, "t");
        let ci = mean_interval(&[0.3; 20], 200, 0.95, &mut rng).unwrap();
        assert!((ci.mean - 0.3).abs() < 1e-12);
        assert!((ci.lo - 0.3).abs() < 1e-12 && (ci.hi - 0.3).abs() < 1e-12);
        assert!(mean_interval(&[], 100, 0.95, &mut rng).is_none());
    }

    #[test]
    fn the_interval_matches_the_normal_approximation_and_is_seeded() {
        // 400 alternating 0/1 values: mean 0.5, standard error 0.5 / 20 = 0.025, so the 95 %
        // interval is about 0.5 ± 0.049.
        let values: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
        let ci = mean_interval(&values, 2000, 0.95, &mut init::rng(1, "t")).unwrap();
        assert!((ci.mean - 0.5).abs() < 1e-12);
        assert!(ci.lo < 0.5 && ci.hi > 0.5);
        assert!((ci.hi - ci.lo - 2.0 * 1.96 * 0.025).abs() < 0.015, "{ci:?}");
        let again = mean_interval(&values, 2000, 0.95, &mut init::rng(1, "t")).unwrap();
        assert_eq!(ci, again);
        let other = mean_interval(&values, 2000, 0.95, &mut init::rng(2, "t")).unwrap();
        assert_ne!(ci, other);
    }
}
