use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Curve, Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::align::{Pair, align};
use crate::detectors::shape::{head_level, tail_count, tail_level};
use crate::human;
use crate::roles::is_independent_measure;
use crate::stats::robust::{argmax, difference_sigma, median, quantile};
use crate::stats::smooth::{rolling_median, trend};
use crate::stats::trend::mann_kendall_z;

/// ## What it detects
/// The reward a policy is trained on keeps rising while an independent measure of the same
/// policy (evaluation return, a gold reward model, a win or success rate) falls from its peak:
/// proxy up, true objective down.
///
/// ## Why it matters
/// When the two part, the policy has found a way to raise the reward that does not do the task:
/// a loophole in the reward function or simulator, a reward model pushed outside the data it was
/// trained on (RLHF over-optimisation), or a bias such as longer answers scoring higher. More
/// training makes it worse; the checkpoint at the true measure's peak is the one to keep.
///
/// ## Signature
/// Two reward-like series: the training reward (no held-out or independent word in its name)
/// and an independent one (`eval`, `val`, `test`, `gold`, `true`, `oracle`, `human`, `judge`,
/// `win_rate`, `success_rate`...). Each independent point is paired with the training reward
/// logged since the one before (rolling median of 3 from 7 pairs). The independent measure
/// peaks with at least 2 points after the peak; its last 20% (at least 2 points) lie below the
/// peak by at least a quarter of its range and twice its noise, each below the halfway mark;
/// over the same stretch the training reward, on its own dense curve after the peak's step,
/// rises (Mann–Kendall z ≥ 2 over its block medians) by at least 10% of its 10%–90% spread.
///
/// ## Evidence reported
/// `true_peak`, `true_peak_step` (the onset: where the two part), `true_end`, `true_drop`
/// (fraction of the independent measure's range given back), `proxy_at_peak`, `proxy_end`,
/// `proxy_trend_z`, `pairs`.
///
/// ## Parameters
/// At least 5 pairs; drop ≥ 25% of the range and > 2× noise; proxy rise ≥ 10% of its spread with
/// trend z ≥ 2, over at least 5 training-reward points after the peak.
///
/// ## Likely causes
/// FM0039, FM0040, FM0192, FM0088, FM0071
pub struct RewardHacking;

const MIN_PAIRS: usize = 5;
const SMOOTH_FROM_PAIRS: usize = 7;
const MIN_POINTS_AFTER_PEAK: usize = 2;
const TAIL_FRACTION: f64 = 0.2;
const MIN_DROP_OF_RANGE: f64 = 0.25;
const NOISE_MULTIPLE: f64 = 2.0;
const MIN_PROXY_POINTS: usize = 5;
const MIN_PROXY_RISE: f64 = 0.1;
const MIN_TREND_Z: f64 = 2.0;
/// The proxy's level at the peak: the median of this first share of the stretch after it.
const PROXY_HEAD_FRACTION: f64 = 0.1;

/// Where the proxy and the independent measure part.
struct Parting {
    true_peak: f64,
    true_peak_step: i64,
    true_end: f64,
    true_drop: f64,
    proxy_at_peak: f64,
    proxy_end: f64,
    proxy_trend_z: f64,
    last_step: i64,
    pairs: usize,
}

impl Detector for RewardHacking {
    fn code(&self) -> &'static str {
        "S115"
    }

    fn name(&self) -> &'static str {
        "reward_hacking"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let (independent, proxies): (Vec<&MetricSeries<'_>>, Vec<&MetricSeries<'_>>) = input
            .with_role(MetricRole::Reward)
            .partition(|s| is_independent_measure(s.tag));
        // The proxy is the training reward logged most often (the first one on ties).
        let Some(proxy) = proxies.iter().rev().max_by_key(|s| s.finite.len()) else {
            return Vec::new();
        };
        independent
            .iter()
            .filter_map(|truth| {
                let parting = parting(&proxy.finite, &truth.finite)?;
                Some(self.symptom(input, proxy, truth, &parting))
            })
            .collect()
    }
}

impl RewardHacking {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        proxy: &MetricSeries<'_>,
        truth: &MetricSeries<'_>,
        parting: &Parting,
    ) -> Symptom {
        let statement = format!(
            "{} keeps rising after step {}, from {} to {} by step {}, while {} falls from its peak of {} there to {} ({} of its range given back): the policy raises its training reward without doing better on the independent measure",
            proxy.tag,
            human::step(parting.true_peak_step),
            human::value(parting.proxy_at_peak),
            human::value(parting.proxy_end),
            human::step(parting.last_step),
            truth.tag,
            human::value(parting.true_peak),
            human::value(parting.true_end),
            human::percent(parting.true_drop)
        );
        let confidence = 0.55
            + 0.2 * (parting.true_drop / 0.75).min(1.0)
            + 0.05 * (parting.proxy_trend_z - MIN_TREND_Z).clamp(0.0, 3.0);
        SymptomDraft::new(
            self,
            SymptomKind::RewardHacking,
            input,
            proxy,
            (parting.true_peak_step, parting.last_step),
        )
        .number("true_peak", parting.true_peak)
        .number("true_peak_step", parting.true_peak_step as f64)
        .number("true_end", parting.true_end)
        .number("true_drop", parting.true_drop)
        .number("proxy_at_peak", parting.proxy_at_peak)
        .number("proxy_end", parting.proxy_end)
        .number("proxy_trend_z", parting.proxy_trend_z)
        .number("pairs", parting.pairs as f64)
        .finish(statement, confidence.min(0.95))
    }
}

fn parting(proxy: &Curve, truth: &Curve) -> Option<Parting> {
    let pairs: Vec<Pair> = align(proxy, truth);
    let m = pairs.len();
    if m < MIN_PAIRS {
        return None;
    }
    let raw_true: Vec<f64> = pairs.iter().map(|p| p.val).collect();
    let smooth_true = rolling_median(&raw_true, usize::from(m >= SMOOTH_FROM_PAIRS));
    let peak_index = argmax(&smooth_true)?;
    let after = m - 1 - peak_index;
    if after < MIN_POINTS_AFTER_PEAK {
        return None;
    }
    let tail = tail_count(m, TAIL_FRACTION, 2).min(after);
    let true_peak = smooth_true[peak_index];
    let true_end = median(&smooth_true[m - tail..])?;
    let drop = true_peak - true_end;
    let low = smooth_true.iter().copied().fold(f64::INFINITY, f64::min);
    let range = true_peak - low;
    let noise = difference_sigma(&raw_true).unwrap_or(0.0);
    let holds = smooth_true[m - tail..]
        .iter()
        .all(|&v| v < true_peak - 0.5 * drop);
    if range <= 0.0 || drop < MIN_DROP_OF_RANGE * range || drop <= NOISE_MULTIPLE * noise || !holds
    {
        return None;
    }

    // The proxy on its own dense curve from the peak's step on.
    let true_peak_step = pairs[peak_index].step;
    let from = proxy.steps.partition_point(|&s| s < true_peak_step);
    let (steps, values) = (&proxy.steps[from..], &proxy.values[from..]);
    if values.len() < MIN_PROXY_POINTS {
        return None;
    }
    let shape = trend(steps, values);
    let proxy_trend_z = mann_kendall_z(&shape.raw);
    let proxy_at_peak = head_level(&shape.raw, PROXY_HEAD_FRACTION, 1)?;
    let proxy_end = tail_level(&shape.raw, TAIL_FRACTION, 1)?;
    let spread = quantile(&proxy.values, 0.9)? - quantile(&proxy.values, 0.1)?;
    if proxy_trend_z < MIN_TREND_Z || proxy_end - proxy_at_peak < MIN_PROXY_RISE * spread {
        return None;
    }
    Some(Parting {
        true_peak,
        true_peak_step,
        true_end,
        true_drop: drop / range,
        proxy_at_peak,
        proxy_end,
        proxy_trend_z,
        last_step: pairs[m - 1].step.max(*steps.last()?),
        pairs: m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(steps: impl Iterator<Item = i64>, value: impl Fn(i64) -> f64) -> Curve {
        let steps: Vec<i64> = steps.collect();
        let values = steps.iter().map(|&s| value(s)).collect();
        Curve { steps, values }
    }

    fn wiggle(s: i64) -> f64 {
        0.02 * (((s * 7919) % 13) as f64 / 6.0 - 1.0)
    }

    #[test]
    fn proxy_up_true_down_is_found_at_the_true_peak() {
        let proxy = curve((0..1000).map(|i| i * 10), |s| s as f64 / 1000.0 + wiggle(s));
        let truth = curve((0..20).map(|i| i * 500), |s| {
            let x = s as f64 / 1000.0;
            if x <= 4.0 { x } else { 8.0 - x }
        });
        let found = parting(&proxy, &truth).expect("a parting");
        // The rolling median flattens the sharp peak over its neighbours: either is the peak.
        assert!(
            (3500..=4000).contains(&found.true_peak_step),
            "{}",
            found.true_peak_step
        );
        assert!(found.proxy_end > found.proxy_at_peak + 4.0);
    }

    #[test]
    fn both_rising_is_healthy() {
        let proxy = curve((0..1000).map(|i| i * 10), |s| s as f64 / 1000.0 + wiggle(s));
        let truth = curve((0..20).map(|i| i * 500), |s| s as f64 / 2000.0 + wiggle(s));
        assert!(parting(&proxy, &truth).is_none());
    }

    #[test]
    fn both_falling_is_not_reward_hacking() {
        let proxy = curve((0..1000).map(|i| i * 10), |s| 10.0 - s as f64 / 1000.0);
        let truth = curve((0..20).map(|i| i * 500), |s| {
            let x = s as f64 / 1000.0;
            if x <= 4.0 { x } else { 8.0 - x }
        });
        assert!(parting(&proxy, &truth).is_none());
    }
}
