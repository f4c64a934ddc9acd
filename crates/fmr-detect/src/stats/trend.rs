//! Trend tests that a few outliers cannot fool: the Theil–Sen slope and the Mann–Kendall test.
//!
//! Both compare every pair of points, so inputs longer than [`MAX_PAIRWISE_POINTS`] are thinned
//! to that many evenly spaced points first; detectors pass block medians, which are shorter.

use super::robust::median_in_place;

/// Pairwise tests thin their input to this many points (about 80,000 pairs).
pub const MAX_PAIRWISE_POINTS: usize = 400;

/// The median of the slopes between all pairs of points (Theil–Sen): the trend per unit of `x`.
/// `None` with fewer than two points or when every `x` is the same.
pub fn theil_sen(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let indices = thinned(xs.len().min(ys.len()));
    let mut slopes = Vec::with_capacity(indices.len() * indices.len() / 2);
    for (a, &i) in indices.iter().enumerate() {
        for &j in &indices[a + 1..] {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    median_in_place(&mut slopes)
}

/// The Mann–Kendall trend statistic as a z-score (continuity-corrected, no tie correction):
/// above 2 is a rising trend, below -2 a falling one, at the 5% level. 0 for fewer than
/// three points.
pub fn mann_kendall_z(ys: &[f64]) -> f64 {
    let indices = thinned(ys.len());
    let n = indices.len();
    if n < 3 {
        return 0.0;
    }
    let mut score: i64 = 0;
    for (a, &i) in indices.iter().enumerate() {
        for &j in &indices[a + 1..] {
            score += match ys[j].total_cmp(&ys[i]) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
        }
    }
    let n = n as f64;
    let variance = n * (n - 1.0) * (2.0 * n + 5.0) / 18.0;
    let corrected = match score {
        0 => 0.0,
        s if s > 0 => s as f64 - 1.0,
        s => s as f64 + 1.0,
    };
    corrected / variance.sqrt()
}

/// Indices of at most [`MAX_PAIRWISE_POINTS`] evenly spaced points out of `n`, first and last
/// included.
fn thinned(n: usize) -> Vec<usize> {
    if n <= MAX_PAIRWISE_POINTS {
        return (0..n).collect();
    }
    let last = MAX_PAIRWISE_POINTS - 1;
    (0..MAX_PAIRWISE_POINTS)
        .map(|k| k * (n - 1) / last)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theil_sen_recovers_a_slope_despite_outliers() {
        let xs: Vec<f64> = (0..50).map(f64::from).collect();
        let mut ys: Vec<f64> = xs.iter().map(|x| 3.0 + 0.5 * x).collect();
        ys[10] = 1000.0;
        ys[30] = -1000.0;
        let slope = theil_sen(&xs, &ys).unwrap_or_default();
        assert!((slope - 0.5).abs() < 1e-9, "{slope}");
    }

    #[test]
    fn theil_sen_needs_two_distinct_x() {
        assert_eq!(theil_sen(&[1.0], &[2.0]), None);
        assert_eq!(theil_sen(&[1.0, 1.0], &[2.0, 3.0]), None);
    }

    #[test]
    fn mann_kendall_separates_trend_from_noise() {
        let rising: Vec<f64> = (0..40)
            .map(|i| f64::from(i) + if i % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        assert!(mann_kendall_z(&rising) > 4.0);
        let falling: Vec<f64> = rising.iter().map(|v| -v).collect();
        assert!(mann_kendall_z(&falling) < -4.0);
        let flat: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert!(mann_kendall_z(&flat).abs() < 1.0);
        assert_eq!(mann_kendall_z(&[1.0, 2.0]), 0.0);
    }

    #[test]
    fn long_inputs_are_thinned_not_dropped() {
        let xs: Vec<f64> = (0..100_000).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 2.0 * x).collect();
        assert_eq!(theil_sen(&xs, &ys), Some(2.0));
        assert!(mann_kendall_z(&ys) > 10.0);
        let kept = thinned(100_000);
        assert_eq!(kept.len(), MAX_PAIRWISE_POINTS);
        assert_eq!((kept[0], kept[kept.len() - 1]), (0, 99_999));
    }
}
