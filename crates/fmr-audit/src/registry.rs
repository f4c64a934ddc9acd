//! The list of every audit rule, sorted by code.

use crate::AuditRule;
use crate::rules::{hf, jax, keras, lightning, python, torch};

/// Every rule, sorted by code. Codes are stable: the knowledge base refers to them, so a code is
/// never reused for a different check.
pub static RULES: &[&dyn AuditRule] = &[
    &hf::PadTokenEosMasked,
    &hf::TokenizerModelMismatch,
    &jax::PrngKeyReuse,
    &jax::PrngKeyCreatedInLoop,
    &jax::PrintInJit,
    &jax::SideEffectInJit,
    &jax::PythonControlFlowOnTracer,
    &jax::OptimizerStateNotThreaded,
    &jax::MissingStopGradient,
    &jax::Float64WithoutX64,
    &jax::DonatedBufferReused,
    &jax::StaticArgumentChangesEveryCall,
    &jax::CollectiveAxisNameMismatch,
    &jax::VmapInAxesMismatch,
    &jax::GlobalMutatedAfterJit,
    &jax::GradOfNonScalar,
    &jax::JitRecompiledInLoop,
    &jax::JaxArrayItemAssignment,
    &jax::NumpyRandomInJit,
    &keras::SoftmaxSingleUnit,
    &keras::LossActivationMismatch,
    &keras::ClassModeLossMismatch,
    &keras::ValidationSplitUnshuffled,
    &lightning::ManualOptimizationWithoutZeroGrad,
    &lightning::TrainingStepReturnsNone,
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
    &torch::BackwardUnderNoGrad,
    &torch::DetachedPredictionInLoss,
    &torch::SchedulerStepFrequency,
    &torch::InputsLabelsShuffledSeparately,
    &torch::NormalizationStatsFromTestData,
    &torch::PreprocessingFitBeforeSplit,
    &torch::LossBroadcasting,
    &torch::ViewInsteadOfPermute,
    &torch::FrozenParametersOptimized,
    &torch::ParametersMissingFromOptimizer,
    &torch::WeightDecayOnNormAndBias,
    &torch::DataloaderWorkerRngDuplication,
    &torch::ReseedingEveryStep,
    &torch::BatchnormBatchSizeOne,
    &torch::FunctionalDropoutAlwaysOn,
    &torch::ValidationInTrainMode,
    &torch::InplaceOnSavedTensor,
    &torch::LossAccumulatedWithGraph,
    &torch::SoftmaxOverBatchDim,
    &torch::OneBasedClassLabels,
    &torch::SamplerSetEpochMissing,
    &torch::DistributedSamplerOnEval,
    &torch::TdTargetNotDetached,
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
        ("HF001", include_str!("rules/hf/pad_token_eos_masked.rs")),
        (
            "HF002",
            include_str!("rules/hf/tokenizer_model_mismatch.rs"),
        ),
        ("JX001", include_str!("rules/jax/prng_key_reuse.rs")),
        (
            "JX002",
            include_str!("rules/jax/prng_key_created_in_loop.rs"),
        ),
        ("JX003", include_str!("rules/jax/print_in_jit.rs")),
        ("JX004", include_str!("rules/jax/side_effect_in_jit.rs")),
        (
            "JX005",
            include_str!("rules/jax/python_control_flow_on_tracer.rs"),
        ),
        (
            "JX006",
            include_str!("rules/jax/optimizer_state_not_threaded.rs"),
        ),
        ("JX007", include_str!("rules/jax/missing_stop_gradient.rs")),
        ("JX008", include_str!("rules/jax/float64_without_x64.rs")),
        ("JX009", include_str!("rules/jax/donated_buffer_reused.rs")),
        (
            "JX010",
            include_str!("rules/jax/static_argument_changes_every_call.rs"),
        ),
        (
            "JX011",
            include_str!("rules/jax/collective_axis_name_mismatch.rs"),
        ),
        ("JX012", include_str!("rules/jax/vmap_in_axes_mismatch.rs")),
        (
            "JX013",
            include_str!("rules/jax/global_mutated_after_jit.rs"),
        ),
        ("JX014", include_str!("rules/jax/grad_of_non_scalar.rs")),
        ("JX015", include_str!("rules/jax/jit_recompiled_in_loop.rs")),
        (
            "JX016",
            include_str!("rules/jax/jax_array_item_assignment.rs"),
        ),
        ("JX017", include_str!("rules/jax/numpy_random_in_jit.rs")),
        ("KR001", include_str!("rules/keras/softmax_single_unit.rs")),
        (
            "KR002",
            include_str!("rules/keras/loss_activation_mismatch.rs"),
        ),
        (
            "KR003",
            include_str!("rules/keras/class_mode_loss_mismatch.rs"),
        ),
        (
            "KR004",
            include_str!("rules/keras/validation_split_unshuffled.rs"),
        ),
        (
            "PL001",
            include_str!("rules/lightning/manual_optimization_without_zero_grad.rs"),
        ),
        (
            "PL002",
            include_str!("rules/lightning/training_step_returns_none.rs"),
        ),
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
        (
            "PT012",
            include_str!("rules/torch/backward_under_no_grad.rs"),
        ),
        (
            "PT013",
            include_str!("rules/torch/detached_prediction_in_loss.rs"),
        ),
        (
            "PT014",
            include_str!("rules/torch/scheduler_step_frequency.rs"),
        ),
        (
            "PT015",
            include_str!("rules/torch/inputs_labels_shuffled_separately.rs"),
        ),
        (
            "PT016",
            include_str!("rules/torch/normalization_stats_from_test_data.rs"),
        ),
        (
            "PT017",
            include_str!("rules/torch/preprocessing_fit_before_split.rs"),
        ),
        ("PT018", include_str!("rules/torch/loss_broadcasting.rs")),
        (
            "PT019",
            include_str!("rules/torch/view_instead_of_permute.rs"),
        ),
        (
            "PT020",
            include_str!("rules/torch/frozen_parameters_optimized.rs"),
        ),
        (
            "PT021",
            include_str!("rules/torch/parameters_missing_from_optimizer.rs"),
        ),
        (
            "PT022",
            include_str!("rules/torch/weight_decay_on_norm_and_bias.rs"),
        ),
        (
            "PT023",
            include_str!("rules/torch/dataloader_worker_rng_duplication.rs"),
        ),
        ("PT024", include_str!("rules/torch/reseeding_every_step.rs")),
        (
            "PT025",
            include_str!("rules/torch/batchnorm_batch_size_one.rs"),
        ),
        (
            "PT026",
            include_str!("rules/torch/functional_dropout_always_on.rs"),
        ),
        (
            "PT027",
            include_str!("rules/torch/validation_in_train_mode.rs"),
        ),
        (
            "PT028",
            include_str!("rules/torch/inplace_on_saved_tensor.rs"),
        ),
        (
            "PT029",
            include_str!("rules/torch/loss_accumulated_with_graph.rs"),
        ),
        (
            "PT030",
            include_str!("rules/torch/softmax_over_batch_dim.rs"),
        ),
        (
            "PT031",
            include_str!("rules/torch/one_based_class_labels.rs"),
        ),
        (
            "PT032",
            include_str!("rules/torch/sampler_set_epoch_missing.rs"),
        ),
        (
            "PT033",
            include_str!("rules/torch/distributed_sampler_on_eval.rs"),
        ),
        (
            "PT034",
            include_str!("rules/torch/td_target_not_detached.rs"),
        ),
        ("PY001", include_str!("rules/python/norm_at_zero.rs")),
    ];

    const REQUIRED_HEADINGS: &[&str] = &[
        "/// ## What it does",
        "/// ## Why is this bad?",
        "/// ## Example",
        "/// Use instead:",
        "/// ## References",
        "/// ## Confirms",
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
                matches!(prefix, "PT" | "PY" | "JX" | "KR" | "HF" | "PL"),
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

    /// `## Confirms` lists the knowledge-base entries a finding of the rule is evidence for
    /// (`- FM0010: ...`), or says that none exists yet (`- none yet ...`). Every id cited must be
    /// an entry of `kb/entries`, so a renamed or removed entry cannot leave a dangling reference.
    #[test]
    fn confirmed_knowledge_base_entries_exist() {
        let entries = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kb/entries");
        let known: Vec<String> = std::fs::read_dir(&entries)
            .expect("the knowledge base sits at the workspace root")
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                entry
                    .file_name()
                    .to_str()
                    .map(|name| name.chars().take(6).collect())
            })
            .collect();
        assert!(known.len() > 100, "kb/entries looks empty");
        let mut cited = 0;
        for (code, source) in RULE_SOURCES {
            let section = source
                .split("/// ## Confirms\n")
                .nth(1)
                .unwrap_or_default()
                .lines()
                .take_while(|line| line.starts_with("/// - "));
            let mut items = 0;
            for line in section {
                items += 1;
                let item = line.trim_start_matches("/// - ");
                if item.starts_with("none yet") {
                    continue;
                }
                let id: String = item.chars().take(6).collect();
                assert!(
                    id.starts_with("FM") && known.contains(&id),
                    "{code}: `{item}` does not name a knowledge-base entry"
                );
                cited += 1;
            }
            assert!(items > 0, "{code}: `## Confirms` lists nothing");
        }
        assert!(
            cited >= RULE_SOURCES.len(),
            "most rules should confirm an entry"
        );
    }
}
