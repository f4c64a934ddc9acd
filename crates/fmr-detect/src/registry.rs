//! Every detector, sorted by code.

use crate::detector::Detector;
use crate::detectors::{
    chance_level::ChanceLevel, codebook_collapse::CodebookCollapse, dead_units::DeadUnits,
    discriminator_wins::DiscriminatorWins, divergence::Divergence,
    entropy_collapse::EntropyCollapse, generator_collapse::GeneratorCollapse,
    grad_explosion::GradExplosion, kl_blowup::KlBlowup, layer_gradients::LayerGradients,
    loss_scale_collapse::LossScaleCollapse, lr_anomaly::LrAnomaly, memory_growth::MemoryGrowth,
    non_finite::NonFinite, oscillation::Oscillation, plateau::Plateau,
    reward_hacking::RewardHacking, spike::Spike, step_reset::StepReset,
    throughput_regression::ThroughputRegression, train_val_gap::TrainValGap,
    val_better_than_train::ValBetterThanTrain, value_loss_explosion::ValueLossExplosion,
    weight_collapse::WeightCollapse,
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
    &CodebookCollapse,
    &RewardHacking,
    &KlBlowup,
    &ValueLossExplosion,
    &DiscriminatorWins,
    &GeneratorCollapse,
    &DeadUnits,
    &ThroughputRegression,
    &MemoryGrowth,
    &StepReset,
    &LayerGradients,
    &WeightCollapse,
];

/// The detector with `code`, if any.
pub fn detector(code: &str) -> Option<&'static dyn Detector> {
    DETECTORS.iter().copied().find(|d| d.code() == code)
}
