//! Every detector, sorted by code.

use crate::detector::Detector;
use crate::detectors::{
    chance_level::ChanceLevel, divergence::Divergence, entropy_collapse::EntropyCollapse,
    grad_explosion::GradExplosion, loss_scale_collapse::LossScaleCollapse, lr_anomaly::LrAnomaly,
    non_finite::NonFinite, oscillation::Oscillation, plateau::Plateau, spike::Spike,
    train_val_gap::TrainValGap, val_better_than_train::ValBetterThanTrain,
};

/// The detectors [`crate::detect`] runs, sorted by code (a test keeps it so). S106 is reserved.
pub static DETECTORS: &[&dyn Detector] = &[
    &NonFinite,
    &Divergence,
    &Spike,
    &Oscillation,
    &Plateau,
    &TrainValGap,
    &ChanceLevel,
    &ValBetterThanTrain,
    &GradExplosion,
    &LossScaleCollapse,
    &EntropyCollapse,
    &LrAnomaly,
];

/// The detector with `code`, if any.
pub fn detector(code: &str) -> Option<&'static dyn Detector> {
    DETECTORS.iter().copied().find(|d| d.code() == code)
}
