use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{head_level, tail_count, tail_level};
use crate::human;
use crate::stats::onset::ratio_onset_step;
use crate::stats::robust::{argmin, median};
use crate::stats::smooth::trend;
use crate::stats::trend::mann_kendall_z;

/// ## What it detects
/// A value (critic, Q, TD) loss that explodes: it grows by an order of magnitude or more after an
/// earlier minimum and stays up, or it is huge from the start (hundreds or more) and never comes
/// down.
///
/// ## Why it matters
/// The value function sets the scale of the advantages and targets the policy learns from. A
/// value loss that grows by orders of magnitude means the critic chases its own estimates
/// (no target network or one updated too fast, Q-value overestimation, out-of-distribution
/// actions in offline RL, a temperature that runs away). One that is huge from the start and
/// does not fall means the returns are far from unit scale: rewards or observations are not
/// normalised, and the value head's gradients drown the policy's.
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5). Growth: the minimum
/// lies before the last 30% of the run, the level over the last 10% is at least 10× it and 6×
/// the block noise above it, every block of that tail stays above 3× the minimum, and the raw
/// block medians after the minimum trend up (Mann–Kendall z ≥ 2). Huge: the level over the first
/// 10% is at least 100 and the level over the last 10% keeps at least half of it; when the run
/// logs an explained variance, its median over the last 30% is at most 0.2. The onset of a
/// growth is the first change point (PELT, on the logarithm of the loss: growth by orders of
/// magnitude is dated where it starts) after the minimum from which the loss stays on its way
/// up; a huge loss is reported from its first step.
///
/// ## Evidence reported
/// Growth: `min`, `min_step`, `final`, `ratio`, `orders`, `trend_z`, `onset_step`. Huge:
/// `initial`, `final`, `kept` (final over initial), `explained_variance` when logged.
///
/// ## Parameters
/// At least 20 finite points; growth ≥ 10× the minimum; huge ≥ 100 with at least half of it
/// kept; explained variance ≤ 0.2.
///
/// ## Likely causes
/// FM0043, FM0074, FM0046, FM0174, FM0175, FM0177
pub struct ValueLossExplosion;

const MIN_POINTS: usize = 20;
const EDGE_FRACTION: f64 = 0.1;
const LATE_FRACTION: f64 = 0.3;
const GROWTH_RATIO: f64 = 10.0;
const TAIL_ABOVE_MIN: f64 = 3.0;
const NOISE_MULTIPLE: f64 = 6.0;
const MIN_TREND_Z: f64 = 2.0;
const HUGE: f64 = 100.0;
const HUGE_KEPT: f64 = 0.5;
const EXPLAINED_VARIANCE_POOR: f64 = 0.2;
const ONSET_FRACTION: f64 = 0.1;

impl Detector for ValueLossExplosion {
    fn code(&self) -> &'static str {
        "S117"
    }

    fn name(&self) -> &'static str {
        "value_loss_explosion"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let explained_variance = input
            .primary(MetricRole::ExplainedVariance)
            .filter(|s| !s.finite.is_empty())
            .and_then(|s| {
                let n = s.finite.len();
                median(&s.finite.values[n - tail_count(n, LATE_FRACTION, 1)..])
            });
        input
            .with_role(MetricRole::ValueLoss)
            .filter_map(|series| {
                self.growth(input, series)
                    .or_else(|| self.huge(input, series, explained_variance))
            })
            .collect()
    }
}

impl ValueLossExplosion {
    fn growth(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS {
            return None;
        }
        let shape = trend(&curve.steps, &curve.values);
        let levels = &shape.blocks.values;
        let k = levels.len();
        let late = k - tail_count(k, LATE_FRACTION, 1);
        let min_index = argmin(&levels[..late])?;
        let min = levels[min_index];
        let end = tail_level(levels, EDGE_FRACTION, 3)?;
        let tail = tail_count(k, EDGE_FRACTION, 3);
        if min <= 0.0
            || end < GROWTH_RATIO * min
            || end - min <= NOISE_MULTIPLE * shape.noise
            || levels[k - tail..].iter().any(|&v| v < TAIL_ABOVE_MIN * min)
        {
            return None;
        }
        let trend_z = mann_kendall_z(&shape.raw[min_index..]);
        if trend_z < MIN_TREND_Z {
            return None;
        }
        let min_step = shape.blocks.start_steps[min_index];
        let onset_step = ratio_onset_step(&shape, min_index, ONSET_FRACTION).unwrap_or(min_step);
        let last_step = curve.last_step()?;
        let ratio = end / min;
        let since = if onset_step > min_step {
            format!(" from step {}", human::step(onset_step))
        } else {
            String::new()
        };
        let statement = format!(
            "{} explodes{since}: from a minimum of {} at step {} it grows {} orders of magnitude to {} by step {} ({})",
            series.tag,
            human::value(min),
            human::step(min_step),
            human::value(ratio.log10()),
            human::value(end),
            human::step(last_step),
            human::ratio(ratio)
        );
        let confidence = 0.6 + 0.1 * ratio.log10().min(3.0);
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::ValueLossExplosion,
                input,
                series,
                (onset_step, last_step),
            )
            .number("min", min)
            .number("min_step", min_step as f64)
            .number("final", end)
            .number("ratio", ratio)
            .number("orders", ratio.log10())
            .number("trend_z", trend_z)
            .number("onset_step", onset_step as f64)
            .finish(statement, confidence),
        )
    }

    fn huge(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        explained_variance: Option<f64>,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS
            || explained_variance.is_some_and(|ev| ev > EXPLAINED_VARIANCE_POOR)
        {
            return None;
        }
        let levels = trend(&curve.steps, &curve.values).blocks.values;
        let initial = head_level(&levels, EDGE_FRACTION, 3)?;
        let end = tail_level(&levels, EDGE_FRACTION, 3)?;
        if initial < HUGE || end < HUGE_KEPT * initial {
            return None;
        }
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        let explained = explained_variance.map_or(String::new(), |ev| {
            format!(
                ", and the explained variance is {} over the last 30% of the run: the critic predicts almost nothing",
                human::value(ev)
            )
        });
        let statement = format!(
            "{} is huge from the start and does not come down: {} over the first 10% of the run, {} over the last 10% (step {} to {}){explained}",
            series.tag,
            human::value(initial),
            human::value(end),
            human::step(first_step),
            human::step(last_step)
        );
        let confidence = if explained_variance.is_some() {
            0.8
        } else {
            0.55
        };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::ValueLossExplosion,
                input,
                series,
                (first_step, last_step),
            )
            .number("initial", initial)
            .number("final", end)
            .number("kept", end / initial)
            .number("explained_variance", explained_variance.unwrap_or(f64::NAN))
            .finish(statement, confidence),
        )
    }
}
