//! Robust location and scale: medians, quantiles and the median absolute deviation.
//!
//! Every function takes finite values (the detectors filter non-finite points first) but stays
//! panic-free on NaN through `total_cmp`. Selection is `select_nth_unstable`, so each call is
//! O(n) on a copy of its input.

/// Scales a median absolute deviation to the standard deviation of a normal distribution.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// The median, averaging the two middle values of an even count; `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    median_in_place(&mut values.to_vec())
}

/// [`median`] that reorders `buffer` instead of copying it.
pub fn median_in_place(buffer: &mut [f64]) -> Option<f64> {
    let n = buffer.len();
    if n == 0 {
        return None;
    }
    let middle = n / 2;
    let (lower, upper_middle, _) = buffer.select_nth_unstable_by(middle, f64::total_cmp);
    let upper_middle = *upper_middle;
    if n % 2 == 1 {
        return Some(upper_middle);
    }
    let lower_middle = lower.iter().copied().max_by(f64::total_cmp)?;
    Some((lower_middle + upper_middle) / 2.0)
}

/// The `q` quantile (0..1) by the nearest rank, without interpolation; `None` when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut buffer = values.to_vec();
    let rank = (q.clamp(0.0, 1.0) * (buffer.len() - 1) as f64).round() as usize;
    let (_, value, _) = buffer.select_nth_unstable_by(rank, f64::total_cmp);
    Some(*value)
}

/// The median absolute deviation from the median (unscaled); `None` when empty.
pub fn mad(values: &[f64]) -> Option<f64> {
    let center = median(values)?;
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median_in_place(&mut deviations)
}

/// A standard deviation estimate that ignores outliers: `MAD × 1.4826`.
pub fn robust_sigma(values: &[f64]) -> Option<f64> {
    mad(values).map(|m| m * MAD_TO_SIGMA)
}

/// The noise level of a smooth curve, from its first differences: for independent noise of
/// standard deviation σ the differences have σ√2, and a slow trend barely shifts their median.
pub fn difference_sigma(values: &[f64]) -> Option<f64> {
    let differences: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    robust_sigma(&differences).map(|s| s / std::f64::consts::SQRT_2)
}

/// The index of the smallest value (the first one on ties); `None` when empty.
pub fn argmin(values: &[f64]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

/// The index of the largest value (the first one on ties); `None` when empty.
pub fn argmax(values: &[f64]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .rev()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn median_ignores_a_far_outlier() {
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0, 1e12]), Some(3.0));
    }

    #[test]
    fn nan_input_does_not_panic() {
        assert!(median(&[f64::NAN, 1.0, 2.0]).is_some());
        assert!(mad(&[f64::NAN, f64::NAN]).is_some());
    }

    #[test]
    fn mad_of_a_known_sample() {
        // Deviations from the median 2 are 1, 1, 0, 0, 2, 4, 7: their median is 1.
        assert_eq!(mad(&[1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]), Some(1.0));
        assert_eq!(mad(&[5.0; 10]), Some(0.0));
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let values: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.1), Some(10.0));
        assert_eq!(quantile(&values, 0.9), Some(90.0));
        assert_eq!(quantile(&values, 2.0), Some(100.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn difference_sigma_sees_noise_not_trend() {
        // A steep line has identical differences: no noise at all.
        let line: Vec<f64> = (0..100).map(|i| 10.0 * f64::from(i)).collect();
        assert_eq!(difference_sigma(&line), Some(0.0));
        // Uniform noise in [-1, 1] (σ ≈ 0.58) on the same line.
        let noisy: Vec<f64> = (0..400)
            .map(|i| 10.0 * f64::from(i) + pseudo_uniform(i))
            .collect();
        let sigma = difference_sigma(&noisy).unwrap_or_default();
        assert!(sigma > 0.4 && sigma < 0.8, "{sigma}");
    }

    /// A fixed, well-mixed sequence in [-1, 1].
    fn pseudo_uniform(i: i32) -> f64 {
        let x = (f64::from(i) * 12.9898).sin() * 43_758.545_3;
        2.0 * (x - x.floor()) - 1.0
    }

    #[test]
    fn argmin_and_argmax_pick_the_first_extreme() {
        assert_eq!(argmin(&[3.0, 1.0, 1.0, 5.0]), Some(1));
        assert_eq!(argmax(&[3.0, 5.0, 1.0, 5.0]), Some(1));
        assert_eq!(argmin(&[]), None);
    }
}
