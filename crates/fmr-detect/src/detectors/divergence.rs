use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::grad_explosion::explosion;
use crate::detectors::shape::{head_level, start_level, tail_count};
use crate::human;
use crate::stats::onset::regime_onset_step;
use crate::stats::robust::{argmax, argmin, median};
use crate::stats::smooth::trend;
use crate::stats::trend::{mann_kendall_z, theil_sen};

/// ## What it detects
/// A loss (or gradient norm) that climbs after an earlier minimum, or from the very start, and
/// stays up: a sustained rise, not a spike. And its mirror for a reward (higher is better): a
/// return that rose and then collapses, giving back much of what it gained.
///
/// ## Why it matters
/// A training loss should not go back up. When it does and stays there, the optimiser is
/// taking steps that are too large for the current curvature (learning rate, missing warmup,
/// a schedule that restarted), updates are corrupted (missing `zero_grad`, wrong accumulation),
/// or numerics are failing on the way to a NaN.
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5): the level over the
/// last 10% of the curve is at least 50% above the minimum and has given back at least a
/// quarter of the drop from the start; every block of that tail stays above the halfway mark of
/// the rise; the rise is 6× the noise of a block median; and the curve after the minimum has a
/// significant upward Mann–Kendall trend (z ≥ 2). Validation losses are checked only in runs
/// that log no training loss (otherwise a rising validation loss is overfitting, S107);
/// gradient norms that grow 100× are left to S110. A reward collapses when, on the same
/// smoothed curve, its peak lies before the last 10% (and 10% of the steps), it rose from its
/// first 10% by more than 6× the block noise, the last 10% is below the peak by at least a
/// quarter of that gain (and 6× the noise), every block of that tail is below the halfway mark
/// of the fall, and the raw block medians after the peak trend down (Mann–Kendall z ≤ −2).
///
/// ## Evidence reported
/// `from` (start level), `min`, `min_step`, `onset_step` (the first change point, by PELT on
/// the block medians after the minimum, from which the curve stays on its way up), `to` (level over the last 10%), `ratio` (`to / min`), `slope` (Theil–Sen,
/// per step, after the onset), `trend_z` (Mann–Kendall). For a reward: `start`, `peak`,
/// `peak_step`, `onset_step` (first change point after the peak from which it stays on its way
/// down), `to`, `given_back` (fall over gain), `trend_z`.
///
/// ## Parameters
/// At least 20 finite points; rise ≥ 50% of the minimum and ≥ 25% of the earlier drop;
/// ≥ 6× block noise; trend z ≥ 2; the rise covers at least 10% of the steps.
///
/// ## Likely causes
/// FM0002, FM0004, FM0012, FM0010, FM0011, FM0005, FM0006, FM0036, FM0076, FM0176
pub struct Divergence;

const MIN_POINTS: usize = 20;
const TAIL_FRACTION: f64 = 0.1;
const MIN_RISE_OVER_MIN: f64 = 0.5;
const MIN_RISE_OVER_DROP: f64 = 0.25;
const NOISE_MULTIPLE: f64 = 6.0;
const MIN_TREND_Z: f64 = 2.0;
const MIN_RISE_SPAN: f64 = 0.1;
/// The onset is the first change point after which the curve has risen at least this share of
/// the way from its minimum segment to its final one.
const ONSET_FRACTION: f64 = 0.1;
/// A reward collapses when it gives back at least this share of what it gained.
const MIN_GIVEN_BACK: f64 = 0.25;
/// A start within this fraction of the minimum means the curve was flat before it rose.
const FLAT_BEFORE: f64 = 0.05;

/// What the rise of one series looks like.
struct Rise {
    from: f64,
    min: f64,
    min_step: i64,
    onset_step: i64,
    to: f64,
    last_step: i64,
    slope: f64,
    trend_z: f64,
}

impl Detector for Divergence {
    fn code(&self) -> &'static str {
        "S102"
    }

    fn name(&self) -> &'static str {
        "divergence"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let check_validation = !input.has_usable(MetricRole::TrainLoss, MIN_POINTS);
        input
            .series
            .iter()
            .filter(|s| match s.role {
                Some(MetricRole::TrainLoss) => true,
                Some(MetricRole::ValLoss) => check_validation,
                Some(MetricRole::GradNorm) => explosion(s).is_none(),
                _ => false,
            })
            .filter_map(|series| Some(self.symptom(input, series, &rise(series)?)))
            .chain(input.with_role(MetricRole::Reward).filter_map(|series| {
                Some(self.collapse_symptom(input, series, &reward_collapse(series)?))
            }))
            .collect()
    }
}

/// A reward that rose and then gave much of it back.
struct Collapse {
    start: f64,
    peak: f64,
    peak_step: i64,
    end: f64,
    onset_step: i64,
    last_step: i64,
    given_back: f64,
    trend_z: f64,
}

impl Divergence {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        rise: &Rise,
    ) -> Symptom {
        let ratio = if rise.min > 0.0 {
            rise.to / rise.min
        } else {
            f64::NAN
        };
        let ratio_text = if ratio.is_finite() {
            format!(" ({})", human::ratio(ratio))
        } else {
            String::new()
        };
        let statement = if rise.min_step <= series.finite.first_step().unwrap_or(rise.min_step) {
            format!(
                "{} rises from the start: from {} at step {} to {} by step {}{ratio_text}, a sustained climb",
                series.tag,
                human::value(rise.min),
                human::step(rise.min_step),
                human::value(rise.to),
                human::step(rise.last_step)
            )
        } else {
            let verb = if series.role == Some(MetricRole::GradNorm) {
                "rises steadily"
            } else {
                "diverges"
            };
            let before = if rise.from - rise.min <= FLAT_BEFORE * rise.from.abs() {
                format!(
                    "after holding near {} until step {}",
                    human::value(rise.min),
                    human::step(rise.min_step)
                )
            } else {
                format!(
                    "after falling from {} to a minimum of {} at step {}",
                    human::value(rise.from),
                    human::value(rise.min),
                    human::step(rise.min_step)
                )
            };
            format!(
                "{} {verb} from step {}: {before} it climbs to {} by step {}{ratio_text} and stays there",
                series.tag,
                human::step(rise.onset_step),
                human::value(rise.to),
                human::step(rise.last_step)
            )
        };
        let strength =
            ((rise.to - rise.min) / rise.min.abs().max(f64::MIN_POSITIVE)).min(2.0) / 2.0;
        let confidence = 0.5 + 0.05 * (rise.trend_z - MIN_TREND_Z).min(4.0) + 0.25 * strength;
        SymptomDraft::new(
            self,
            SymptomKind::Divergence,
            input,
            series,
            (rise.onset_step, rise.last_step),
        )
        .number("from", rise.from)
        .number("min", rise.min)
        .number("min_step", rise.min_step as f64)
        .number("onset_step", rise.onset_step as f64)
        .number("to", rise.to)
        .number("ratio", ratio)
        .number("slope", rise.slope)
        .number("trend_z", rise.trend_z)
        .finish(statement, confidence.min(0.95))
    }
}

impl Divergence {
    fn collapse_symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        collapse: &Collapse,
    ) -> Symptom {
        let from = if collapse.onset_step > collapse.peak_step {
            format!(", from step {} on,", human::step(collapse.onset_step))
        } else {
            String::new()
        };
        let statement = format!(
            "{} collapses after its peak: it rises from {} to {} at step {}, then{from} falls to {} by step {}, giving back {} of its gains",
            series.tag,
            human::value(collapse.start),
            human::value(collapse.peak),
            human::step(collapse.peak_step),
            human::value(collapse.end),
            human::step(collapse.last_step),
            human::percent(collapse.given_back)
        );
        let confidence = 0.5
            + 0.3 * collapse.given_back.min(1.0)
            + 0.03 * (-collapse.trend_z - MIN_TREND_Z).clamp(0.0, 4.0);
        SymptomDraft::new(
            self,
            SymptomKind::Divergence,
            input,
            series,
            (collapse.onset_step, collapse.last_step),
        )
        .number("start", collapse.start)
        .number("peak", collapse.peak)
        .number("peak_step", collapse.peak_step as f64)
        .number("onset_step", collapse.onset_step as f64)
        .number("to", collapse.end)
        .number("given_back", collapse.given_back)
        .number("trend_z", collapse.trend_z)
        .finish(statement, confidence.min(0.9))
    }
}

/// A reward (higher is better, any sign) that rose well above its start and then fell back by
/// at least a quarter of the gain, for good: see the detector's signature.
fn reward_collapse(series: &MetricSeries<'_>) -> Option<Collapse> {
    let curve = &series.finite;
    if curve.len() < MIN_POINTS {
        return None;
    }
    let shape = trend(&curve.steps, &curve.values);
    let levels = &shape.blocks.values;
    let k = levels.len();
    let tail = tail_count(k, TAIL_FRACTION, 3);
    let peak_index = argmax(levels)?;
    if peak_index >= k - tail
        || 1.0 - curve.progress(shape.blocks.start_steps[peak_index]) < MIN_RISE_SPAN
    {
        return None;
    }
    let peak = levels[peak_index];
    let start = head_level(levels, TAIL_FRACTION, 3)?;
    let end = median(&levels[k - tail..])?;
    let (gain, fall) = (peak - start, peak - end);
    let noise = NOISE_MULTIPLE * shape.noise;
    let holds = levels[k - tail..].iter().all(|&v| v <= peak - 0.5 * fall);
    if gain <= noise || fall <= noise || fall < MIN_GIVEN_BACK * gain || !holds {
        return None;
    }
    let trend_z = mann_kendall_z(&shape.raw[peak_index..]);
    if trend_z > -MIN_TREND_Z {
        return None;
    }
    let peak_step = shape.blocks.start_steps[peak_index];
    let onset_step = regime_onset_step(&shape, peak_index, ONSET_FRACTION).unwrap_or(peak_step);
    Some(Collapse {
        start,
        peak,
        peak_step,
        end,
        onset_step,
        last_step: curve.last_step()?,
        given_back: fall / gain,
        trend_z,
    })
}

fn rise(series: &MetricSeries<'_>) -> Option<Rise> {
    let curve = &series.finite;
    if curve.len() < MIN_POINTS {
        return None;
    }
    let shape = trend(&curve.steps, &curve.values);
    let smooth = &shape.blocks;
    let levels = &smooth.values;
    let k = levels.len();
    let tail = tail_count(k, TAIL_FRACTION, 3);
    let min_index = argmin(levels)?;
    if min_index >= k - tail {
        return None;
    }
    let min = levels[min_index];
    let to = median(&levels[k - tail..])?;
    let from = start_level(&curve.values)?.max(min);
    let rise = to - min;
    let noise = shape.noise;
    let drop = from - min;
    let big_enough = rise >= MIN_RISE_OVER_MIN * min.abs()
        && (drop <= 0.0 || rise >= MIN_RISE_OVER_DROP * drop)
        && rise > NOISE_MULTIPLE * noise;
    let holds = levels[k - tail..].iter().all(|&v| v >= min + 0.5 * rise);
    if !big_enough || !holds || rise <= 0.0 {
        return None;
    }
    // The rise starts at the first change point after the minimum from which the curve stays
    // on its way up.
    let onset_step = regime_onset_step(&shape, min_index, ONSET_FRACTION)
        .unwrap_or(smooth.start_steps[min_index]);
    let onset = smooth
        .start_steps
        .partition_point(|&s| s < onset_step)
        .min(k - 1);
    let last_step = curve.last_step()?;
    if 1.0 - curve.progress(smooth.start_steps[min_index]) < MIN_RISE_SPAN {
        return None;
    }
    // The trend tests read the raw block medians: the smoothed ones are correlated with their
    // neighbours, which would overstate the evidence.
    let trend_z = mann_kendall_z(&shape.raw[min_index..]);
    if trend_z < MIN_TREND_Z {
        return None;
    }
    let mids = smooth.mid_steps();
    let fit_from = onset.min(k - 2);
    let slope = theil_sen(&mids[fit_from..], &shape.raw[fit_from..]).unwrap_or(f64::NAN);
    Some(Rise {
        from,
        min,
        min_step: smooth.start_steps[min_index],
        onset_step,
        to,
        last_step,
        slope,
        trend_z,
    })
}
