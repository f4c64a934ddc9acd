//! Facts about training code that several rules share.

pub mod flow;
pub mod imports;
pub mod jax;
pub mod keras;
pub mod losses;
pub mod names;
pub mod optimizers;
pub mod preprocessing;
pub mod training;
