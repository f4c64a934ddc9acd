//! Change points in the mean, by binary segmentation with a squared-error cost.
//!
//! Each split is found in O(length) from prefix sums, and each level of the recursion touches
//! every point once, so a series with `k` change points costs O(n · min(k, log n)) in the usual
//! case and never more than O(n · `max_changes`).

/// Where the mean of `values` changes: the indices that start a new segment, ascending.
///
/// A split is kept when it lowers the total squared error by more than `penalty`; no segment is
/// shorter than `min_segment` points; at most `max_changes` splits are made, the best first.
pub fn binary_segmentation(
    values: &[f64],
    min_segment: usize,
    penalty: f64,
    max_changes: usize,
) -> Vec<usize> {
    let min_segment = min_segment.max(1);
    let sums = PrefixSums::new(values);
    let mut changes = Vec::new();
    // Segments still to examine, with their best split; the best gain is split first so that
    // `max_changes` keeps the strongest changes.
    let mut pending: Vec<(usize, usize)> = vec![(0, values.len())];
    while changes.len() < max_changes {
        let best = pending
            .iter()
            .enumerate()
            .filter_map(|(slot, &(start, end))| {
                sums.best_split(start, end, min_segment)
                    .map(|(at, gain)| (slot, at, gain))
            })
            .max_by(|a, b| a.2.total_cmp(&b.2));
        let Some((slot, at, gain)) = best else { break };
        if gain <= penalty {
            break;
        }
        let (start, end) = pending.swap_remove(slot);
        pending.push((start, at));
        pending.push((at, end));
        changes.push(at);
    }
    changes.sort_unstable();
    changes
}

/// A penalty in the spirit of BIC for a mean shift in noise of standard deviation `sigma`:
/// `2 σ² ln n`, scaled by `strictness` (1 is the textbook choice; higher finds fewer changes).
pub fn bic_penalty(sigma: f64, n: usize, strictness: f64) -> f64 {
    2.0 * sigma * sigma * (n.max(2) as f64).ln() * strictness
}

/// Mean of `values[start..end]`, 0 when empty.
pub fn segment_mean(values: &[f64], start: usize, end: usize) -> f64 {
    let end = end.min(values.len());
    if start >= end {
        return 0.0;
    }
    values[start..end].iter().sum::<f64>() / (end - start) as f64
}

struct PrefixSums {
    sum: Vec<f64>,
    squares: Vec<f64>,
}

impl PrefixSums {
    fn new(values: &[f64]) -> Self {
        let mut sum = Vec::with_capacity(values.len() + 1);
        let mut squares = Vec::with_capacity(values.len() + 1);
        let (mut s, mut q) = (0.0, 0.0);
        sum.push(s);
        squares.push(q);
        for v in values {
            s += v;
            q += v * v;
            sum.push(s);
            squares.push(q);
        }
        Self { sum, squares }
    }

    /// Squared error of `[start, end)` around its own mean.
    fn cost(&self, start: usize, end: usize) -> f64 {
        let len = (end - start) as f64;
        if len <= 0.0 {
            return 0.0;
        }
        let s = self.sum[end] - self.sum[start];
        let q = self.squares[end] - self.squares[start];
        (q - s * s / len).max(0.0)
    }

    /// The split of `[start, end)` that lowers the cost most, and by how much.
    fn best_split(&self, start: usize, end: usize, min_segment: usize) -> Option<(usize, f64)> {
        if end < start + 2 * min_segment {
            return None;
        }
        let whole = self.cost(start, end);
        (start + min_segment..=end - min_segment)
            .map(|at| (at, whole - self.cost(start, at) - self.cost(at, end)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy_steps(levels: &[(usize, f64)]) -> Vec<f64> {
        let mut out = Vec::new();
        for &(len, level) in levels {
            for i in 0..len {
                out.push(level + if i % 2 == 0 { 0.1 } else { -0.1 });
            }
        }
        out
    }

    #[test]
    fn finds_planted_mean_shifts() {
        let values = noisy_steps(&[(100, 0.0), (50, 2.0), (80, -1.0)]);
        let changes = binary_segmentation(&values, 5, bic_penalty(0.1, values.len(), 3.0), 10);
        assert_eq!(changes, vec![100, 150]);
    }

    #[test]
    fn flat_noise_has_no_change() {
        let values = noisy_steps(&[(300, 1.0)]);
        assert!(binary_segmentation(&values, 5, bic_penalty(0.1, 300, 3.0), 10).is_empty());
    }

    #[test]
    fn respects_limits_and_tiny_inputs() {
        let values = noisy_steps(&[(20, 0.0), (20, 5.0), (20, 0.0), (20, 5.0)]);
        assert_eq!(binary_segmentation(&values, 5, 0.0, 1).len(), 1);
        assert!(binary_segmentation(&[], 1, 0.0, 5).is_empty());
        assert!(binary_segmentation(&[1.0, 9.0], 2, 0.0, 5).is_empty());
    }

    #[test]
    fn segment_mean_handles_empty_ranges() {
        assert_eq!(segment_mean(&[1.0, 3.0], 0, 2), 2.0);
        assert_eq!(segment_mean(&[1.0, 3.0], 2, 2), 0.0);
        assert_eq!(segment_mean(&[1.0, 3.0], 1, 9), 3.0);
    }
}
