use fmr_core::{Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, SymptomDraft};
use crate::detectors::align::{align, loss_pair};
use crate::human;
use crate::stats::robust::median;

/// ## What it detects
/// A validation loss that stays clearly below the training loss for the whole run.
///
/// ## Why it matters
/// A model should not do better on data it never trained on. Some gap in that direction is
/// expected early on (the training loss of an epoch averages weights that were still worse)
/// and with heavy dropout, augmentation or label smoothing applied only in training. A large
/// gap that persists to the end points at evaluation-time differences: the model evaluated in
/// train mode or not, batch-norm statistics, a validation set that overlaps the training set or
/// is easier, or a loss computed differently in the two loops.
///
/// ## Signature
/// At 80% or more of the validation points, and at the last one, the validation loss is at
/// least 20% below the training loss of the same stretch (paired as in S107).
///
/// ## Evidence reported
/// `pairs`, `below` (pairs with validation ≥ 20% lower), `median_ratio` (validation over
/// training), `val_end`, `train_end`.
///
/// ## Parameters
/// At least 5 pairs; ratio ≤ 0.8 counts as clearly below; 80% of the pairs. Positive losses
/// only.
///
/// ## Likely causes
/// FM0020, FM0016, FM0021, FM0022, FM0027
pub struct ValBetterThanTrain;

const MIN_PAIRS: usize = 5;
const CLEARLY_BELOW: f64 = 0.8;
const MIN_SHARE: f64 = 0.8;

impl Detector for ValBetterThanTrain {
    fn code(&self) -> &'static str {
        "S109"
    }

    fn name(&self) -> &'static str {
        "val_better_than_train"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let Some((train, val)) = loss_pair(input) else {
            return Vec::new();
        };
        let pairs = align(&train.finite, &val.finite);
        let (Some(first), Some(last)) = (pairs.first(), pairs.last()) else {
            return Vec::new();
        };
        if pairs.len() < MIN_PAIRS || pairs.iter().any(|p| p.train <= 0.0 || p.val < 0.0) {
            return Vec::new();
        }
        let ratios: Vec<f64> = pairs.iter().map(|p| p.val / p.train).collect();
        let below = ratios.iter().filter(|&&r| r <= CLEARLY_BELOW).count();
        let Some(median_ratio) = median(&ratios) else {
            return Vec::new();
        };
        if (below as f64) < MIN_SHARE * pairs.len() as f64 || last.val / last.train > CLEARLY_BELOW
        {
            return Vec::new();
        }
        let statement = format!(
            "{} stays below {} at {} of {} evaluations, by {} on median ({} against {} at step {}): the model does better on held-out data than on its training data",
            val.tag,
            train.tag,
            below,
            pairs.len(),
            human::percent(1.0 - median_ratio),
            human::value(last.val),
            human::value(last.train),
            human::step(last.step)
        );
        let confidence = 0.4 + 0.5 * ((CLEARLY_BELOW - median_ratio) / 0.5).clamp(0.0, 1.0);
        vec![
            SymptomDraft::new(
                self,
                SymptomKind::ValBetterThanTrain,
                input,
                val,
                (first.step, last.step),
            )
            .number("pairs", pairs.len() as f64)
            .number("below", below as f64)
            .number("median_ratio", median_ratio)
            .number("val_end", last.val)
            .number("train_end", last.train)
            .finish(statement, confidence),
        ]
    }
}
