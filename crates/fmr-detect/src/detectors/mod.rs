//! One detector per file; shared helpers in `shape` (curve levels and wording) and `align`
//! (train/validation pairing).

pub(crate) mod align;
pub(crate) mod shape;

pub mod chance_level;
pub mod divergence;
pub mod entropy_collapse;
pub mod grad_explosion;
pub mod loss_scale_collapse;
pub mod lr_anomaly;
pub mod non_finite;
pub mod oscillation;
pub mod plateau;
pub mod spike;
pub mod train_val_gap;
pub mod val_better_than_train;
