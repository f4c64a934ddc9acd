//! Small facts about a curve's shape and their wording, shared by several detectors.

use crate::human;
use crate::stats::robust::median;

/// The level at the start of a curve is the median of this many first points: enough to ignore
/// one odd value, few enough to come before a fast initial drop.
pub const START_POINTS: usize = 5;

/// The median of the first [`START_POINTS`] values.
pub fn start_level(values: &[f64]) -> Option<f64> {
    median(&values[..values.len().min(START_POINTS)])
}

/// The median of the last `fraction` of `values`, over at least `min_points` of them.
pub fn tail_level(values: &[f64], fraction: f64, min_points: usize) -> Option<f64> {
    let count = tail_count(values.len(), fraction, min_points);
    median(&values[values.len() - count..])
}

/// The median of the first `fraction` of `values`, over at least `min_points` of them.
pub fn head_level(values: &[f64], fraction: f64, min_points: usize) -> Option<f64> {
    let count = tail_count(values.len(), fraction, min_points);
    median(&values[..count])
}

/// How many of `n` points make its last `fraction`, at least `min_points` and at most `n`.
pub fn tail_count(n: usize, fraction: f64, min_points: usize) -> usize {
    ((n as f64 * fraction).ceil() as usize)
        .max(min_points)
        .min(n)
}

/// "falling from 2.31 to 0.84", "rising from 0.5 to 0.9" or "holding near 1.2".
pub fn movement(from: f64, to: f64) -> String {
    let scale = from.abs().max(to.abs());
    if scale == 0.0 || (to - from).abs() <= 0.05 * scale {
        return format!("holding near {}", human::value(to));
    }
    let verb = if to < from { "falling" } else { "rising" };
    format!("{verb} from {} to {}", human::value(from), human::value(to))
}

/// "a", "a and b", "a, b and c", or "a, b and 3 others" for a longer list.
pub fn name_list(names: &[&str]) -> String {
    const SHOWN: usize = 2;
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] if names.len() <= SHOWN + 1 => format!("{} and {last}", init.join(", ")),
        _ => format!(
            "{} and {} others",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        ),
    }
}

/// The count `C` in `2..=max_classes` whose `ln C` is within [`log_tolerance`] of `value`, and
/// that log: `value` is then the cross-entropy (or the entropy) of a uniform choice among `C`.
pub fn uniform_classes(value: f64, max_classes: u32) -> Option<(u32, f64)> {
    (2..=max_classes)
        .map(|c| (c, f64::from(c).ln()))
        .filter(|&(c, ln_c)| (value - ln_c).abs() <= log_tolerance(c))
        .min_by(|a, b| (value - a.1).abs().total_cmp(&(value - b.1).abs()))
}

/// How close a level must be to `ln c` to name `c` classes: 0.4% of it, and never more than a
/// quarter of the distance to the next class count's log. A model stuck at a uniform guess sits
/// on `ln c` almost exactly, while a looser window would match some `c` for most levels above 3
/// (the logs of neighbouring counts are only `1/c` apart).
pub fn log_tolerance(c: u32) -> f64 {
    let ln_c = f64::from(c).ln();
    let gap_to_next = f64::from(c + 1).ln() - ln_c;
    (0.004 * ln_c).min(gap_to_next / 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_at_both_ends() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(start_level(&values), Some(2.0));
        assert_eq!(tail_level(&values, 0.1, 3), Some(94.5));
        assert_eq!(tail_level(&values[..2], 0.1, 3), Some(0.5));
        assert_eq!(head_level(&values, 0.1, 3), Some(4.5));
        assert_eq!(head_level(&[], 0.1, 3), None);
        assert_eq!(start_level(&[]), None);
        assert_eq!(tail_count(0, 0.5, 3), 0);
    }

    #[test]
    fn movement_words() {
        assert_eq!(movement(2.31, 0.84), "falling from 2.31 to 0.84");
        assert_eq!(movement(0.5, 0.9), "rising from 0.5 to 0.9");
        assert_eq!(movement(1.2, 1.21), "holding near 1.21");
        assert_eq!(movement(0.0, 0.0), "holding near 0");
    }

    #[test]
    fn name_lists() {
        assert_eq!(name_list(&["a"]), "a");
        assert_eq!(name_list(&["a", "b"]), "a and b");
        assert_eq!(name_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(name_list(&["a", "b", "c", "d", "e"]), "a, b and 3 others");
    }

    #[test]
    fn uniform_class_counts_from_logs() {
        use std::f64::consts::{LN_2, LN_10};
        assert_eq!(uniform_classes(LN_10 + 0.002, 1000).map(|c| c.0), Some(10));
        assert_eq!(uniform_classes(LN_2 - 0.001, 1000).map(|c| c.0), Some(2));
        assert_eq!(uniform_classes(6.9078, 1000).map(|c| c.0), Some(1000));
        // Between ln 10 and ln 11, close to neither.
        assert_eq!(uniform_classes(2.35, 1000), None);
    }
}
