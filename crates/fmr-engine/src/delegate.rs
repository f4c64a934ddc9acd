//! Stage 5: briefs for the code auditors — the hypothesis, where to look, what
//! to look for — and running them.

use fmr_core::{AuditFinding, Delegation, Hypothesis, HypothesisStatus};
use fmr_kb::KnowledgeBase;

/// How many leading hypotheses get a delegation.
const DELEGATED: usize = 6;

pub fn audit_snippet(name: &str, text: &str) -> Vec<AuditFinding> {
    fmr_audit::audit_source(name, text, fmr_audit::RULES)
}

/// One delegation per (leading hypothesis, auditor) with the rules it should run.
pub fn delegations(
    hypotheses: &[Hypothesis],
    kb: &KnowledgeBase,
    index: Option<&fmr_audit::CodeIndex>,
    findings: &[AuditFinding],
) -> Vec<Delegation> {
    let mut out: Vec<Delegation> = Vec::new();
    for h in hypotheses
        .iter()
        .filter(|h| h.status != HypothesisStatus::Eliminated)
        .take(DELEGATED)
    {
        let Some(entry) = kb.get(&h.id) else { continue };
        let mut by_auditor: Vec<(String, Vec<&'static dyn fmr_audit::AuditRule>)> = Vec::new();
        for code in &entry.audit_rules {
            let Some(rule) = fmr_audit::rule(code) else {
                continue;
            };
            let auditor = rule.auditor().as_str().to_string();
            match by_auditor.iter_mut().find(|(a, _)| *a == auditor) {
                Some((_, rules)) => rules.push(rule),
                None => by_auditor.push((auditor, vec![rule])),
            }
        }
        for (auditor, rules) in by_auditor {
            let codes: Vec<String> = rules.iter().map(|r| r.code().to_string()).collect();
            let location = index.and_then(|ix| {
                let places = match code_site(&codes) {
                    Site::Loss => &ix.loss_calls,
                    Site::Loader => &ix.data_loaders,
                    Site::Optimizer => &ix.optimizers,
                    Site::TrainingLoop => &ix.training_loops,
                };
                places.first().or(ix.training_loops.first()).cloned()
            });
            let look_for = format!(
                "{} — rules {}: {}",
                h.root_cause.trim_end_matches('.'),
                codes.join(", "),
                rules
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let count = findings.iter().filter(|f| codes.contains(&f.rule)).count();
            out.push(Delegation {
                auditor,
                hypothesis: h.id.clone(),
                location,
                look_for,
                rules: codes,
                findings: count,
            });
        }
    }
    out
}

/// Where in the code an audit rule's bug usually lives.
enum Site {
    Loss,
    Loader,
    Optimizer,
    TrainingLoop,
}

/// The place to read first for a set of rules: loss construction, data loading,
/// optimizer set-up, or (by default) the training loop.
fn code_site(codes: &[String]) -> Site {
    const LOSS: &[&str] = &[
        "PT002", "PT003", "PY001", "PT013", "PT018", "PT030", "KR002", "HF001",
    ];
    const LOADER: &[&str] = &[
        "PT007", "PT015", "PT023", "PT025", "PT032", "PT033", "KR003", "KR004",
    ];
    const OPTIMIZER: &[&str] = &["PT020", "PT021", "PT022", "JX006"];
    let any = |set: &[&str]| codes.iter().any(|c| set.contains(&c.as_str()));
    if any(LOSS) {
        Site::Loss
    } else if any(LOADER) {
        Site::Loader
    } else if any(OPTIMIZER) {
        Site::Optimizer
    } else {
        Site::TrainingLoop
    }
}
