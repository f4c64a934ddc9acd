use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::human;
use crate::stats::robust::argmin;

/// ## What it detects
/// A mixed-precision loss scale that keeps halving until it reaches 1 or less: the dynamic
/// loss scaler finds an overflow at every scale it tries.
///
/// ## Why it matters
/// A dynamic loss scaler halves its scale when gradients overflow and doubles it after a run of
/// clean steps, so a healthy scale hovers between about 2^10 and 2^24. A scale driven down to 1
/// means the gradients overflow even unscaled: the values are genuinely infinite or NaN (a
/// diverging model, an fp16 overflow in the forward pass, a NaN from the loss), and every such
/// step is skipped, so the model stops learning even when the loss still prints.
///
/// ## Signature
/// The minimum of the scale is at most 1, reached after at least 3 halvings; or the scale ends
/// at 16 or less, 1,024× or more below where it started. The onset is the start of the
/// uninterrupted descent into the minimum (its first lower value).
///
/// ## Evidence reported
/// `initial`, `min`, `min_step`, `final`, `halvings` (drops to ≤ 75% of the previous value),
/// `onset_step`.
///
/// ## Parameters
/// At least 3 finite points; collapsed at ≤ 1 with ≥ 3 halvings, or ≤ 16 and ≥ 1,024× down.
///
/// ## Likely causes
/// FM0001, FM0008, FM0009, FM0002, FM0006, FM0005
pub struct LossScaleCollapse;

const MIN_POINTS: usize = 3;
const COLLAPSED_SCALE: f64 = 1.0;
const MIN_HALVINGS: usize = 3;
const LOW_SCALE: f64 = 16.0;
const LOW_SCALE_FALL: f64 = 1024.0;
/// A drop to at most this share of the previous value counts as a halving.
const HALVING: f64 = 0.75;

impl Detector for LossScaleCollapse {
    fn code(&self) -> &'static str {
        "S111"
    }

    fn name(&self) -> &'static str {
        "loss_scale_collapse"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .with_role(MetricRole::LossScale)
            .filter_map(|series| self.symptom(input, series))
            .collect()
    }
}

impl LossScaleCollapse {
    fn symptom(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS {
            return None;
        }
        let values = &curve.values;
        let initial = values[0];
        let last = *values.last()?;
        let min_index = argmin(values)?;
        let min = values[min_index];
        let halvings = values
            .windows(2)
            .filter(|w| w[1] > 0.0 && w[1] <= HALVING * w[0])
            .count();
        let collapsed = min <= COLLAPSED_SCALE && halvings >= MIN_HALVINGS;
        let low = last <= LOW_SCALE && initial > 0.0 && last * LOW_SCALE_FALL <= initial;
        if !collapsed && !low {
            return None;
        }
        // The descent into the minimum starts after the last point of the plateau it fell from.
        let mut top = min_index;
        while top > 0 && values[top - 1] >= values[top] {
            top -= 1;
        }
        while top < min_index && values[top + 1] == values[top] {
            top += 1;
        }
        let onset = (top + 1).min(min_index);
        let (onset_step, min_step) = (curve.steps[onset], curve.steps[min_index]);
        let statement = format!(
            "{} {} from {} to {} by step {} after {halvings} halvings (falling without recovery from step {}){}: gradients overflow at {} scale and those steps are skipped",
            series.tag,
            if collapsed { "collapses" } else { "falls" },
            human::value(initial),
            human::value(min),
            human::step(min_step),
            human::step(onset_step),
            if last > min {
                format!(", and ends at {}", human::value(last))
            } else {
                String::new()
            },
            if collapsed { "every" } else { "almost every" }
        );
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::LossScaleCollapse,
                input,
                series,
                (onset_step, curve.last_step()?),
            )
            .number("initial", initial)
            .number("min", min)
            .number("min_step", min_step as f64)
            .number("final", last)
            .number("halvings", halvings as f64)
            .number("onset_step", onset_step as f64)
            .finish(statement, if collapsed { 0.9 } else { 0.7 }),
        )
    }
}
