//! One detector per file; shared helpers in `shape` (curve levels and wording), `align`
//! (train/validation pairing) and `config` (numbers from the run's configuration).

pub(crate) mod align;
pub(crate) mod config;
pub(crate) mod shape;

pub mod chance_level;
pub mod codebook_collapse;
pub mod dead_units;
pub mod discriminator_wins;
pub mod divergence;
pub mod entropy_collapse;
pub mod generator_collapse;
pub mod grad_explosion;
pub mod kl_blowup;
pub mod layer_gradients;
pub mod loss_scale_collapse;
pub mod lr_anomaly;
pub mod memory_growth;
pub mod non_finite;
pub mod oscillation;
pub mod plateau;
pub mod reward_hacking;
pub mod spike;
pub mod step_reset;
pub mod throughput_regression;
pub mod train_val_gap;
pub mod val_better_than_train;
pub mod value_loss_explosion;
pub mod weight_collapse;
