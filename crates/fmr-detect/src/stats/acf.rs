//! Autocorrelation and the dominant period of a detrended signal.

/// Sample autocorrelation for lags `0..=max_lag` (lag 0 is 1). Constant or empty input gives
/// an empty vector. Cost O(n × max_lag): callers pass downsampled signals.
pub fn autocorrelation(values: &[f64], max_lag: usize) -> Vec<f64> {
    let n = values.len();
    if n < 2 {
        return Vec::new();
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let centered: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let energy: f64 = centered.iter().map(|v| v * v).sum();
    if energy <= f64::MIN_POSITIVE {
        return Vec::new();
    }
    (0..=max_lag.min(n - 1))
        .map(|lag| {
            centered
                .iter()
                .zip(&centered[lag..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / energy
        })
        .collect()
}

/// A repeating pattern found in an autocorrelation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periodicity {
    /// The period in samples, refined between lags by a parabola through the peak.
    pub lag: f64,
    /// The autocorrelation at the peak, 0..1.
    pub strength: f64,
}

/// The first strong repeat of a signal: the highest autocorrelation peak after the function
/// first drops below zero, if it reaches `min_strength`. Looking only past the first zero
/// crossing skips the slow decay that any smooth or trending signal has at short lags.
pub fn dominant_period(acf: &[f64], min_strength: f64) -> Option<Periodicity> {
    let first_negative = acf.iter().position(|&r| r < 0.0)?;
    let (peak, strength) = acf
        .iter()
        .enumerate()
        .skip(first_negative + 1)
        .filter(|&(lag, _)| lag + 1 < acf.len())
        .filter(|&(lag, &r)| r >= acf[lag - 1] && r >= acf[lag + 1])
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(lag, &r)| (lag, r))?;
    if strength < min_strength {
        return None;
    }
    let (left, right) = (acf[peak - 1], acf[peak + 1]);
    let curvature = left - 2.0 * strength + right;
    let offset = if curvature < 0.0 {
        (0.5 * (left - right) / curvature).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    Some(Periodicity {
        lag: peak as f64 + offset,
        strength,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, period: f64) -> Vec<f64> {
        (0..n)
            .map(|i| (std::f64::consts::TAU * i as f64 / period).sin())
            .collect()
    }

    #[test]
    fn finds_the_period_of_a_sine() {
        let acf = autocorrelation(&sine(600, 25.0), 200);
        let found = dominant_period(&acf, 0.3).expect("a sine repeats");
        assert!((found.lag - 25.0).abs() < 0.5, "{found:?}");
        assert!(found.strength > 0.8);
    }

    #[test]
    fn a_trend_alone_has_no_period() {
        let line: Vec<f64> = (0..300).map(f64::from).collect();
        assert_eq!(dominant_period(&autocorrelation(&line, 100), 0.3), None);
    }

    #[test]
    fn degenerate_inputs_give_nothing() {
        assert!(autocorrelation(&[], 5).is_empty());
        assert!(autocorrelation(&[2.0; 50], 5).is_empty());
        assert_eq!(dominant_period(&[], 0.3), None);
        assert_eq!(autocorrelation(&[1.0, 2.0, 3.0], 10).len(), 3);
    }
}
