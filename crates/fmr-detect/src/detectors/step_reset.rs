use fmr_core::{MetricRole, Point, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::name_list;
use crate::human;

/// ## What it detects
/// Steps that go backwards inside a metric's log (the run restarted or resumed from an earlier
/// checkpoint and logged the same steps again), and steps that do not advance (several
/// different values logged under one step). The values just before and after the first reset
/// are compared with the value first logged at that step.
///
/// ## Why it matters
/// A restart explains jumps that otherwise look like training failures, and a resume that does
/// not restore everything causes them: an optimizer, scheduler or loss-scaler state left behind
/// gives a loss jump right after the resume; a different world size changes the batch size or
/// data order; a preempted job that restarts from scratch wastes the compute before it. A step
/// counter that does not advance (logging every micro-batch of gradient accumulation under the
/// same global step, or a counter that is never incremented) breaks every step-based schedule
/// and plot.
///
/// ## Signature
/// In the points as logged (before sorting): a reset is a point whose step is smaller than the
/// step of the point before it; the points after it whose steps are not above the largest step
/// seen so far are replayed. A stalled point has the same step as the point before it and a
/// different value (exact duplicates are double logging and are ignored); stalls are reported
/// when they are at least 10% of a metric's points and there is no reset. A metric whose steps
/// go back at more than a quarter of its points is not in logged order and is skipped. One
/// symptom per run
/// and kind, on the primary training loss when it is affected, otherwise on the metric with the
/// most resets (or stalls), naming how many others are affected.
///
/// ## Evidence reported
/// Resets: `resets`, `replayed_points`, `metrics`, `first_from_step`, `first_to_step`,
/// `value_before`, `value_after`, `value_first_logged` (the value first logged at the step it
/// went back to, when it was logged). Stalls: `stalled_points`, `points`, `metrics`,
/// `first_stalled_step`.
///
/// ## Parameters
/// Any backward step, up to resets at 25% of the points; stalls at ≥ 10% of points (and at
/// least 3).
///
/// ## Likely causes
/// FM0103, FM0163, FM0162, FM0149, FM0179
pub struct StepReset;

const MIN_STALLED_SHARE: f64 = 0.1;
const MAX_RESET_SHARE: f64 = 0.25;
const MIN_STALLED_POINTS: usize = 3;

/// How one metric's logged steps misbehave.
struct StepLog<'s, 'a> {
    series: &'s MetricSeries<'a>,
    resets: usize,
    replayed: usize,
    /// The first reset: the point before it and the point after.
    first_reset: Option<(Point, Point)>,
    /// The value first logged at the step the first reset went back to.
    first_logged_value: Option<f64>,
    stalled: usize,
    first_stalled_step: Option<i64>,
}

impl Detector for StepReset {
    fn code(&self) -> &'static str {
        "S123"
    }

    fn name(&self) -> &'static str {
        "step_reset"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let logs: Vec<StepLog> = input.series.iter().map(step_log).collect();
        let primary = input.primary(MetricRole::TrainLoss).map(|s| s.tag);
        let mut symptoms = Vec::new();
        // Steps that go back at a large share of the points are not in logged order at all
        // (a reader that did not keep the file order): no restart can be read from them.
        let resetting: Vec<&StepLog> = logs
            .iter()
            .filter(|l| {
                l.resets > 0 && (l.resets as f64) <= MAX_RESET_SHARE * l.series.logged.len() as f64
            })
            .collect();
        if let Some(chosen) = representative(&resetting, primary, |l| l.resets) {
            symptoms.push(self.reset_symptom(input, chosen, &resetting));
        } else {
            let stalling: Vec<&StepLog> = logs
                .iter()
                .filter(|l| {
                    !is_progress_counter(l.series.tag)
                        && l.stalled >= MIN_STALLED_POINTS
                        && l.stalled as f64 >= MIN_STALLED_SHARE * l.series.logged.len() as f64
                })
                .collect();
            if let Some(chosen) = representative(&stalling, primary, |l| l.stalled) {
                symptoms.push(self.stall_symptom(input, chosen, &stalling));
            }
        }
        symptoms
    }
}

/// The primary training loss if it is among `logs`, else the log with the highest `count`
/// (then the most points, then the first).
fn representative<'l, 's, 'a>(
    logs: &[&'l StepLog<'s, 'a>],
    primary: Option<&str>,
    count: impl Fn(&StepLog) -> usize,
) -> Option<&'l StepLog<'s, 'a>> {
    logs.iter()
        .copied()
        .find(|l| Some(l.series.tag) == primary)
        .or_else(|| {
            logs.iter()
                .copied()
                .rev()
                .max_by_key(|l| (count(l), l.series.logged.len()))
        })
}

/// "train/loss" or "train/loss (and lr)": the chosen metric and the others affected.
fn metrics_text(chosen: &StepLog, affected: &[&StepLog]) -> String {
    let others: Vec<&str> = affected
        .iter()
        .map(|l| l.series.tag)
        .filter(|&t| t != chosen.series.tag)
        .collect();
    if others.is_empty() {
        chosen.series.tag.to_owned()
    } else {
        format!("{} (and {})", chosen.series.tag, name_list(&others))
    }
}

impl StepReset {
    fn reset_symptom(
        &self,
        input: &DetectorInput<'_>,
        chosen: &StepLog,
        affected: &[&StepLog],
    ) -> Symptom {
        let series = chosen.series;
        let last_step = series.all.last_step().unwrap_or(0);
        let (before, after) = chosen.first_reset.unwrap_or((
            Point {
                step: last_step,
                wall_time: None,
                value: f64::NAN,
            },
            Point {
                step: last_step,
                wall_time: None,
                value: f64::NAN,
            },
        ));
        let times = match chosen.resets {
            1 => "once".to_owned(),
            n => format!("{n} times"),
        };
        let mut statement = format!(
            "The steps of {} go backwards {times}: the log jumps from step {} back to step {} and logs {} points again, a restart or resume from an earlier checkpoint",
            metrics_text(chosen, affected),
            human::step(before.step),
            human::step(after.step),
            human::count(chosen.replayed)
        );
        if before.value.is_finite() && after.value.is_finite() {
            statement.push_str(&format!(
                "; {} is {} just before and {} just after",
                series.tag,
                human::value(before.value),
                human::value(after.value)
            ));
            if let Some(first) = chosen.first_logged_value.filter(|v| v.is_finite()) {
                statement.push_str(&format!(
                    " (it was {} when step {} was first logged)",
                    human::value(first),
                    human::step(after.step)
                ));
            }
        }
        let window_start = after.step.min(before.step);
        SymptomDraft::new(
            self,
            SymptomKind::Restart,
            input,
            series,
            (window_start, last_step.max(window_start)),
        )
        .number("resets", chosen.resets as f64)
        .number("replayed_points", chosen.replayed as f64)
        .number("metrics", affected.len() as f64)
        .number("first_from_step", before.step as f64)
        .number("first_to_step", after.step as f64)
        .number("value_before", before.value)
        .number("value_after", after.value)
        .number(
            "value_first_logged",
            chosen.first_logged_value.unwrap_or(f64::NAN),
        )
        .finish(statement, 0.85)
    }

    fn stall_symptom(
        &self,
        input: &DetectorInput<'_>,
        chosen: &StepLog,
        affected: &[&StepLog],
    ) -> Symptom {
        let series = chosen.series;
        let points = series.logged.len();
        let first = chosen
            .first_stalled_step
            .or(series.all.first_step())
            .unwrap_or(0);
        let last_step = series.all.last_step().unwrap_or(first);
        let statement = format!(
            "{} logs several different values under the same step: {} of {} points of {} repeat the step before them, from step {} on; the step counter does not advance with every logged update",
            metrics_text(chosen, affected),
            human::count(chosen.stalled),
            human::count(points),
            series.tag,
            human::step(first)
        );
        SymptomDraft::new(
            self,
            SymptomKind::Restart,
            input,
            series,
            (first, last_step.max(first)),
        )
        .number("stalled_points", chosen.stalled as f64)
        .number("points", points as f64)
        .number("metrics", affected.len() as f64)
        .number("first_stalled_step", first as f64)
        .finish(statement, 0.45)
    }
}

/// One pass over the logged points. O(n), plus one scan of the points before the first reset
/// to find the value first logged at its step.
/// A column that counts progress (`epoch`, `global_step`) rather than measuring the model.
/// Logs that write an evaluation line at the end of each epoch give it two values at one
/// step (0.94 from the last training line, 1.0 from the evaluation line); that is how the
/// log is written, not a stalled step counter.
fn is_progress_counter(tag: &str) -> bool {
    let name = tag
        .rsplit(['/', '.'])
        .next()
        .unwrap_or(tag)
        .to_ascii_lowercase();
    matches!(
        name.as_str(),
        "epoch" | "epochs" | "step" | "steps" | "global_step" | "iteration" | "iter"
    )
}

fn step_log<'s, 'a>(series: &'s MetricSeries<'a>) -> StepLog<'s, 'a> {
    let points = series.logged;
    let mut log = StepLog {
        series,
        resets: 0,
        replayed: 0,
        first_reset: None,
        first_logged_value: None,
        stalled: 0,
        first_stalled_step: None,
    };
    let mut highest: Option<i64> = None;
    for (i, point) in points.iter().enumerate() {
        if let Some(previous) = i.checked_sub(1).map(|j| points[j]) {
            if point.step == previous.step {
                if !same_value(point.value, previous.value) {
                    log.stalled += 1;
                    log.first_stalled_step.get_or_insert(point.step);
                }
                continue;
            }
            if point.step < previous.step {
                log.resets += 1;
                if log.first_reset.is_none() {
                    log.first_reset = Some((previous, *point));
                    log.first_logged_value = points[..i]
                        .iter()
                        .find(|p| p.step == point.step)
                        .map(|p| p.value);
                }
            }
        }
        if highest.is_some_and(|h| point.step <= h) {
            log.replayed += 1;
        }
        highest = Some(highest.map_or(point.step, |h| h.max(point.step)));
    }
    log
}

/// Equal values, NaN included (a NaN logged twice is a duplicate, not a new value).
fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::Curve;

    fn points(steps_values: &[(i64, f64)]) -> Vec<Point> {
        steps_values
            .iter()
            .map(|&(step, value)| Point {
                step,
                wall_time: None,
                value,
            })
            .collect()
    }

    fn series(logged: &[Point]) -> MetricSeries<'_> {
        let all = Curve::from_points(logged);
        MetricSeries {
            tag: "loss",
            role: None,
            logged,
            finite: all.finite(),
            all,
        }
    }

    #[test]
    fn a_resume_from_an_earlier_checkpoint_is_one_reset() {
        let mut log: Vec<(i64, f64)> = (0..=12).map(|i| (i * 10, 1.0 - 0.05 * i as f64)).collect();
        log.extend((10..=15).map(|i| (i * 10, 0.9 - 0.01 * i as f64)));
        let logged = points(&log);
        let series = series(&logged);
        let found = step_log(&series);
        assert_eq!(found.resets, 1);
        assert_eq!(found.replayed, 3);
        let (before, after) = found.first_reset.expect("a reset");
        assert_eq!((before.step, after.step), (120, 100));
        assert_eq!(found.first_logged_value, Some(0.5));
        assert_eq!(found.stalled, 0);
    }

    #[test]
    fn duplicates_are_not_stalls_but_new_values_are() {
        let logged = points(&[
            (0, 1.0),
            (0, 1.0),
            (1, 2.0),
            (1, 2.5),
            (1, 2.6),
            (2, f64::NAN),
            (2, f64::NAN),
        ]);
        let series = series(&logged);
        let found = step_log(&series);
        assert_eq!((found.resets, found.stalled), (0, 2));
        assert_eq!(found.first_stalled_step, Some(1));
    }

    #[test]
    fn increasing_steps_are_clean() {
        let logged = points(&[(0, 1.0), (5, 1.0), (7, 1.0)]);
        let series = series(&logged);
        let found = step_log(&series);
        assert_eq!((found.resets, found.replayed, found.stalled), (0, 0, 0));
    }
}
