//! Facts about training code that several rules share.

pub mod flow;
pub mod imports;
pub mod jax;
pub mod training;
