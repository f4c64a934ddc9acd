use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{AuditFinding, Delegation, Finding, Hypothesis, Step, Symptom, Synthesis};

/// Version of the JSON report. Fields may be added in minor versions; a field is
/// never renamed or removed without a major bump.
pub const REPORT_SCHEMA_VERSION: &str = "1.1.0";

/// The whole investigation, as `fmr investigate --format json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub schema_version: String,
    pub tool: ToolInfo,
    /// The runs that were read.
    pub inputs: Vec<RunSummary>,
    /// Inputs that could not be read, each with the reason.
    pub problems: Vec<InputProblem>,
    pub characterization: Characterization,
    pub queries: Vec<Query>,
    /// Ranked, best first.
    pub hypotheses: Vec<Hypothesis>,
    pub delegations: Vec<Delegation>,
    pub audit_findings: Vec<AuditFinding>,
    pub findings: Vec<Finding>,
    pub synthesis: Synthesis,
    /// Ranked, best first.
    pub next_steps: Vec<Step>,
    /// Live literature search (`--online`/`--offline`); absent when only the
    /// embedded knowledge base was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub research: Option<Research>,
}

/// What the live sources returned, kept apart from the knowledge base so a reader
/// sees which conclusions rest on which.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Research {
    /// `online` (network and cache) or `offline` (cache only).
    pub mode: String,
    pub sources: Vec<ResearchSourceStats>,
    pub hits: Vec<LiveSource>,
    pub warnings: Vec<String>,
}

/// Per live source: how many queries, hits, errors and cache hits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResearchSourceStats {
    pub source: String,
    pub queries: usize,
    pub hits: usize,
    pub errors: usize,
    pub cache_hits: usize,
    pub messages: Vec<String>,
}

/// One live result: the source, the query that found it, and the hypotheses it bears on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LiveSource {
    pub level: u8,
    pub query: String,
    /// The connector that found it (`arxiv`, `github`, ...).
    pub connector: String,
    pub source: Source,
    /// Hypothesis ids this result supports (matching reference or vocabulary).
    pub supports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunSummary {
    pub name: String,
    pub path: String,
    pub formats: Vec<String>,
    pub series: usize,
    pub points: usize,
    pub events: usize,
}

/// An input that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InputProblem {
    pub path: String,
    pub problem: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// The five things a researcher asks first, plus what is still unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Characterization {
    pub symptoms: Vec<Symptom>,
    pub expected: Option<String>,
    pub onset: Option<Onset>,
    /// What changed since the last good run or commit.
    pub changes: Vec<String>,
    pub tried: Vec<Tried>,
    pub environment: Environment,
    pub gaps: Vec<Gap>,
    /// Where the user's words and the logs disagree, one sentence each.
    #[serde(default)]
    pub conflicts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Onset {
    pub step: i64,
    pub metric: Option<String>,
    pub statement: String,
}

/// A fix the user already tried, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tried {
    pub text: String,
    pub outcome: TriedOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriedOutcome {
    Failed,
    Helped,
    Partial,
    Unknown,
}

/// Framework, hardware, scale and the hyperparameters in use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Environment {
    pub framework: Option<String>,
    pub versions: BTreeMap<String, String>,
    pub hardware: Option<String>,
    /// `fp32`, `fp16`, `bf16`, `mixed_fp16`, ...
    pub precision: Option<String>,
    pub model: Option<String>,
    pub model_size: Option<String>,
    pub dataset_size: Option<String>,
    pub distributed: Option<String>,
    /// Canonical names (see kb/README.md) mapped to values.
    pub hyperparameters: BTreeMap<String, serde_json::Value>,
    /// Where a hyperparameter's value was read in the user's code or config
    /// (`train.py:14`), when it came from there; steps that change it point here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hyperparameter_sources: BTreeMap<String, String>,
}

/// Something still unknown, and the question that would settle it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gap {
    pub field: String,
    pub question: String,
}

/// One search query and the level it was made at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Query {
    /// 1 exact, 2 technique, 3 phenomenon, 4 cross-domain analogy.
    pub level: u8,
    pub text: String,
    /// Why this query was made.
    pub rationale: String,
    /// Knowledge-base ids it returned, best first.
    pub hits: Vec<String>,
}

/// A real, checked source: a paper, an issue thread, a forum answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    pub kind: SourceKind,
    /// arXiv id, DOI, `owner/repo#N`, or a short id.
    pub id: String,
    pub url: String,
    pub title: String,
    pub year: Option<i32>,
    /// What it supports, in fmr's words.
    pub claim: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Paper,
    GithubIssue,
    Forum,
    Stackoverflow,
    Blog,
    Docs,
    Book,
    Workshop,
}

impl SourceKind {
    pub const ALL: &'static [SourceKind] = &[
        Self::Paper,
        Self::GithubIssue,
        Self::Forum,
        Self::Stackoverflow,
        Self::Blog,
        Self::Docs,
        Self::Book,
        Self::Workshop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::GithubIssue => "github_issue",
            Self::Forum => "forum",
            Self::Stackoverflow => "stackoverflow",
            Self::Blog => "blog",
            Self::Docs => "docs",
            Self::Book => "book",
            Self::Workshop => "workshop",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == text)
    }

    /// Issues, forums and Q&A threads say what actually worked.
    pub fn is_practical(self) -> bool {
        matches!(
            self,
            Self::GithubIssue | Self::Forum | Self::Stackoverflow | Self::Blog
        )
    }
}
