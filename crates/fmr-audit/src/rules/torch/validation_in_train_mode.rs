use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{GradEvent, is_eval_mode_call, loop_body, short_text};
use crate::syntax::{NodeExt, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for an evaluation function of the file (`evaluate`, `validate`, `test`, ...) that runs
/// a model and is called from the training loop, in a file that never switches a model to
/// evaluation mode (no `.eval()`, no `.train(False)` anywhere).
///
/// Lightning's `validation_step`/`test_step` and Hugging Face's `Trainer` switch modes
/// themselves and are not reported; neither is a file that calls `.eval()` anywhere.
///
/// ## Why is this bad?
/// A module starts in training mode and stays there until `.eval()` is called. Validation then
/// runs with dropout active, so metrics are noisy and pessimistic, and BatchNorm keeps
/// normalizing with batch statistics and updates its running averages with validation data:
/// the model is quietly tuned on the validation set, and its final evaluation mode statistics
/// are skewed.
///
/// ## Example
/// ```python
/// for epoch in range(epochs):
///     train_one_epoch(model, train_loader, optimizer)
///     accuracy = evaluate(model, val_loader)
/// ```
///
/// Use instead:
/// ```python
/// for epoch in range(epochs):
///     model.train()
///     train_one_epoch(model, train_loader, optimizer)
///     model.eval()
///     accuracy = evaluate(model, val_loader)
/// ```
///
/// ## References
/// - [PyTorch: `Module.eval`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval)
/// - [PyTorch FAQ: evaluation mode](https://pytorch.org/docs/stable/notes/autograd.html#evaluation-mode-nn-module-eval)
///
/// ## Confirms
/// - FM0020: train/eval mode misuse
/// - FM0021: BatchNorm running statistics broken
pub struct ValidationInTrainMode;

const EVALUATION_WORDS: &[&str] = &[
    "eval",
    "evaluate",
    "evaluation",
    "valid",
    "validate",
    "validation",
    "val",
    "test",
];

const MODEL_WORDS: &[&str] = &[
    "model",
    "net",
    "network",
    "classifier",
    "policy",
    "encoder",
    "backbone",
    "module",
];

impl AuditRule for ValidationInTrainMode {
    fn code(&self) -> &'static str {
        "PT027"
    }

    fn name(&self) -> &'static str {
        "validation-in-train-mode"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        // Any switch to evaluation mode in the file, or a framework that switches for the user,
        // makes the rule stay silent: where the switch happens is not worth guessing.
        if file
            .calls_named("eval")
            .any(|call| is_eval_mode_call(file, call.node))
            || file.mentions("train(False)")
            || file.mentions("LightningModule")
        {
            return Vec::new();
        }
        let evaluators: Vec<(&str, Node<'_>)> = file
            .nodes_of_kind("function_definition")
            .filter_map(|function| {
                let name = file.source().node_text(function.field("name")?);
                let evaluates = words(name)
                    .iter()
                    .any(|word| EVALUATION_WORDS.contains(&word.as_str()))
                    && !name.ends_with("_step");
                (evaluates && runs_a_model(file, function)).then_some((name, function))
            })
            .collect();
        let mut findings = Vec::new();
        for (name, function) in evaluators {
            let runs_backward =
                |node: Node<'_>| file.grad_event_at(node) == Some(GradEvent::Backward);
            for call in file.calls_named(name) {
                let training_loop = file.enclosing_loops(call.node).find(|candidate| {
                    loop_body(*candidate)
                        .is_some_and(|body| file.locals().reaches(file, body, &runs_backward))
                });
                let Some(training_loop) = training_loop else {
                    continue;
                };
                let (loop_line, _) = file.position(training_loop);
                let (definition_line, _) = file.position(function);
                let message = format!(
                    "`{}` runs the evaluation function `{name}` (line {definition_line}) inside the training loop \
                     (line {loop_line}), and nothing in this file calls `.eval()`: validation runs in training mode, so any dropout stays \
                     active and BatchNorm layers normalize with batch statistics and update their running averages \
                     on validation data; call `model.eval()` before evaluating and `model.train()` after",
                    short_text(file, call.node)
                );
                findings.push(file.finding(self, call.node, message, 0.65));
            }
        }
        findings
    }
}

/// Whether `function` calls something named like a network (`model(x)`, `self.net(x)`).
fn runs_a_model(file: &Context<'_>, function: Node<'_>) -> bool {
    file.calls_in(function).iter().any(|call| {
        let callee = file.node_text(call.function);
        call.function.kind_name() != "call"
            && words(callee)
                .last()
                .is_some_and(|word| MODEL_WORDS.contains(&word.as_str()))
    })
}
