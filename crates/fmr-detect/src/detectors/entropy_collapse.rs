use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{start_level, tail_level, uniform_classes};
use crate::human;
use crate::stats::onset::ratio_onset_step;
use crate::stats::smooth::trend;

/// ## What it detects
/// A policy entropy that collapses to a small fraction of its starting value (premature
/// convergence), or one that never leaves its starting value (the policy stays random).
/// Entropy logged as a loss (Stable-Baselines3's `train/entropy_loss`, the negative entropy)
/// is read with its sign flipped.
///
/// ## Why it matters
/// Exploration lives in the policy's entropy. When it collapses early the policy commits to
/// the first behaviour that paid off and stops finding better ones: the entropy bonus is too
/// small, the learning rate or advantage scale too large, or the reward is being exploited.
/// When it never falls, the policy has not learned to prefer any action: the entropy bonus
/// dominates the objective, or the reward and value signals are too badly scaled to matter.
///
/// ## Signature
/// Collapse: the level over the last 10% is at most 10% of the starting level (median of the
/// first 5 points); the onset is the first change point (PELT, on the log of the block medians)
/// from which the entropy stays on its way down, and the smoothed entropy's first step below 25%
/// of the start is reported beside it.
/// Stuck high: with at least 20 points, the final level stays between 90% and 105% of the
/// start. A start near `ln A` is named as a uniform choice among `A` actions. Only positive
/// starting entropies are judged (a continuous policy's entropy can be negative).
///
/// ## Evidence reported
/// `initial`, `final`, `fraction` (final over initial), `onset_step`, `quarter_step` and
/// `quarter_progress` (share of the run at the quarter crossing) for a collapse, `actions` when
/// the start matches `ln A`.
///
/// ## Parameters
/// At least 10 finite points (20 for stuck high); collapsed at ≤ 10%; onset at 25%; an early
/// collapse (in the first half) is reported with more confidence; stuck high at 90%–105%.
///
/// ## Likely causes
/// FM0041, FM0042, FM0043, FM0039, FM0002
pub struct EntropyCollapse;

const MIN_POINTS: usize = 10;
const MIN_POINTS_STUCK: usize = 20;
const END_FRACTION: f64 = 0.1;
const COLLAPSED: f64 = 0.1;
const COLLAPSE_ONSET: f64 = 0.25;
/// The onset is the first change point after which the log of the entropy has moved at least
/// this share of the way to its final level.
const ONSET_FRACTION: f64 = 0.1;
const EARLY_PROGRESS: f64 = 0.5;
const STUCK_LOW: f64 = 0.9;
const STUCK_HIGH: f64 = 1.05;
const MAX_ACTIONS: u32 = 1000;

impl Detector for EntropyCollapse {
    fn code(&self) -> &'static str {
        "S112"
    }

    fn name(&self) -> &'static str {
        "entropy_collapse"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .with_role(MetricRole::Entropy)
            .filter_map(|series| self.symptom(input, series))
            .collect()
    }
}

impl EntropyCollapse {
    fn symptom(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS {
            return None;
        }
        let negated = series.tag.to_lowercase().contains("loss");
        let values: Vec<f64> = if negated {
            curve.values.iter().map(|v| -v).collect()
        } else {
            curve.values.clone()
        };
        let initial = start_level(&values)?;
        let end = tail_level(&values, END_FRACTION, 3)?;
        if initial <= 0.0 {
            return None;
        }
        let fraction = end / initial;
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        let name = if negated {
            format!("policy entropy ({} with its sign flipped)", series.tag)
        } else {
            format!("policy entropy {}", series.tag)
        };
        let uniform = uniform_classes(initial, MAX_ACTIONS);
        let uniform_text = uniform.map_or(String::new(), |(a, _)| {
            format!(" (≈ ln {a}: a uniform choice among {a} actions)")
        });

        if fraction <= COLLAPSED {
            let shape = trend(&curve.steps, &values);
            let smooth = &shape.blocks;
            let quarter = smooth
                .values
                .iter()
                .position(|&v| v <= COLLAPSE_ONSET * initial)
                .unwrap_or(0);
            let quarter_step = smooth.start_steps[quarter];
            // The fall starts where the entropy leaves its starting level (PELT), which is at or
            // before it crosses a quarter of it.
            let onset_step = ratio_onset_step(&shape, 0, ONSET_FRACTION)
                .filter(|&step| step <= quarter_step)
                .unwrap_or(quarter_step);
            let progress = curve.progress(quarter_step);
            let leaves = if onset_step <= first_step {
                "it falls from the first step".to_owned()
            } else {
                format!(
                    "it leaves its starting level at step {}",
                    human::step(onset_step)
                )
            };
            let statement = format!(
                "{name} collapses from {}{uniform_text} to {} ({} of its start); {leaves} and drops below a quarter of its start at step {}, {} into the run",
                human::value(initial),
                human::value(end),
                human::percent(fraction),
                human::step(quarter_step),
                human::percent(progress)
            );
            let confidence = 0.6
                + if progress <= EARLY_PROGRESS {
                    0.25
                } else {
                    0.0
                };
            return Some(
                SymptomDraft::new(
                    self,
                    SymptomKind::EntropyCollapse,
                    input,
                    series,
                    (onset_step, last_step),
                )
                .number("initial", initial)
                .number("final", end)
                .number("fraction", fraction)
                .number("onset_step", onset_step as f64)
                .number("quarter_step", quarter_step as f64)
                .number("quarter_progress", progress)
                .number("actions", uniform.map_or(f64::NAN, |(a, _)| f64::from(a)))
                .finish(statement, confidence),
            );
        }
        if curve.len() >= MIN_POINTS_STUCK && (STUCK_LOW..=STUCK_HIGH).contains(&fraction) {
            let statement = format!(
                "{name} stays at {}, {} of its initial {}{uniform_text}, from step {} to {}: the policy remains close to random",
                human::value(end),
                human::percent(fraction),
                human::value(initial),
                human::step(first_step),
                human::step(last_step)
            );
            let confidence = 0.55 + if uniform.is_some() { 0.15 } else { 0.0 };
            return Some(
                SymptomDraft::new(
                    self,
                    SymptomKind::EntropyStuckHigh,
                    input,
                    series,
                    (first_step, last_step),
                )
                .number("initial", initial)
                .number("final", end)
                .number("fraction", fraction)
                .number("actions", uniform.map_or(f64::NAN, |(a, _)| f64::from(a)))
                .finish(statement, confidence),
            );
        }
        None
    }
}
