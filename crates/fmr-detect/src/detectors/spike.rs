use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Curve, Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::human;
use crate::stats::robust::{median, robust_sigma};
use crate::stats::smooth::rolling_median;

/// ## What it detects
/// Short upward spikes of the training loss (or gradient norm) far outside its local noise,
/// how many there are, and how many came back down.
///
/// ## Why it matters
/// Spikes that recover are the mark of an optimiser that is occasionally thrown out of a
/// stable region: learning rate or Adam epsilon too aggressive for rare batches, attention
/// logits growing, bad or duplicated batches. In large-model training they often come before a
/// divergence that does not recover. A spike that never comes back is the start of one.
///
/// ## Signature
/// A point whose distance above the rolling median of its 21 neighbours exceeds 6 robust
/// standard deviations of the local residuals (MAD over blocks of 200 points) and 30% of the
/// local level (100% for gradient norms, whose healthy noise is heavier). Points within 10 of
/// either end are not judged (half their window is missing). Flagged points less than 4 points
/// apart form one spike, measured against the median of the 10 points before it, which it must
/// also exceed by the same 30% (100%): on a steep fall a pause is not a jump. Reported for
/// two or more spikes, or for one that at least doubles the level or does not recover.
///
/// ## Evidence reported
/// `spikes`, `recovered`, `first_step`, `last_step`, `largest_step`, `largest_value`,
/// `baseline` (the level before the largest spike), `largest_ratio`,
/// `median_recovery_steps`.
///
/// ## Parameters
/// At least 50 finite points; window 21; 6σ; 30% (100% for gradient norms); a spike has
/// recovered once a later point within 105 points falls back below a quarter of its height above
/// the level before it.
///
/// ## Likely causes
/// FM0036, FM0002, FM0005, FM0029, FM0006, FM0024, FM0001
pub struct Spike;

const MIN_POINTS: usize = 50;
const HALF_WINDOW: usize = 10;
const SCALE_BLOCK_POINTS: usize = 200;
const THRESHOLD_SIGMA: f64 = 6.0;
const MIN_RELATIVE_LOSS: f64 = 0.3;
const MIN_RELATIVE_GRAD_NORM: f64 = 1.0;
const MERGE_GAP: usize = 3;
const RECOVERY_POINTS: usize = 5 * (2 * HALF_WINDOW + 1);
/// A spike has recovered when the curve is back below this share of its height.
const RECOVERED_SHARE: f64 = 0.25;
const LARGE_RATIO: f64 = 2.0;

/// One spike: its highest point, the local level under it, and how long it took to come back.
struct SpikeEvent {
    peak: usize,
    baseline: f64,
    recovery_steps: Option<i64>,
}

impl Detector for Spike {
    fn code(&self) -> &'static str {
        "S103"
    }

    fn name(&self) -> &'static str {
        "spike"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .series
            .iter()
            .filter_map(|series| {
                let min_relative = match series.role {
                    Some(MetricRole::TrainLoss) => MIN_RELATIVE_LOSS,
                    Some(MetricRole::GradNorm) => MIN_RELATIVE_GRAD_NORM,
                    _ => return None,
                };
                let events = spikes(&series.finite, min_relative);
                self.symptom(input, series, &events)
            })
            .collect()
    }
}

impl Spike {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        events: &[SpikeEvent],
    ) -> Option<Symptom> {
        let curve = &series.finite;
        let largest = events
            .iter()
            .max_by(|a, b| height(curve, a).total_cmp(&height(curve, b)))?;
        let (first, last) = (events.first()?, events.last()?);
        let peak_value = curve.values[largest.peak];
        let ratio = if largest.baseline > 0.0 {
            peak_value / largest.baseline
        } else {
            f64::NAN
        };
        let recovered: Vec<i64> = events.iter().filter_map(|e| e.recovery_steps).collect();
        let large = ratio >= LARGE_RATIO;
        if events.len() < 2 && !large && largest.recovery_steps.is_some() {
            return None;
        }
        let median_recovery = median(&recovered.iter().map(|&s| s as f64).collect::<Vec<_>>());
        let ratio_text = if ratio.is_finite() {
            format!(" ({})", human::ratio(ratio))
        } else {
            String::new()
        };
        let jump = format!(
            "from {} to {}{ratio_text} at step {}",
            human::value(largest.baseline),
            human::value(peak_value),
            human::step(curve.steps[largest.peak])
        );
        let statement = if events.len() == 1 {
            let ending = match largest.recovery_steps {
                Some(steps) => format!("and comes back down within {}", human::steps(steps)),
                None => "and does not come back down".to_owned(),
            };
            format!("{} spikes once, {jump}, {ending}", series.tag)
        } else {
            let recovery = match median_recovery {
                Some(steps) => format!(", within {} on median", human::steps(steps.round() as i64)),
                None => String::new(),
            };
            format!(
                "{} spikes {} times between steps {} and {}; the largest jumps {jump}; {} of {} came back down{recovery}",
                series.tag,
                events.len(),
                human::step(curve.steps[first.peak]),
                human::step(curve.steps[last.peak]),
                recovered.len(),
                events.len()
            )
        };
        let confidence = 0.45 + 0.1 * events.len().min(4) as f64 + if large { 0.1 } else { 0.0 };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::Spike,
                input,
                series,
                (curve.steps[first.peak], curve.steps[last.peak]),
            )
            .number("spikes", events.len() as f64)
            .number("recovered", recovered.len() as f64)
            .number("first_step", curve.steps[first.peak] as f64)
            .number("last_step", curve.steps[last.peak] as f64)
            .number("largest_step", curve.steps[largest.peak] as f64)
            .number("largest_value", peak_value)
            .number("baseline", largest.baseline)
            .number("largest_ratio", ratio)
            .number("median_recovery_steps", median_recovery.unwrap_or(f64::NAN))
            .finish(statement, confidence.min(0.95)),
        )
    }
}

fn height(curve: &Curve, event: &SpikeEvent) -> f64 {
    curve.values[event.peak] - event.baseline
}

/// The spikes of `curve`, in step order. O(n × window).
fn spikes(curve: &Curve, min_relative: f64) -> Vec<SpikeEvent> {
    let values = &curve.values;
    let n = values.len();
    if n < MIN_POINTS {
        return Vec::new();
    }
    let level = rolling_median(values, HALF_WINDOW);
    let residual: Vec<f64> = values.iter().zip(&level).map(|(v, l)| v - l).collect();
    let scale = block_scale(&residual);
    // Points whose window is cut short by either end are not judged: with neighbours on one side
    // only, the first step of a level shift looks like a spike.
    let flagged: Vec<usize> = (HALF_WINDOW..n - HALF_WINDOW)
        .filter(|&i| {
            residual[i] > THRESHOLD_SIGMA * scale[i] && residual[i] > min_relative * level[i].abs()
        })
        .collect();

    let mut events = Vec::new();
    let mut group: Vec<usize> = Vec::new();
    for &i in &flagged {
        if group.last().is_some_and(|&last| i - last > MERGE_GAP + 1) {
            events.push(event(curve, &group));
            group.clear();
        }
        group.push(i);
    }
    if !group.is_empty() {
        events.push(event(curve, &group));
    }
    // On a steeply falling curve a point can stand above the centred median (which
    // includes the lower points after it) while still lying below where the curve just
    // was: that is a pause in the fall, not a jump. A spike must also rise above the
    // level before it by the same relative margin.
    events.retain(|e| values[e.peak] - e.baseline > min_relative * e.baseline.abs());
    events
}

fn event(curve: &Curve, group: &[usize]) -> SpikeEvent {
    let values = &curve.values;
    let peak = group
        .iter()
        .copied()
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(group[0]);
    // The level it jumped from, and must come back to: the points just before the spike.
    let start = group.first().copied().unwrap_or(peak);
    let baseline =
        median(&values[start.saturating_sub(HALF_WINDOW)..start]).unwrap_or(values[peak]);
    let back_below = baseline + RECOVERED_SHARE * (values[peak] - baseline);
    let end = group.last().copied().unwrap_or(peak);
    let recovery_steps = (end + 1..(end + 1 + RECOVERY_POINTS).min(values.len()))
        .find(|&j| values[j] <= back_below)
        .map(|j| curve.steps[j].saturating_sub(curve.steps[peak]));
    SpikeEvent {
        peak,
        baseline,
        recovery_steps,
    }
}

/// A robust noise scale for each residual: the MAD-based σ of its block of about
/// [`SCALE_BLOCK_POINTS`] points, so noise that shrinks as the loss falls is followed.
fn block_scale(residual: &[f64]) -> Vec<f64> {
    let n = residual.len();
    let count = (n / SCALE_BLOCK_POINTS).max(1);
    let mut scale = Vec::with_capacity(n);
    for block in 0..count {
        let (start, end) = (block * n / count, (block + 1) * n / count);
        let sigma = robust_sigma(&residual[start..end]).unwrap_or(0.0);
        scale.extend(std::iter::repeat_n(sigma, end - start));
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve_with(values: Vec<f64>) -> Curve {
        Curve {
            steps: (0..values.len() as i64).map(|i| i * 10).collect(),
            values,
        }
    }

    fn wiggle(i: usize) -> f64 {
        0.01 * ((i * 7919) % 13) as f64
    }

    #[test]
    fn a_pause_in_a_steep_fall_is_not_a_spike() {
        // The loss falls 20% a point; three times it repeats the value of three points
        // earlier. Each such point stands 56% above the centred median (the lower points
        // after it pull the median down) but below the level just before it.
        let mut values: Vec<f64> = (0..400).map(|i| 4.0 * 0.8f64.powi(i)).collect();
        for i in [100, 150, 200] {
            values[i] = values[i - 3];
        }
        assert!(spikes(&curve_with(values), MIN_RELATIVE_LOSS).is_empty());
    }

    #[test]
    fn finds_isolated_spikes_and_their_recovery() {
        let mut values: Vec<f64> = (0..400).map(|i| 1.0 + wiggle(i)).collect();
        values[100] = 3.0;
        values[250] = 2.5;
        values[251] = 2.2;
        let events = spikes(&curve_with(values), MIN_RELATIVE_LOSS);
        assert_eq!(
            events.iter().map(|e| e.peak).collect::<Vec<_>>(),
            vec![100, 250]
        );
        assert!(events.iter().all(|e| e.recovery_steps.is_some()));
        assert_eq!(events[1].recovery_steps, Some(20));
    }

    #[test]
    fn small_bumps_and_short_curves_are_not_spikes() {
        let mut values: Vec<f64> = (0..400).map(|i| 1.0 + wiggle(i)).collect();
        values[100] = 1.2;
        assert!(spikes(&curve_with(values), MIN_RELATIVE_LOSS).is_empty());
        assert!(spikes(&curve_with(vec![1.0, 50.0, 1.0]), MIN_RELATIVE_LOSS).is_empty());
    }

    #[test]
    fn a_spike_onto_a_higher_level_has_not_recovered() {
        let mut values: Vec<f64> = (0..100)
            .map(|i| 1.0 + wiggle(i) + if i > 50 { 1.5 } else { 0.0 })
            .collect();
        values[50] = 5.0;
        let events = spikes(&curve_with(values), MIN_RELATIVE_LOSS);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].recovery_steps, None);
        assert!(events[0].baseline < 1.2);
    }

    #[test]
    fn the_ends_are_not_judged() {
        let mut values: Vec<f64> = (0..100).map(|i| 1.0 + wiggle(i)).collect();
        values[0] = 5.0;
        values[99] = 5.0;
        assert!(spikes(&curve_with(values), MIN_RELATIVE_LOSS).is_empty());
    }
}
