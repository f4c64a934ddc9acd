//! The [`Detector`] trait and what every detector is given: each series of a run cleaned once
//! (sorted by step, one point per step) and labelled with its role.

use std::collections::BTreeMap;

use fmr_core::{MetricRole, Origin, Point, Run, StepWindow, Symptom, SymptomKind};

use crate::roles::role_of;

/// One symptom detector: a pure function from a run's metrics to symptoms with their evidence.
pub trait Detector: Sync {
    /// The stable code (`S101`). Codes are never reused.
    fn code(&self) -> &'static str;
    /// The snake_case name (`non_finite`).
    fn name(&self) -> &'static str;
    /// The symptoms found in `input`; empty when the run looks healthy to this detector.
    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom>;
}

/// A run prepared for the detectors: each series cleaned and given its role, computed once.
#[derive(Debug, Clone)]
pub struct DetectorInput<'a> {
    pub run: &'a Run,
    /// In the run's order.
    pub series: Vec<MetricSeries<'a>>,
}

/// One metric of the run, cleaned.
#[derive(Debug, Clone)]
pub struct MetricSeries<'a> {
    pub tag: &'a str,
    pub role: Option<MetricRole>,
    /// The points as logged, in the run's order (repeated and backward steps included): what
    /// the step-reset detector reads.
    pub logged: &'a [Point],
    /// Every point, sorted by step, one per step (the one logged last wins, as when a resumed
    /// run logs the same steps again). Values may be NaN or infinite.
    pub all: Curve,
    /// The finite points of [`Self::all`].
    pub finite: Curve,
}

/// Parallel step and value columns, sorted by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    pub steps: Vec<i64>,
    pub values: Vec<f64>,
}

impl Curve {
    /// Sorts `points` by step (stable, so equal steps keep their logging order) and keeps the
    /// last point of each step. Already-sorted input, the common case, is not re-sorted.
    pub fn from_points(points: &[Point]) -> Self {
        let mut order: Vec<(i64, f64)> = points.iter().map(|p| (p.step, p.value)).collect();
        if !order.is_sorted_by_key(|&(step, _)| step) {
            order.sort_by_key(|&(step, _)| step);
        }
        let mut curve = Curve {
            steps: Vec::with_capacity(order.len()),
            values: Vec::with_capacity(order.len()),
        };
        for (step, value) in order {
            if curve.steps.last() == Some(&step) {
                if let Some(last) = curve.values.last_mut() {
                    *last = value;
                }
            } else {
                curve.steps.push(step);
                curve.values.push(value);
            }
        }
        curve
    }

    /// The finite points only.
    pub fn finite(&self) -> Self {
        let (steps, values) = self
            .steps
            .iter()
            .zip(&self.values)
            .filter(|(_, v)| v.is_finite())
            .map(|(&s, &v)| (s, v))
            .unzip();
        Curve { steps, values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn first_step(&self) -> Option<i64> {
        self.steps.first().copied()
    }

    pub fn last_step(&self) -> Option<i64> {
        self.steps.last().copied()
    }

    /// Steps from the first point to the last (0 for fewer than two points; saturating for
    /// steps that span more than the `i64` range).
    pub fn span(&self) -> i64 {
        match (self.first_step(), self.last_step()) {
            (Some(first), Some(last)) => last.saturating_sub(first),
            _ => 0,
        }
    }

    /// Where `step` falls between the first and the last step, 0..1.
    pub fn progress(&self, step: i64) -> f64 {
        let (Some(first), Some(last)) = (self.first_step(), self.last_step()) else {
            return 0.0;
        };
        if last <= first {
            return 0.0;
        }
        // In floating point: the difference of two extreme steps does not fit an i64.
        ((step as f64 - first as f64) / (last as f64 - first as f64)).clamp(0.0, 1.0)
    }
}

impl<'a> DetectorInput<'a> {
    pub fn new(run: &'a Run) -> Self {
        let series = run
            .series
            .iter()
            .map(|series| {
                let all = Curve::from_points(&series.points);
                let finite = all.finite();
                MetricSeries {
                    tag: &series.tag,
                    role: role_of(&series.tag),
                    logged: &series.points,
                    all,
                    finite,
                }
            })
            .collect();
        Self { run, series }
    }

    /// The series with `role`, in the run's order.
    pub fn with_role(
        &self,
        role: MetricRole,
    ) -> impl DoubleEndedIterator<Item = &MetricSeries<'a>> {
        self.series.iter().filter(move |s| s.role == Some(role))
    }

    /// The series with `role` that has the most finite points (the first one on ties): the one
    /// to pair with another role when a run logs several views of the same metric, such as
    /// Lightning's `train_loss_step` and `train_loss_epoch`.
    pub fn primary(&self, role: MetricRole) -> Option<&MetricSeries<'a>> {
        self.with_role(role).rev().max_by_key(|s| s.finite.len())
    }

    /// Whether some series with `role` has at least `min_points` finite points.
    pub fn has_usable(&self, role: MetricRole, min_points: usize) -> bool {
        self.with_role(role).any(|s| s.finite.len() >= min_points)
    }
}

/// A symptom being assembled by a detector; [`SymptomDraft::finish`] completes it.
pub(crate) struct SymptomDraft {
    symptom: Symptom,
}

impl SymptomDraft {
    pub(crate) fn new(
        detector: &dyn Detector,
        kind: SymptomKind,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        window: (i64, i64),
    ) -> Self {
        let (start, end) = window;
        Self {
            symptom: Symptom {
                code: detector.code().to_owned(),
                kind,
                run: Some(input.run.name.clone()),
                metric: Some(series.tag.to_owned()),
                role: series.role,
                window: Some(StepWindow {
                    start: start.min(end),
                    end: start.max(end),
                }),
                numbers: BTreeMap::new(),
                statement: String::new(),
                origin: Origin::Detector,
                confidence: 0.0,
            },
        }
    }

    /// Records a named number. Non-finite numbers are left out: JSON cannot carry them, and the
    /// statement already says what is missing.
    pub(crate) fn number(mut self, name: &str, value: f64) -> Self {
        if value.is_finite() {
            self.symptom.numbers.insert(name.to_owned(), value);
        }
        self
    }

    pub(crate) fn finish(mut self, statement: String, confidence: f64) -> Symptom {
        self.symptom.statement = statement;
        self.symptom.confidence = if confidence.is_finite() {
            confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.symptom
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: i64, value: f64) -> Point {
        Point {
            step,
            wall_time: None,
            value,
        }
    }

    #[test]
    fn curves_are_sorted_and_keep_the_last_value_of_a_step() {
        let curve = Curve::from_points(&[
            point(3, 3.0),
            point(1, 1.0),
            point(2, 2.0),
            point(1, 1.5),
            point(3, 3.5),
        ]);
        assert_eq!(curve.steps, vec![1, 2, 3]);
        assert_eq!(curve.values, vec![1.5, 2.0, 3.5]);
    }

    #[test]
    fn finite_view_drops_nan_and_inf() {
        let curve = Curve::from_points(&[
            point(0, 1.0),
            point(1, f64::NAN),
            point(2, f64::INFINITY),
            point(3, 2.0),
        ]);
        assert_eq!(curve.finite().steps, vec![0, 3]);
        assert_eq!(curve.len(), 4);
    }

    #[test]
    fn progress_and_span_handle_degenerate_curves() {
        let empty = Curve::default();
        assert_eq!((empty.span(), empty.progress(5)), (0, 0.0));
        let single = Curve::from_points(&[point(7, 1.0)]);
        assert_eq!((single.span(), single.progress(7)), (0, 0.0));
        let two = Curve::from_points(&[point(0, 1.0), point(100, 1.0)]);
        assert_eq!(two.progress(25), 0.25);
    }

    #[test]
    fn primary_series_has_the_most_points() {
        let mut run = Run::default();
        run.series_mut("train_loss_epoch").points = vec![point(0, 1.0), point(10, 0.5)];
        run.series_mut("train_loss_step").points = (0..10).map(|i| point(i, 1.0)).collect();
        run.series_mut("val_loss").points = vec![point(10, 0.7)];
        let input = DetectorInput::new(&run);
        assert_eq!(
            input.primary(MetricRole::TrainLoss).map(|s| s.tag),
            Some("train_loss_step")
        );
        assert_eq!(input.with_role(MetricRole::TrainLoss).count(), 2);
        assert!(input.has_usable(MetricRole::ValLoss, 1));
        assert!(!input.has_usable(MetricRole::ValLoss, 2));
    }
}
