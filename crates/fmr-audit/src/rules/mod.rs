//! Every audit rule, one file each, grouped by framework.

pub mod hf;
pub mod jax;
pub mod keras;
pub mod lightning;
pub mod python;
pub mod torch;
