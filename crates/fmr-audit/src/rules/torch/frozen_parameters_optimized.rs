use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::assignment_sides;
use crate::semantic::optimizers::optimizer_constructions;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, bound_names, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a model whose parameters are all frozen (`for p in model.parameters():
/// p.requires_grad = False`, `model.requires_grad_(False)`) while an optimizer is built on that
/// same `model.parameters()`, and nothing in the file unfreezes part of it, replaces one of its
/// layers (`model.fc = nn.Linear(...)`) or wraps it with adapters (`get_peft_model`).
///
/// Freezing a backbone and training a new head (the usual fine-tuning recipe) is not reported:
/// the head assigned after the freeze is trainable.
///
/// ## Why is this bad?
/// A parameter with `requires_grad=False` gets no gradient, and optimizers skip parameters whose
/// `.grad` is `None`. If the whole model is frozen, `backward()` raises "element 0 of tensors
/// does not require grad"; if another module in the loss still trains, the run goes on and this
/// model silently keeps its initial weights.
///
/// ## Example
/// ```python
/// for param in model.parameters():
///     param.requires_grad = False
/// optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
/// ```
///
/// Use instead:
/// ```python
/// for param in model.parameters():
///     param.requires_grad = False
/// model.fc = nn.Linear(model.fc.in_features, num_classes)  # trainable head
/// optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01)
/// ```
///
/// ## References
/// - [PyTorch tutorial: fine-tuning, setting `requires_grad`](https://pytorch.org/tutorials/beginner/finetuning_torchvision_models_tutorial.html)
/// - [PyTorch: `Module.requires_grad_`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.requires_grad_)
///
/// ## Confirms
/// - FM0085: frozen parameters that were meant to train
/// - FM0191: "element 0 of tensors does not require grad"
pub struct FrozenParametersOptimized;

impl AuditRule for FrozenParametersOptimized {
    fn code(&self) -> &'static str {
        "PT020"
    }

    fn name(&self) -> &'static str {
        "frozen-parameters-optimized"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("requires_grad") || unfreezes_or_adapts(file) {
            return Vec::new();
        }
        let optimizers = optimizer_constructions(file);
        let mut findings = Vec::new();
        for (model, freeze) in whole_model_freezes(file) {
            let Some(optimizer) = optimizers
                .iter()
                .find(|optimizer| optimizer.modules.contains(&model))
            else {
                continue;
            };
            if replaces_a_layer_after(file, &model, freeze) {
                continue;
            }
            let (line, _) = file.position(optimizer.call.node);
            let message = format!(
                "`{}` freezes every parameter of `{model}`, and `{}` (line {line}) optimizes `{model}.parameters()`: \
                 nothing in `{model}` receives a gradient, so `backward()` raises \"does not require grad\" or the \
                 model keeps its initial weights; unfreeze what should train or give the optimizer the trainable \
                 part",
                short_text(file, freeze),
                short_text(file, optimizer.call.node),
            );
            findings.push(file.finding(self, freeze, message, 0.75));
        }
        findings
    }
}

/// `(model, the freezing statement)` for every unconditional freeze of all of a model's
/// parameters.
fn whole_model_freezes<'t>(file: &Context<'t>) -> Vec<(String, Node<'t>)> {
    let mut freezes = Vec::new();
    for call in file.calls_named("requires_grad_") {
        let freezes_all = call
            .argument(file, 0, "requires_grad")
            .is_some_and(|flag| flag.kind_name() == "false");
        if let (true, Some(model)) = (
            freezes_all,
            call.receiver()
                .and_then(|receiver| dotted_name(file, receiver)),
        ) {
            freezes.push((model, call.node));
        }
    }
    for loop_node in file.nodes_of_kind("for_statement") {
        let (Some(target), Some(iterable), Some(body)) = (
            loop_node.field("left"),
            loop_node.field("right"),
            loop_node.field("body"),
        ) else {
            continue;
        };
        let Some(iterable) = Call::new(unparenthesized(iterable)) else {
            continue;
        };
        if !matches!(
            iterable.callee_name(file),
            "parameters" | "named_parameters"
        ) {
            continue;
        }
        let Some(model) = iterable
            .receiver()
            .and_then(|receiver| dotted_name(file, receiver))
        else {
            continue;
        };
        // The parameter is the loop variable, or the second name of `for name, param in ...`.
        let Some(parameter) = bound_names(target).last().map(|name| file.node_text(*name)) else {
            continue;
        };
        let mut cursor = body.walk();
        let freezes_each = body.named_children(&mut cursor).any(|statement| {
            statement
                .named_child(0)
                .is_some_and(|expression| sets_requires_grad_false(file, expression, parameter))
        });
        if freezes_each {
            freezes.push((model, loop_node));
        }
    }
    freezes
}

/// `param.requires_grad = False` or `param.requires_grad_(False)`.
fn sets_requires_grad_false(file: &Context<'_>, expression: Node<'_>, parameter: &str) -> bool {
    if let Some((left, right)) = assignment_sides(expression) {
        return file.node_text(left) == format!("{parameter}.requires_grad")
            && right.kind_name() == "false";
    }
    Call::new(expression).is_some_and(|call| {
        call.callee_name(file) == "requires_grad_"
            && call
                .receiver()
                .is_some_and(|receiver| file.node_text(receiver) == parameter)
            && call
                .argument(file, 0, "requires_grad")
                .is_some_and(|flag| flag.kind_name() == "false")
    })
}

/// Whether the file turns gradients back on somewhere or trains adapters on a frozen model.
fn unfreezes_or_adapts(file: &Context<'_>) -> bool {
    let sets_true = file.assignment_sides().any(|(left, right)| {
        file.node_text(left).ends_with(".requires_grad") && right.kind_name() != "false"
    });
    let calls_true = file.calls_named("requires_grad_").any(|call| {
        call.argument(file, 0, "requires_grad")
            .is_none_or(|flag| flag.kind_name() != "false")
    });
    let adapters = [
        "get_peft_model",
        "prepare_model_for_kbit_training",
        "LoraConfig",
        "add_adapter",
    ]
    .iter()
    .any(|name| file.mentions(name));
    sets_true || calls_true || adapters
}

/// Whether something assigns a new layer onto `model` (`model.fc = ...`) after `freeze`.
fn replaces_a_layer_after(file: &Context<'_>, model: &str, freeze: Node<'_>) -> bool {
    let prefix = format!("{model}.");
    file.nodes_of_kind("assignment")
        .filter(|assignment| assignment.start_byte() > freeze.end_byte())
        .filter_map(assignment_sides)
        .any(|(left, _)| file.node_text(left).starts_with(&prefix))
        || file
            .calls_named("add_module")
            .chain(file.calls_named("register_module"))
            .any(|call| {
                call.receiver()
                    .is_some_and(|receiver| file.node_text(receiver) == model)
            })
}
