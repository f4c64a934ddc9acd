//! One file per rule, grouped by framework: `torch/` (PT), `python/` (PY), `jax/` (JX).

pub mod jax;
pub mod python;
pub mod torch;
