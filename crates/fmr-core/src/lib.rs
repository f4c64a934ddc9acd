//! The vocabulary of fmr's pipeline (see DESIGN.md): every stage reads and writes
//! these plain serde types, and they appear unchanged in the JSON report.
//!
//! The crate has no behaviour beyond small helpers, so that every other crate can
//! depend on it without pulling anything heavy.

mod finding;
mod hypothesis;
mod report;
mod run;
mod symptom;
mod vocab;

pub use finding::{
    AuditFinding, Combination, Consensus, Contradiction, Delegation, Finding, Synthesis,
};
pub use hypothesis::{
    Effort, Evidence, EvidenceKind, Hypothesis, HypothesisStatus, ScoreTerm, Step,
};
pub use report::{
    Characterization, Environment, Gap, InputProblem, LiveSource, Onset, Query,
    REPORT_SCHEMA_VERSION, Report, Research, ResearchSourceStats, RunSummary, Source, SourceKind,
    ToolInfo, Tried, TriedOutcome,
};
pub use run::{Point, Run, Series, TextEvent, TextEventKind};
pub use symptom::{Origin, StepWindow, Symptom};
pub use vocab::{MetricRole, SymptomKind};
