use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{tail_count, tail_level};
use crate::human;
use crate::stats::onset::regime_onset_step;
use crate::stats::robust::median;
use crate::stats::smooth::trend;

/// ## What it detects
/// Training that gets slower as it goes: a throughput (samples, tokens or steps per second)
/// that falls, or a step time that grows, by 20% or more against its early steady level, and
/// stays slower to the end.
///
/// ## Why it matters
/// A run that slows down for no reason of its own is wasting its hardware, and the slowdown
/// usually names its cause by its shape: a gradual decline points at state that grows with the
/// steps (tensors kept with their graph, a growing list, allocator fragmentation); a sudden drop
/// points at an event (recompilation on new shapes, an evaluation or checkpoint that left
/// something behind, a straggling rank, a data pipeline that fell behind after the cache ran
/// out, thermal throttling).
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5), without its first 5%
/// (warm-up and compilation): the reference is the median over the next 20%, the final level
/// the median over the last 10%. Relative speed (final over reference for a throughput,
/// reference over final for a step time) at most 0.8, with every block of the last 10% at least
/// 10% slower than the reference and the change 6× the block noise. The onset is the first
/// change point (PELT) after the warm-up from which the speed stays on its way down; the
/// slowdown is called sudden when half of it happens within 5% of the run after the onset.
///
/// ## Evidence reported
/// `reference`, `final`, `relative_speed`, `slowdown` (1 − relative speed), `onset_step`,
/// `sudden` (1 or 0).
///
/// ## Parameters
/// At least 20 finite points; warm-up 5%; reference 20%; final 10%; slower by ≥ 20%.
///
/// ## Likely causes
/// FM0105, FM0100, FM0158, FM0104, FM0098, FM0159
pub struct ThroughputRegression;

const MIN_POINTS: usize = 20;
const WARMUP_FRACTION: f64 = 0.05;
const REFERENCE_FRACTION: f64 = 0.2;
const FINAL_FRACTION: f64 = 0.1;
const MAX_RELATIVE_SPEED: f64 = 0.8;
const TAIL_SLOWER: f64 = 0.9;
const NOISE_MULTIPLE: f64 = 6.0;
const SUDDEN_SPAN: f64 = 0.05;
const ONSET_FRACTION: f64 = 0.1;

impl Detector for ThroughputRegression {
    fn code(&self) -> &'static str {
        "S121"
    }

    fn name(&self) -> &'static str {
        "throughput_regression"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .series
            .iter()
            .filter_map(|series| {
                let higher_is_faster = match series.role? {
                    MetricRole::Throughput => true,
                    MetricRole::StepTime => false,
                    _ => return None,
                };
                self.symptom(input, series, higher_is_faster)
            })
            .collect()
    }
}

impl ThroughputRegression {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        higher_is_faster: bool,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS || curve.values.iter().any(|&v| v <= 0.0) {
            return None;
        }
        let shape = trend(&curve.steps, &curve.values);
        let levels = &shape.blocks.values;
        let k = levels.len();
        let skip = (k as f64 * WARMUP_FRACTION) as usize;
        let reference_end = (skip + tail_count(k, REFERENCE_FRACTION, 2)).min(k);
        let reference = median(&levels[skip..reference_end])?;
        let end = tail_level(levels, FINAL_FRACTION, 3)?;
        // Speed relative to the reference, whichever way the metric runs.
        let speed = |level: f64| {
            if higher_is_faster {
                level / reference
            } else {
                reference / level
            }
        };
        let relative_speed = speed(end);
        let tail = tail_count(k, FINAL_FRACTION, 3);
        if relative_speed > MAX_RELATIVE_SPEED
            || levels[k - tail..].iter().any(|&v| speed(v) > TAIL_SLOWER)
            || (end - reference).abs() <= NOISE_MULTIPLE * shape.noise
        {
            return None;
        }
        let last_step = curve.last_step()?;
        let onset_step = regime_onset_step(&shape, skip, ONSET_FRACTION)
            .unwrap_or(shape.blocks.start_steps[skip]);
        // Sudden: the curve has lost half its speed within a short span after the onset.
        let onset_index = shape
            .blocks
            .start_steps
            .partition_point(|&s| s < onset_step);
        let soon = (onset_index + (k as f64 * SUDDEN_SPAN).ceil() as usize).min(k - 1);
        let sudden = 1.0 - speed(levels[soon]) >= 0.5 * (1.0 - relative_speed);
        let what = if higher_is_faster {
            format!(
                "falls from {} to {}",
                human::value(reference),
                human::value(end)
            )
        } else {
            format!(
                "grows from {} to {}",
                human::value(reference),
                human::value(end)
            )
        };
        let statement = format!(
            "{} {what} by step {}: training runs {} slower than its early steady pace, {} from step {}",
            series.tag,
            human::step(last_step),
            human::percent(1.0 - relative_speed),
            if sudden {
                "a sudden slowdown"
            } else {
                "a gradual slowdown"
            },
            human::step(onset_step)
        );
        let confidence = 0.6 + 0.3 * ((MAX_RELATIVE_SPEED - relative_speed) / 0.4).min(1.0);
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::ThroughputRegression,
                input,
                series,
                (onset_step, last_step),
            )
            .number("reference", reference)
            .number("final", end)
            .number("relative_speed", relative_speed)
            .number("slowdown", 1.0 - relative_speed)
            .number("onset_step", onset_step as f64)
            .number("sudden", if sudden { 1.0 } else { 0.0 })
            .finish(statement, confidence),
        )
    }
}
