//! Change points by PELT (Pruned Exact Linear Time; Killick, Fearnhead and Eckley, 2012).
//!
//! PELT finds the segmentation that minimises the total segment cost plus a penalty per change
//! point, exactly, by dynamic programming over the end of the last segment. Its pruning rule
//! drops every candidate start that can never again be optimal, so in the usual case (change
//! points spread through the series) only a handful of candidates survive at each step and the
//! cost is linear. The worst case (no change at all in a long series) is quadratic, which is why
//! detectors run it on block summaries of bounded length (see `smooth::blocks`).
//!
//! Two Gaussian costs are offered, both `-2 log-likelihood` up to a constant, so that a
//! BIC-style penalty of `p ln n` per change (p = parameters a change adds) is on the same scale:
//! - [`Cost::Mean`]: a change in mean with a known noise σ (`SSE / σ²`);
//! - [`Cost::MeanVariance`]: a change in mean and/or variance (`len · ln σ̂²`), with the variance
//!   floored so that a perfectly flat stretch does not have a cost of minus infinity.

/// The segment cost PELT minimises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cost {
    /// Normal likelihood with a changing mean and this fixed standard deviation.
    Mean { sigma: f64 },
    /// Normal likelihood with a changing mean and variance.
    MeanVariance,
}

impl Cost {
    /// Parameters one more segment adds to the model, for [`bic_penalty`]: the change's
    /// location plus the segment's own mean (and variance).
    pub fn parameters_per_change(self) -> f64 {
        match self {
            Cost::Mean { .. } => 2.0,
            Cost::MeanVariance => 3.0,
        }
    }
}

/// A BIC-like penalty per change point: `strictness × p × ln n`, with `p` from
/// [`Cost::parameters_per_change`]. A strictness of 1 is the textbook choice; detectors use more
/// because training curves are autocorrelated, which makes plain BIC find too many changes.
pub fn bic_penalty(cost: Cost, n: usize, strictness: f64) -> f64 {
    strictness * cost.parameters_per_change() * (n.max(2) as f64).ln()
}

/// A PELT search: the cost, the penalty per change and the shortest allowed segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pelt {
    pub cost: Cost,
    pub penalty: f64,
    pub min_segment: usize,
}

impl Pelt {
    /// PELT with the [`bic_penalty`] for `n` points at `strictness`.
    pub fn bic(cost: Cost, n: usize, strictness: f64, min_segment: usize) -> Self {
        Self {
            cost,
            penalty: bic_penalty(cost, n, strictness),
            min_segment,
        }
    }

    /// The indices that start a new segment, ascending; empty when one segment is best (or the
    /// input is shorter than two minimal segments). Non-finite inputs give no change points.
    pub fn changes(&self, values: &[f64]) -> Vec<usize> {
        let n = values.len();
        let min_segment = self.min_segment.max(1);
        if n < 2 * min_segment || values.iter().any(|v| !v.is_finite()) {
            return Vec::new();
        }
        let sums = SegmentCosts::new(values, self.cost);
        let penalty = self.penalty.max(0.0);
        // best[t]: the lowest penalised cost of values[..t]; previous[t]: where its last
        // segment starts. Prefix lengths below `min_segment` cannot be segmented.
        let mut best = vec![f64::INFINITY; n + 1];
        let mut previous = vec![0usize; n + 1];
        best[0] = -penalty;
        // Candidate starts of the last segment, each with the first time it was dominated. A
        // start dominated at time t can still be optimal until t + min_segment, because t
        // itself only becomes a valid start then; it is dropped after that.
        let mut candidates: Vec<(usize, Option<usize>)> = vec![(0, None)];
        let mut scored: Vec<f64> = Vec::new();
        for t in min_segment..=n {
            if t >= 2 * min_segment {
                candidates.push((t - min_segment, None));
            }
            scored.clear();
            let mut best_here = (f64::INFINITY, 0);
            for &(start, _) in &candidates {
                let value = best[start] + sums.cost(start, t);
                scored.push(value);
                if value < best_here.0 {
                    best_here = (value, start);
                }
            }
            best[t] = best_here.0 + penalty;
            previous[t] = best_here.1;
            let threshold = best[t];
            for ((_, dominated), &value) in candidates.iter_mut().zip(&scored) {
                if dominated.is_none() && value > threshold {
                    *dominated = Some(t);
                }
            }
            candidates.retain(|&(_, dominated)| dominated.is_none_or(|at| t < at + min_segment));
        }
        let mut changes = Vec::new();
        let mut end = n;
        while end > 0 {
            let start = previous[end];
            if start > 0 {
                changes.push(start);
            }
            if start >= end {
                break;
            }
            end = start;
        }
        changes.reverse();
        changes
    }
}

/// One segment of a segmentation, with its mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: usize,
    /// Exclusive.
    pub end: usize,
    pub mean: f64,
    pub sigma: f64,
}

/// The segments that `changes` (ascending start indices, as [`Pelt::changes`] returns) cut
/// `values` into. Out-of-range or unsorted change points are skipped.
pub fn segments(values: &[f64], changes: &[usize]) -> Vec<Segment> {
    let mut bounds = vec![0];
    for &at in changes {
        if at > *bounds.last().unwrap_or(&0) && at < values.len() {
            bounds.push(at);
        }
    }
    bounds.push(values.len());
    bounds
        .windows(2)
        .filter(|w| w[0] < w[1])
        .map(|w| {
            let part = &values[w[0]..w[1]];
            let len = part.len() as f64;
            let mean = part.iter().sum::<f64>() / len;
            let variance = part.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / len;
            Segment {
                start: w[0],
                end: w[1],
                mean,
                sigma: variance.sqrt(),
            }
        })
        .collect()
}

/// Segment costs in O(1) from prefix sums of the values and their squares. The values are
/// centred on their overall mean first, which keeps the sums of squares accurate for series
/// with a large offset (a loss near 1e4 with noise near 1).
struct SegmentCosts {
    sum: Vec<f64>,
    squares: Vec<f64>,
    cost: Cost,
    /// For [`Cost::MeanVariance`]: the smallest variance a segment may have.
    variance_floor: f64,
}

impl SegmentCosts {
    fn new(values: &[f64], cost: Cost) -> Self {
        let n = values.len();
        let center = values.iter().sum::<f64>() / n.max(1) as f64;
        let mut sum = Vec::with_capacity(n + 1);
        let mut squares = Vec::with_capacity(n + 1);
        let (mut s, mut q) = (0.0, 0.0);
        sum.push(s);
        squares.push(q);
        for v in values {
            let x = v - center;
            s += x;
            q += x * x;
            sum.push(s);
            squares.push(q);
        }
        // A millionth of the overall variance (or of the scale, for a constant series): small
        // enough not to hide real changes in variance, large enough to keep logs finite.
        let overall = (q - s * s / n.max(1) as f64).max(0.0) / n.max(1) as f64;
        let scale = center.abs().max(1.0);
        let variance_floor = (1e-6 * overall).max(1e-24 * scale * scale);
        Self {
            sum,
            squares,
            cost,
            variance_floor,
        }
    }

    /// Squared error of `[start, end)` around its own mean.
    fn squared_error(&self, start: usize, end: usize) -> f64 {
        let len = (end - start) as f64;
        let s = self.sum[end] - self.sum[start];
        let q = self.squares[end] - self.squares[start];
        (q - s * s / len).max(0.0)
    }

    fn cost(&self, start: usize, end: usize) -> f64 {
        if end <= start {
            return 0.0;
        }
        let squared_error = self.squared_error(start, end);
        match self.cost {
            Cost::Mean { sigma } => squared_error / (sigma * sigma).max(f64::MIN_POSITIVE),
            Cost::MeanVariance => {
                // The likelihood maximised under the floor: with σ² = max(v̂, floor) the
                // -2 log-likelihood is len · (ln σ² + v̂ / σ²), up to a constant per point.
                let len = (end - start) as f64;
                let variance = squared_error / len;
                let floored = variance.max(self.variance_floor);
                len * (floored.ln() + variance / floored)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic standard-normal-like noise (sum of 12 well-mixed uniforms, minus 6).
    fn noise(i: usize) -> f64 {
        (0..12)
            .map(|k| {
                let x = ((i * 12 + k) as f64 * 12.9898 + 78.233).sin() * 43_758.545_3;
                x - x.floor()
            })
            .sum::<f64>()
            - 6.0
    }

    /// Segments of (length, mean, sigma), with noise.
    fn planted(parts: &[(usize, f64, f64)]) -> Vec<f64> {
        let mut out = Vec::new();
        for &(len, mean, sigma) in parts {
            for _ in 0..len {
                out.push(mean + sigma * noise(out.len()));
            }
        }
        out
    }

    fn near(found: &[usize], planted: &[usize], tolerance: usize) -> bool {
        found.len() == planted.len()
            && found
                .iter()
                .zip(planted)
                .all(|(&f, &p)| f.abs_diff(p) <= tolerance)
    }

    #[test]
    fn finds_planted_mean_shifts() {
        let values = planted(&[(200, 0.0, 1.0), (150, 3.0, 1.0), (250, -1.0, 1.0)]);
        let pelt = Pelt::bic(Cost::Mean { sigma: 1.0 }, values.len(), 1.0, 5);
        let found = pelt.changes(&values);
        assert!(near(&found, &[200, 350], 3), "{found:?}");
    }

    #[test]
    fn finds_a_change_in_variance_alone() {
        let values = planted(&[(300, 1.0, 0.1), (300, 1.0, 1.0)]);
        let pelt = Pelt::bic(Cost::MeanVariance, values.len(), 1.0, 5);
        let found = pelt.changes(&values);
        assert!(near(&found, &[300], 10), "{found:?}");
        // A mean-only cost cannot see it.
        let mean_only = Pelt::bic(Cost::Mean { sigma: 1.0 }, values.len(), 1.0, 5);
        assert!(mean_only.changes(&values).is_empty());
    }

    #[test]
    fn finds_mean_and_variance_changes_on_an_offset() {
        let values = planted(&[
            (400, 1e4, 1.0),
            (100, 1e4 + 8.0, 1.0),
            (300, 1e4, 5.0),
            (200, 1e4 - 20.0, 0.5),
        ]);
        let pelt = Pelt::bic(Cost::MeanVariance, values.len(), 1.0, 5);
        let found = pelt.changes(&values);
        assert!(near(&found, &[400, 500, 800], 5), "{found:?}");
    }

    #[test]
    fn stationary_noise_has_no_change() {
        let values = planted(&[(2000, 5.0, 2.0)]);
        assert!(
            Pelt::bic(Cost::MeanVariance, values.len(), 1.0, 5)
                .changes(&values)
                .is_empty()
        );
        assert!(
            Pelt::bic(Cost::Mean { sigma: 2.0 }, values.len(), 1.0, 5)
                .changes(&values)
                .is_empty()
        );
    }

    #[test]
    fn matches_exhaustive_optimal_partitioning() {
        // PELT's pruning must not change the optimum: compare with the unpruned recursion.
        let values = planted(&[(40, 0.0, 1.0), (25, 2.5, 1.0), (35, 0.5, 3.0)]);
        for cost in [Cost::Mean { sigma: 1.0 }, Cost::MeanVariance] {
            for min_segment in [1, 3, 7] {
                let pelt = Pelt::bic(cost, values.len(), 1.0, min_segment);
                assert_eq!(
                    pelt.changes(&values),
                    optimal_partitioning(&values, &pelt),
                    "{cost:?}, min segment {min_segment}"
                );
            }
        }
    }

    /// The O(n²) dynamic programme PELT prunes.
    fn optimal_partitioning(values: &[f64], pelt: &Pelt) -> Vec<usize> {
        let n = values.len();
        let m = pelt.min_segment.max(1);
        let costs = SegmentCosts::new(values, pelt.cost);
        let mut best = vec![f64::INFINITY; n + 1];
        let mut previous = vec![0; n + 1];
        best[0] = -pelt.penalty;
        for t in m..=n {
            for s in (0..=t - m).filter(|&s| s == 0 || s >= m) {
                let value = best[s] + costs.cost(s, t) + pelt.penalty;
                if value < best[t] {
                    best[t] = value;
                    previous[t] = s;
                }
            }
        }
        let mut changes = Vec::new();
        let mut end = n;
        while end > 0 && previous[end] > 0 {
            changes.push(previous[end]);
            end = previous[end];
        }
        changes.reverse();
        changes
    }

    #[test]
    fn flat_stretches_and_tiny_inputs_do_not_break_it() {
        let mut values = vec![2.0; 50];
        values.extend(vec![5.0; 50]);
        let found = Pelt::bic(Cost::MeanVariance, 100, 1.0, 5).changes(&values);
        assert_eq!(found, vec![50]);
        assert!(
            Pelt::bic(Cost::MeanVariance, 3, 1.0, 2)
                .changes(&[1.0, 2.0, 3.0])
                .is_empty()
        );
        assert!(
            Pelt::bic(Cost::MeanVariance, 0, 1.0, 2)
                .changes(&[])
                .is_empty()
        );
        assert!(
            Pelt::bic(Cost::MeanVariance, 60, 1.0, 2)
                .changes(&[f64::NAN; 60])
                .is_empty()
        );
    }

    #[test]
    fn pruning_keeps_the_search_linear() {
        // 200 planted shifts in 100,000 points: without pruning this would be 5e9 cost
        // evaluations; with it, a few per point.
        let parts: Vec<(usize, f64, f64)> = (0..200)
            .map(|k| (500, if k % 2 == 0 { 0.0 } else { 4.0 }, 1.0))
            .collect();
        let values = planted(&parts);
        let started = std::time::Instant::now();
        let found = Pelt::bic(Cost::Mean { sigma: 1.0 }, values.len(), 1.0, 10).changes(&values);
        assert_eq!(found.len(), 199);
        let budget = if cfg!(debug_assertions) { 20.0 } else { 2.0 };
        assert!(started.elapsed().as_secs_f64() < budget);
    }

    #[test]
    fn segments_report_means_and_spreads() {
        let values = [1.0, 1.0, 3.0, 5.0];
        let parts = segments(&values, &[2]);
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].start, parts[0].end, parts[0].mean), (0, 2, 1.0));
        assert_eq!((parts[1].mean, parts[1].sigma), (4.0, 1.0));
        assert_eq!(segments(&values, &[0, 9, 2]).len(), 2);
        assert!(segments(&[], &[]).is_empty());
    }
}
