use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::assignment_sides;
use crate::semantic::training::{GradEvent, short_text, stepped_optimizer};
use crate::syntax::{Call, NodeExt};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a LightningModule with manual optimization (`self.automatic_optimization =
/// False`) whose `training_step` steps an optimizer (`opt.step()`) but never resets its
/// gradients (`opt.zero_grad()`), in the method or in a method of the same class it calls.
///
/// ## Why is this bad?
/// With manual optimization Lightning stops calling `zero_grad()` for you. `manual_backward()`
/// adds into `.grad`, so each step applies the sum of every gradient computed so far: updates
/// grow without bound and the losses oscillate or diverge (GAN training collapses quickly).
/// Nothing raises an error.
///
/// ## Example
/// ```python
/// def training_step(self, batch, batch_idx):
///     opt = self.optimizers()
///     loss = self.compute_loss(batch)
///     self.manual_backward(loss)
///     opt.step()
/// ```
///
/// Use instead:
/// ```python
/// def training_step(self, batch, batch_idx):
///     opt = self.optimizers()
///     opt.zero_grad()
///     loss = self.compute_loss(batch)
///     self.manual_backward(loss)
///     opt.step()
/// ```
///
/// ## References
/// - [Lightning: manual optimization](https://lightning.ai/docs/pytorch/stable/model/manual_optimization.html)
///
/// ## Confirms
/// - FM0010: gradients accumulate because `zero_grad` is missing
pub struct ManualOptimizationWithoutZeroGrad;

impl AuditRule for ManualOptimizationWithoutZeroGrad {
    fn code(&self) -> &'static str {
        "PL001"
    }

    fn name(&self) -> &'static str {
        "manual-optimization-without-zero-grad"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("automatic_optimization") {
            return Vec::new();
        }
        let resets = |node: Node<'_>| file.grad_event_at(node) == Some(GradEvent::ZeroGrad);
        let mut findings = Vec::new();
        for class in file.nodes_of_kind("class_definition") {
            if !manual_optimization(file, class) {
                continue;
            }
            let Some(step_method) = method(file, class, "training_step") else {
                continue;
            };
            let Some(body) = step_method.field("body") else {
                continue;
            };
            if file.locals().reaches(file, body, &resets) {
                continue;
            }
            let Some(step) = file
                .grad_events_in(body)
                .into_iter()
                .find(|(event, _)| *event == GradEvent::OptimizerStep)
                .map(|(_, node)| node)
            else {
                continue;
            };
            let optimizer = Call::new(step)
                .map_or_else(|| "opt".to_owned(), |call| stepped_optimizer(file, &call));
            let message = format!(
                "`{}` steps with manual optimization, and nothing in `training_step` calls `{optimizer}.zero_grad()`: \
                 Lightning no longer resets gradients for you, so every step applies the sum of all past gradients; \
                 call `{optimizer}.zero_grad()` before `manual_backward`",
                short_text(file, step)
            );
            findings.push(file.finding(self, step, message, 0.85));
        }
        findings
    }
}

/// Whether the class sets `self.automatic_optimization = False`.
pub(crate) fn manual_optimization(file: &Context<'_>, class: Node<'_>) -> bool {
    file.descendants(class)
        .filter_map(assignment_sides)
        .any(|(left, right)| {
            file.node_text(left) == "self.automatic_optimization" && right.kind_name() == "false"
        })
}

/// The method `name` defined directly in `class`.
pub(crate) fn method<'t>(file: &Context<'t>, class: Node<'t>, name: &str) -> Option<Node<'t>> {
    let body = class.field("body")?;
    let mut cursor = body.walk();
    body.named_children(&mut cursor).find_map(|statement| {
        let function = match statement.kind_name() {
            "function_definition" => statement,
            "decorated_definition" => statement.field("definition")?,
            _ => return None,
        };
        function
            .field("name")
            .is_some_and(|method_name| file.node_text(method_name) == name)
            .then_some(function)
    })
}
