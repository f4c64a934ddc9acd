use fmr_core::{Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, SymptomDraft};
use crate::detectors::align::{Pair, align, loss_pair};
use crate::detectors::shape::tail_count;
use crate::human;
use crate::stats::robust::{argmin, difference_sigma, median};
use crate::stats::smooth::rolling_median;

/// ## What it detects
/// The onset of overfitting: the validation loss turns upward after its minimum and keeps
/// rising while the training loss keeps falling, so the gap between them widens.
///
/// ## Why it matters
/// From the validation minimum on, further training fits the training set at the expense of
/// generalisation: the model is too large for the data, regularisation is too weak, or the
/// validation data differ from the training data. The minimum's step is where to stop, or where
/// to compare checkpoints.
///
/// ## Signature
/// Validation points paired with the median training loss of the stretch before each (so an
/// epoch-level validation loss meets the same epoch's training loss). On the paired curves
/// (rolling median of 3 from 7 pairs on): at least 2 validation points after the validation
/// minimum; the last 20% of them (at least 2) lie at least 10% above the minimum, each above
/// the halfway mark, and the rise exceeds twice the validation noise; the training loss over the
/// same tail is at least 2% below its value at the validation minimum.
///
/// ## Evidence reported
/// `val_min`, `val_min_step` (the onset), `val_end`, `rise` (fraction above the minimum),
/// `train_at_min`, `train_end`, `gap_at_min`, `gap_end`, `pairs`.
///
/// ## Parameters
/// At least 5 pairs; rise ≥ 10% and > 2× noise; training drop ≥ 2%. The primary training and
/// validation losses (those with the most points) are compared.
///
/// ## Likely causes
/// FM0030, FM0016, FM0022, FM0024, FM0035, FM0037
pub struct TrainValGap;

const MIN_PAIRS: usize = 5;
const SMOOTH_FROM_PAIRS: usize = 7;
const MIN_POINTS_AFTER_MIN: usize = 2;
const TAIL_FRACTION: f64 = 0.2;
const MIN_RISE: f64 = 0.1;
const NOISE_MULTIPLE: f64 = 2.0;
const MIN_TRAIN_DROP: f64 = 0.02;

impl Detector for TrainValGap {
    fn code(&self) -> &'static str {
        "S107"
    }

    fn name(&self) -> &'static str {
        "train_val_gap"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let Some((train, val)) = loss_pair(input) else {
            return Vec::new();
        };
        let pairs = align(&train.finite, &val.finite);
        let Some(gap) = widening_gap(&pairs) else {
            return Vec::new();
        };
        let statement = format!(
            "{} rises from a minimum of {} at step {} to {} by step {} (+{}) while {} keeps falling from {} to {}; the gap (validation minus training) widens from {} to {}",
            val.tag,
            human::value(gap.val_min),
            human::step(gap.val_min_step),
            human::value(gap.val_end),
            human::step(gap.last_step),
            human::percent(gap.rise),
            train.tag,
            human::value(gap.train_at_min),
            human::value(gap.train_end),
            human::value(gap.val_min - gap.train_at_min),
            human::value(gap.val_end - gap.train_end),
        );
        let confidence = 0.5
            + 0.25 * (gap.rise / 0.5).min(1.0)
            + 0.15 * (gap.points_after_min as f64 / 5.0).min(1.0);
        vec![
            SymptomDraft::new(
                self,
                SymptomKind::TrainValGap,
                input,
                val,
                (gap.val_min_step, gap.last_step),
            )
            .number("val_min", gap.val_min)
            .number("val_min_step", gap.val_min_step as f64)
            .number("val_end", gap.val_end)
            .number("rise", gap.rise)
            .number("train_at_min", gap.train_at_min)
            .number("train_end", gap.train_end)
            .number("gap_at_min", gap.val_min - gap.train_at_min)
            .number("gap_end", gap.val_end - gap.train_end)
            .number("pairs", pairs.len() as f64)
            .finish(statement, confidence),
        ]
    }
}

struct Gap {
    val_min: f64,
    val_min_step: i64,
    val_end: f64,
    rise: f64,
    train_at_min: f64,
    train_end: f64,
    last_step: i64,
    points_after_min: usize,
}

fn widening_gap(pairs: &[Pair]) -> Option<Gap> {
    let m = pairs.len();
    if m < MIN_PAIRS {
        return None;
    }
    let raw_val: Vec<f64> = pairs.iter().map(|p| p.val).collect();
    let raw_train: Vec<f64> = pairs.iter().map(|p| p.train).collect();
    let half_window = usize::from(m >= SMOOTH_FROM_PAIRS);
    let val = rolling_median(&raw_val, half_window);
    let train = rolling_median(&raw_train, half_window);
    let min_index = argmin(&val)?;
    let points_after_min = m - 1 - min_index;
    if points_after_min < MIN_POINTS_AFTER_MIN {
        return None;
    }
    let tail = tail_count(m, TAIL_FRACTION, 2).min(points_after_min);
    let val_min = val[min_index];
    let val_end = median(&val[m - tail..])?;
    let rise = val_end - val_min;
    let noise = difference_sigma(&raw_val)?;
    let holds = val[m - tail..].iter().all(|&v| v > val_min + 0.5 * rise);
    if rise < MIN_RISE * val_min.abs() || rise <= NOISE_MULTIPLE * noise || !holds || rise <= 0.0 {
        return None;
    }
    let train_at_min = train[min_index];
    let train_end = median(&train[m - tail..])?;
    if train_at_min - train_end < MIN_TRAIN_DROP * train_at_min.abs() {
        return None;
    }
    Some(Gap {
        val_min,
        val_min_step: pairs[min_index].step,
        val_end,
        rise: rise / val_min.abs().max(f64::MIN_POSITIVE),
        train_at_min,
        train_end,
        last_step: pairs[m - 1].step,
        points_after_min,
    })
}
