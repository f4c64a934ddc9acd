use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{start_level, tail_count};
use crate::human;
use crate::stats::robust::{median, quantile};
use crate::stats::smooth::{TREND_HALF_WINDOW, rolling_median, trend};
use crate::stats::trend::theil_sen;

/// ## What it detects
/// A training loss that stops improving for a long final stretch while it is still high, a
/// loss that never improves at all, and an RL reward that never improves (reward plateau).
///
/// ## Why it matters
/// A loss that flattens far above where it started has stopped learning, not finished: the
/// learning rate may be too low (or already decayed), gradients may not reach the weights, the
/// labels may not match the loss, or the model sits at a symmetric or chance solution. A loss
/// that converged low is healthy and is not reported: the drop from the initial value tells the
/// two apart. A reward that stays where it started means the agent's updates do not change its
/// behaviour for the better: the environment does not reset, the reward carries no signal, or
/// the policy cannot move (entropy bonus, learning rate, normalisation).
///
/// ## Signature
/// The longest final stretch of the curve (as 200 block medians) over which the loss improves by
/// at most 3% of its level, by a Theil–Sen fit, and never drops suddenly (on a rolling median
/// over a tenth of the blocks, no point lies more than 3% or 3× its noise above a later one),
/// covers at least 30% of the steps, and the loss in that stretch has dropped less than
/// 50% from its initial value. Below a 5% drop it is reported as never improving. A reward
/// (higher is better, any sign) never improves when its Theil–Sen trend over the whole run and
/// the step from its first 10% to its last 30% (block medians) both stay within a quarter of its
/// 10%–90% spread: on the plot, any trend is lost in the episode-to-episode noise.
///
/// ## Evidence reported
/// `initial` (median of the first 5 points), `level` (median of the stretch), `best`
/// (lowest value of the slow curve), `drop` (fraction lost since the start), `onset_step` (start of the
/// stretch), `stretch_fraction` (share of the steps), `improvement` (fitted improvement over the
/// stretch, relative to its level). For a reward: `start`, `end`, `level`, `scale` (the
/// 10%–90% spread), `fitted_change` (over the spread).
///
/// ## Parameters
/// At least 20 finite points; improvement threshold 3% (a stretch that rose more than 10% is
/// not flat); stretch ≥ 30% of the steps and ≥ 5
/// blocks; converged once the drop reaches 50%; "never improves" below 5%; a loss that got 25%
/// worse is left to the divergence detector. Training losses only, or the validation loss when
/// no training loss is logged; rewards: flat within 25% of the spread.
///
/// ## Likely causes
/// FM0003, FM0007, FM0012, FM0018, FM0019, FM0013, FM0028, FM0015, FM0014, FM0045, FM0042, FM0043
pub struct Plateau;

const MIN_POINTS: usize = 20;
const MIN_BLOCKS: usize = 5;
const IMPROVEMENT_THRESHOLD: f64 = 0.03;
const NOISE_MULTIPLE: f64 = 3.0;
/// The slow curve's rolling median spans a tenth of the blocks (half-width k/20).
const SLOW_WINDOW_DIVISOR: usize = 20;
const MIN_STRETCH_FRACTION: f64 = 0.3;
const CONVERGED_DROP: f64 = 0.5;
const NO_PROGRESS_DROP: f64 = 0.05;
const WORSENED_DROP: f64 = -0.25;
/// A stretch that got worse by more than this (fitted) is rising, not flat.
const MAX_WORSENING: f64 = 0.1;
/// A reward whose change over the run stays within this share of its spread is flat.
const REWARD_FLAT: f64 = 0.25;
const REWARD_START_FRACTION: f64 = 0.1;
const REWARD_END_FRACTION: f64 = 0.3;

/// A reward that never moved.
struct FlatReward {
    start: f64,
    end: f64,
    level: f64,
    scale: f64,
    fitted_change: f64,
}

struct Stall {
    initial: f64,
    level: f64,
    best: f64,
    drop: f64,
    onset_step: i64,
    last_step: i64,
    stretch_fraction: f64,
    improvement: f64,
}

impl Detector for Plateau {
    fn code(&self) -> &'static str {
        "S105"
    }

    fn name(&self) -> &'static str {
        "plateau"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let role = if input.has_usable(MetricRole::TrainLoss, MIN_POINTS) {
            MetricRole::TrainLoss
        } else {
            MetricRole::ValLoss
        };
        let losses = input
            .with_role(role)
            .filter_map(|series| Some(self.symptom(input, series, &stall(series)?)));
        let rewards = input
            .with_role(MetricRole::Reward)
            .filter_map(|series| Some(self.reward_symptom(input, series, &flat_reward(series)?)));
        losses.chain(rewards).collect()
    }
}

impl Plateau {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        stall: &Stall,
    ) -> Symptom {
        let never_improved = stall.drop < NO_PROGRESS_DROP;
        let statement = if never_improved {
            format!(
                "{} never improves: it stays near {} from step {} to {} (it started at {})",
                series.tag,
                human::value(stall.level),
                human::step(stall.onset_step),
                human::step(stall.last_step),
                human::value(stall.initial)
            )
        } else {
            format!(
                "{} plateaus at {} from step {} to {} ({} of the run) after falling only {} from {}; it improves by {} over that stretch",
                series.tag,
                human::value(stall.level),
                human::step(stall.onset_step),
                human::step(stall.last_step),
                human::percent(stall.stretch_fraction),
                human::percent(stall.drop),
                human::value(stall.initial),
                human::percent(stall.improvement)
            )
        };
        // Surer the less the loss moved and the longer it has been stuck.
        let stuckness = (1.0 - stall.drop.max(0.0) / CONVERGED_DROP).clamp(0.0, 1.0);
        let confidence = 0.35 + 0.35 * stuckness + 0.2 * stall.stretch_fraction;
        SymptomDraft::new(
            self,
            SymptomKind::Plateau,
            input,
            series,
            (stall.onset_step, stall.last_step),
        )
        .number("initial", stall.initial)
        .number("level", stall.level)
        .number("best", stall.best)
        .number("drop", stall.drop)
        .number("onset_step", stall.onset_step as f64)
        .number("stretch_fraction", stall.stretch_fraction)
        .number("improvement", stall.improvement)
        .finish(statement, confidence)
    }
}

impl Plateau {
    fn reward_symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        flat: &FlatReward,
    ) -> Symptom {
        let (first, last) = (
            series.finite.first_step().unwrap_or(0),
            series.finite.last_step().unwrap_or(0),
        );
        let statement = format!(
            "{} never improves: it stays near {} from step {} to {} ({} over the first 10% of the run, {} over the last 30%)",
            series.tag,
            human::value(flat.level),
            human::step(first),
            human::step(last),
            human::value(flat.start),
            human::value(flat.end)
        );
        SymptomDraft::new(
            self,
            SymptomKind::RewardPlateau,
            input,
            series,
            (first, last),
        )
        .number("start", flat.start)
        .number("end", flat.end)
        .number("level", flat.level)
        .number("scale", flat.scale)
        .number("fitted_change", flat.fitted_change)
        .finish(
            statement,
            0.6 + 0.2 * (1.0 - flat.fitted_change.abs() / REWARD_FLAT),
        )
    }
}

fn flat_reward(series: &MetricSeries<'_>) -> Option<FlatReward> {
    let curve = &series.finite;
    if curve.len() < MIN_POINTS {
        return None;
    }
    let shape = trend(&curve.steps, &curve.values);
    let k = shape.raw.len();
    let mids = shape.blocks.mid_steps();
    let level = median(&curve.values)?;
    let scale = quantile(&curve.values, 0.9)? - quantile(&curve.values, 0.1)?;
    let start = median(&shape.raw[..tail_count(k, REWARD_START_FRACTION, 1)])?;
    let end = median(&shape.raw[k - tail_count(k, REWARD_END_FRACTION, 1)..])?;
    if scale <= 0.0 {
        // Nearly every episode scored the same.
        return (start == end).then_some(FlatReward {
            start,
            end,
            level,
            scale,
            fitted_change: 0.0,
        });
    }
    let fitted_change = theil_sen(&mids, &shape.raw)? * (mids[k - 1] - mids[0]) / scale;
    let flat = fitted_change.abs() <= REWARD_FLAT && (end - start).abs() <= REWARD_FLAT * scale;
    flat.then_some(FlatReward {
        start,
        end,
        level,
        scale,
        fitted_change,
    })
}

fn stall(series: &MetricSeries<'_>) -> Option<Stall> {
    let curve = &series.finite;
    if curve.len() < MIN_POINTS {
        return None;
    }
    let shape = trend(&curve.steps, &curve.values);
    let k = shape.raw.len();
    let min_blocks = ((k as f64 * MIN_STRETCH_FRACTION).ceil() as usize).max(MIN_BLOCKS);
    if k < min_blocks {
        return None;
    }
    let mids = shape.blocks.mid_steps();
    // The fitted improvement over blocks `from..`, relative to their level: a robust slope, so
    // that a flat but noisy stretch reads as flat and a slow, steady descent does not.
    let improvement = |from: usize| -> Option<f64> {
        let slope = theil_sen(&mids[from..], &shape.raw[from..])?;
        let level = median(&shape.raw[from..])?;
        Some(-slope * (mids[k - 1] - mids[from]) / level.abs().max(f64::MIN_POSITIVE))
    };
    // No sudden drop inside the stretch either: on a slow curve no block may sit more than the
    // tolerance above a later one.
    let half_window = (k / SLOW_WINDOW_DIVISOR).max(TREND_HALF_WINDOW);
    let slow = rolling_median(&shape.raw, half_window);
    // A median of w block medians keeps about 1.25 / √w of their noise.
    let noise = 1.25 * shape.noise / ((2 * half_window + 1) as f64).sqrt();
    let mut suffix_min = slow.clone();
    for i in (0..k.saturating_sub(1)).rev() {
        suffix_min[i] = suffix_min[i].min(suffix_min[i + 1]);
    }
    let no_drop_after = |i: usize| {
        slow[i] - suffix_min[i]
            <= (IMPROVEMENT_THRESHOLD * slow[i].abs()).max(NOISE_MULTIPLE * noise)
    };

    let flat = |improvement: f64| (-MAX_WORSENING..=IMPROVEMENT_THRESHOLD).contains(&improvement);
    let mut start = k - min_blocks;
    if !flat(improvement(start)?) {
        return None;
    }
    while start > 0 && no_drop_after(start - 1) && improvement(start - 1).is_some_and(flat) {
        start -= 1;
    }
    let onset_step = shape.blocks.start_steps[start];
    let last_step = curve.last_step()?;
    let stretch_fraction = 1.0 - curve.progress(onset_step);
    if stretch_fraction < MIN_STRETCH_FRACTION {
        return None;
    }
    let initial = start_level(&curve.values)?;
    if initial <= 0.0 {
        // Without a floor at zero, "how much of the loss is left" has no meaning.
        return None;
    }
    let level = median(&shape.raw[start..])?;
    let drop = (initial - level) / initial;
    if !(WORSENED_DROP..CONVERGED_DROP).contains(&drop) {
        return None;
    }
    let best = suffix_min[0];
    Some(Stall {
        initial,
        level,
        best,
        drop,
        onset_step,
        last_step,
        stretch_fraction,
        improvement: improvement(start)?,
    })
}
