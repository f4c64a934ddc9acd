use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{movement, name_list};
use crate::human;

/// ## What it detects
/// Metrics that take NaN or infinite values: the first such step of each metric, whether it
/// stays non-finite to the end or recovers, and which metric of the run went first. Per-layer
/// gradient norms (a run may log hundreds) give one symptom: the layer that broke first.
///
/// ## Why it matters
/// A NaN loss ends learning: the weights it touches become NaN too. The metric that broke
/// first points at the cause: a gradient norm that overflows before the loss suggests an
/// exploding update or an fp16 overflow, a loss that breaks alone suggests a numerical
/// singularity in the loss itself. Isolated infinite gradient norms with a recovering loss are
/// the normal footprint of dynamic loss scaling skipping a step.
///
/// ## Signature
/// Finite values, then NaN/inf from some step onward (persistent); or scattered NaN/inf steps
/// among finite ones (intermittent); or no finite value at all.
///
/// ## Evidence reported
/// `first_step`, `non_finite_points`, `nan_points`, `inf_points`, `points`, `persistent`
/// (1 or 0), `last_finite_step`, `last_finite_value`, `from` (first finite value),
/// and for a persistent break `first_in_run_step` (the earliest step at which any metric broke
/// for good); on a layer's gradient norm, `layers_non_finite` (how many layers broke).
///
/// ## Parameters
/// None: every non-finite value is reported.
///
/// ## Likely causes
/// FM0001, FM0002, FM0005, FM0006, FM0008, FM0009, FM0004
pub struct NonFinite;

/// Confidence for a metric that stays non-finite: the values are in the log.
const PERSISTENT_CONFIDENCE: f64 = 1.0;

/// Confidence for scattered non-finite values that recover: real, but often benign (a skipped
/// fp16 step).
const INTERMITTENT_CONFIDENCE: f64 = 0.7;

/// The non-finite facts of one series.
struct Breakage<'s, 'a> {
    series: &'s MetricSeries<'a>,
    first_index: usize,
    count: usize,
    nan_count: usize,
    last_bad_index: usize,
}

impl Detector for NonFinite {
    fn code(&self) -> &'static str {
        "S101"
    }

    fn name(&self) -> &'static str {
        "non_finite"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let broken: Vec<Breakage> = input.series.iter().filter_map(breakage).collect();
        let order = Order::of(&broken);
        let is_layer = |b: &Breakage<'_, '_>| b.series.role == Some(MetricRole::LayerGradNorm);
        let layers_broken = broken.iter().filter(|b| is_layer(b)).count();
        // The layer that broke first (the first logged on a tie) stands for all of them.
        let first_layer = broken
            .iter()
            .enumerate()
            .filter(|(_, b)| is_layer(b))
            .min_by_key(|(index, b)| (b.first_step(), *index))
            .map(|(index, _)| index);
        broken
            .iter()
            .enumerate()
            .filter(|(index, b)| !is_layer(b) || Some(*index) == first_layer)
            .map(|(_, b)| {
                let mut symptom = self.symptom(input, b, order.as_ref());
                if is_layer(b) && layers_broken > 1 {
                    symptom.statement.push_str(&format!(
                        "; the first of {} layer gradient norms to break",
                        human::count(layers_broken)
                    ));
                    symptom
                        .numbers
                        .insert("layers_non_finite".to_owned(), layers_broken as f64);
                }
                symptom
            })
            .collect()
    }
}

/// Which metrics broke for good first. Intermittent values (a skipped fp16 step) are left out:
/// they say nothing about which failure came first.
struct Order<'a> {
    earliest: i64,
    first_tags: Vec<&'a str>,
    persistent_metrics: usize,
}

impl<'a> Order<'a> {
    fn of(broken: &[Breakage<'_, 'a>]) -> Option<Self> {
        let persistent: Vec<&Breakage<'_, 'a>> =
            broken.iter().filter(|b| b.is_persistent()).collect();
        let earliest = persistent.iter().map(|b| b.first_step()).min()?;
        let first_tags = persistent
            .iter()
            .filter(|b| b.first_step() == earliest)
            .map(|b| b.series.tag)
            .collect();
        Some(Self {
            earliest,
            first_tags,
            persistent_metrics: persistent.len(),
        })
    }

    /// How the metric `tag`, broken from `first_step` on, relates to the others.
    fn clause(&self, tag: &str, first_step: i64) -> String {
        if first_step > self.earliest {
            return format!(
                "; {} went non-finite first, at step {}",
                name_list(&self.first_tags),
                human::step(self.earliest)
            );
        }
        let others: Vec<&str> = self
            .first_tags
            .iter()
            .copied()
            .filter(|&t| t != tag)
            .collect();
        if !others.is_empty() {
            format!("; {} went non-finite at the same step", name_list(&others))
        } else if self.persistent_metrics > 1 {
            format!(
                "; the first of {} metrics to go non-finite",
                self.persistent_metrics
            )
        } else {
            String::new()
        }
    }
}

impl NonFinite {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        broken: &Breakage<'_, '_>,
        order: Option<&Order<'_>>,
    ) -> Symptom {
        let series = broken.series;
        let all = &series.all;
        let first_step = broken.first_step();
        let last_step = all.last_step().unwrap_or(first_step);
        let persistent = broken.is_persistent();
        let before = &all.values[..broken.first_index];
        let finite_before: Vec<(i64, f64)> = all.steps[..broken.first_index]
            .iter()
            .zip(before)
            .filter(|(_, v)| v.is_finite())
            .map(|(&s, &v)| (s, v))
            .collect();
        let last_finite = finite_before.last().copied();
        let from = finite_before.first().map(|&(_, v)| v);

        let mut statement = if persistent {
            match (from, last_finite) {
                (Some(from), Some((_, to))) if finite_before.len() >= 2 => format!(
                    "{} is {} from step {} after {}",
                    series.tag,
                    broken.word(),
                    human::step(first_step),
                    movement(from, to)
                ),
                (_, Some((step, value))) => format!(
                    "{} is {} from step {}, after a last finite value of {} at step {}",
                    series.tag,
                    broken.word(),
                    human::step(first_step),
                    human::value(value),
                    human::step(step)
                ),
                _ if series.finite.is_empty() => format!(
                    "{} is {} at every logged step ({} points from step {})",
                    series.tag,
                    broken.word(),
                    human::count(all.len()),
                    human::step(first_step)
                ),
                _ => format!(
                    "{} is {} from its first step, {}",
                    series.tag,
                    broken.word(),
                    human::step(first_step)
                ),
            }
        } else if broken.count == 1 {
            format!(
                "{} is {} at step {} only (1 of {} steps)",
                series.tag,
                broken.first_word(),
                human::step(first_step),
                human::count(all.len())
            )
        } else {
            format!(
                "{} is non-finite at {} of {} steps, with finite values in between (first {} at step {}, last at step {})",
                series.tag,
                human::count(broken.count),
                human::count(all.len()),
                broken.first_word(),
                human::step(first_step),
                human::step(all.steps[broken.last_bad_index])
            )
        };
        if let Some(order) = order.filter(|_| persistent) {
            statement.push_str(&order.clause(series.tag, first_step));
        }

        let window_end = if persistent {
            last_step
        } else {
            all.steps[broken.last_bad_index]
        };
        SymptomDraft::new(
            self,
            SymptomKind::NonFinite,
            input,
            series,
            (first_step, window_end),
        )
        .number("first_step", first_step as f64)
        .number("non_finite_points", broken.count as f64)
        .number("nan_points", broken.nan_count as f64)
        .number("inf_points", (broken.count - broken.nan_count) as f64)
        .number("points", all.len() as f64)
        .number("persistent", if persistent { 1.0 } else { 0.0 })
        .number(
            "last_finite_step",
            last_finite.map_or(f64::NAN, |(s, _)| s as f64),
        )
        .number(
            "last_finite_value",
            last_finite.map_or(f64::NAN, |(_, v)| v),
        )
        .number("from", from.unwrap_or(f64::NAN))
        .number(
            "first_in_run_step",
            order
                .filter(|_| persistent)
                .map_or(f64::NAN, |o| o.earliest as f64),
        )
        .finish(
            statement,
            if persistent {
                PERSISTENT_CONFIDENCE
            } else {
                INTERMITTENT_CONFIDENCE
            },
        )
    }
}

fn breakage<'s, 'a>(series: &'s MetricSeries<'a>) -> Option<Breakage<'s, 'a>> {
    let values = &series.all.values;
    let first_index = values.iter().position(|v| !v.is_finite())?;
    let (mut count, mut nan_count, mut last_bad_index) = (0, 0, first_index);
    for (i, value) in values
        .iter()
        .enumerate()
        .skip(first_index)
        .filter(|(_, v)| !v.is_finite())
    {
        count += 1;
        nan_count += usize::from(value.is_nan());
        last_bad_index = i;
    }
    Some(Breakage {
        series,
        first_index,
        count,
        nan_count,
        last_bad_index,
    })
}

impl Breakage<'_, '_> {
    fn first_step(&self) -> i64 {
        self.series.all.steps[self.first_index]
    }

    /// Non-finite from the first bad point to the end.
    fn is_persistent(&self) -> bool {
        self.count == self.series.all.len() - self.first_index
    }

    /// "NaN", "inf", "-inf", or "non-finite (inf, then NaN)" for a mix.
    fn word(&self) -> String {
        let infinite = self.count - self.nan_count;
        match (self.nan_count, infinite) {
            (_, 0) => "NaN".to_owned(),
            (0, _) => self.first_word().to_owned(),
            _ => format!(
                "non-finite ({} first, then also {})",
                self.first_word(),
                self.other_word()
            ),
        }
    }

    fn first_word(&self) -> &'static str {
        value_word(self.series.all.values[self.first_index])
    }

    fn other_word(&self) -> &'static str {
        if self.first_word() == "NaN" {
            "inf"
        } else {
            "NaN"
        }
    }
}

fn value_word(value: f64) -> &'static str {
    if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fmr_core::{Point, Run};

    #[test]
    fn layer_gradient_norms_give_one_symptom_for_the_first_layer() {
        let mut run = Run::default();
        for (layer, breaks_at) in [(0, 30), (1, 20), (2, 20), (3, 40)] {
            run.series_mut(&format!("grad_norm/layers.{layer}.weight"))
                .points = (0..50)
                .map(|step| Point {
                    step,
                    wall_time: None,
                    value: if step >= breaks_at { f64::NAN } else { 1.0 },
                })
                .collect();
        }
        run.series_mut("train/loss").points = (0..50)
            .map(|step| Point {
                step,
                wall_time: None,
                value: if step >= 25 { f64::NAN } else { 2.0 },
            })
            .collect();
        let found = NonFinite.detect(&DetectorInput::new(&run));
        let metrics: Vec<&str> = found.iter().filter_map(|s| s.metric.as_deref()).collect();
        assert_eq!(metrics, ["grad_norm/layers.1.weight", "train/loss"]);
        assert!(
            found[0]
                .statement
                .ends_with("; the first of 4 layer gradient norms to break"),
            "{}",
            found[0].statement
        );
        assert_eq!(found[0].numbers["layers_non_finite"], 4.0);
    }
}
