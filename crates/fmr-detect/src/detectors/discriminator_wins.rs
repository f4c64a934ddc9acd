use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{head_level, movement, tail_level};
use crate::human;
use crate::stats::onset::regime_onset_step;
use crate::stats::smooth::trend;

/// ## What it detects
/// A GAN discriminator that wins: its loss falls towards zero, to a tenth of its early level or
/// less, and stays there. The generator's loss over the same stretch is reported beside it.
///
/// ## Why it matters
/// A discriminator at zero loss separates real from generated samples perfectly, and its
/// gradient to the generator vanishes (or, with the non-saturating loss, becomes uninformative):
/// the generator stops improving, its loss climbs, and samples often collapse to a few modes.
/// Typical causes are a discriminator that is too strong or learns too fast (learning-rate
/// imbalance), a small dataset it memorises, no regularisation (gradient penalty, spectral
/// norm, augmentation), or a trivial cue that gives fakes away (value range, padding).
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5), for a discriminator
/// loss whose early level (first 10%) is positive and whose values are never negative (a
/// Wasserstein critic's loss has no floor at zero and is not judged): the level over the last
/// 10% is at most 10% of the early level. The onset is the first change point (PELT) from which
/// the loss stays on its way down. The primary generator loss, when logged, is quoted at the
/// onset and over the last 10%.
///
/// ## Evidence reported
/// `early`, `final`, `fraction` (final over early), `onset_step`, and `g_at_onset`, `g_final`
/// when a generator loss is logged.
///
/// ## Parameters
/// At least 20 finite points; collapsed at ≤ 10% of the early level.
///
/// ## Likely causes
/// FM0032, FM0092, FM0118, FM0127, FM0125
pub struct DiscriminatorWins;

const MIN_POINTS: usize = 20;
const EDGE_FRACTION: f64 = 0.1;
const COLLAPSED: f64 = 0.1;
const ONSET_FRACTION: f64 = 0.1;

impl Detector for DiscriminatorWins {
    fn code(&self) -> &'static str {
        "S118"
    }

    fn name(&self) -> &'static str {
        "discriminator_wins"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let generator = input.primary(MetricRole::GLoss);
        input
            .with_role(MetricRole::DLoss)
            .filter_map(|series| self.symptom(input, series, generator))
            .collect()
    }
}

impl DiscriminatorWins {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        generator: Option<&MetricSeries<'_>>,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS || curve.values.iter().any(|&v| v < 0.0) {
            return None;
        }
        let shape = trend(&curve.steps, &curve.values);
        let levels = &shape.blocks.values;
        let early = head_level(levels, EDGE_FRACTION, 3)?;
        let end = tail_level(levels, EDGE_FRACTION, 3)?;
        if early <= 0.0 || end > COLLAPSED * early {
            return None;
        }
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        let onset_step = regime_onset_step(&shape, 0, ONSET_FRACTION).unwrap_or(first_step);
        // The generator's loss at the onset and at the end, each over a tenth of its curve.
        let generator_levels = generator.and_then(|g| {
            let c = &g.finite;
            if c.len() < MIN_POINTS {
                return None;
            }
            let from = c.steps.partition_point(|&s| s < onset_step);
            let after = c.values.get(from..).filter(|v| !v.is_empty())?;
            Some((
                g.tag,
                head_level(after, EDGE_FRACTION, 3)?,
                tail_level(&c.values, EDGE_FRACTION, 3)?,
            ))
        });
        let generator_text = generator_levels.map_or(String::new(), |(tag, at_onset, g_end)| {
            format!(", while {tag} is {}", movement(at_onset, g_end))
        });
        let statement = format!(
            "{} falls towards zero from step {}: from {} early on to {} by step {} ({} of its early level){generator_text}: the discriminator separates real from generated samples almost perfectly",
            series.tag,
            human::step(onset_step),
            human::value(early),
            human::value(end),
            human::step(last_step),
            human::percent(end / early)
        );
        let generator_rises = generator_levels.is_some_and(|(_, at, g_end)| g_end > 1.5 * at);
        let confidence = 0.65 + if generator_rises { 0.2 } else { 0.0 };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::DiscriminatorWins,
                input,
                series,
                (onset_step, last_step),
            )
            .number("early", early)
            .number("final", end)
            .number("fraction", end / early)
            .number("onset_step", onset_step as f64)
            .number("g_at_onset", generator_levels.map_or(f64::NAN, |g| g.1))
            .number("g_final", generator_levels.map_or(f64::NAN, |g| g.2))
            .finish(statement, confidence),
        )
    }
}
