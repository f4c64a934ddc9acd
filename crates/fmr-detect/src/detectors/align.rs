//! Pairs each validation point with the training level around it.

use fmr_core::MetricRole;

use crate::detector::{Curve, DetectorInput, MetricSeries};
use crate::stats::robust::median_in_place;

/// A validation value and the training level of the same stretch of training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub step: i64,
    pub val: f64,
    pub train: f64,
}

/// The primary training and validation loss series of a run, if both exist.
pub fn loss_pair<'s, 'a>(
    input: &'s DetectorInput<'a>,
) -> Option<(&'s MetricSeries<'a>, &'s MetricSeries<'a>)> {
    Some((
        input.primary(MetricRole::TrainLoss)?,
        input.primary(MetricRole::ValLoss)?,
    ))
}

/// For each finite validation point, the median training value logged since the previous
/// validation point (up to and including its step): the training loss of that epoch. When no
/// training point falls in that stretch, the last training point before it stands in; a
/// validation point before any training point is skipped. O(train + val).
pub fn align(train: &Curve, val: &Curve) -> Vec<Pair> {
    let mut pairs = Vec::with_capacity(val.len());
    let mut next = 0;
    let mut window = Vec::new();
    for (&step, &val_value) in val.steps.iter().zip(&val.values) {
        window.clear();
        while next < train.len() && train.steps[next] <= step {
            window.push(train.values[next]);
            next += 1;
        }
        let level =
            median_in_place(&mut window).or_else(|| next.checked_sub(1).map(|i| train.values[i]));
        if let Some(train_value) = level {
            pairs.push(Pair {
                step,
                val: val_value,
                train: train_value,
            });
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(i64, f64)]) -> Curve {
        Curve {
            steps: points.iter().map(|p| p.0).collect(),
            values: points.iter().map(|p| p.1).collect(),
        }
    }

    #[test]
    fn validation_points_get_the_median_of_their_epoch() {
        let train = curve(&[(1, 5.0), (2, 4.0), (3, 3.0), (4, 2.0), (5, 1.0), (6, 0.5)]);
        let val = curve(&[(3, 3.5), (6, 1.5), (9, 1.4)]);
        let pairs = align(&train, &val);
        assert_eq!(
            pairs,
            vec![
                Pair {
                    step: 3,
                    val: 3.5,
                    train: 4.0
                },
                Pair {
                    step: 6,
                    val: 1.5,
                    train: 1.0
                },
                Pair {
                    step: 9,
                    val: 1.4,
                    train: 0.5
                },
            ]
        );
    }

    #[test]
    fn validation_before_training_is_skipped() {
        let pairs = align(&curve(&[(10, 1.0)]), &curve(&[(0, 2.0), (10, 0.9)]));
        assert_eq!(
            pairs,
            vec![Pair {
                step: 10,
                val: 0.9,
                train: 1.0
            }]
        );
        assert!(align(&Curve::default(), &curve(&[(0, 1.0)])).is_empty());
    }
}
