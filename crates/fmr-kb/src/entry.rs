//! The schema of one knowledge-base entry (see kb/README.md for the field guide).

use fmr_core::{Effort, MetricRole, Source, SourceKind, SymptomKind};
use serde::Deserialize;

/// A failure mode as the knowledge base describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub domains: Vec<String>,
    pub aliases: Vec<String>,
    /// What practitioners observed and reported before they knew the cause
    /// ("samples look like noise and stay within -1 and 1"): the symptom side of
    /// the cited threads, which reports share with each other more than they
    /// share the mechanism's vocabulary. Matched like aliases.
    #[serde(default)]
    pub presentations: Vec<String>,
    pub summary: String,
    #[serde(default)]
    pub frameworks: Vec<String>,
    pub techniques: Vec<String>,
    pub phenomena: Vec<String>,
    pub base_rate: f64,
    pub signatures: Vec<Signature>,
    pub causes: Vec<String>,
    pub diagnostics: Vec<String>,
    #[serde(default)]
    pub lookalikes: Vec<String>,
    pub fixes: Vec<Fix>,
    #[serde(default)]
    pub audit_rules: Vec<String>,
    #[serde(default)]
    pub analogies: Vec<Analogy>,
    pub sources: Vec<EntrySource>,
}

/// A symptom pattern that points at the failure mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub kind: String,
    pub metric: String,
    pub condition: String,
    pub weight: f64,
}

impl Entry {
    /// The practitioner phrasings a report is matched against, besides the
    /// title: the aliases, then the presentations.
    pub fn phrasings(&self) -> impl Iterator<Item = &String> {
        self.aliases.iter().chain(&self.presentations)
    }
}

impl Signature {
    pub fn symptom_kind(&self) -> Option<SymptomKind> {
        SymptomKind::parse(&self.kind)
    }

    pub fn metric_role(&self) -> Option<MetricRole> {
        MetricRole::parse(&self.metric)
    }
}

/// How to fix it, when, and at what cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    pub action: String,
    pub why: String,
    pub condition: String,
    pub effort: String,
    /// A canonical hyperparameter this fix changes, for steps with the user's numbers.
    pub param: Option<String>,
    pub op: Option<String>,
    pub value: Option<f64>,
}

impl Fix {
    pub fn effort(&self) -> Effort {
        Effort::parse(&self.effort).unwrap_or(Effort::Medium)
    }

    pub fn adjustment(&self) -> Option<Adjustment> {
        let param = self.param.clone()?;
        let op = match (self.op.as_deref()?, self.value) {
            ("multiply", Some(v)) => AdjustOp::Multiply(v),
            ("set", Some(v)) => AdjustOp::Set(v),
            ("enable", _) => AdjustOp::Enable,
            ("disable", _) => AdjustOp::Disable,
            _ => return None,
        };
        Some(Adjustment { param, op })
    }
}

/// A machine-readable hyperparameter change.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    pub param: String,
    pub op: AdjustOp,
}

impl Adjustment {
    /// +1 when the fix raises or enables the parameter, -1 when it lowers or
    /// disables it, 0 when it sets a value (direction unknown without the current one).
    pub fn direction(&self) -> i8 {
        match self.op {
            AdjustOp::Multiply(f) if f < 1.0 => -1,
            AdjustOp::Multiply(f) if f > 1.0 => 1,
            AdjustOp::Enable => 1,
            AdjustOp::Disable => -1,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AdjustOp {
    Multiply(f64),
    Set(f64),
    Enable,
    Disable,
}

/// A cross-domain edge of the analogy graph.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analogy {
    pub id: String,
    pub note: String,
}

/// A checked source as written in the entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntrySource {
    pub kind: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub url: String,
    pub title: String,
    pub year: i32,
    pub claim: String,
}

impl EntrySource {
    pub fn to_source(&self) -> Source {
        Source {
            kind: SourceKind::parse(&self.kind).unwrap_or(SourceKind::Docs),
            id: self.reference.clone(),
            url: self.url.clone(),
            title: self.title.clone(),
            year: Some(self.year),
            claim: self.claim.clone(),
        }
    }
}
