//! Stage 7: the next steps, concrete and with the user's own numbers, ordered by
//! likelihood of being the fix, effort (quick wins first) and diagnostic value.

use fmr_core::{
    AuditFinding, Characterization, Effort, Hypothesis, HypothesisStatus, Source, Step,
};
use fmr_kb::{AdjustOp, Fix, KnowledgeBase};

/// How many hypotheses contribute steps, and how many fixes each.
const HYPOTHESES_PLANNED: usize = 5;
const FIXES_PER_HYPOTHESIS: usize = 2;
const MAX_STEPS: usize = 10;

pub fn plan(
    c: &Characterization,
    hypotheses: &[Hypothesis],
    findings: &[AuditFinding],
    kb: &KnowledgeBase,
) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let active: Vec<&Hypothesis> = hypotheses
        .iter()
        .filter(|h| h.status != HypothesisStatus::Eliminated)
        .take(HYPOTHESES_PLANNED)
        .collect();

    for h in &active {
        let Some(entry) = kb.get(&h.id) else { continue };
        // A code finding that confirms the hypothesis is the most concrete step there is.
        for f in findings
            .iter()
            .filter(|f| entry.audit_rules.contains(&f.rule))
        {
            steps.push(Step {
                action: format!("Fix {} at {}:{}: {}", f.name, f.file, f.line, f.message),
                why: format!(
                    "{} — the auditor found the pattern in your code, which {} predicts",
                    first_sentence(&entry.summary),
                    h.id
                ),
                condition: format!(
                    "confirm `{}` at {}:{} is on the path your training run takes",
                    f.snippet, f.file, f.line
                ),
                sources: practical_first(&h.sources, 2),
                likelihood: round3((h.likelihood * 1.2).min(0.95)),
                effort: Effort::Low,
                // Fixing a found bug either cures the run or rules the hypothesis out.
                diagnostic_value: 1.0,
                hypothesis: h.id.clone(),
            });
        }
        let specific = fixes_unique_to(entry.id.as_str(), &active, kb);
        for (i, fix) in entry.fixes.iter().take(FIXES_PER_HYPOTHESIS).enumerate() {
            if c.tried.iter().any(|t| {
                t.outcome == fmr_core::TriedOutcome::Failed && fix_matches_text(fix, &t.text)
            }) {
                continue;
            }
            let decay = if i == 0 { 1.0 } else { 0.6 };
            // A hyperparameter change that several hypotheses prescribe in the same
            // direction fixes any of them: its likelihood is their sum.
            let likelihood = match direction(fix) {
                Some(dir) => {
                    param_support(fix.param.as_deref().unwrap_or_default(), dir, &active, kb)
                }
                None => h.likelihood * decay,
            };
            steps.push(Step {
                action: render_action(fix, c),
                why: render_why(fix, h),
                condition: fix.condition.clone(),
                sources: practical_first(&h.sources, 2),
                likelihood: round3(likelihood.min(0.95)),
                effort: fix.effort(),
                diagnostic_value: if specific.contains(&fix.action) {
                    0.6
                } else {
                    0.3
                },
                hypothesis: h.id.clone(),
            });
        }
    }

    // A check that splits the two leading hypotheses is worth doing even if it fixes nothing.
    if let [first, second, ..] = active.as_slice()
        && let Some(check) = first.distinguish.first()
    {
        steps.push(Step {
            action: format!(
                "Check first: {}",
                check
                    .trim_start_matches("vs ")
                    .split_once(": ")
                    .map(|(_, d)| d)
                    .unwrap_or(check)
            ),
            why: format!(
                "it tells {} ({}) apart from {} ({}), the two leading explanations",
                first.id, first.title, second.id, second.title
            ),
            condition: "before changing anything, so the next run tests one explanation".into(),
            sources: practical_first(&first.sources, 1),
            likelihood: 0.0,
            effort: Effort::Low,
            diagnostic_value: 0.9,
            hypothesis: first.id.clone(),
        });
    }

    steps.sort_by(|a, b| {
        priority(b)
            .total_cmp(&priority(a))
            .then(a.action.cmp(&b.action))
    });
    dedupe(&mut steps);
    steps.truncate(MAX_STEPS);
    steps
}

/// The fix's direction on its hyperparameter; None when it changes none.
fn direction(fix: &Fix) -> Option<i8> {
    fix.adjustment().map(|adj| adj.direction())
}

/// Σ over the planned hypotheses of likelihood × (1 for its first fix, 0.6 for its
/// second, 0.4 later) when that fix moves `param` in direction `dir`.
fn param_support(param: &str, dir: i8, active: &[&Hypothesis], kb: &KnowledgeBase) -> f64 {
    active
        .iter()
        .filter_map(|h| {
            let entry = kb.get(&h.id)?;
            let order = entry
                .fixes
                .iter()
                .position(|f| f.param.as_deref() == Some(param) && direction(f) == Some(dir))?;
            Some(h.likelihood * [1.0, 0.6].get(order).copied().unwrap_or(0.4))
        })
        .sum()
}

fn priority(s: &Step) -> f64 {
    s.likelihood / s.effort.cost().sqrt() + 0.35 * s.diagnostic_value
}

fn dedupe(steps: &mut Vec<Step>) {
    let mut seen: Vec<String> = Vec::new();
    steps.retain(|s| {
        let key = s.action.to_lowercase();
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn practical_first(sources: &[Source], n: usize) -> Vec<Source> {
    sources.iter().take(n).cloned().collect()
}

fn first_sentence(text: &str) -> &str {
    let t = text.trim();
    match t.find(". ") {
        Some(i) => &t[..=i],
        None => t,
    }
}

/// Fix actions of this entry that no other planned hypothesis shares (by param).
fn fixes_unique_to(id: &str, active: &[&Hypothesis], kb: &KnowledgeBase) -> Vec<String> {
    let Some(entry) = kb.get(id) else {
        return Vec::new();
    };
    let other_params: Vec<String> = active
        .iter()
        .filter(|h| h.id != id)
        .filter_map(|h| kb.get(&h.id))
        .flat_map(|e| e.fixes.iter().filter_map(|f| f.param.clone()))
        .collect();
    entry
        .fixes
        .iter()
        .filter(|f| f.param.as_ref().is_none_or(|p| !other_params.contains(p)))
        .map(|f| f.action.clone())
        .collect()
}

/// The fix's action, made concrete with the run's own value where it is known.
pub fn render_action(fix: &Fix, c: &Characterization) -> String {
    let text = render_adjustment(fix, c);
    // Point at the line that sets the value, when it was read from the code.
    let source = fix.adjustment().and_then(|adj| {
        if matches!(adj.op, AdjustOp::Enable | AdjustOp::Disable) {
            return None;
        }
        c.environment.hyperparameter_sources.get(&adj.param)
    });
    match source {
        Some(at) => format!("{text} (set at {at})"),
        None => text,
    }
}

fn render_adjustment(fix: &Fix, c: &Characterization) -> String {
    let Some(adj) = fix.adjustment() else {
        return fix.action.clone();
    };
    let label = adj.param.replace('_', " ");
    let current = c
        .environment
        .hyperparameters
        .get(&adj.param)
        .and_then(json_number);
    let action = fix.action.trim_end_matches('.');
    match (adj.op, current) {
        (AdjustOp::Multiply(factor), Some(now)) => {
            let target = now * factor;
            let verb = if factor < 1.0 { "reduce" } else { "increase" };
            format!(
                "{action}: {verb} {label} from {} to {}",
                fmt_number(now),
                fmt_number(round_sig(target))
            )
        }
        (AdjustOp::Multiply(factor), None) => {
            format!(
                "{action}: set {label} to {}× its current value (pass --env {}=… to get the exact number)",
                fmt_number(factor),
                adj.param
            )
        }
        (AdjustOp::Set(target), Some(now))
            if (now - target).abs() > f64::EPSILON * target.abs().max(1.0) =>
        {
            format!(
                "{action}: change {label} from {} to {}",
                fmt_number(now),
                fmt_number(target)
            )
        }
        (AdjustOp::Set(target), _) => format!("{action}: set {label} to {}", fmt_number(target)),
        (AdjustOp::Enable | AdjustOp::Disable, _) => action.to_string(),
    }
}

fn render_why(fix: &Fix, h: &Hypothesis) -> String {
    let evidence = h
        .evidence
        .iter()
        .filter(|e| {
            e.weight > 0.0
                && matches!(
                    e.kind,
                    fmr_core::EvidenceKind::Symptom | fmr_core::EvidenceKind::Code
                )
        })
        .max_by(|a, b| a.weight.total_cmp(&b.weight))
        .map(|e| {
            let statement = e.statement.split(" — ").next().unwrap_or(&e.statement);
            format!("; here: {}", clip(statement, 140))
        })
        .unwrap_or_default();
    format!(
        "{} (if {} is the cause){}",
        fix.why.trim_end_matches('.'),
        h.title.to_lowercase(),
        evidence
    )
}

/// At most `max` characters, cut at a word boundary, with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let end = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", &cut[..end])
}

fn json_number(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Rounds to two significant digits, so 3e-4 × 0.3 reads 9e-5, not 8.999999e-5.
pub fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs().log10().floor();
    let scale = 10f64.powf(1.0 - magnitude);
    (x * scale).round() / scale
}

/// Compact human formatting: 0.0003 → 3e-4, 64 → 64, 0.25 → 0.25.
pub fn fmt_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if !(1e-2..1e5).contains(&a) {
        let s = format!("{:e}", round_sig(x));
        return s;
    }
    let s = format!("{:.4}", x);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Whether the user's account of something tried names this fix: its
/// hyperparameter, or most of the content words of its action.
pub fn fix_matches_text(fix: &Fix, text: &str) -> bool {
    let lower = text.to_lowercase();
    if let Some(param) = &fix.param
        && param_mentioned(param, &lower)
    {
        return true;
    }
    let words: Vec<String> = fmr_kb::query_terms(&fix.action)
        .into_iter()
        .filter(|w| w.len() > 3)
        .collect();
    if words.is_empty() {
        return false;
    }
    let said = fmr_kb::query_terms(&lower);
    let hits = words
        .iter()
        .filter(|w| said.iter().any(|s| s.starts_with(&w[..4.min(w.len())])))
        .count();
    // Three shared content words, or most of a short action.
    hits >= 3 || (hits >= 2 && hits * 2 >= words.len())
}

pub(crate) fn param_mentioned(param: &str, text: &str) -> bool {
    let spellings: &[&str] = match param {
        "learning_rate" => &["learning rate", "lr", "learning_rate"],
        "batch_size" => &["batch size", "batch_size", "batch"],
        "warmup_steps" => &["warmup", "warm-up"],
        "grad_clip" => &["clip", "clipping", "max_grad_norm"],
        "weight_decay" => &["weight decay", "weight_decay"],
        "adam_eps" => &["eps", "epsilon"],
        "ent_coef" => &["ent_coef", "entropy coef", "entropy bonus"],
        "precision" => &["bf16", "fp32", "precision"],
        "loss_scale" => &["loss scal", "gradscaler", "grad scaler"],
        "shuffle" => &["shuffl"],
        other => return text.contains(&other.replace('_', " ")) || text.contains(other),
    };
    spellings.iter().any(|s| {
        if s.len() <= 3 {
            text.split(|ch: char| !ch.is_alphanumeric() && ch != '_')
                .any(|w| w == *s)
        } else {
            text.contains(s)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_person_wrote_them() {
        assert_eq!(fmt_number(0.0003), "3e-4");
        assert_eq!(fmt_number(round_sig(0.0003 * 0.3)), "9e-5");
        assert_eq!(fmt_number(64.0), "64");
        assert_eq!(fmt_number(0.25), "0.25");
        assert_eq!(fmt_number(0.001), "1e-3");
        assert_eq!(fmt_number(1.0), "1");
    }

    fn fix(param: Option<&str>, op: Option<&str>, value: Option<f64>) -> Fix {
        Fix {
            action: "Lower the peak learning rate".into(),
            why: "smaller steps stay stable".into(),
            condition: "loss spikes or diverges".into(),
            effort: "low".into(),
            param: param.map(String::from),
            op: op.map(String::from),
            value,
        }
    }

    #[test]
    fn actions_use_the_run_s_own_values() {
        let mut c = Characterization::default();
        c.environment
            .hyperparameters
            .insert("learning_rate".into(), serde_json::json!(0.0003));
        let f = fix(Some("learning_rate"), Some("multiply"), Some(1.0 / 3.0));
        assert_eq!(
            render_action(&f, &c),
            "Lower the peak learning rate: reduce learning rate from 3e-4 to 1e-4"
        );
        let unknown = Characterization::default();
        assert!(render_action(&f, &unknown).contains("its current value"));
    }

    #[test]
    fn tried_text_matches_the_fix_it_names() {
        let f = fix(Some("learning_rate"), Some("multiply"), Some(0.3));
        assert!(fix_matches_text(&f, "lowered lr to 1e-4, no change"));
        assert!(!fix_matches_text(&f, "added more data"));
        let g = fix(None, None, None);
        assert!(fix_matches_text(&g, "tried a lower peak learning rate"));
    }
}
