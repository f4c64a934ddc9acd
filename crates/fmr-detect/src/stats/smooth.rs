//! Smoothing and downsampling, all linear in the number of points.
//!
//! Detectors that judge the shape of a curve first reduce it to at most a few hundred block
//! medians: that bounds the cost of the quadratic tests that follow (Theil–Sen, Mann–Kendall),
//! and a block median ignores the single-step spikes that the spike detector reports on its own.

use super::robust::{difference_sigma, median_in_place};

/// Block medians used to judge the shape of a curve: at most this many blocks.
pub const TREND_BLOCKS: usize = 200;

/// Half-width of the rolling median run over the block medians by [`trend`].
pub const TREND_HALF_WINDOW: usize = 2;

/// A curve reduced to consecutive blocks of (nearly) equal point counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Blocks {
    /// First step of each block.
    pub start_steps: Vec<i64>,
    /// Last step of each block.
    pub end_steps: Vec<i64>,
    /// One value per block (its median or mean, then possibly smoothed).
    pub values: Vec<f64>,
}

impl Blocks {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The middle of each block, in steps, as the x axis of a trend fit.
    pub fn mid_steps(&self) -> Vec<f64> {
        self.start_steps
            .iter()
            .zip(&self.end_steps)
            .map(|(&a, &b)| (a as f64 + b as f64) / 2.0)
            .collect()
    }
}

/// How a block is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// Robust to spikes: for trends and levels.
    Median,
    /// Keeps the energy of fast swings: for oscillation.
    Mean,
}

/// Splits `values` (with their `steps`) into at most `max_blocks` consecutive blocks and
/// summarises each. With fewer points than `max_blocks`, every point is its own block.
pub fn blocks(steps: &[i64], values: &[f64], max_blocks: usize, summary: Summary) -> Blocks {
    let n = values.len().min(steps.len());
    let count = n.min(max_blocks.max(1));
    let mut out = Blocks {
        start_steps: Vec::with_capacity(count),
        end_steps: Vec::with_capacity(count),
        values: Vec::with_capacity(count),
    };
    let mut buffer = Vec::new();
    for block in 0..count {
        let (start, end) = (block * n / count, (block + 1) * n / count);
        if start >= end {
            continue;
        }
        let value = match summary {
            Summary::Median => {
                buffer.clear();
                buffer.extend_from_slice(&values[start..end]);
                median_in_place(&mut buffer).unwrap_or(f64::NAN)
            }
            Summary::Mean => values[start..end].iter().sum::<f64>() / (end - start) as f64,
        };
        out.start_steps.push(steps[start]);
        out.end_steps.push(steps[end - 1]);
        out.values.push(value);
    }
    out
}

/// The shape of a curve, as the detectors that judge levels and trends see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trend {
    /// [`TREND_BLOCKS`] block medians, smoothed by a rolling median of half-width
    /// [`TREND_HALF_WINDOW`] so that short curves (one point per block) are smoothed too.
    pub blocks: Blocks,
    /// The block medians before that smoothing.
    pub raw: Vec<f64>,
    /// The noise of one raw block median: the robust σ of their first differences over √2
    /// (0 for fewer than three blocks).
    pub noise: f64,
}

/// The [`Trend`] of a curve. O(n).
pub fn trend(steps: &[i64], values: &[f64]) -> Trend {
    let mut reduced = blocks(steps, values, TREND_BLOCKS, Summary::Median);
    let raw = std::mem::take(&mut reduced.values);
    reduced.values = rolling_median(&raw, TREND_HALF_WINDOW);
    let noise = difference_sigma(&raw).unwrap_or(0.0);
    Trend {
        blocks: reduced,
        raw,
        noise,
    }
}

/// Centered rolling median over `2 × half_window + 1` points, the window truncated at the ends.
/// Keeps a sorted copy of the window, so the cost is O(n × window).
pub fn rolling_median(values: &[f64], half_window: usize) -> Vec<f64> {
    let n = values.len();
    let mut out = Vec::with_capacity(n);
    let mut window: Vec<f64> = Vec::with_capacity(2 * half_window + 1);
    // The window for output i is [i - h, i + h] clipped to [0, n); it grows by one point on the
    // right and loses one on the left as i advances.
    let mut right = 0;
    for i in 0..n {
        let want_right = (i + half_window + 1).min(n);
        while right < want_right {
            insert_sorted(&mut window, values[right]);
            right += 1;
        }
        if i > half_window {
            remove_sorted(&mut window, values[i - half_window - 1]);
        }
        out.push(sorted_median(&window));
    }
    out
}

/// Centered rolling mean over `2 × half_window + 1` points, truncated at the ends; O(n) by
/// prefix sums.
pub fn rolling_mean(values: &[f64], half_window: usize) -> Vec<f64> {
    let n = values.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    let mut total = 0.0;
    for v in values {
        total += v;
        prefix.push(total);
    }
    (0..n)
        .map(|i| {
            let start = i.saturating_sub(half_window);
            let end = (i + half_window + 1).min(n);
            (prefix[end] - prefix[start]) / (end - start) as f64
        })
        .collect()
}

fn insert_sorted(window: &mut Vec<f64>, value: f64) {
    let at = window.partition_point(|x| x.total_cmp(&value).is_lt());
    window.insert(at, value);
}

fn remove_sorted(window: &mut Vec<f64>, value: f64) {
    let at = window.partition_point(|x| x.total_cmp(&value).is_lt());
    if at < window.len() {
        window.remove(at);
    }
}

fn sorted_median(window: &[f64]) -> f64 {
    let n = window.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => window[n / 2],
        _ => (window[n / 2 - 1] + window[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::robust::median;

    fn naive_rolling_median(values: &[f64], h: usize) -> Vec<f64> {
        (0..values.len())
            .map(|i| {
                let window = &values[i.saturating_sub(h)..(i + h + 1).min(values.len())];
                median(window).unwrap_or(f64::NAN)
            })
            .collect()
    }

    #[test]
    fn rolling_median_matches_the_naive_definition() {
        let values: Vec<f64> = (0..97)
            .map(|i| ((i * 37) % 23) as f64 - 0.5 * (i % 3) as f64)
            .collect();
        for h in [0, 1, 2, 5, 10, 60] {
            assert_eq!(
                rolling_median(&values, h),
                naive_rolling_median(&values, h),
                "half window {h}"
            );
        }
    }

    #[test]
    fn rolling_median_removes_an_isolated_spike() {
        let mut values = vec![1.0; 21];
        values[10] = 100.0;
        assert!(rolling_median(&values, 2).iter().all(|&v| v == 1.0));
    }

    #[test]
    fn rolling_mean_is_truncated_at_the_ends() {
        assert_eq!(
            rolling_mean(&[1.0, 2.0, 3.0, 4.0], 1),
            vec![1.5, 2.0, 3.0, 3.5]
        );
        assert!(rolling_mean(&[], 3).is_empty());
    }

    #[test]
    fn blocks_cover_every_point_once() {
        let steps: Vec<i64> = (0..10).collect();
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        let reduced = blocks(&steps, &values, 3, Summary::Mean);
        assert_eq!(reduced.start_steps, vec![0, 3, 6]);
        assert_eq!(reduced.end_steps, vec![2, 5, 9]);
        assert_eq!(reduced.values, vec![1.0, 4.0, 7.5]);
        let medians = blocks(&steps, &values, 100, Summary::Median);
        assert_eq!(medians.len(), 10);
        assert!(blocks(&[], &[], 10, Summary::Median).is_empty());
        assert!(blocks(&steps, &values, 0, Summary::Median).len() == 1);
    }
}
