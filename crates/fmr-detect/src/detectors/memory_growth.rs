use fmr_core::{MetricRole, Symptom, SymptomKind, TextEventKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{tail_count, tail_level};
use crate::human;
use crate::stats::onset::regime_onset_step;
use crate::stats::robust::median;
use crate::stats::smooth::trend;
use crate::stats::trend::{mann_kendall_z, theil_sen};

/// ## What it detects
/// Memory that keeps growing with the steps: after the first tenth of the run (where caches and
/// the allocator settle), allocated or reserved memory rises by 20% or more and is still rising
/// in the last third of the run. An out-of-memory line in the run's text log is quoted with it.
///
/// ## Why it matters
/// A training step should need the same memory every time. Growth that follows the step count
/// is a leak: a loss or output kept with its autograd graph (`total_loss += loss` instead of
/// `loss.item()`), a list that collects tensors, a cache keyed by shape, or allocator
/// fragmentation from varying input sizes. It ends in an out-of-memory crash at a step that can
/// be predicted from the slope.
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5), without its first
/// 10%: the level over the last 10% is at least 20% above the level at the start of the judged
/// stretch (median of its first 10% of blocks); the raw block medians trend up (Mann–Kendall
/// z ≥ 3); and the rise over the last third of the stretch is at least a quarter of the rise
/// before it (a cache that filled up and stopped is not a leak). The onset is the first change
/// point (PELT) after the first 10% from which memory stays on its way up.
///
/// ## Evidence reported
/// `base`, `final`, `growth` (fraction over the base), `slope_per_1k_steps` (Theil–Sen),
/// `trend_z`, `onset_step`, and `oom_line` when the text log reports running out of memory.
///
/// ## Parameters
/// At least 20 finite points; skip 10%; growth ≥ 20%; trend z ≥ 3; the last third carries ≥ 25%
/// of the rise of the first two thirds.
///
/// ## Likely causes
/// FM0105, FM0155
pub struct MemoryGrowth;

const MIN_POINTS: usize = 20;
const SKIP_FRACTION: f64 = 0.1;
const EDGE_FRACTION: f64 = 0.1;
const MIN_GROWTH: f64 = 0.2;
const MIN_TREND_Z: f64 = 3.0;
const LAST_THIRD_SHARE: f64 = 0.25;
const ONSET_FRACTION: f64 = 0.1;

impl Detector for MemoryGrowth {
    fn code(&self) -> &'static str {
        "S122"
    }

    fn name(&self) -> &'static str {
        "memory_growth"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .with_role(MetricRole::Memory)
            .filter_map(|series| self.symptom(input, series))
            .collect()
    }
}

impl MemoryGrowth {
    fn symptom(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS || curve.values.iter().any(|&v| v < 0.0) {
            return None;
        }
        let shape = trend(&curve.steps, &curve.values);
        let levels = &shape.blocks.values;
        let k = levels.len();
        let skip = (k as f64 * SKIP_FRACTION) as usize;
        let stretch = &levels[skip..];
        let m = stretch.len();
        let base = median(&stretch[..tail_count(m, EDGE_FRACTION, 2)])?;
        let end = tail_level(stretch, EDGE_FRACTION, 2)?;
        if base <= 0.0 || end < (1.0 + MIN_GROWTH) * base {
            return None;
        }
        let trend_z = mann_kendall_z(&shape.raw[skip..]);
        // The level two thirds of the way through, over a tenth of the stretch around it.
        let (center, half) = (2 * m / 3, (m / 20).max(1));
        let two_thirds = median(&stretch[center.saturating_sub(half)..(center + half + 1).min(m)])?;
        let (early_rise, late_rise) = (two_thirds - base, end - two_thirds);
        if trend_z < MIN_TREND_Z || late_rise < LAST_THIRD_SHARE * early_rise.max(0.0) {
            return None;
        }
        let mids = shape.blocks.mid_steps();
        let slope = theil_sen(&mids[skip..], &shape.raw[skip..]).unwrap_or(f64::NAN);
        let last_step = curve.last_step()?;
        let onset_step = regime_onset_step(&shape, skip, ONSET_FRACTION)
            .unwrap_or(shape.blocks.start_steps[skip]);
        let oom = input
            .run
            .events
            .iter()
            .find(|e| e.kind == TextEventKind::OutOfMemory);
        let oom_text = oom.map_or(String::new(), |e| {
            format!(
                "; the log reports running out of memory at {}:{}",
                e.file, e.line
            )
        });
        let statement = format!(
            "{} keeps growing from step {}: from {} to {} by step {} (+{}, about {} per 1,000 steps) without levelling off{oom_text}",
            series.tag,
            human::step(onset_step),
            human::value(base),
            human::value(end),
            human::step(last_step),
            human::percent(end / base - 1.0),
            human::value(slope * 1000.0)
        );
        let confidence = 0.6
            + 0.2 * ((end / base - 1.0) / 1.0).min(1.0)
            + if oom.is_some() { 0.15 } else { 0.0 };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::MemoryGrowth,
                input,
                series,
                (onset_step, last_step),
            )
            .number("base", base)
            .number("final", end)
            .number("growth", end / base - 1.0)
            .number("slope_per_1k_steps", slope * 1000.0)
            .number("trend_z", trend_z)
            .number("onset_step", onset_step as f64)
            .number("oom_line", oom.map_or(f64::NAN, |e| e.line as f64))
            .finish(statement, confidence),
        )
    }
}
