use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{assignment_sides, scope_body};
use crate::semantic::optimizers::{
    OptimizerConstruction, constructs_module, optimizer_constructions,
};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for parameters created after the optimizer that should update them, in the same
/// function:
/// - a layer attached to the model after `optimizer = Adam(model.parameters())`
///   (`model.head = nn.Linear(...)`), with no later `add_param_group` or new optimizer;
/// - the model itself replaced after the optimizer was built on it (`model = Net()`,
///   `model = copy.deepcopy(model)`, `model = AutoModel.from_pretrained(...)`) and then used.
///
/// Wrapping the model (`model = DDP(model)`, `model = torch.compile(model)`, `model =
/// model.to(device)`) keeps the same parameters and is not reported.
///
/// ## Why is this bad?
/// An optimizer holds references to the parameter tensors it was given. Layers created later
/// are not among them: they receive gradients but are never updated, so a new classification
/// head stays at its random initialization. A model rebuilt after the optimizer trains not at
/// all, while the optimizer updates the discarded one. The loss plateaus with no error.
///
/// ## Example
/// ```python
/// optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
/// model.classifier = nn.Linear(768, num_labels)
/// ```
///
/// Use instead:
/// ```python
/// model.classifier = nn.Linear(768, num_labels)
/// optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
/// ```
///
/// ## References
/// - [PyTorch: constructing an optimizer](https://pytorch.org/docs/stable/optim.html#constructing-it)
/// - [PyTorch: `Optimizer.add_param_group`](https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.add_param_group.html)
///
/// ## Confirms
/// - FM0111: parameters missing from the optimizer
pub struct ParametersMissingFromOptimizer;

impl AuditRule for ParametersMissingFromOptimizer {
    fn code(&self) -> &'static str {
        "PT021"
    }

    fn name(&self) -> &'static str {
        "parameters-missing-from-optimizer"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let optimizers = optimizer_constructions(file);
        let mut findings = Vec::new();
        for optimizer in &optimizers {
            let scope = scope_body(file, optimizer.call.node);
            let later: Vec<(Node<'_>, Node<'_>)> = file
                .scope_descendants(scope)
                .filter(|node| node.start_byte() > optimizer.call.node.end_byte())
                .filter_map(assignment_sides)
                .collect();
            for model in &optimizer.modules {
                for (left, right) in &later {
                    let target = file.node_text(*left);
                    let attaches_layer = target
                        .strip_prefix(model.as_str())
                        .is_some_and(|rest| rest.starts_with('.') && !rest[1..].contains('.'))
                        && constructs_module(file, *right);
                    let replaces_model = target == model && builds_new_model(file, *right, model);
                    if !attaches_layer && !replaces_model {
                        continue;
                    }
                    if optimizer_updated_after(file, &optimizers, optimizer, *left, model) {
                        continue;
                    }
                    if replaces_model && !used_after(file, scope, model, *right) {
                        continue;
                    }
                    let (line, _) = file.position(optimizer.call.node);
                    let message = if replaces_model {
                        format!(
                            "`{model}` is rebuilt by `{}` after `{}` (line {line}) took the old model's parameters: \
                             the optimizer keeps updating the discarded model and the new one never trains; build the \
                             optimizer after the model",
                            short_text(file, *right),
                            short_text(file, optimizer.call.node),
                        )
                    } else {
                        format!(
                            "`{target}` is created after `{}` (line {line}) collected `{model}.parameters()`: the new \
                             layer gets gradients but is never updated and stays at its random initialization; create \
                             the optimizer after the model is complete (or `add_param_group`)",
                            short_text(file, optimizer.call.node),
                        )
                    };
                    findings.push(file.finding(self, *left, message, 0.8));
                }
            }
        }
        findings
    }
}

/// `Net()`, `AutoModel.from_pretrained(...)`, `copy.deepcopy(model)`: a model with new
/// parameters. Wrappers and methods of the model itself (`DDP(model)`, `model.to(device)`)
/// keep the parameters.
fn builds_new_model(file: &Context<'_>, value: Node<'_>, model: &str) -> bool {
    let Some(call) = Call::new(unparenthesized(value)) else {
        return false;
    };
    let name = call.callee_name(file);
    if name == "deepcopy" {
        return true;
    }
    let mentions_model = file
        .descendants(value)
        .any(|node| dotted_name(file, node).as_deref() == Some(model));
    if mentions_model {
        return false;
    }
    name == "from_pretrained" || constructs_module(file, value)
}

/// Whether a later optimizer (or `add_param_group`) covers `model` again after `change`.
fn optimizer_updated_after(
    file: &Context<'_>,
    optimizers: &[OptimizerConstruction<'_>],
    current: &OptimizerConstruction<'_>,
    change: Node<'_>,
    model: &str,
) -> bool {
    let scope = file.enclosing_scope(change).id();
    let in_scope = |node: Node<'_>| file.enclosing_scope(node).id() == scope;
    let rebuilt = optimizers.iter().any(|other| {
        other.call.node.id() != current.call.node.id()
            && other.call.node.start_byte() > change.end_byte()
            && in_scope(other.call.node)
            && other
                .modules
                .iter()
                .any(|module| module == model || module.starts_with(&format!("{model}.")))
    });
    rebuilt
        || file
            .calls_named("add_param_group")
            .any(|call| call.node.start_byte() > change.end_byte() && in_scope(call.node))
}

/// Whether `model` is used (called, or a method or attribute of it read) after `value`.
fn used_after(file: &Context<'_>, scope: Node<'_>, model: &str, value: Node<'_>) -> bool {
    file.scope_descendants(scope)
        .filter(|node| node.start_byte() > value.end_byte())
        .any(|node| {
            matches!(node.kind_name(), "identifier" | "attribute") && file.node_text(node) == model
        })
}
