use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{MetricRole, SymptomKind};

/// A machine-detected or user-described symptom, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Symptom {
    /// The stable code of what produced it: a detector (`S101`), or `U…` for a
    /// symptom parsed from the user's words, `E…` for a log event.
    pub code: String,
    pub kind: SymptomKind,
    /// The run it was seen in, if any.
    pub run: Option<String>,
    /// The metric tag, as the run named it.
    pub metric: Option<String>,
    pub role: Option<MetricRole>,
    pub window: Option<StepWindow>,
    /// Named numbers that support the statement (e.g. `first_step`, `from`, `to`).
    pub numbers: BTreeMap<String, f64>,
    /// One sentence with the numbers, e.g. "train/loss is NaN from step 2,140".
    pub statement: String,
    pub origin: Origin,
    /// How sure the producer is, 0..1.
    pub confidence: f64,
}

/// Where a symptom came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Detector,
    UserText,
    LogEvent,
}

/// An inclusive range of training steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StepWindow {
    pub start: i64,
    pub end: i64,
}
