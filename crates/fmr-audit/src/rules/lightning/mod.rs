//! PyTorch Lightning rules (`PL`).

mod manual_optimization_without_zero_grad;
mod training_step_returns_none;

pub use manual_optimization_without_zero_grad::ManualOptimizationWithoutZeroGrad;
pub use training_step_returns_none::TrainingStepReturnsNone;
