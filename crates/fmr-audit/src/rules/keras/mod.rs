//! Keras rules (`KR`).

mod class_mode_loss_mismatch;
mod loss_activation_mismatch;
mod softmax_single_unit;
mod validation_split_unshuffled;

pub use class_mode_loss_mismatch::ClassModeLossMismatch;
pub use loss_activation_mismatch::LossActivationMismatch;
pub use softmax_single_unit::SoftmaxSingleUnit;
pub use validation_split_unshuffled::ValidationSplitUnshuffled;
