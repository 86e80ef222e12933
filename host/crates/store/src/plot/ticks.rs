//! Axis ticks people put in papers: on a linear axis the multiples of 1, 2 or 5 x 10^k that give
//! about six ticks; on a logarithmic axis 1, 2 and 5 x 10^k (only the powers of ten when the
//! axis spans many decades). Ticks are returned in the axis' drawing coordinate (log10 of the
//! value for a log axis).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, KeyPointWeight, Ranged};

/// A linear axis from `lo` to `hi` whose mesh lines and labels sit at [`ticks`] (bold) and at
/// the ticks of the next finer step (light).
pub struct TickedAxis {
    lo: f64,
    hi: f64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl TickedAxis {
    /// The axis over `lo..hi` (drawing coordinates), log or linear.
    pub fn new(lo: f64, hi: f64, log: bool) -> TickedAxis {
        let bold = ticks(lo, hi, log);
        let light = if log {
            // Every integer mantissa of every decade.
            let mut out = Vec::new();
            for k in (lo.floor() as i64)..=(hi.ceil() as i64) {
                for m in 1..10 {
                    let t = (m as f64 * 10f64.powi(k as i32)).log10();
                    if t >= lo && t <= hi {
                        out.push(t);
                    }
                }
            }
            out
        } else {
            let step = bold
                .get(1)
                .zip(bold.first())
                .map_or(hi - lo, |(b, a)| b - a)
                / 5.0;
            let first = (lo / step).ceil() as i64;
            let last = (hi / step).floor() as i64;
            (first..=last).map(|i| i as f64 * step).collect()
        };
        TickedAxis {
            lo,
            hi,
            bold,
            light,
        }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let frac = if span > 0.0 {
            (value - self.lo) / span
        } else {
            0.0
        };
        limit.0 + (frac * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match hint.weight() {
            KeyPointWeight::Bold => self.bold.clone(),
            KeyPointWeight::Any => self.light.clone(),
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The ticks of an axis from `lo` to `hi` (drawing coordinates), log or linear.
pub fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return vec![lo];
    }
    if log {
        let decades = hi - lo;
        let mantissas: &[f64] = if decades > 4.0 {
            &[1.0]
        } else {
            &[1.0, 2.0, 5.0]
        };
        let mut out = Vec::new();
        for k in (lo.floor() as i64)..=(hi.ceil() as i64) {
            for m in mantissas {
                let t = (m * 10f64.powi(k as i32)).log10();
                if t >= lo - 1e-9 && t <= hi + 1e-9 {
                    out.push(t);
                }
            }
        }
        if out.len() < 2 {
            return ticks(lo, hi, false);
        }
        return out;
    }
    let raw = (hi - lo) / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_tick_at_one_two_five() {
        let t: Vec<f64> = ticks(1.0, 3.0, true)
            .iter()
            .map(|v| (10f64.powf(*v) * 1e6).round() / 1e6)
            .collect();
        assert_eq!(t, vec![10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]);
        // Many decades: powers of ten only.
        assert_eq!(ticks(-5.0, 1.0, true).len(), 7);
    }

    #[test]
    fn linear_axes_tick_at_round_steps() {
        let t: Vec<f64> = ticks(0.0, 1.0, false)
            .iter()
            .map(|v| (v * 1e9).round() / 1e9)
            .collect();
        assert_eq!(t, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let n = ticks(0.82, 1.0, false).len();
        assert!((3..=8).contains(&n), "{n} ticks");
        assert_eq!(ticks(0.0, 2000.0, false)[1], 500.0);
    }
}
