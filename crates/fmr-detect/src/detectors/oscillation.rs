use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Curve, Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::human;
use crate::stats::acf::{autocorrelation, dominant_period};
use crate::stats::changepoint::{bic_penalty, binary_segmentation, segment_mean};
use crate::stats::robust::{median, quantile, robust_sigma};
use crate::stats::smooth::{Blocks, Summary, blocks, rolling_mean};

/// ## What it detects
/// A loss that swings up and down with a regular period, for at least three cycles: its range,
/// its period in steps and when the swinging started.
///
/// ## Why it matters
/// A regular oscillation is not noise: the optimiser bounces across a valley (learning rate or
/// momentum too high for the curvature), a feedback loop overshoots (GAN or actor-critic
/// dynamics), or the data arrive in a repeating order (unshuffled data: the period is then one
/// epoch). A cyclic learning-rate schedule with the same period explains it harmlessly, and is
/// said so.
///
/// ## Signature
/// The curve as at most 2,048 block means, without its first 10%, minus a rolling mean over a
/// quarter, an eighth or a sixteenth of its length (each tried; periods up to the window's
/// width; the strongest result is kept). Binary segmentation of the residual's magnitude gives the onset (the
/// first segment from which the swing stays at least half its largest size). From there, the
/// autocorrelation of the residual has a peak of at least 0.4 after its first zero crossing, at
/// a lag that fits three times into the oscillating stretch, and a second peak near twice that
/// lag; the periodic part of the swing (the residual's 10%–90% range times the square root of
/// that autocorrelation, which leaves out the noise) is at least 10% of the loss level.
///
/// ## Evidence reported
/// `period` (steps), `low` and `high` (the level plus the periodic part of the residual's 10%
/// and 90% quantiles), `amplitude` (half their difference), `relative_amplitude` (over the level),
/// `autocorrelation`, `cycles`, `onset_step`, and `lr_period` when the learning rate cycles
/// with the same period.
///
/// ## Parameters
/// At least 40 finite points; autocorrelation ≥ max(0.4, 4/√n), and half that at twice the
/// period; ≥ 3 cycles; swing ≥ 10% of the level; periods shorter than two blocks (fast alternation in very long runs) are out of reach.
///
/// ## Likely causes
/// FM0002, FM0017, FM0048, FM0005, FM0012, FM0031
pub struct Oscillation;

const MIN_POINTS: usize = 40;
const MAX_BLOCKS: usize = 2048;
const SKIP_START: f64 = 0.1;
/// Detrending half-widths tried, as fractions of the curve: k/8, k/16 and k/32 blocks.
const DETREND_DIVISORS: &[usize] = &[8, 16, 32];
const MIN_REGION_BLOCKS: usize = 30;
const MIN_ACF: f64 = 0.4;
/// For short stretches the bar rises to this over √n, well above the ±2/√n of white noise.
const MIN_ACF_SAMPLES: f64 = 4.0;
const MIN_CYCLES: f64 = 3.0;
const MIN_RELATIVE_SWING: f64 = 0.1;
/// Learning-rate and loss periods within this relative difference are the same period.
const SAME_PERIOD: f64 = 0.2;

/// A regular oscillation found in a curve.
struct Swing {
    period_steps: f64,
    strength: f64,
    low: f64,
    high: f64,
    level: f64,
    onset_step: i64,
    last_step: i64,
    cycles: f64,
}

impl Detector for Oscillation {
    fn code(&self) -> &'static str {
        "S104"
    }

    fn name(&self) -> &'static str {
        "oscillation"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let lr_period = input
            .primary(MetricRole::LearningRate)
            .and_then(|lr| swing(&lr.finite))
            .map(|s| s.period_steps);
        input
            .series
            .iter()
            .filter(|s| matches!(s.role, Some(MetricRole::TrainLoss | MetricRole::ValLoss)))
            .filter_map(|series| {
                let found = swing(&series.finite)?;
                let relative = (found.high - found.low) / found.level.abs().max(f64::MIN_POSITIVE);
                (relative >= MIN_RELATIVE_SWING)
                    .then(|| self.symptom(input, series, &found, lr_period))
            })
            .collect()
    }
}

impl Oscillation {
    fn symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        swing: &Swing,
        lr_period: Option<f64>,
    ) -> Symptom {
        let lr_match = lr_period
            .filter(|&p| (p - swing.period_steps).abs() <= SAME_PERIOD * swing.period_steps.max(p));
        let mut statement = format!(
            "{} oscillates between {} and {} with a period of about {} steps from step {} to {} ({} cycles, autocorrelation {} at that lag)",
            series.tag,
            human::value(swing.low),
            human::value(swing.high),
            human::step(swing.period_steps.round() as i64),
            human::step(swing.onset_step),
            human::step(swing.last_step),
            swing.cycles.floor(),
            human::value(swing.strength)
        );
        if let Some(period) = lr_match {
            statement.push_str(&format!(
                "; the learning rate cycles with the same period (about {} steps), which may explain it",
                human::step(period.round() as i64)
            ));
        }
        let amplitude = (swing.high - swing.low) / 2.0;
        let confidence = swing.strength.min(0.95) * if lr_match.is_some() { 0.5 } else { 1.0 };
        SymptomDraft::new(
            self,
            SymptomKind::Oscillation,
            input,
            series,
            (swing.onset_step, swing.last_step),
        )
        .number("period", swing.period_steps)
        .number("low", swing.low)
        .number("high", swing.high)
        .number("amplitude", amplitude)
        .number(
            "relative_amplitude",
            amplitude / swing.level.abs().max(f64::MIN_POSITIVE),
        )
        .number("autocorrelation", swing.strength)
        .number("cycles", swing.cycles)
        .number("onset_step", swing.onset_step as f64)
        .number("lr_period", lr_match.unwrap_or(f64::NAN))
        .finish(statement, confidence)
    }
}

/// The regular oscillation of `curve`, if any; the caller judges whether it is large enough.
/// Tried at several detrending widths, the strongest kept: a wide window keeps long periods,
/// a narrow one follows a curved trend (a fast initial decay) without leaving it in the
/// residual.
fn swing(curve: &Curve) -> Option<Swing> {
    if curve.len() < MIN_POINTS {
        return None;
    }
    let reduced = blocks(&curve.steps, &curve.values, MAX_BLOCKS, Summary::Mean);
    let skip = (reduced.len() as f64 * SKIP_START) as usize;
    let k = reduced.len() - skip;
    if k < MIN_REGION_BLOCKS {
        return None;
    }
    let last_step = curve.last_step()?;
    DETREND_DIVISORS
        .iter()
        .filter_map(|&divisor| swing_at(&reduced, skip, (k / divisor).max(3), last_step))
        .max_by(|a, b| a.strength.total_cmp(&b.strength))
}

/// [`swing`] with one detrending half-width (in blocks); periods longer than the window are
/// left to a wider one.
fn swing_at(reduced: &Blocks, skip: usize, half_window: usize, last_step: i64) -> Option<Swing> {
    // The trend comes from the whole curve so that the skipped head still serves as the left
    // half of the first windows; the last `half_window` blocks, whose window is cut short and
    // lopsided, are left out of the residual.
    let trend = rolling_mean(&reduced.values, half_window);
    let end = reduced.len().checked_sub(half_window)?;
    if end <= skip {
        return None;
    }
    let residual: Vec<f64> = (skip..end).map(|i| reduced.values[i] - trend[i]).collect();
    let mids = reduced.mid_steps();
    let onset = swing_onset(&residual);
    let region = &residual[onset..];
    let n = region.len();
    if n < MIN_REGION_BLOCKS {
        return None;
    }
    // Lags up to a third of the stretch (three cycles) and up to the window can be the period;
    // the autocorrelation is computed twice as far to check that the pattern repeats.
    let longest = (n / 3).min(2 * half_window + 1);
    let acf = autocorrelation(region, (2 * longest).min(n - 1));
    let min_strength = MIN_ACF.max(MIN_ACF_SAMPLES / (n as f64).sqrt());
    let period = dominant_period(&acf[..acf.len().min(longest + 1)], min_strength)?;
    let cycles = n as f64 / period.lag;
    if cycles < MIN_CYCLES || !repeats(&acf, period.lag, n) {
        return None;
    }
    let spacing = (mids[end - 1] - mids[skip]) / (end - 1 - skip).max(1) as f64;
    let level = median(&trend[skip + onset..end])?;
    // The share of the residual's swing that is periodic: its variance share is the
    // autocorrelation at the period, so its amplitude share is the square root.
    let periodic = period.strength.sqrt();
    let (q10, q90) = (quantile(region, 0.1)?, quantile(region, 0.9)?);
    Some(Swing {
        period_steps: period.lag * spacing,
        strength: period.strength,
        low: level + periodic * q10,
        high: level + periodic * q90,
        level,
        onset_step: reduced.start_steps[skip + onset],
        last_step,
        cycles,
    })
}

/// Whether the autocorrelation peaks again at twice the period, at least half as high once the
/// estimator's shrinking with the lag is undone: noise rarely lines up twice, a cycle does.
fn repeats(acf: &[f64], lag: f64, n: usize) -> bool {
    let (first, second) = (lag.round() as usize, (2.0 * lag).round() as usize);
    let unbiased = |l: usize| acf.get(l).map(|r| r * n as f64 / (n - l.min(n - 1)) as f64);
    let peak_near = |l: usize| {
        (l.saturating_sub(1)..=l + 1)
            .filter_map(unbiased)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    match unbiased(first) {
        Some(at_period) => peak_near(second) >= 0.5 * at_period,
        None => false,
    }
}

/// Where the swing starts: the first segment (by change points in the residual's magnitude)
/// from which every later segment swings at least half as much as the widest one.
///
/// Binary segmentation, not PELT: the magnitude of a periodic residual repeats within every
/// cycle, and an exact segmentation cuts it at cycle boundaries (segment means then differ by
/// where each cut falls in the cycle); a few greedy splits, strongest first, keep only the
/// change in the swing's size.
fn swing_onset(residual: &[f64]) -> usize {
    let magnitude: Vec<f64> = residual.iter().map(|r| r.abs()).collect();
    let sigma = robust_sigma(&magnitude).unwrap_or(0.0);
    let min_segment = (magnitude.len() / 20).max(5);
    let changes = binary_segmentation(
        &magnitude,
        min_segment,
        bic_penalty(sigma, magnitude.len(), 3.0),
        6,
    );
    let mut bounds = vec![0];
    bounds.extend(&changes);
    bounds.push(magnitude.len());
    let means: Vec<f64> = bounds
        .windows(2)
        .map(|w| segment_mean(&magnitude, w[0], w[1]))
        .collect();
    let widest = means.iter().copied().fold(0.0, f64::max);
    let mut onset_segment = means.len().saturating_sub(1);
    while onset_segment > 0 && means[onset_segment - 1] >= 0.5 * widest {
        onset_segment -= 1;
    }
    bounds[onset_segment]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_oscillation_is_found_with_its_period_and_onset() {
        let steps: Vec<i64> = (0..2000).map(|i| i * 10).collect();
        let values: Vec<f64> = (0..2000)
            .map(|i| {
                let base = 0.4 + 2.0 * (-(i as f64) / 200.0).exp();
                let swing = if i >= 1000 {
                    0.1 * (std::f64::consts::TAU * i as f64 / 39.0).sin()
                } else {
                    0.0
                };
                base + swing + 0.002 * ((i * 7919) % 11) as f64
            })
            .collect();
        let found = swing(&Curve { steps, values }).expect("oscillation");
        assert!(
            (found.period_steps - 390.0).abs() < 20.0,
            "{}",
            found.period_steps
        );
        assert!(
            (9_500..=10_500).contains(&found.onset_step),
            "{}",
            found.onset_step
        );
        assert!(
            found.low < 0.36 && found.high > 0.44,
            "{} {}",
            found.low,
            found.high
        );
    }

    #[test]
    fn a_smooth_decay_does_not_oscillate() {
        let steps: Vec<i64> = (0..500).collect();
        let values: Vec<f64> = (0..500).map(|i| 0.3 + (-(i as f64) / 80.0).exp()).collect();
        assert!(swing(&Curve { steps, values }).is_none());
    }
}
