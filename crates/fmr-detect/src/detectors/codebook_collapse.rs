use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::config::config_count;
use crate::detectors::shape::tail_level;
use crate::human;
use crate::stats::onset::ratio_onset_step;
use crate::stats::robust::argmax;
use crate::stats::smooth::trend;

/// ## What it detects
/// A codebook (vector quantiser, k-means, mixture-of-experts router) whose usage collapses: its
/// perplexity or count of used codes falls to a small fraction of the codebook, or of its own
/// peak, and stays there.
///
/// ## Why it matters
/// A collapsed codebook quantises every input to a handful of codes: reconstructions blur, the
/// prior over codes has nothing to model, and the unused codes never receive a gradient again
/// (dead codes). The usual causes are encoder outputs far from the initial code vectors, a
/// commitment or straight-through estimator wired wrongly, a learning rate that lets a few
/// codes win early, and no code reset or EMA update.
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5): the level over the
/// last 10% is at most 20% of the codebook size, for a perplexity or a count of codes with the
/// size in the config (`codebook_size`, `num_embeddings`, `n_embed`, `num_codes`,
/// `n_clusters`, `num_experts`...), or at most 20% for a usage logged as a fraction (all values
/// in 0..1, or percentages); without a known size, at most 25% of the curve's own peak. The
/// onset is the first change point (PELT, on the logarithm of the usage) after the peak from
/// which the usage stays on its way down.
///
/// ## Evidence reported
/// `final`, `peak`, `peak_step`, `codebook_size` (when known), `used_fraction` (final over the
/// size, or the fraction itself), `of_peak` (final over peak), `onset_step`.
///
/// ## Parameters
/// At least 10 finite points; collapsed at ≤ 20% of the codebook (≤ 25% of the peak when the
/// size is unknown); a fall is reported from its onset, a usage that was never higher from the
/// first step.
///
/// ## Likely causes
/// FM0034, FM0121, FM0050, FM0095
pub struct CodebookCollapse;

const MIN_POINTS: usize = 10;
const TAIL_FRACTION: f64 = 0.1;
const COLLAPSED_SHARE: f64 = 0.2;
const COLLAPSED_OF_PEAK: f64 = 0.25;
/// A peak this far above the final level makes the collapse a fall rather than a low start.
const FELL_FROM_PEAK: f64 = 2.0;
const ONSET_FRACTION: f64 = 0.1;
/// Config keys that hold the number of codes.
const SIZE_KEYS: &[&str] = &[
    "codebook_size",
    "num_embeddings",
    "n_embed",
    "n_embeddings",
    "num_codes",
    "n_codes",
    "num_tokens_codebook",
    "n_clusters",
    "num_clusters",
    "num_experts",
    "n_experts",
];

/// How the usage curve is measured.
#[derive(Clone, Copy, PartialEq)]
enum Scale {
    /// A fraction of the codebook (0..1).
    Fraction,
    /// A perplexity or a count of codes, with the codebook size from the config.
    Codes(u64),
    /// A perplexity or count, size unknown: judged against its own peak.
    Relative,
}

impl Detector for CodebookCollapse {
    fn code(&self) -> &'static str {
        "S114"
    }

    fn name(&self) -> &'static str {
        "codebook_collapse"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let size = config_count(input.run, SIZE_KEYS).map(|(_, size)| size);
        input
            .with_role(MetricRole::CodebookUsage)
            .filter_map(|series| self.symptom(input, series, size))
            .collect()
    }
}

/// How to read a usage curve whose largest value is `max`: what to divide it by, and on which
/// scale to judge it. A perplexity or a count above 100 is a number of codes; values within
/// 0..1 are a fraction; a name with `pct` or `percent` marks percentages.
fn usage_scale(tag: &str, max: f64, size: Option<u64>) -> (f64, Scale) {
    let codes = size.map_or(Scale::Relative, Scale::Codes);
    if tag.contains("perplexity") || max > 100.0 {
        (1.0, codes)
    } else if max <= 1.0 {
        (1.0, Scale::Fraction)
    } else if tag.contains("pct") || tag.contains("percent") {
        (100.0, Scale::Fraction)
    } else {
        (1.0, codes)
    }
}

impl CodebookCollapse {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        size: Option<u64>,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS || curve.values.iter().any(|&v| v < 0.0) {
            return None;
        }
        let max = curve.values.iter().copied().fold(0.0, f64::max);
        let tag = series.tag.to_lowercase();
        let is_perplexity = tag.contains("perplexity");
        let (divisor, scale) = usage_scale(&tag, max, size);
        let values: Vec<f64> = curve.values.iter().map(|v| v / divisor).collect();
        let shape = trend(&curve.steps, &values);
        let smooth = &shape.blocks;
        let peak_index = argmax(&smooth.values)?;
        let peak = smooth.values[peak_index];
        let end = tail_level(&smooth.values, TAIL_FRACTION, 3)?;
        if peak <= 0.0 {
            return None;
        }
        let of_peak = end / peak;
        let used_fraction = match scale {
            Scale::Fraction => end,
            Scale::Codes(size) => end / size as f64,
            Scale::Relative => f64::NAN,
        };
        let collapsed = match scale {
            Scale::Fraction | Scale::Codes(_) => used_fraction <= COLLAPSED_SHARE,
            Scale::Relative => of_peak <= COLLAPSED_OF_PEAK,
        };
        if !collapsed {
            return None;
        }
        let fell = peak >= FELL_FROM_PEAK * end;
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        let onset_step = if fell {
            ratio_onset_step(&shape, peak_index, ONSET_FRACTION)
                .unwrap_or(smooth.start_steps[peak_index])
        } else {
            first_step
        };
        let size_text = match scale {
            Scale::Fraction => format!("{} of the codebook", human::percent(end)),
            Scale::Codes(size) => format!(
                "{} of its {} codes",
                human::percent(used_fraction),
                human::count(size as usize)
            ),
            Scale::Relative => format!(
                "{} of its peak (codebook size unknown)",
                human::percent(of_peak)
            ),
        };
        let measured = if is_perplexity {
            "effective codes (perplexity)"
        } else {
            "codes in use"
        };
        let peak_step = smooth.start_steps[peak_index];
        let statement = if fell {
            let since = if onset_step > peak_step {
                format!(", from step {} on", human::step(onset_step))
            } else {
                String::new()
            };
            format!(
                "{} collapses from a peak of {} at step {} to {} by step {}: {measured} fall to {size_text}{since}",
                series.tag,
                human::value(peak),
                human::step(peak_step),
                human::value(end),
                human::step(last_step),
            )
        } else {
            format!(
                "{} stays low from step {} to {}, at {}: {measured} never rise above {size_text}",
                series.tag,
                human::step(first_step),
                human::step(last_step),
                human::value(end)
            )
        };
        let confidence = match scale {
            Scale::Relative => 0.6,
            _ => 0.85,
        };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::CodebookCollapse,
                input,
                series,
                (onset_step, last_step),
            )
            .number("final", end)
            .number("peak", peak)
            .number("peak_step", smooth.start_steps[peak_index] as f64)
            .number(
                "codebook_size",
                match scale {
                    Scale::Codes(size) => size as f64,
                    _ => f64::NAN,
                },
            )
            .number("used_fraction", used_fraction)
            .number("of_peak", of_peak)
            .number("onset_step", onset_step as f64)
            .finish(statement, confidence),
        )
    }
}
