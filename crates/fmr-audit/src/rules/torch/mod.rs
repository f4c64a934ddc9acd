//! PyTorch rules (`PT`).

mod clip_after_step;
mod ddp_module_bypass;
mod eval_mode_never_restored;
mod fp16_autocast_without_grad_scaler;
mod grad_accumulation_loss_not_divided;
mod missing_zero_grad;
mod model_half_training;
mod sigmoid_into_bce;
mod softmax_before_cross_entropy;
mod step_before_backward;
mod train_loader_without_shuffle;

pub use clip_after_step::ClipAfterStep;
pub use ddp_module_bypass::DdpModuleBypass;
pub use eval_mode_never_restored::EvalModeNeverRestored;
pub use fp16_autocast_without_grad_scaler::Fp16AutocastWithoutGradScaler;
pub use grad_accumulation_loss_not_divided::GradAccumulationLossNotDivided;
pub use missing_zero_grad::MissingZeroGrad;
pub use model_half_training::ModelHalfTraining;
pub use sigmoid_into_bce::SigmoidIntoBce;
pub use softmax_before_cross_entropy::SoftmaxBeforeCrossEntropy;
pub use step_before_backward::StepBeforeBackward;
pub use train_loader_without_shuffle::TrainLoaderWithoutShuffle;
