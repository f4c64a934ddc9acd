//! The list of every audit rule, sorted by code.

use crate::AuditRule;
use crate::rules::{jax, python, torch};

/// Every rule, sorted by code. Codes are stable: the knowledge base refers to them, so a code is
/// never reused for a different check.
pub static RULES: &[&dyn AuditRule] = &[
    &jax::PrngKeyReuse,
    &torch::MissingZeroGrad,
    &torch::SoftmaxBeforeCrossEntropy,
    &torch::SigmoidIntoBce,
    &torch::EvalModeNeverRestored,
    &torch::Fp16AutocastWithoutGradScaler,
    &torch::ClipAfterStep,
    &torch::TrainLoaderWithoutShuffle,
    &torch::GradAccumulationLossNotDivided,
    &torch::ModelHalfTraining,
    &torch::DdpModuleBypass,
    &torch::StepBeforeBackward,
    &python::NormAtZero,
];

/// The rule with this code.
pub fn rule(code: &str) -> Option<&'static dyn AuditRule> {
    RULES.iter().copied().find(|rule| rule.code() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule's source file, whose doc comment is its documentation.
    const RULE_SOURCES: &[(&str, &str)] = &[
        ("JX001", include_str!("rules/jax/prng_key_reuse.rs")),
        ("PT001", include_str!("rules/torch/missing_zero_grad.rs")),
        (
            "PT002",
            include_str!("rules/torch/softmax_before_cross_entropy.rs"),
        ),
        ("PT003", include_str!("rules/torch/sigmoid_into_bce.rs")),
        (
            "PT004",
            include_str!("rules/torch/eval_mode_never_restored.rs"),
        ),
        (
            "PT005",
            include_str!("rules/torch/fp16_autocast_without_grad_scaler.rs"),
        ),
        ("PT006", include_str!("rules/torch/clip_after_step.rs")),
        (
            "PT007",
            include_str!("rules/torch/train_loader_without_shuffle.rs"),
        ),
        (
            "PT008",
            include_str!("rules/torch/grad_accumulation_loss_not_divided.rs"),
        ),
        ("PT009", include_str!("rules/torch/model_half_training.rs")),
        ("PT010", include_str!("rules/torch/ddp_module_bypass.rs")),
        ("PT011", include_str!("rules/torch/step_before_backward.rs")),
        ("PY001", include_str!("rules/python/norm_at_zero.rs")),
    ];

    const REQUIRED_HEADINGS: &[&str] = &[
        "/// ## What it does",
        "/// ## Why is this bad?",
        "/// ## Example",
        "/// Use instead:",
        "/// ## References",
    ];

    #[test]
    fn codes_are_unique_and_sorted() {
        let codes: Vec<&str> = RULES.iter().map(|rule| rule.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            codes, sorted,
            "RULES must be sorted by code, without duplicates"
        );
    }

    #[test]
    fn codes_and_names_are_well_formed() {
        for rule in RULES {
            let code = rule.code();
            let (prefix, number) = code.split_at(2);
            assert!(
                matches!(prefix, "PT" | "PY" | "JX"),
                "{code}: unknown prefix"
            );
            assert!(
                number.len() == 3 && number.chars().all(|c| c.is_ascii_digit()),
                "{code}: three digits"
            );
            let name = rule.name();
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{code}: name `{name}` is not kebab-case"
            );
            assert_eq!(crate::rule(code).map(|found| found.name()), Some(name));
        }
        assert!(rule("XX999").is_none());
    }

    #[test]
    fn every_rule_documents_itself_with_the_required_headings() {
        let documented: Vec<&str> = RULE_SOURCES.iter().map(|(code, _)| *code).collect();
        let registered: Vec<&str> = RULES.iter().map(|rule| rule.code()).collect();
        assert_eq!(
            documented, registered,
            "RULE_SOURCES must list every rule's file"
        );
        for (code, source) in RULE_SOURCES {
            let mut position = 0;
            for heading in REQUIRED_HEADINGS {
                let found = source[position..].find(heading);
                assert!(found.is_some(), "{code}: missing or misplaced `{heading}`");
                position += found.unwrap_or(0) + heading.len();
            }
            assert!(
                source.contains("/// ```python"),
                "{code}: examples must be python code blocks"
            );
            assert!(
                source.contains(&format!("\"{code}\"")),
                "{code}: the file does not declare its code"
            );
            let doc_mentions_link = source
                .lines()
                .any(|line| line.starts_with("/// - [") && line.contains("](http"));
            assert!(doc_mentions_link, "{code}: references need links");
        }
    }
}
