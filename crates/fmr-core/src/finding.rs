use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Source;

/// A brief for a code auditor: which hypothesis, where to look, what to look for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delegation {
    /// `silent_bug_detector`, `data_flow_tracer`, `jax_logic_auditor` or `paper_alignment_auditor`.
    pub auditor: String,
    /// The hypothesis id this delegation tests.
    pub hypothesis: String,
    /// `file:line` of the code to read first, when the code index found it.
    pub location: Option<String>,
    pub look_for: String,
    /// The audit rule codes to run.
    pub rules: Vec<String>,
    /// How many findings came back.
    pub findings: usize,
}

/// What an auditor found in the user's code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditFinding {
    /// Stable rule code, e.g. `PT001`.
    pub rule: String,
    pub name: String,
    pub auditor: String,
    pub file: String,
    /// 1-based line and column.
    pub line: usize,
    pub column: usize,
    /// The offending source line(s).
    pub snippet: String,
    pub message: String,
    /// 0..1.
    pub confidence: f64,
}

/// One source read in the context of this investigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub hypothesis: String,
    pub source: Source,
    /// What the problem was in the source's context.
    pub problem: String,
    /// Why it happened.
    pub why: String,
    /// How it was fixed.
    pub fix: String,
    /// How well it applies here, and what must be adapted.
    pub applicability: String,
}

/// What the findings say together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Synthesis {
    pub consensus: Vec<Consensus>,
    pub contradictions: Vec<Contradiction>,
    pub combinations: Vec<Combination>,
}

/// A fix that independent sources agree on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Consensus {
    pub statement: String,
    pub hypotheses: Vec<String>,
    pub sources: Vec<String>,
}

/// Two recommendations that pull in opposite directions, and when each applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Contradiction {
    pub statement: String,
    pub tradeoff: String,
    pub hypotheses: Vec<String>,
}

/// An idea that joins fixes from different sources or fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Combination {
    pub statement: String,
    pub hypotheses: Vec<String>,
}
