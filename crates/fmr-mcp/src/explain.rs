//! A knowledge-base entry in full, as structured output. `fmr_kb::Entry` is the
//! file schema (deserialize only); this is its published, serializable view,
//! with the links (look-alikes, analogies, audit rules) resolved to titles.

use fmr_core::Source;
use fmr_kb::{Entry, KnowledgeBase};
use rmcp::schemars::{self, JsonSchema};
use serde::Serialize;

/// A failure mode as the knowledge base describes it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FailureMode {
    /// The stable id, e.g. `FM0001`.
    pub id: String,
    pub title: String,
    /// Fields it occurs in, e.g. `numerics`, `reinforcement_learning`.
    pub domains: Vec<String>,
    /// Other names practitioners use for it.
    pub aliases: Vec<String>,
    pub summary: String,
    pub frameworks: Vec<String>,
    pub techniques: Vec<String>,
    /// The underlying phenomena, used by the cross-domain searches.
    pub phenomena: Vec<String>,
    /// How often it is the cause when its symptoms show, 0..1 (a prior).
    pub base_rate: f64,
    /// Symptom patterns that point to it.
    pub signatures: Vec<Signature>,
    /// Root causes, most common first.
    pub causes: Vec<String>,
    /// Checks that tell it apart from its look-alikes.
    pub diagnostics: Vec<String>,
    /// Failure modes with similar symptoms.
    pub lookalikes: Vec<Link>,
    /// Fixes, best first.
    pub fixes: Vec<Fix>,
    /// Audit rules that can confirm it in code.
    pub audit_rules: Vec<Rule>,
    /// The same pattern in other fields (both directions of each edge).
    pub analogies: Vec<Analogy>,
    /// Checked sources: papers, issue threads, forum answers.
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Signature {
    /// A symptom kind, e.g. `non_finite`, `oscillation`.
    pub kind: String,
    /// A metric role, e.g. `train_loss`, `grad_norm`.
    pub metric: String,
    pub condition: String,
    /// How strongly it points here, 0..1.
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Fix {
    pub action: String,
    pub why: String,
    /// When it applies.
    pub condition: String,
    /// `low`, `medium` or `high`.
    pub effort: String,
    /// The hyperparameter it changes, if any, and how (`multiply`, `set`, `enable`, `disable`).
    pub param: Option<String>,
    pub op: Option<String>,
    pub value: Option<f64>,
}

/// Another entry, by id and title.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Link {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Analogy {
    pub id: String,
    pub title: String,
    /// What the two have in common.
    pub note: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Rule {
    pub code: String,
    pub name: String,
    pub auditor: String,
}

impl FailureMode {
    pub(crate) fn from_entry(entry: &Entry, kb: &KnowledgeBase) -> Self {
        let title_of = |id: &str| kb.get(id).map(|e| e.title.clone()).unwrap_or_default();
        Self {
            id: entry.id.clone(),
            title: entry.title.clone(),
            domains: entry.domains.clone(),
            aliases: entry.aliases.clone(),
            summary: entry.summary.trim().to_string(),
            frameworks: entry.frameworks.clone(),
            techniques: entry.techniques.clone(),
            phenomena: entry.phenomena.clone(),
            base_rate: entry.base_rate,
            signatures: entry
                .signatures
                .iter()
                .map(|s| Signature {
                    kind: s.kind.clone(),
                    metric: s.metric.clone(),
                    condition: s.condition.clone(),
                    weight: s.weight,
                })
                .collect(),
            causes: entry.causes.clone(),
            diagnostics: entry.diagnostics.clone(),
            lookalikes: entry
                .lookalikes
                .iter()
                .map(|id| Link {
                    id: id.clone(),
                    title: title_of(id),
                })
                .collect(),
            fixes: entry
                .fixes
                .iter()
                .map(|f| Fix {
                    action: f.action.clone(),
                    why: f.why.clone(),
                    condition: f.condition.clone(),
                    effort: f.effort.clone(),
                    param: f.param.clone(),
                    op: f.op.clone(),
                    value: f.value,
                })
                .collect(),
            audit_rules: entry
                .audit_rules
                .iter()
                .map(|code| match fmr_audit::rule(code) {
                    Some(rule) => Rule {
                        code: code.clone(),
                        name: rule.name().to_string(),
                        auditor: rule.auditor().as_str().to_string(),
                    },
                    None => Rule {
                        code: code.clone(),
                        name: String::new(),
                        auditor: String::new(),
                    },
                })
                .collect(),
            analogies: kb
                .analogies_of(&entry.id)
                .into_iter()
                .map(|(other, note)| Analogy {
                    id: other.id.clone(),
                    title: other.title.clone(),
                    note: note.to_string(),
                })
                .collect(),
            sources: entry.sources.iter().map(|s| s.to_source()).collect(),
        }
    }
}

/// Canonical form of an id as agents may type it: `fm1`, `FM0001`, ` fm0001 `.
pub(crate) fn normalize_id(text: &str) -> Option<String> {
    let text = text.trim();
    let digits = text
        .strip_prefix("FM")
        .or_else(|| text.strip_prefix("fm"))
        .or_else(|| text.strip_prefix("Fm"))
        .or_else(|| text.strip_prefix("fM"))?;
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u32 = digits.parse().ok()?;
    Some(format!("FM{number:04}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_normalized() {
        assert_eq!(normalize_id(" fm1 ").as_deref(), Some("FM0001"));
        assert_eq!(normalize_id("FM0042").as_deref(), Some("FM0042"));
        assert_eq!(normalize_id("FM"), None);
        assert_eq!(normalize_id("FM12a"), None);
        assert_eq!(normalize_id("fp16 overflow"), None);
    }
}
