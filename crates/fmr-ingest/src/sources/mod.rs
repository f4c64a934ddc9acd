//! One module per log format; see [`crate::registry::SOURCES`] for the order.

pub(crate) mod config;
pub(crate) mod csv;
pub(crate) mod hf_trainer_state;
pub(crate) mod jsonl;
pub(crate) mod mlflow;
pub(crate) mod text;
pub(crate) mod tfevents;
pub(crate) mod wandb;
