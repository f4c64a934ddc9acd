use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::start_level;
use crate::human;
use crate::stats::robust::argmax;
use crate::stats::smooth::rolling_median;

/// ## What it detects
/// A learning-rate schedule that cannot be what was intended: a learning rate of zero
/// throughout; a schedule that decays to almost nothing in the first half of the run and stays
/// there; upward jumps of 10× or more after warmup; or a large learning rate from the first step
/// (no warmup) followed by an early blow-up of the training loss.
///
/// ## Why it matters
/// The schedule is part of the optimiser. A scheduler stepped per batch instead of per epoch
/// (or once per process) finishes its decay early and freezes training; one restored without
/// its state jumps back to its peak on resume; a learning rate of zero makes every step a
/// no-op. Adaptive optimisers with large models need a warmup: without one, the first updates,
/// made with poor second-moment estimates, can throw the weights out of the trainable region.
///
/// ## Signature
/// Zero: the peak is at most 1e-12. Premature decay: from some point in the first half of the
/// run, every later value is below 1% of the peak. Jump: a value 10× or more above the
/// previous one, after the schedule first reached 90% of its peak, unless the jumps are
/// regular (three or more at equal intervals, or four or more at geometrically growing ones: a
/// warm-restart schedule). No warmup: the first value is within 10% of the peak, the peak is
/// at least 1e-4, and the primary training loss goes non-finite or (rolling median of 5) climbs
/// above 1.5× its starting level within the first 20% of its steps, after at least one finite
/// value.
///
/// ## Evidence reported
/// `peak`, and per case: `zero_points`; `decayed_step`, `decayed_progress`, `final`;
/// `jumps`, `first_jump_step`, `jump_from`, `jump_to`; `first`, `loss_event_step`,
/// `loss_event_progress`.
///
/// ## Parameters
/// Zero ≤ 1e-12; decayed < 1% of the peak, by 50% of the run; jump ≥ 10×; warmup present when
/// the first value is below 90% of the peak; large ≥ 1e-4; early = first 20% of the loss's
/// steps; blow-up ≥ 1.5× the start.
///
/// ## Likely causes
/// FM0012, FM0004, FM0002, FM0003
pub struct LrAnomaly;

const MIN_POINTS: usize = 3;
const ZERO_LR: f64 = 1e-12;
const DECAYED_SHARE: f64 = 0.01;
const PREMATURE_PROGRESS: f64 = 0.5;
const JUMP_RATIO: f64 = 10.0;
const WARMED_UP_SHARE: f64 = 0.9;
const LARGE_LR: f64 = 1e-4;
const EARLY_PROGRESS: f64 = 0.2;
const BLOW_UP_RATIO: f64 = 1.5;
const REGULAR_TOLERANCE: f64 = 0.1;

impl Detector for LrAnomaly {
    fn code(&self) -> &'static str {
        "S113"
    }

    fn name(&self) -> &'static str {
        "lr_anomaly"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let mut symptoms = Vec::new();
        for series in input.with_role(MetricRole::LearningRate) {
            if series.finite.len() < MIN_POINTS {
                continue;
            }
            let Some(peak_index) = argmax(&series.finite.values) else {
                continue;
            };
            let peak = series.finite.values[peak_index];
            if peak <= ZERO_LR {
                symptoms.push(self.zero(input, series, peak));
                continue;
            }
            symptoms.extend(self.premature_decay(input, series, peak_index));
            symptoms.extend(self.jumps(input, series, peak));
            symptoms.extend(self.no_warmup(input, series, peak));
        }
        symptoms
    }
}

impl LrAnomaly {
    fn zero(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>, peak: f64) -> Symptom {
        let curve = &series.finite;
        let (first, last) = (
            curve.first_step().unwrap_or(0),
            curve.last_step().unwrap_or(0),
        );
        let statement = format!(
            "{} is 0 at all {} logged steps, from step {} to {}: no update moves the weights",
            series.tag,
            curve.len(),
            human::step(first),
            human::step(last)
        );
        SymptomDraft::new(self, SymptomKind::LrAnomaly, input, series, (first, last))
            .number("peak", peak)
            .number("zero_points", curve.len() as f64)
            .finish(statement, 0.95)
    }

    fn premature_decay(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        peak_index: usize,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        let peak = curve.values[peak_index];
        let threshold = DECAYED_SHARE * peak;
        // The first index after the peak from which every value stays below the threshold.
        let mut decayed = curve.len();
        while decayed > peak_index + 1 && curve.values[decayed - 1] < threshold {
            decayed -= 1;
        }
        if decayed >= curve.len() {
            return None;
        }
        let decayed_step = curve.steps[decayed];
        let progress = curve.progress(decayed_step);
        if progress > PREMATURE_PROGRESS {
            return None;
        }
        let last = *curve.values.last()?;
        let statement = format!(
            "{} falls below 1% of its {} peak at step {}, {} into the run, and stays there (ends at {}): the schedule finishes long before training does",
            series.tag,
            human::value(peak),
            human::step(decayed_step),
            human::percent(progress),
            human::value(last)
        );
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::LrAnomaly,
                input,
                series,
                (decayed_step, curve.last_step()?),
            )
            .number("peak", peak)
            .number("decayed_step", decayed_step as f64)
            .number("decayed_progress", progress)
            .number("final", last)
            .finish(statement, 0.75),
        )
    }

    fn jumps(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        peak: f64,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        let warmed_up = curve
            .values
            .iter()
            .position(|&v| v >= WARMED_UP_SHARE * peak)?;
        let jumps: Vec<usize> = (warmed_up + 1..curve.len())
            .filter(|&i| {
                curve.values[i - 1] > 0.0 && curve.values[i] >= JUMP_RATIO * curve.values[i - 1]
            })
            .collect();
        let (&first, &last) = (jumps.first()?, jumps.last()?);
        let jump_steps: Vec<i64> = jumps.iter().map(|&i| curve.steps[i]).collect();
        if is_regular(&jump_steps) {
            return None;
        }
        let (from, to) = (curve.values[first - 1], curve.values[first]);
        let times = if jumps.len() == 1 {
            String::new()
        } else {
            format!(" {} times; the first", jumps.len())
        };
        let statement = format!(
            "{} jumps up after warmup{times} at step {}, from {} to {} ({}): a scheduler restored without its state, stepped on the wrong counter, or restarted",
            series.tag,
            human::step(curve.steps[first]),
            human::value(from),
            human::value(to),
            human::ratio(to / from)
        );
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::LrAnomaly,
                input,
                series,
                (curve.steps[first], curve.steps[last]),
            )
            .number("peak", peak)
            .number("jumps", jumps.len() as f64)
            .number("first_jump_step", curve.steps[first] as f64)
            .number("jump_from", from)
            .number("jump_to", to)
            .finish(statement, 0.5),
        )
    }

    fn no_warmup(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        peak: f64,
    ) -> Option<Symptom> {
        let first = *series.finite.values.first()?;
        if first < WARMED_UP_SHARE * peak || peak < LARGE_LR {
            return None;
        }
        let loss = input.primary(MetricRole::TrainLoss)?;
        let (event_step, event) = early_loss_trouble(loss)?;
        if loss
            .finite
            .first_step()
            .is_none_or(|first| first >= event_step)
        {
            // A loss broken from its first value points at the data or the model, not the schedule.
            return None;
        }
        let progress = loss.all.progress(event_step);
        let statement = format!(
            "{} starts at {} with no warmup (its peak is {}), and {} {event} at step {}, {} into the run",
            series.tag,
            human::value(first),
            human::value(peak),
            loss.tag,
            human::step(event_step),
            human::percent(progress)
        );
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::LrAnomaly,
                input,
                series,
                (series.finite.first_step()?, event_step),
            )
            .number("peak", peak)
            .number("first", first)
            .number("loss_event_step", event_step as f64)
            .number("loss_event_progress", progress)
            .finish(statement, 0.6),
        )
    }
}

/// Whether jumps come on a plan: three or more at equal intervals, or four or more at intervals
/// that grow by a constant factor (SGDR's `T_mult`), within 10%. Such a schedule restarts on
/// purpose.
fn is_regular(jump_steps: &[i64]) -> bool {
    let gaps: Vec<f64> = jump_steps
        .windows(2)
        .map(|w| w[1] as f64 - w[0] as f64)
        .collect();
    let ratios: Vec<f64> = gaps.windows(2).map(|w| w[1] / w[0]).collect();
    let all_near = |values: &[f64]| {
        values
            .iter()
            .all(|v| (v - values[0]).abs() <= REGULAR_TOLERANCE * values[0].abs())
    };
    (gaps.len() >= 2 && all_near(&gaps)) || (ratios.len() >= 2 && all_near(&ratios))
}

/// The first sign, within the first [`EARLY_PROGRESS`] of the loss's steps, that training blew
/// up: a non-finite value, or the rolling median climbing past [`BLOW_UP_RATIO`]× the start.
fn early_loss_trouble(loss: &MetricSeries<'_>) -> Option<(i64, String)> {
    let all = &loss.all;
    let early_end = all
        .first_step()?
        .saturating_add((EARLY_PROGRESS * all.span() as f64) as i64);
    let non_finite = all
        .steps
        .iter()
        .zip(&all.values)
        .find(|(_, v)| !v.is_finite())
        .filter(|&(&s, _)| s <= early_end);
    if let Some((&step, &value)) = non_finite {
        return Some((step, format!("goes {}", human::value(value))));
    }
    let finite = &loss.finite;
    let start = start_level(&finite.values)?;
    if start <= 0.0 {
        return None;
    }
    let smooth = rolling_median(&finite.values, 2);
    let index = smooth
        .iter()
        .zip(&finite.steps)
        .position(|(&v, &s)| s <= early_end && v >= BLOW_UP_RATIO * start)?;
    Some((
        finite.steps[index],
        format!(
            "climbs to {} ({} its start)",
            human::value(smooth[index]),
            human::ratio(smooth[index] / start)
        ),
    ))
}
