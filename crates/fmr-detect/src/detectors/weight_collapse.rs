use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{start_level, tail_level};
use crate::human;
use crate::stats::smooth::trend;
use crate::stats::trend::mann_kendall_z;

/// ## What it detects
/// The weights shrinking toward zero: the logged weight (parameter) norm ends at least ten
/// times below where it started and falls steadily on the way.
///
/// ## Why it matters
/// Healthy training changes the weight norm by tens of percent, not by orders of magnitude.
/// A norm that collapses means something pulls every weight to zero harder than the data
/// gradient pushes back: a weight decay or L2 penalty far too strong for the optimizer (coupled
/// L2 inside Adam, or a decoupled decay times a large learning rate), or a shrinking rescale in
/// the model. The network then outputs a near-constant and the loss sits at chance. For
/// example, an MLP trained with `Adam(weight_decay=0.1)` whose `weight_norm` goes from 8.6 to 0.03 in a
/// few epochs while accuracy drops to 10% on ten classes.
///
/// ## Signature
/// On the smoothed curve (200 block medians, then a rolling median of 5): the level over the
/// last 10% is at most a tenth of the starting level (median of the first 5 points), which
/// comes before a fast early shrink, and the raw block medians trend
/// down (Mann–Kendall z ≤ −2). The onset is the first step at which the smoothed norm is below
/// half its starting level.
///
/// ## Evidence reported
/// `early`, `final`, `shrink_factor` (early / final), `trend_z`, `onset_step`.
///
/// ## Parameters
/// At least 10 finite, positive points; shrink factor ≥ 10; trend z ≤ −2.
///
/// ## Likely causes
/// FM0014
pub struct WeightCollapse;

const MIN_POINTS: usize = 10;
const EDGE_FRACTION: f64 = 0.1;
const MIN_SHRINK: f64 = 10.0;
const MAX_TREND_Z: f64 = -2.0;

impl Detector for WeightCollapse {
    fn code(&self) -> &'static str {
        "S125"
    }

    fn name(&self) -> &'static str {
        "weight_collapse"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .with_role(MetricRole::WeightNorm)
            .filter_map(|series| self.symptom(input, series))
            .collect()
    }
}

impl WeightCollapse {
    fn symptom(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS || curve.values.iter().any(|&v| v <= 0.0) {
            return None;
        }
        let shape = trend(&curve.steps, &curve.values);
        let levels = &shape.blocks.values;
        let early = start_level(levels)?;
        let end = tail_level(levels, EDGE_FRACTION, 3)?;
        let shrink = early / end;
        let trend_z = mann_kendall_z(&shape.raw);
        if !(shrink.is_finite() && shrink >= MIN_SHRINK && trend_z <= MAX_TREND_Z) {
            return None;
        }
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        let mid_steps = shape.blocks.mid_steps();
        let onset = levels
            .iter()
            .position(|&v| v < early / 2.0)
            .and_then(|i| mid_steps.get(i))
            .map_or(first_step, |&s| s.round() as i64);
        let statement = format!(
            "{} falls from {} to {} ({}x smaller) by step {}, below half its start from step {}: the weights are being pulled to zero",
            series.tag,
            human::value(early),
            human::value(end),
            human::value(shrink),
            human::step(last_step),
            human::step(onset)
        );
        // An order of magnitude is clear; two or more is unmistakable.
        let confidence = 0.6 + 0.3 * ((shrink.log10() - 1.0).clamp(0.0, 1.0));
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::WeightCollapse,
                input,
                series,
                (onset, last_step),
            )
            .number("early", early)
            .number("final", end)
            .number("shrink_factor", shrink)
            .number("trend_z", trend_z)
            .number("onset_step", onset as f64)
            .finish(statement, confidence),
        )
    }
}
