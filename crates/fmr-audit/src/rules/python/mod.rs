//! Framework-independent numerical rules (`PY`).

mod norm_at_zero;

pub use norm_at_zero::NormAtZero;
