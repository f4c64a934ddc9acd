use fmr_core::{MetricRole, Run, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{START_POINTS, start_level, tail_count, uniform_classes};
use crate::human;
use crate::stats::robust::median;
use crate::stats::smooth::trend;

/// ## What it detects
/// A loss stuck at `ln C`, the cross-entropy of a uniform guess over `C` classes, or an accuracy
/// stuck at `1/C`: the model predicts no better than chance. It names `C`.
///
/// ## Why it matters
/// A classifier at exactly chance has learned nothing about its inputs: the labels do not
/// reach the loss in the form it expects (one-hot versus indices, a softmax applied twice),
/// the gradient does not reach the weights, the inputs are constant or shuffled apart from
/// their labels, or the learning rate is far off. It is a sharper statement than a plateau: the
/// number of classes it implies can be checked against the task.
///
/// ## Signature
/// Over the last 30% of the points the level (median) is within tolerance of `ln C` for a loss
/// (`C` in 2..1000; 0.4% of `ln C`, and at most a quarter of the gap to `ln (C+1)`) or of `1/C`
/// for an accuracy (`C` in 2..100; a quarter of the gap to `1/(C+1)`), the smoothed curve over that
/// stretch moves less than 10% of the level, it started no more than 15% above chance (a loss)
/// or never went clearly below it (an accuracy: that would mean more than `C` classes), and it
/// never got meaningfully better than chance. A class count in the run's config (`num_classes`,
/// `num_labels`, ...) replaces the search, with a 2% (loss) or 10% (accuracy) tolerance.
/// Accuracies logged as percentages are read as fractions.
///
/// ## Evidence reported
/// `classes`, `chance` (`ln C` or `1/C`), `level`, `initial`, `best`, `onset_step` (start of
/// the final stretch near chance), `config_classes` when the config names a class count.
///
/// ## Parameters
/// At least 10 finite points; tail 30%; flatness 10% of the level; starting level ≤ 115% of
/// chance for losses; "near chance" means within 5% of it (for the onset).
///
/// ## Likely causes
/// FM0018, FM0019, FM0003, FM0007, FM0013, FM0028, FM0042
pub struct ChanceLevel;

const MIN_POINTS: usize = 10;
const TAIL_FRACTION: f64 = 0.3;
const MAX_TAIL_MOVEMENT: f64 = 0.1;
const MAX_START_OVER_CHANCE: f64 = 1.15;
const MAX_LOSS_CLASSES: u32 = 1000;
const MAX_ACCURACY_CLASSES: u32 = 100;
const CONFIG_LOSS_TOLERANCE: f64 = 0.02;
const CONFIG_ACCURACY_TOLERANCE: f64 = 0.1;
const NEAR_CHANCE: f64 = 0.05;
const CROWDED_CLASSES: u32 = 100;
/// Config keys that hold the number of classes.
const CLASS_COUNT_KEYS: &[&str] = &[
    "num_classes",
    "n_classes",
    "nb_classes",
    "num_labels",
    "n_labels",
    "number_of_classes",
    "class_count",
    "classes",
];

/// Whether higher or lower values are better, and so which chance formula applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Measure {
    Loss,
    Accuracy,
}

struct Stuck {
    classes: u32,
    chance: f64,
    level: f64,
    initial: f64,
    best: f64,
    onset_step: i64,
    last_step: i64,
}

impl Detector for ChanceLevel {
    fn code(&self) -> &'static str {
        "S108"
    }

    fn name(&self) -> &'static str {
        "chance_level"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let configured = config_classes(input.run);
        input
            .series
            .iter()
            .filter_map(|series| {
                let measure = match series.role? {
                    MetricRole::TrainLoss | MetricRole::ValLoss => Measure::Loss,
                    MetricRole::TrainAccuracy | MetricRole::ValAccuracy => Measure::Accuracy,
                    _ => return None,
                };
                let stuck = stuck_at_chance(series, measure, configured)?;
                Some(self.symptom(input, series, measure, &stuck, configured))
            })
            .collect()
    }
}

impl ChanceLevel {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        measure: Measure,
        stuck: &Stuck,
        configured: Option<u32>,
    ) -> Symptom {
        let c = stuck.classes;
        let (formula, meaning, extreme) = match measure {
            Measure::Loss => (
                format!("ln {c}"),
                format!("the loss of a uniform guess over {c} classes"),
                "below",
            ),
            Measure::Accuracy => (format!("1/{c}"), format!("chance for {c} classes"), "above"),
        };
        let mut statement = format!(
            "{} sits at {} ≈ {formula} = {}, {meaning}, from step {} to {}; it started at {} and never got {extreme} {}",
            series.tag,
            precise(stuck.level),
            precise(stuck.chance),
            human::step(stuck.onset_step),
            human::step(stuck.last_step),
            human::value(stuck.initial),
            human::value(stuck.best)
        );
        if configured.is_some() {
            statement.push_str(&format!(" (the config says {c} classes)"));
        }
        // Past about 100 classes the logs of neighbouring counts crowd together, so a match
        // alone says less.
        let base = if c <= CROWDED_CLASSES { 0.65 } else { 0.5 };
        let confidence = base + if configured.is_some() { 0.3 } else { 0.0 };
        SymptomDraft::new(
            self,
            SymptomKind::ChanceLevel,
            input,
            series,
            (stuck.onset_step, stuck.last_step),
        )
        .number("classes", f64::from(c))
        .number("chance", stuck.chance)
        .number("level", stuck.level)
        .number("initial", stuck.initial)
        .number("best", stuck.best)
        .number("onset_step", stuck.onset_step as f64)
        .number("config_classes", configured.map_or(f64::NAN, f64::from))
        .finish(statement, confidence)
    }
}

/// Four significant digits: chance levels are told apart in the third.
fn precise(value: f64) -> String {
    format!("{value:.4}")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_owned()
}

fn stuck_at_chance(
    series: &MetricSeries<'_>,
    measure: Measure,
    configured: Option<u32>,
) -> Option<Stuck> {
    let curve = &series.finite;
    if curve.len() < MIN_POINTS {
        return None;
    }
    let percent = measure == Measure::Accuracy && curve.values.iter().any(|&v| v > 1.5);
    let values: Vec<f64> = if percent {
        curve.values.iter().map(|v| v / 100.0).collect()
    } else {
        curve.values.clone()
    };
    let tail = tail_count(values.len(), TAIL_FRACTION, 3);
    let level = median(&values[values.len() - tail..])?;
    let (classes, chance) = match (measure, configured) {
        (Measure::Loss, Some(c)) => {
            let chance = f64::from(c).ln();
            ((level - chance).abs() <= CONFIG_LOSS_TOLERANCE * chance).then_some((c, chance))?
        }
        (Measure::Accuracy, Some(c)) => {
            let chance = 1.0 / f64::from(c);
            ((level - chance).abs() <= CONFIG_ACCURACY_TOLERANCE * chance).then_some((c, chance))?
        }
        (Measure::Loss, None) => uniform_classes(level, MAX_LOSS_CLASSES)?,
        (Measure::Accuracy, None) => nearest_inverse_class(level)?,
    };
    let smooth = trend(&curve.steps, &values).blocks;
    let smooth_tail_start = smooth.len() - tail_count(smooth.len(), TAIL_FRACTION, 1);
    let tail_levels = &smooth.values[smooth_tail_start..];
    let (tail_min, tail_max) = tail_levels
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if tail_max - tail_min > MAX_TAIL_MOVEMENT * level.abs() {
        return None;
    }
    let initial = start_level(&values)?;
    let margin = NEAR_CHANCE * chance;
    let (best, started_near) = match measure {
        Measure::Loss => {
            let best = smooth.values.iter().copied().fold(f64::INFINITY, f64::min);
            (
                best,
                initial <= MAX_START_OVER_CHANCE * chance && best >= chance - margin,
            )
        }
        Measure::Accuracy => {
            let (worst, best) = smooth
                .values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            // Clearly below 1/C at some point means more than C classes: the level is a
            // coincidence, not chance.
            let band = margin.max(2.0 * accuracy_tolerance(classes));
            (best, best <= chance + band && worst >= chance - band)
        }
    };
    if !started_near || values.len() < START_POINTS {
        return None;
    }
    let mut onset = smooth.len() - 1;
    while onset > 0 && (smooth.values[onset - 1] - chance).abs() <= margin {
        onset -= 1;
    }
    Some(Stuck {
        classes,
        chance,
        level,
        initial,
        best,
        onset_step: smooth.start_steps[onset],
        last_step: curve.last_step()?,
    })
}

/// The class count `C` whose `1/C` is within [`accuracy_tolerance`] of `level`.
fn nearest_inverse_class(level: f64) -> Option<(u32, f64)> {
    (2..=MAX_ACCURACY_CLASSES)
        .map(|c| (c, 1.0 / f64::from(c)))
        .filter(|&(c, chance)| (level - chance).abs() <= accuracy_tolerance(c))
        .min_by(|a, b| (level - a.1).abs().total_cmp(&(level - b.1).abs()))
}

/// A quarter of the gap between `1/C` and `1/(C+1)`.
fn accuracy_tolerance(c: u32) -> f64 {
    (1.0 / f64::from(c) - 1.0 / f64::from(c + 1)) / 4.0
}

/// The number of classes the run's config states, under any of [`CLASS_COUNT_KEYS`] (also as
/// the last part of a dotted or slashed key such as `model.num_classes`).
fn config_classes(run: &Run) -> Option<u32> {
    run.config.iter().find_map(|(key, value)| {
        let last = key
            .rsplit(['.', '/'])
            .next()
            .unwrap_or(key)
            .to_ascii_lowercase();
        if !CLASS_COUNT_KEYS.contains(&last.as_str()) {
            return None;
        }
        let count = value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))?;
        u32::try_from(count)
            .ok()
            .filter(|c| (2..=MAX_LOSS_CLASSES).contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_counts_from_levels() {
        assert_eq!(
            uniform_classes(4.6052, MAX_LOSS_CLASSES).map(|c| c.0),
            Some(100)
        );
        assert_eq!(nearest_inverse_class(0.1).map(|c| c.0), Some(10));
        assert_eq!(nearest_inverse_class(0.5).map(|c| c.0), Some(2));
        assert_eq!(nearest_inverse_class(0.75), None);
    }

    #[test]
    fn class_count_from_config() {
        let mut run = Run::default();
        assert_eq!(config_classes(&run), None);
        run.config
            .insert("model.num_classes".to_owned(), serde_json::json!(10));
        assert_eq!(config_classes(&run), Some(10));
        run.config.clear();
        run.config
            .insert("num_labels".to_owned(), serde_json::json!("3"));
        assert_eq!(config_classes(&run), Some(3));
        run.config
            .insert("num_labels".to_owned(), serde_json::json!(1));
        assert_eq!(config_classes(&run), None);
    }

    #[test]
    fn precise_keeps_four_decimals() {
        assert_eq!(precise(std::f64::consts::LN_10), "2.3026");
        assert_eq!(precise(0.5), "0.5");
    }
}
