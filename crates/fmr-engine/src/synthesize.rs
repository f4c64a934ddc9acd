//! Stage 6: each source read in this investigation's context, then what the
//! sources say together: consensus, contradictions, combinations.

use std::collections::BTreeMap;

use fmr_core::{
    Characterization, Combination, Consensus, Contradiction, Finding, Hypothesis, HypothesisStatus,
    Synthesis,
};
use fmr_kb::KnowledgeBase;

const HYPOTHESES_READ: usize = 4;
const SOURCES_PER_HYPOTHESIS: usize = 2;

pub fn findings(
    c: &Characterization,
    hypotheses: &[Hypothesis],
    kb: &KnowledgeBase,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for h in leading(hypotheses) {
        let Some(entry) = kb.get(&h.id) else { continue };
        for source in h.sources.iter().take(SOURCES_PER_HYPOTHESIS) {
            out.push(Finding {
                hypothesis: h.id.clone(),
                source: source.clone(),
                problem: source.claim.clone(),
                why: entry.causes.first().cloned().unwrap_or_default(),
                fix: entry
                    .fixes
                    .first()
                    .map(|f| f.action.clone())
                    .unwrap_or_default(),
                applicability: applicability(entry, c),
            });
        }
    }
    out
}

fn leading(hypotheses: &[Hypothesis]) -> impl Iterator<Item = &Hypothesis> {
    hypotheses
        .iter()
        .filter(|h| h.status != HypothesisStatus::Eliminated)
        .take(HYPOTHESES_READ)
}

/// How well an entry's setting matches this run, and what must be adapted.
fn applicability(entry: &fmr_kb::Entry, c: &Characterization) -> String {
    let env = &c.environment;
    let mut same = Vec::new();
    let mut differs = Vec::new();
    if let Some(fw) = env.framework.as_deref() {
        if entry.frameworks.is_empty() {
            same.push("framework-neutral".to_string());
        } else if entry.frameworks.iter().any(|f| f.eq_ignore_ascii_case(fw)) {
            same.push(format!("same framework ({fw})"));
        } else {
            differs.push(format!(
                "reported for {}, you use {fw}: translate the API calls",
                entry.frameworks.join("/")
            ));
        }
    }
    if let Some(p) = env.precision.as_deref() {
        let vocab = entry.techniques.join(" ").to_lowercase();
        if vocab.contains(p.trim_start_matches("mixed_")) {
            same.push(format!("same precision ({p})"));
        }
    }
    let matched: Vec<&str> = entry
        .signatures
        .iter()
        .filter(|s| {
            c.symptoms
                .iter()
                .any(|sym| Some(sym.kind) == s.symptom_kind())
        })
        .map(|s| s.kind.as_str())
        .collect();
    if !matched.is_empty() {
        same.push(format!("same symptoms ({})", matched.join(", ")));
    }
    let mut text = if same.is_empty() {
        "applies by analogy; check the conditions of each fix".to_string()
    } else {
        same.join("; ")
    };
    if !differs.is_empty() {
        text.push_str(&format!("; adapt: {}", differs.join("; ")));
    }
    text
}

pub fn synthesize(hypotheses: &[Hypothesis], kb: &KnowledgeBase) -> Synthesis {
    let lead: Vec<&Hypothesis> = leading(hypotheses).collect();
    let mut by_param: BTreeMap<String, Vec<ParamUse>> = BTreeMap::new();
    for h in &lead {
        let Some(entry) = kb.get(&h.id) else { continue };
        for fix in &entry.fixes {
            let Some(adj) = fix.adjustment() else {
                continue;
            };
            let direction = adj.direction();
            by_param
                .entry(adj.param.clone())
                .or_default()
                .push(ParamUse {
                    hypothesis: h.id.clone(),
                    direction,
                    source: entry.sources.first().map(|s| s.reference.clone()),
                });
        }
    }
    let mut synthesis = Synthesis::default();
    for (param, uses) in &by_param {
        let mut hyps: Vec<String> = uses.iter().map(|u| u.hypothesis.clone()).collect();
        hyps.dedup();
        if hyps.len() < 2 {
            continue;
        }
        let up: Vec<&String> = uses
            .iter()
            .filter(|u| u.direction > 0)
            .map(|u| &u.hypothesis)
            .collect();
        let down: Vec<&String> = uses
            .iter()
            .filter(|u| u.direction < 0)
            .map(|u| &u.hypothesis)
            .collect();
        let label = param.replace('_', " ");
        if !up.is_empty() && !down.is_empty() {
            synthesis.contradictions.push(Contradiction {
                statement: format!(
                    "{} say raise {label}, {} say lower it",
                    join_ids(&up),
                    join_ids(&down)
                ),
                tradeoff: format!(
                    "only one direction can be right for this run: look at which symptom came first (instability points to lowering {label}, a stall to raising it) and change {label} in one direction, one step at a time"
                ),
                hypotheses: hyps,
            });
        } else {
            let sources: Vec<String> = uses.iter().filter_map(|u| u.source.clone()).collect();
            let dir = if !up.is_empty() {
                "raise"
            } else if !down.is_empty() {
                "lower"
            } else {
                "change"
            };
            synthesis.consensus.push(Consensus {
                statement: format!(
                    "independent explanations ({}) agree: {dir} {label}",
                    hyps.join(", ")
                ),
                hypotheses: hyps,
                sources,
            });
        }
    }
    // Combinations: join the leading fix with one from a hypothesis of another domain.
    if let Some(first) = lead.first()
        && let Some(first_entry) = kb.get(&first.id)
    {
        for other in lead.iter().skip(1) {
            let Some(other_entry) = kb.get(&other.id) else {
                continue;
            };
            if other_entry.domains.first() == first_entry.domains.first() {
                continue;
            }
            if let (Some(a), Some(b)) = (first_entry.fixes.first(), other_entry.fixes.first()) {
                synthesis.combinations.push(Combination {
                    statement: format!(
                        "combine \"{}\" ({}, {}) with \"{}\" ({}, {}): they act on different mechanisms, so each can be kept if it helps",
                        a.action.trim_end_matches('.'),
                        first.id,
                        first_entry.domains.first().map(String::as_str).unwrap_or(""),
                        b.action.trim_end_matches('.'),
                        other.id,
                        other_entry.domains.first().map(String::as_str).unwrap_or("")
                    ),
                    hypotheses: vec![first.id.clone(), other.id.clone()],
                });
                break;
            }
        }
    }
    synthesis
}

/// One leading hypothesis whose fix moves a hyperparameter.
struct ParamUse {
    hypothesis: String,
    /// +1 raise, -1 lower, 0 set to a value.
    direction: i8,
    source: Option<String>,
}

fn join_ids(ids: &[&String]) -> String {
    let mut v: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
    v.dedup();
    v.join(", ")
}
