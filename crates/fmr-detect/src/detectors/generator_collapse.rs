use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{head_level, tail_count, tail_level};
use crate::human;
use crate::stats::onset::regime_onset_step;
use crate::stats::robust::argmin;
use crate::stats::smooth::trend;
use crate::stats::trend::mann_kendall_z;

/// ## What it detects
/// A GAN generator that loses the game: its loss climbs to at least twice its earlier minimum
/// and stays up (still rising, or stuck high), while the discriminator's loss does not rise
/// with it.
///
/// ## Why it matters
/// The generator's loss measures how easily the discriminator spots its samples. When it climbs
/// and stays high the generator no longer gets a useful gradient: it tends to collapse onto the
/// few outputs that still fool the discriminator (mode collapse), and sample quality stops
/// improving or degrades. Look at samples from a fixed set of latent vectors to confirm. When
/// the discriminator's loss rises too, both are diverging, which is a different failure.
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5), for a generator loss
/// whose values are never negative: the minimum lies before the last 30% of the run; the level
/// over the last 10% is at least 2× that minimum and 6× the block noise above it, and every
/// block of that tail stays above the halfway mark of the rise. When the run logs a
/// discriminator loss, its level over the last 10% is at most 1.5× its early level. The onset
/// is the first change point (PELT) after the minimum from which the loss stays on its way up;
/// the rise is "still rising" when the raw block medians of the last 30% trend up (Mann–Kendall
/// z ≥ 2) and "stuck" otherwise.
///
/// ## Evidence reported
/// `min`, `min_step`, `final`, `ratio`, `tail_trend_z`, `onset_step`, and `d_early`, `d_final`
/// when a discriminator loss is logged.
///
/// ## Parameters
/// At least 20 finite points; rise ≥ 2× the minimum and ≥ 6× noise; discriminator rise ≤ 1.5×.
///
/// ## Likely causes
/// FM0031, FM0032, FM0092, FM0118
pub struct GeneratorCollapse;

const MIN_POINTS: usize = 20;
const EDGE_FRACTION: f64 = 0.1;
const LATE_FRACTION: f64 = 0.3;
const RISE_RATIO: f64 = 2.0;
const NOISE_MULTIPLE: f64 = 6.0;
const MAX_DISCRIMINATOR_RISE: f64 = 1.5;
const RISING_Z: f64 = 2.0;
const ONSET_FRACTION: f64 = 0.1;

impl Detector for GeneratorCollapse {
    fn code(&self) -> &'static str {
        "S119"
    }

    fn name(&self) -> &'static str {
        "generator_collapse"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let discriminator = input.primary(MetricRole::DLoss).and_then(|d| {
            let levels = trend(&d.finite.steps, &d.finite.values).blocks.values;
            Some((
                head_level(&levels, EDGE_FRACTION, 3)?,
                tail_level(&levels, EDGE_FRACTION, 3)?,
            ))
        });
        if discriminator.is_some_and(|(early, end)| end > MAX_DISCRIMINATOR_RISE * early.abs()) {
            return Vec::new();
        }
        input
            .with_role(MetricRole::GLoss)
            .filter_map(|series| self.symptom(input, series, discriminator))
            .collect()
    }
}

impl GeneratorCollapse {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        discriminator: Option<(f64, f64)>,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS || curve.values.iter().any(|&v| v < 0.0) {
            return None;
        }
        let shape = trend(&curve.steps, &curve.values);
        let levels = &shape.blocks.values;
        let k = levels.len();
        let late = k - tail_count(k, LATE_FRACTION, 1);
        let min_index = argmin(&levels[..late])?;
        let min = levels[min_index];
        let end = tail_level(levels, EDGE_FRACTION, 3)?;
        let rise = end - min;
        let tail = tail_count(k, EDGE_FRACTION, 3);
        if min <= 0.0
            || end < RISE_RATIO * min
            || rise <= NOISE_MULTIPLE * shape.noise
            || levels[k - tail..].iter().any(|&v| v < min + 0.5 * rise)
        {
            return None;
        }
        let tail_trend_z = mann_kendall_z(&shape.raw[late..]);
        let min_step = shape.blocks.start_steps[min_index];
        let onset_step = regime_onset_step(&shape, min_index, ONSET_FRACTION).unwrap_or(min_step);
        let last_step = curve.last_step()?;
        let course = if tail_trend_z >= RISING_Z {
            "and is still rising"
        } else {
            "and stays there"
        };
        let discriminator_text = discriminator.map_or(String::new(), |(early, d_end)| {
            format!(
                " while the discriminator's loss goes from {} to {}",
                human::value(early),
                human::value(d_end)
            )
        });
        let statement = format!(
            "{} climbs from a minimum of {} at step {} to {} by step {} ({}) {course}{discriminator_text}: the generator is losing to the discriminator, and its samples may be collapsing to a few modes (check samples from fixed latents)",
            series.tag,
            human::value(min),
            human::step(min_step),
            human::value(end),
            human::step(last_step),
            human::ratio(end / min)
        );
        let confidence = 0.5
            + if discriminator.is_some() { 0.1 } else { 0.0 }
            + if tail_trend_z >= RISING_Z { 0.1 } else { 0.0 };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::ModeCollapse,
                input,
                series,
                (onset_step, last_step),
            )
            .number("min", min)
            .number("min_step", min_step as f64)
            .number("final", end)
            .number("ratio", end / min)
            .number("tail_trend_z", tail_trend_z)
            .number("onset_step", onset_step as f64)
            .number("d_early", discriminator.map_or(f64::NAN, |d| d.0))
            .number("d_final", discriminator.map_or(f64::NAN, |d| d.1))
            .finish(statement, confidence),
        )
    }
}
