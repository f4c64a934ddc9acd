//! Onset steps from change points: where the regime that a symptom describes begins.
//!
//! A threshold crossing ("first above 10× the early level") dates a change by when it became
//! large, not when it started. Segmenting the curve with PELT and taking the first change point
//! after which the curve stays on the far side of the move dates it by its start, while a
//! fraction-of-the-way rule keeps a single noisy segment from claiming the onset.

use super::pelt::{Cost, Pelt, segments};
use super::robust::{difference_sigma, median};
use super::smooth::Trend;

/// Strictness of the BIC penalty used for onsets: the textbook penalty. Block summaries of a
/// trending curve are then cut into several segments along the trend, which is what dating an
/// onset needs (a coarse segmentation would hide the start of a decline inside its first
/// segment); the rule in [`regime_onset`] keeps noise segments from claiming the onset.
pub const ONSET_STRICTNESS: f64 = 1.0;

/// Segments are at least this share of the curve long (and at least [`MIN_SEGMENT`] blocks).
const SEGMENT_SHARE: f64 = 0.02;
const MIN_SEGMENT: usize = 3;

/// Where the final regime of `values[from..]` begins, as an index into `values`.
///
/// The stretch is segmented by PELT (mean and variance, BIC penalty × [`ONSET_STRICTNESS`]);
/// its first segment is the baseline and its last the final level. The onset is the start of
/// the earliest segment from which every later segment has moved at least `fraction` of the way
/// from the baseline towards the final level; or `from` itself when the stretch is already on
/// the move where it begins (see [`moving_from_the_start`]). `None` when PELT finds no change,
/// or the final level equals the baseline.
pub fn regime_onset(values: &[f64], from: usize, fraction: f64) -> Option<usize> {
    let stretch = values.get(from..)?;
    let n = stretch.len();
    let min_segment = ((n as f64 * SEGMENT_SHARE).ceil() as usize).max(MIN_SEGMENT);
    let changes = Pelt::bic(Cost::MeanVariance, n, ONSET_STRICTNESS, min_segment).changes(stretch);
    let parts = segments(stretch, &changes);
    let (first, last) = (parts.first()?, parts.last()?);
    let total = last.mean - first.mean;
    if parts.len() < 2 || total == 0.0 || !total.is_finite() {
        return None;
    }
    if moving_from_the_start(stretch, total) {
        return Some(from);
    }
    // Progress of a level from the baseline towards the final level, 0..1 and beyond.
    let moved = |level: f64| (level - first.mean) / total;
    let mut onset = parts.len() - 1;
    while onset > 1 && moved(parts[onset - 1].mean) >= fraction {
        onset -= 1;
    }
    Some(from + parts[onset].start)
}

/// Whether `stretch` is already moving towards its final level where it begins: between its
/// first two twentieths the median moves in the direction of `total` at least half as fast as
/// the stretch does on average, and by more than twice the noise of that difference. A ramp or a
/// decay that starts with the stretch has no flat baseline for a change point to leave.
fn moving_from_the_start(stretch: &[f64], total: f64) -> bool {
    let n = stretch.len();
    let width = (n / 20).max(2);
    if n < 4 * width {
        return false;
    }
    let (Some(first), Some(second)) = (
        median(&stretch[..width]),
        median(&stretch[width..2 * width]),
    ) else {
        return false;
    };
    let early_move = (second - first) * total.signum();
    let average_move = total.abs() * width as f64 / n as f64;
    // A median of w points keeps about 1.25 / √w of their noise; a difference of two, √2 of it.
    let noise = difference_sigma(stretch).unwrap_or(0.0) * 1.25 * (2.0 / width as f64).sqrt();
    early_move >= 0.5 * average_move && early_move > 2.0 * noise
}

/// [`regime_onset`] over a curve's block medians, as the first step of the onset block. The
/// raw block medians are segmented, not the smoothed ones: a rolling median repeats values and
/// correlates neighbours, which would hide the noise the segmentation weighs changes against.
pub fn regime_onset_step(shape: &Trend, from: usize, fraction: f64) -> Option<i64> {
    let index = regime_onset(&shape.raw, from, fraction)?;
    shape.blocks.start_steps.get(index).copied()
}

/// [`regime_onset_step`] on the logarithm of the block medians, for changes by orders of
/// magnitude (an exponential growth is a straight ramp in log scale, so it is dated where it
/// starts rather than where it becomes large). Falls back to the linear levels when the
/// stretch has a value at or below zero.
pub fn ratio_onset_step(shape: &Trend, from: usize, fraction: f64) -> Option<i64> {
    let stretch = shape.raw.get(from..)?;
    if stretch.iter().any(|&v| v <= 0.0) {
        return regime_onset_step(shape, from, fraction);
    }
    let logs: Vec<f64> = stretch.iter().map(|v| v.ln()).collect();
    let index = regime_onset(&logs, 0, fraction)?;
    shape.blocks.start_steps.get(from + index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::smooth::trend;

    fn wiggle(i: usize) -> f64 {
        0.05 * (((i * 7919) % 17) as f64 / 8.0 - 1.0)
    }

    #[test]
    fn a_step_up_is_dated_at_the_step() {
        let values: Vec<f64> = (0..200)
            .map(|i| if i < 120 { 1.0 } else { 3.0 } + wiggle(i))
            .collect();
        assert_eq!(regime_onset(&values, 0, 0.5), Some(120));
        // Searching from later on finds the same change.
        assert_eq!(regime_onset(&values, 50, 0.5), Some(120));
    }

    #[test]
    fn a_ramp_is_dated_where_it_leaves_the_baseline() {
        // Flat until 100, then a linear climb to the end.
        let values: Vec<f64> = (0..200)
            .map(|i| {
                1.0 + if i < 100 {
                    0.0
                } else {
                    0.05 * (i - 100) as f64
                } + wiggle(i)
            })
            .collect();
        let onset = regime_onset(&values, 0, 0.1).unwrap_or(0);
        assert!((98..=108).contains(&onset), "{onset}");
        // Asking for a larger share of the move dates it later on a ramp.
        assert!(regime_onset(&values, 0, 0.3).unwrap_or(0) > onset);
    }

    #[test]
    fn a_transient_bump_before_the_change_is_not_the_onset() {
        let values: Vec<f64> = (0..300)
            .map(|i| {
                let level = match i {
                    40..=60 => 2.0,
                    _ if i >= 200 => 4.0,
                    _ => 1.0,
                };
                level + wiggle(i)
            })
            .collect();
        assert_eq!(regime_onset(&values, 0, 0.1), Some(200));
    }

    #[test]
    fn a_ramp_from_the_start_is_dated_at_the_start() {
        let values: Vec<f64> = (0..200)
            .map(|i| 1.0 + 0.02 * i as f64 + wiggle(i))
            .collect();
        assert_eq!(regime_onset(&values, 0, 0.1), Some(0));
        assert_eq!(regime_onset(&values, 30, 0.1), Some(30));
    }

    #[test]
    fn exponential_growth_is_dated_where_it_starts_in_log_scale() {
        // Flat at 1 until block 100, then ×10 every 30 blocks.
        let values: Vec<f64> = (0..200)
            .map(|i| {
                let growth = if i < 100 {
                    1.0
                } else {
                    10f64.powf((i - 100) as f64 / 30.0)
                };
                growth * (1.0 + wiggle(i))
            })
            .collect();
        let shape = trend(&(0..200).map(|i| i * 10).collect::<Vec<i64>>(), &values);
        let linear = regime_onset_step(&shape, 0, 0.1).unwrap_or(0);
        let log = ratio_onset_step(&shape, 0, 0.1).unwrap_or(0);
        assert!((990..=1100).contains(&log), "{log}");
        assert!(linear > log + 300, "linear {linear}, log {log}");
    }

    #[test]
    fn no_change_no_onset() {
        let values: Vec<f64> = (0..300).map(|i| 2.0 + wiggle(i)).collect();
        assert_eq!(regime_onset(&values, 0, 0.5), None);
        assert_eq!(regime_onset(&values, 500, 0.5), None);
        assert_eq!(regime_onset(&[], 0, 0.5), None);
    }
}
