use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Source;

/// A candidate failure mode with its likelihood and the arithmetic behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hypothesis {
    /// The knowledge-base id (`FM0001`).
    pub id: String,
    pub title: String,
    /// Normalised over the ranked hypotheses, 0..1.
    pub likelihood: f64,
    pub status: HypothesisStatus,
    /// The most likely root cause, in one sentence.
    pub root_cause: String,
    /// The other root causes the knowledge base lists.
    pub other_causes: Vec<String>,
    /// Fixes, best first.
    pub fixes: Vec<String>,
    pub evidence: Vec<Evidence>,
    /// Each factor of the score, so the ranking can be checked by hand.
    pub score: Vec<ScoreTerm>,
    /// The query levels (1-4) whose search found it.
    pub levels: Vec<u8>,
    pub domains: Vec<String>,
    /// What would tell it apart from the hypotheses near it.
    pub distinguish: Vec<String>,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HypothesisStatus {
    Active,
    /// Its standard fix was tried and failed, or some evidence goes against it.
    Lowered,
    /// The evidence contradicts it; kept in the report with the reason.
    Eliminated,
}

/// One piece of evidence for (positive weight) or against (negative) a hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub statement: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Symptom,
    Text,
    Environment,
    Code,
    Tried,
    Search,
    BaseRate,
}

/// A named factor of a hypothesis score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScoreTerm {
    pub factor: String,
    pub value: f64,
    pub reason: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Effort {
    Low,
    Medium,
    High,
}

impl Effort {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }

    /// Relative cost used when ordering steps (quick wins first).
    pub fn cost(self) -> f64 {
        match self {
            Self::Low => 1.0,
            Self::Medium => 2.0,
            Self::High => 4.0,
        }
    }
}

/// One next step of the plan: concrete, sourced, with the condition to check first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// What to do, with the user's own values where known.
    pub action: String,
    /// Why it should work in this setting.
    pub why: String,
    /// What to check first (in the logs or code) before doing it.
    pub condition: String,
    pub sources: Vec<Source>,
    /// Likelihood that this step is the fix, 0..1.
    pub likelihood: f64,
    pub effort: Effort,
    /// How much doing it narrows down the hypotheses, 0..1.
    pub diagnostic_value: f64,
    /// The hypothesis this step tests or fixes.
    pub hypothesis: String,
}
