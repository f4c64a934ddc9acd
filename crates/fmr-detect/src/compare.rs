//! Comparing a good run with a bad one: where their curves part, by how much, which metric
//! parts first, and what changed in their configuration.
//!
//! This fills "when did it start" and "what changed" in a characterization: a bad run that
//! tracks the good one until step 2,140 and then climbs away points at whatever happens at
//! step 2,140, and a changed learning rate in the config diff is the first suspect.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use fmr_core::{MetricRole, Onset, Run};
use serde::{Deserialize, Serialize};

use crate::detector::{Curve, DetectorInput, MetricSeries};
use crate::detectors::shape::{name_list, tail_count};
use crate::human;
use crate::stats::robust::{difference_sigma, median, median_in_place};

/// At most this many blocks of aligned points are tested; each block's median difference is
/// one test, so a long run costs as much as a short one after the linear alignment.
const MAX_BLOCKS: usize = 400;
/// Fewer aligned points than this are too few to say where two curves part.
const MIN_ALIGNED: usize = 10;
/// A block parts when its median difference exceeds this many standard errors of a block
/// median difference...
const BLOCK_SIGMAS: f64 = 4.0;
/// ...and the good run's own point-to-point noise, so that a tiny but steady offset between
/// two seeds is not called a parting.
const POINT_SIGMAS: f64 = 1.0;
/// A parting must hold for this many consecutive blocks (fewer at the end of the run).
const SUSTAINED_BLOCKS: usize = 3;
/// The final difference is the median over this share of the aligned points.
const FINAL_FRACTION: f64 = 0.1;

/// How two runs differ: metric by metric, then in their configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    pub good: String,
    pub bad: String,
    /// Metrics both runs log, those that part first (earliest step) first, then by name.
    pub metrics: Vec<MetricComparison>,
    /// The outcome metric that parts first, if any does. Schedules (a learning rate) are
    /// inputs, not outcomes: when they differ, the config diff usually says why.
    pub first_parting: Option<String>,
    pub only_in_good: Vec<String>,
    pub only_in_bad: Vec<String>,
    pub config: ConfigDiff,
}

/// One metric logged by both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    pub metric: String,
    pub role: Option<MetricRole>,
    /// Points of the bad run inside the good run's step range, each compared with the good
    /// run's value at that step (interpolated between its neighbours when not logged there).
    pub aligned_points: usize,
    /// The first step from which the bad run stays apart from the good one.
    pub parted_at: Option<i64>,
    /// Why they part: a level difference, or the bad run going NaN/infinite.
    pub parting: Option<PartingKind>,
    /// Levels at the parting (block medians), when it is a level difference.
    pub good_at_parting: Option<f64>,
    pub bad_at_parting: Option<f64>,
    /// Median difference (bad − good) over the last 10% of the aligned points.
    pub final_difference: Option<f64>,
    /// That difference relative to the good run's level there.
    pub final_relative: Option<f64>,
    /// That difference in units of the good run's point-to-point noise.
    pub final_sigmas: Option<f64>,
    /// The good run's robust point-to-point noise (σ); 0 when it cannot be estimated.
    pub good_noise: f64,
    /// Whether the bad run is worse where they part, when the metric's role says which way is
    /// better.
    pub bad_is_worse: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartingKind {
    Level,
    NonFinite,
}

/// Keys added, removed and changed between the good run's config and the bad run's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigDiff {
    /// In the bad run only.
    pub added: BTreeMap<String, serde_json::Value>,
    /// In the good run only.
    pub removed: BTreeMap<String, serde_json::Value>,
    pub changed: Vec<ConfigChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigChange {
    pub key: String,
    pub good: serde_json::Value,
    pub bad: serde_json::Value,
}

impl ConfigDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares `bad` with `good`: aligns every metric both log by step, finds where they part
/// (a robust test of their difference against the good run's noise), and diffs their configs.
/// Linear in the number of points.
pub fn compare_runs(good: &Run, bad: &Run) -> RunComparison {
    let good_input = DetectorInput::new(good);
    let bad_input = DetectorInput::new(bad);
    let mut metrics: Vec<MetricComparison> = Vec::new();
    let mut only_in_good = Vec::new();
    for good_series in &good_input.series {
        match bad_input.series.iter().find(|s| s.tag == good_series.tag) {
            Some(bad_series) => metrics.push(compare_metric(good_series, bad_series)),
            None => only_in_good.push(good_series.tag.to_owned()),
        }
    }
    let only_in_bad = bad_input
        .series
        .iter()
        .filter(|s| good.series(s.tag).is_none())
        .map(|s| s.tag.to_owned())
        .collect();
    metrics.sort_by(|a, b| {
        a.parted_at
            .unwrap_or(i64::MAX)
            .cmp(&b.parted_at.unwrap_or(i64::MAX))
            .then_with(|| a.metric.cmp(&b.metric))
    });
    let first_parting = metrics
        .iter()
        .find(|m| m.parted_at.is_some() && !m.is_input())
        .map(|m| m.metric.clone());
    RunComparison {
        good: good.name.clone(),
        bad: bad.name.clone(),
        metrics,
        first_parting,
        only_in_good,
        only_in_bad,
        config: diff_config(&good.config, &bad.config),
    }
}

fn compare_metric(good: &MetricSeries<'_>, bad: &MetricSeries<'_>) -> MetricComparison {
    let aligned = align_by_step(&good.finite, &bad.finite);
    let good_noise = difference_sigma(&good.finite.values).unwrap_or(0.0);
    let mut comparison = MetricComparison {
        metric: good.tag.to_owned(),
        role: good.role,
        aligned_points: aligned.len(),
        parted_at: None,
        parting: None,
        good_at_parting: None,
        bad_at_parting: None,
        final_difference: None,
        final_relative: None,
        final_sigmas: None,
        good_noise,
        bad_is_worse: None,
    };
    if aligned.len() >= MIN_ALIGNED {
        let differences: Vec<f64> = aligned.iter().map(|a| a.bad - a.good).collect();
        let tail = tail_count(aligned.len(), FINAL_FRACTION, 3);
        let final_difference = median(&differences[differences.len() - tail..]);
        let good_tail: Vec<f64> = aligned[aligned.len() - tail..]
            .iter()
            .map(|a| a.good)
            .collect();
        let good_level = median(&good_tail);
        comparison.final_difference = final_difference;
        comparison.final_relative = final_difference
            .zip(good_level)
            .filter(|(_, level)| *level != 0.0)
            .map(|(d, level)| d / level.abs());
        comparison.final_sigmas = final_difference
            .filter(|_| good_noise > 0.0)
            .map(|d| d / good_noise);
        if let Some(parting) = level_parting(&aligned, good_noise) {
            comparison.parted_at = Some(parting.step);
            comparison.parting = Some(PartingKind::Level);
            comparison.good_at_parting = Some(parting.good);
            comparison.bad_at_parting = Some(parting.bad);
            comparison.bad_is_worse = worse(good.role, parting.bad - parting.good);
        }
    }
    // The bad run breaking (NaN or infinite) where the good one stays finite also parts them.
    if let Some(step) = first_break_unmatched(good, bad)
        && comparison.parted_at.is_none_or(|at| step < at)
    {
        comparison.parted_at = Some(step);
        comparison.parting = Some(PartingKind::NonFinite);
        comparison.good_at_parting = None;
        comparison.bad_at_parting = None;
        comparison.bad_is_worse = Some(true);
    }
    comparison.keep_finite();
    comparison
}

impl MetricComparison {
    /// Whether the metric is something the run is given (a schedule) rather than something it
    /// produces.
    pub fn is_input(&self) -> bool {
        self.role == Some(MetricRole::LearningRate)
    }

    /// Drops numbers that overflowed (curves near `f64::MAX`): JSON has no NaN or infinity,
    /// and `null` would not read back as a number.
    fn keep_finite(&mut self) {
        for number in [
            &mut self.good_at_parting,
            &mut self.bad_at_parting,
            &mut self.final_difference,
            &mut self.final_relative,
            &mut self.final_sigmas,
        ] {
            *number = number.filter(|v| v.is_finite());
        }
        if !self.good_noise.is_finite() {
            self.good_noise = 0.0;
        }
    }
}

/// Whether a difference (bad − good) is worse for a metric with `role`; `None` when the role
/// does not say which way is better.
fn worse(role: Option<MetricRole>, difference: f64) -> Option<bool> {
    use MetricRole::*;
    match role? {
        TrainLoss | ValLoss | ValueLoss | StepTime | Memory | DeadFraction => {
            Some(difference > 0.0)
        }
        TrainAccuracy | ValAccuracy | Reward | Throughput | CodebookUsage | ExplainedVariance => {
            Some(difference < 0.0)
        }
        _ => None,
    }
}

/// The first step at which the bad run is non-finite while the good run, logging the same
/// stretch, is finite there (or has no value there but is finite around it).
fn first_break_unmatched(good: &MetricSeries<'_>, bad: &MetricSeries<'_>) -> Option<i64> {
    let index = bad.all.values.iter().position(|v| !v.is_finite())?;
    let step = bad.all.steps[index];
    let good_last = good.finite.last_step()?;
    let good_broken_by = good
        .all
        .steps
        .iter()
        .zip(&good.all.values)
        .find(|(_, v)| !v.is_finite())
        .map(|(&s, _)| s);
    let good_still_finite = step <= good_last && good_broken_by.is_none_or(|g| g > step);
    good_still_finite.then_some(step)
}

/// One step of the bad run with the good run's value there.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Aligned {
    step: i64,
    good: f64,
    bad: f64,
}

/// The bad run's points inside the good run's step range, each with the good run's value at
/// that step: its own value when logged there, else the straight line between its neighbours.
/// O(good + bad), both curves sorted by step.
fn align_by_step(good: &Curve, bad: &Curve) -> Vec<Aligned> {
    let (Some(first), Some(last)) = (good.first_step(), good.last_step()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut next = 0;
    for (&step, &bad_value) in bad.steps.iter().zip(&bad.values) {
        if step < first || step > last {
            continue;
        }
        while next < good.len() && good.steps[next] < step {
            next += 1;
        }
        let Some(&at) = good.steps.get(next) else {
            break;
        };
        let good_value = if at == step || next == 0 {
            good.values[next]
        } else {
            let (s0, s1) = (good.steps[next - 1] as f64, at as f64);
            let (v0, v1) = (good.values[next - 1], good.values[next]);
            v0 + (v1 - v0) * (step as f64 - s0) / (s1 - s0)
        };
        out.push(Aligned {
            step,
            good: good_value,
            bad: bad_value,
        });
    }
    out
}

/// Where two aligned curves part.
struct Parting {
    step: i64,
    good: f64,
    bad: f64,
}

/// The first block of aligned points from which the median difference stays beyond both
/// [`BLOCK_SIGMAS`] standard errors and [`POINT_SIGMAS`] of the good run's noise, with the same
/// sign, for [`SUSTAINED_BLOCKS`] blocks.
fn level_parting(aligned: &[Aligned], good_noise: f64) -> Option<Parting> {
    let n = aligned.len();
    let count = n.clamp(1, MAX_BLOCKS);
    let per_block = n as f64 / count as f64;
    // The difference of two independent noisy points has √2 times the noise; a median of w of
    // them keeps about 1.25 / √w of that.
    let block_error = good_noise * std::f64::consts::SQRT_2 * 1.25 / per_block.sqrt();
    let threshold = (BLOCK_SIGMAS * block_error).max(POINT_SIGMAS * good_noise);
    let mut buffer = Vec::new();
    let blocks: Vec<(usize, usize, f64)> = (0..count)
        .filter_map(|b| {
            let (start, end) = (b * n / count, (b + 1) * n / count);
            buffer.clear();
            buffer.extend(aligned[start..end].iter().map(|a| a.bad - a.good));
            Some((start, end, median_in_place(&mut buffer)?))
        })
        .collect();
    let sign = |d: f64| {
        if d > threshold {
            1
        } else if d < -threshold {
            -1
        } else {
            0
        }
    };
    let parted = (0..blocks.len()).find(|&b| {
        let s = sign(blocks[b].2);
        s != 0
            && blocks[b..(b + SUSTAINED_BLOCKS).min(blocks.len())]
                .iter()
                .all(|block| sign(block.2) == s)
    })?;
    let (start, end, _) = blocks[parted];
    let mut goods: Vec<f64> = aligned[start..end].iter().map(|a| a.good).collect();
    let mut bads: Vec<f64> = aligned[start..end].iter().map(|a| a.bad).collect();
    Some(Parting {
        step: aligned[start].step,
        good: median_in_place(&mut goods)?,
        bad: median_in_place(&mut bads)?,
    })
}

fn diff_config(
    good: &BTreeMap<String, serde_json::Value>,
    bad: &BTreeMap<String, serde_json::Value>,
) -> ConfigDiff {
    let mut diff = ConfigDiff::default();
    for (key, good_value) in good {
        match bad.get(key) {
            None => {
                diff.removed.insert(key.clone(), good_value.clone());
            }
            Some(bad_value) if !same_value(good_value, bad_value) => {
                diff.changed.push(ConfigChange {
                    key: key.clone(),
                    good: good_value.clone(),
                    bad: bad_value.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for (key, bad_value) in bad {
        if !good.contains_key(key) {
            diff.added.insert(key.clone(), bad_value.clone());
        }
    }
    diff
}

/// Equal config values, with `1` and `1.0` (or `"1e-3"` and `0.001`) the same number.
fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    if a == b {
        return true;
    }
    match (number_of(a), number_of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn number_of(value: &serde_json::Value) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

impl RunComparison {
    /// A few lines for a person: where the runs part and by how much, which metrics stay
    /// together, and what changed in the config.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "good run: {} · bad run: {}", self.good, self.bad);
        let parted: Vec<&MetricComparison> = self
            .metrics
            .iter()
            .filter(|m| m.parted_at.is_some() && !m.is_input())
            .collect();
        match parted.split_first() {
            None if self.metrics.is_empty() => {
                let _ = writeln!(out, "The runs log no metric in common.");
            }
            None => {
                let _ = writeln!(
                    out,
                    "No shared metric parts: the bad run stays within the good run's noise on {}.",
                    self.metric_names(&self.metrics.iter().collect::<Vec<_>>())
                );
            }
            Some((first, rest)) => {
                let _ = writeln!(out, "{} parts first, {}.", first.metric, first.describe());
                for metric in rest {
                    let _ = writeln!(out, "{} parts {}.", metric.metric, metric.describe());
                }
                let together: Vec<&MetricComparison> = self
                    .metrics
                    .iter()
                    .filter(|m| m.parted_at.is_none() && m.aligned_points >= MIN_ALIGNED)
                    .collect();
                if !together.is_empty() {
                    let _ = writeln!(out, "Stay together: {}.", self.metric_names(&together));
                }
            }
        }
        for schedule in self
            .metrics
            .iter()
            .filter(|m| m.parted_at.is_some() && m.is_input())
        {
            let _ = writeln!(
                out,
                "The schedule {} differs {}.",
                schedule.metric,
                schedule.describe()
            );
        }
        if !self.only_in_good.is_empty() {
            let _ = writeln!(
                out,
                "Only in the good run: {}.",
                self.only_in_good.join(", ")
            );
        }
        if !self.only_in_bad.is_empty() {
            let _ = writeln!(out, "Only in the bad run: {}.", self.only_in_bad.join(", "));
        }
        if self.config.is_empty() {
            let _ = writeln!(out, "Config: no difference.");
        } else {
            let _ = writeln!(out, "Config: {}.", self.config.describe());
        }
        out
    }

    /// The characterization's "when did it start": the first metric to part, at its step.
    pub fn onset(&self) -> Option<Onset> {
        let first = self
            .metrics
            .iter()
            .find(|m| m.parted_at.is_some() && !m.is_input())?;
        Some(Onset {
            step: first.parted_at?,
            metric: Some(first.metric.clone()),
            statement: format!(
                "{} of run {} parts from run {} {}",
                first.metric,
                self.bad,
                self.good,
                first.describe()
            ),
        })
    }

    /// The characterization's "what changed": one line per config key added, removed or
    /// changed from the good run to the bad one.
    pub fn changes(&self) -> Vec<String> {
        self.config.lines()
    }

    fn metric_names(&self, metrics: &[&MetricComparison]) -> String {
        let names: Vec<&str> = metrics.iter().map(|m| m.metric.as_str()).collect();
        name_list(&names)
    }
}

impl MetricComparison {
    /// "at step 2,140: bad 1.31 vs good 0.92 (worse; 9.8σ of the good run's noise); at the end
    /// +2.24 (+367%)".
    fn describe(&self) -> String {
        let step = self.parted_at.map_or_else(String::new, human::step);
        let mut text = match (self.parting, self.good_at_parting, self.bad_at_parting) {
            (Some(PartingKind::NonFinite), _, _) => {
                format!(
                    "at step {step}: the bad run goes NaN or infinite there while the good run stays finite"
                )
            }
            (_, Some(good), Some(bad)) => {
                let verdict = match self.bad_is_worse {
                    Some(true) => "worse; ",
                    Some(false) => "better; ",
                    None => "",
                };
                let sigmas = if self.good_noise > 0.0 {
                    format!(
                        "{verdict}{}σ of the good run's noise",
                        human::value((bad - good).abs() / self.good_noise)
                    )
                } else {
                    verdict.trim_end_matches("; ").to_owned()
                };
                let detail = if sigmas.is_empty() {
                    String::new()
                } else {
                    format!(" ({sigmas})")
                };
                format!(
                    "at step {step}: bad {} vs good {}{detail}",
                    human::value(bad),
                    human::value(good)
                )
            }
            _ => format!("at step {step}"),
        };
        if let Some(difference) = self.final_difference {
            let sign = if difference > 0.0 { "+" } else { "" };
            let relative = self
                .final_relative
                .map_or(String::new(), |r| format!(" ({sign}{})", human::percent(r)));
            let _ = write!(
                text,
                "; over the last 10% of shared steps the difference is {sign}{}{relative}",
                human::value(difference)
            );
        }
        text
    }
}

impl ConfigDiff {
    /// "changed lr 0.0003 → 0.003 (×10); added warmup_steps = 0; removed grad_clip = 1".
    fn describe(&self) -> String {
        self.lines().join("; ")
    }

    /// One line per difference: changed keys first, then added, then removed.
    pub fn lines(&self) -> Vec<String> {
        let mut parts = Vec::new();
        for change in &self.changed {
            // A ratio helps with rates and scales (0.0003 → 0.0012 is ×4), not with counts and
            // identifiers (seed 1 → 2), so it is shown when either side is fractional.
            let ratio = match (number_of(&change.good), number_of(&change.bad)) {
                (Some(g), Some(b))
                    if g != 0.0 && b != 0.0 && (g.fract() != 0.0 || b.fract() != 0.0) =>
                {
                    format!(" ({})", human::ratio(b / g))
                }
                _ => String::new(),
            };
            parts.push(format!(
                "changed {} {} → {}{ratio}",
                change.key,
                compact(&change.good),
                compact(&change.bad)
            ));
        }
        for (key, value) in &self.added {
            parts.push(format!("added {key} = {}", compact(value)));
        }
        for (key, value) in &self.removed {
            parts.push(format!("removed {key} (was {})", compact(value)));
        }
        parts
    }
}

/// A config value in a few characters: strings without quotes, long values cut.
fn compact(value: &serde_json::Value) -> String {
    const LONGEST: usize = 60;
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > LONGEST {
        let cut: String = text.chars().take(LONGEST).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use fmr_core::Point;
    use serde_json::json;

    use super::*;

    fn jitter(i: usize) -> f64 {
        let x = (i as f64 * 12.9898).sin() * 43_758.545_3;
        2.0 * (x - x.floor()) - 1.0
    }

    fn run(name: &str, series: &[(&str, Vec<(i64, f64)>)]) -> Run {
        let mut run = Run {
            name: name.into(),
            ..Run::default()
        };
        for (tag, points) in series {
            run.series_mut(tag).points = points
                .iter()
                .map(|&(step, value)| Point {
                    step,
                    wall_time: None,
                    value,
                })
                .collect();
        }
        run
    }

    fn loss(step: i64) -> f64 {
        0.5 + 2.0 * (-(step as f64) / 2000.0).exp()
    }

    #[test]
    fn interpolates_the_good_run_at_the_bad_run_steps() {
        let good = Curve {
            steps: vec![0, 10, 20],
            values: vec![1.0, 2.0, 4.0],
        };
        let bad = Curve {
            steps: vec![-5, 0, 5, 15, 20, 25],
            values: vec![9.0; 6],
        };
        let aligned = align_by_step(&good, &bad);
        let goods: Vec<(i64, f64)> = aligned.iter().map(|a| (a.step, a.good)).collect();
        assert_eq!(goods, vec![(0, 1.0), (5, 1.5), (15, 3.0), (20, 4.0)]);
    }

    #[test]
    fn finds_where_a_bad_run_leaves_the_good_one() {
        let good: Vec<(i64, f64)> = (0..2000)
            .map(|i| (i * 5, loss(i * 5) * (1.0 + 0.03 * jitter(i as usize))))
            .collect();
        // Logged every 10 steps, with its own noise; climbs away from step 6,000.
        let bad: Vec<(i64, f64)> = (0..1000)
            .map(|i| {
                let step = i * 10;
                let climb = if step >= 6000 {
                    (step - 6000) as f64 / 2000.0
                } else {
                    0.0
                };
                (
                    step,
                    (loss(step) + climb) * (1.0 + 0.03 * jitter(i as usize + 77)),
                )
            })
            .collect();
        let comparison = compare_runs(
            &run(
                "good",
                &[
                    ("train/loss", good.clone()),
                    ("lr", vec![(0, 1e-3), (9995, 1e-3)]),
                ],
            ),
            &run("bad", &[("train/loss", bad), ("grad_norm", vec![(0, 1.0)])]),
        );
        let metric = &comparison.metrics[0];
        assert_eq!(metric.metric, "train/loss");
        let parted = metric.parted_at.unwrap_or(0);
        assert!((6000..=6600).contains(&parted), "{parted}");
        assert_eq!(metric.bad_is_worse, Some(true));
        assert!(metric.final_difference.unwrap_or(0.0) > 1.5);
        assert_eq!(comparison.first_parting.as_deref(), Some("train/loss"));
        assert_eq!(comparison.only_in_good, vec!["lr"]);
        assert_eq!(comparison.only_in_bad, vec!["grad_norm"]);
    }

    #[test]
    fn two_seeds_of_the_same_run_do_not_part() {
        let seed = |offset: usize| -> Vec<(i64, f64)> {
            (0..3000)
                .map(|i| {
                    (
                        i * 5,
                        loss(i * 5) * (1.0 + 0.05 * jitter(i as usize + offset)),
                    )
                })
                .collect()
        };
        let comparison = compare_runs(
            &run("a", &[("loss", seed(0))]),
            &run("b", &[("loss", seed(991))]),
        );
        assert_eq!(comparison.metrics[0].parted_at, None);
        assert_eq!(comparison.first_parting, None);
    }

    #[test]
    fn a_nan_in_the_bad_run_parts_them_there() {
        let good: Vec<(i64, f64)> = (0..100)
            .map(|i| (i, 1.0 + 0.01 * jitter(i as usize)))
            .collect();
        let bad: Vec<(i64, f64)> = (0..100)
            .map(|i| {
                (
                    i,
                    if i >= 70 {
                        f64::NAN
                    } else {
                        1.0 + 0.01 * jitter(i as usize + 5)
                    },
                )
            })
            .collect();
        let comparison = compare_runs(&run("g", &[("loss", good)]), &run("b", &[("loss", bad)]));
        let metric = &comparison.metrics[0];
        assert_eq!(metric.parted_at, Some(70));
        assert_eq!(metric.parting, Some(PartingKind::NonFinite));
    }

    #[test]
    fn config_diff_lists_added_removed_and_changed_keys() {
        let mut good = Run::default();
        good.config.insert("lr".into(), json!(3e-4));
        good.config.insert("batch_size".into(), json!(32));
        good.config.insert("grad_clip".into(), json!(1.0));
        good.config.insert("epochs".into(), json!(10));
        let mut bad = Run::default();
        bad.config.insert("lr".into(), json!("3e-3"));
        bad.config.insert("batch_size".into(), json!(32.0));
        bad.config.insert("warmup_steps".into(), json!(0));
        bad.config.insert("epochs".into(), json!(10));
        let diff = diff_config(&good.config, &bad.config);
        assert_eq!(diff.added.keys().collect::<Vec<_>>(), vec!["warmup_steps"]);
        assert_eq!(diff.removed.keys().collect::<Vec<_>>(), vec!["grad_clip"]);
        assert_eq!(diff.changed.len(), 1);
        assert_eq!(diff.changed[0].key, "lr");
        assert_eq!(
            diff.describe(),
            "changed lr 0.0003 → 3e-3 (×10); added warmup_steps = 0; removed grad_clip (was 1.0)"
        );
    }

    #[test]
    fn summary_reads_like_a_report() {
        let good: Vec<(i64, f64)> = (0..400)
            .map(|i| (i * 10, loss(i * 10) * (1.0 + 0.02 * jitter(i as usize))))
            .collect();
        let bad: Vec<(i64, f64)> = (0..400)
            .map(|i| {
                let step = i * 10;
                let jump = if step >= 2000 { 0.8 } else { 0.0 };
                (
                    step,
                    (loss(step) + jump) * (1.0 + 0.02 * jitter(i as usize + 3)),
                )
            })
            .collect();
        let flat: Vec<(i64, f64)> = (0..400).map(|i| (i * 10, 1e-3)).collect();
        let mut good_run = run("baseline", &[("train/loss", good), ("lr", flat.clone())]);
        let mut bad_run = run("new-aug", &[("train/loss", bad), ("lr", flat)]);
        good_run.config.insert("augment".into(), json!("none"));
        bad_run.config.insert("augment".into(), json!("mixup"));
        let comparison = compare_runs(&good_run, &bad_run);
        insta::assert_snapshot!(comparison.summary(), @r"
        good run: baseline · bad run: new-aug
        train/loss parts first, at step 2,000: bad 2.03 vs good 1.24 (worse; 52.5σ of the good run's noise); over the last 10% of shared steps the difference is +0.799 (+100%).
        Stay together: lr.
        Config: changed augment none → mixup.
        ");
        let onset = comparison.onset().expect("the runs part");
        assert_eq!(
            (onset.step, onset.metric.as_deref()),
            (2000, Some("train/loss"))
        );
        assert!(
            onset
                .statement
                .starts_with("train/loss of run new-aug parts from run baseline at step 2,000")
        );
        assert_eq!(comparison.changes(), vec!["changed augment none → mixup"]);
        let json = serde_json::to_value(&comparison).unwrap_or_default();
        assert_eq!(json["first_parting"], "train/loss");
        assert_eq!(json["metrics"][0]["parting"], "level");
    }
}
