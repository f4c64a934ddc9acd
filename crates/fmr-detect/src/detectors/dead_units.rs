use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{head_level, tail_level};
use crate::human;
use crate::stats::onset::regime_onset_step;
use crate::stats::smooth::trend;
use crate::stats::trend::mann_kendall_z;

/// ## What it detects
/// A growing share of dead units (ReLUs that output zero for every input, dormant neurons,
/// experts or codes that receive nothing): the logged dead fraction rises to a quarter of the
/// units or more, or half or more are dead from the start.
///
/// ## Why it matters
/// A dead unit has no gradient, so it never comes back: the network loses capacity step by
/// step. Units die when a large update (a spike, a high learning rate) pushes their
/// pre-activations negative for every input, when biases drift negative, or, in deep RL, as the
/// network loses plasticity. Half the units dead from the start points at the initialisation or
/// the input scale.
///
/// ## Signature
/// Fractions are read as 0..1 (a series whose values exceed 1 is read as percentages when they
/// stay within 100; counts are not judged). On the smoothed curve (200 block medians, then a
/// rolling median of 5): rising when the level over the last 10% is at least 0.25, at least 0.1
/// above the level over the first 10%, and the raw block medians trend up (Mann–Kendall z ≥ 2);
/// dead from the start when both levels are at least 0.5. The onset of a rise is the first
/// change point (PELT) from which the fraction stays on its way up.
///
/// ## Evidence reported
/// `early`, `final`, `increase` (in fraction points), `trend_z`, `onset_step`.
///
/// ## Parameters
/// At least 10 finite points; final ≥ 0.25 and ≥ early + 0.1 with trend z ≥ 2; or ≥ 0.5 from
/// the start.
///
/// ## Likely causes
/// FM0028, FM0176, FM0094, FM0034, FM0095, FM0050
pub struct DeadUnits;

const MIN_POINTS: usize = 10;
const EDGE_FRACTION: f64 = 0.1;
const DEAD_SHARE: f64 = 0.25;
const MIN_INCREASE: f64 = 0.1;
const MIN_TREND_Z: f64 = 2.0;
const DEAD_FROM_START: f64 = 0.5;
const ONSET_FRACTION: f64 = 0.1;

impl Detector for DeadUnits {
    fn code(&self) -> &'static str {
        "S120"
    }

    fn name(&self) -> &'static str {
        "dead_units"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .with_role(MetricRole::DeadFraction)
            .filter_map(|series| self.symptom(input, series))
            .collect()
    }
}

impl DeadUnits {
    fn symptom(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS || curve.values.iter().any(|&v| v < 0.0) {
            return None;
        }
        let max = curve.values.iter().copied().fold(0.0, f64::max);
        let divisor = match max {
            m if m <= 1.0 => 1.0,
            m if m <= 100.0 => 100.0,
            _ => return None,
        };
        let values: Vec<f64> = curve.values.iter().map(|v| v / divisor).collect();
        let shape = trend(&curve.steps, &values);
        let levels = &shape.blocks.values;
        let early = head_level(levels, EDGE_FRACTION, 3)?;
        let end = tail_level(levels, EDGE_FRACTION, 3)?;
        let trend_z = mann_kendall_z(&shape.raw);
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        let rising = end >= DEAD_SHARE && end - early >= MIN_INCREASE && trend_z >= MIN_TREND_Z;
        let from_start = early >= DEAD_FROM_START && end >= DEAD_FROM_START;
        let (onset_step, statement, confidence) = if rising {
            let onset = regime_onset_step(&shape, 0, ONSET_FRACTION).unwrap_or(first_step);
            (
                onset,
                format!(
                    "{} rises from {} to {} of the units by step {}, from step {} on: units die during training and do not come back",
                    series.tag,
                    human::percent(early),
                    human::percent(end),
                    human::step(last_step),
                    human::step(onset)
                ),
                0.6 + 0.3 * (end - early).min(0.5) / 0.5,
            )
        } else if from_start {
            (
                first_step,
                format!(
                    "{} is at {} from the start and ends at {} (step {} to {}): most units are dead before training does anything",
                    series.tag,
                    human::percent(early),
                    human::percent(end),
                    human::step(first_step),
                    human::step(last_step)
                ),
                0.7,
            )
        } else {
            return None;
        };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::DeadUnits,
                input,
                series,
                (onset_step, last_step),
            )
            .number("early", early)
            .number("final", end)
            .number("increase", end - early)
            .number("trend_z", trend_z)
            .number("onset_step", onset_step as f64)
            .finish(statement, confidence),
        )
    }
}
