use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{grad_disabled_by, scope_body};
use crate::semantic::training::{GradEvent, short_text};
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for in-place operations on tensors that autograd needs unchanged:
/// - a leaf created with `requires_grad=True` (or an `nn.Parameter`) updated in place outside
///   `torch.no_grad()`: `w -= lr * w.grad`, `w.add_(...)`;
/// - the output of an operation that saves its output for the backward pass (`sigmoid`,
///   `tanh`, `exp`, `softmax`, `log_softmax`) modified in place afterwards (`y += 1`,
///   `y.mul_(2)`, `y[mask] = 0`, `F.relu(y, inplace=True)`), in a `forward` method or a
///   function that runs `.backward()`.
///
/// ## Why is this bad?
/// Autograd checks a version counter on saved tensors. Updating a leaf in place raises "a leaf
/// Variable that requires grad is being used in an in-place operation"; modifying a saved
/// output makes `backward()` fail with "one of the variables needed for gradient computation
/// has been modified by an inplace operation", usually several lines away from the cause.
///
/// ## Example
/// ```python
/// w = torch.randn(10, 1, requires_grad=True)
/// loss = ((x @ w - y) ** 2).mean()
/// loss.backward()
/// w -= 0.1 * w.grad
/// ```
///
/// Use instead:
/// ```python
/// w = torch.randn(10, 1, requires_grad=True)
/// loss = ((x @ w - y) ** 2).mean()
/// loss.backward()
/// with torch.no_grad():
///     w -= 0.1 * w.grad
///     w.grad.zero_()
/// ```
///
/// ## References
/// - [PyTorch: in-place operations with autograd](https://pytorch.org/docs/stable/notes/autograd.html#in-place-operations-with-autograd)
/// - [PyTorch: `torch.no_grad`](https://pytorch.org/docs/stable/generated/torch.no_grad.html)
///
/// ## Confirms
/// - none yet (proposed entry: "in-place operation on a tensor autograd saved")
pub struct InplaceOnSavedTensor;

/// Operations whose backward pass reads their own output.
const OUTPUT_SAVING: &[&str] = &["sigmoid", "tanh", "exp", "softmax", "log_softmax"];

/// In-place tensor methods that change values.
const INPLACE_METHODS: &[&str] = &[
    "add_",
    "sub_",
    "mul_",
    "div_",
    "clamp_",
    "clamp_min_",
    "clamp_max_",
    "relu_",
    "sigmoid_",
    "tanh_",
    "exp_",
    "fill_",
    "zero_",
    "copy_",
    "masked_fill_",
    "pow_",
    "neg_",
    "abs_",
    "sqrt_",
    "normal_",
    "uniform_",
];

impl AuditRule for InplaceOnSavedTensor {
    fn code(&self) -> &'static str {
        "PT028"
    }

    fn name(&self) -> &'static str {
        "inplace-on-saved-tensor"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        for (left, right) in file.assignment_sides() {
            if left.kind_name() != "identifier" {
                continue;
            }
            let name = file.node_text(left);
            let Some(call) = Call::new(unparenthesized(right)) else {
                continue;
            };
            let kind = if creates_trainable_leaf(file, &call) {
                Saved::Leaf
            } else if OUTPUT_SAVING.contains(&call.callee_name(file))
                && in_differentiated_code(file, left)
            {
                Saved::Output
            } else {
                continue;
            };
            let Some(modification) = first_inplace_modification(file, left, name) else {
                continue;
            };
            if grad_disabled_by(file, modification).is_some() {
                continue;
            }
            let (line, _) = file.position(right);
            let message = match kind {
                Saved::Leaf => format!(
                    "`{}` updates `{name}` in place, a leaf that requires grad (line {line}), outside \
                     `torch.no_grad()`: PyTorch raises \"a leaf Variable that requires grad is being used in an \
                     in-place operation\"; wrap manual updates in `with torch.no_grad():`",
                    short_text(file, modification)
                ),
                Saved::Output => format!(
                    "`{}` modifies `{name}` in place, but `{}` (line {line}) saved it for the backward pass: \
                     `backward()` fails with \"modified by an inplace operation\"; use an out-of-place operation \
                     (`{name} = {name} * ...`)",
                    short_text(file, modification),
                    short_text(file, right),
                ),
            };
            findings.push(file.finding(self, modification, message, 0.8));
        }
        findings
    }
}

#[derive(Clone, Copy)]
enum Saved {
    Leaf,
    Output,
}

/// `torch.randn(..., requires_grad=True)`, `nn.Parameter(...)`.
fn creates_trainable_leaf(file: &Context<'_>, call: &Call<'_>) -> bool {
    if call.callee_name(file) == "Parameter" {
        return true;
    }
    call.keyword(file, "requires_grad")
        .is_some_and(|flag| flag.kind_name() == "true")
}

/// Code whose operations are recorded for a backward pass: a `forward` method, or a function
/// that runs `.backward()` itself.
fn in_differentiated_code(file: &Context<'_>, node: Node<'_>) -> bool {
    let Some(function) = file.enclosing_function(node) else {
        return false;
    };
    let is_forward = function
        .field("name")
        .is_some_and(|name| file.node_text(name) == "forward");
    is_forward
        || function.field("body").is_some_and(|body| {
            file.grad_events_in(body)
                .iter()
                .any(|(event, _)| *event == GradEvent::Backward)
        })
}

/// The first in-place change of `name` after its assignment at `left`, before it is rebound.
fn first_inplace_modification<'t>(
    file: &Context<'t>,
    left: Node<'_>,
    name: &str,
) -> Option<Node<'t>> {
    let scope = scope_body(file, left);
    for node in file
        .scope_descendants(scope)
        .filter(|node| node.start_byte() > left.end_byte())
    {
        match node.kind_name() {
            "assignment" => {
                let target = node.field("left")?;
                if file.node_text(target) == name {
                    return None;
                }
                // `y[mask] = 0`
                if target.kind_name() == "subscript"
                    && target
                        .field("value")
                        .is_some_and(|value| file.node_text(value) == name)
                {
                    return Some(node);
                }
            }
            "augmented_assignment"
                if node
                    .field("left")
                    .is_some_and(|target| file.node_text(target) == name) =>
            {
                return Some(node);
            }
            "call" => {
                let Some(call) = file.call_at(node) else {
                    continue;
                };
                if modifies_in_place(file, &call, name) {
                    return Some(node);
                }
            }
            _ => {}
        }
    }
    None
}

/// `name.mul_(2)`, `torch.relu_(name)`, `F.relu(name, inplace=True)`.
fn modifies_in_place(file: &Context<'_>, call: &Call<'_>, name: &str) -> bool {
    let method = call.callee_name(file);
    let on_name = call
        .receiver()
        .and_then(|receiver| dotted_name(file, receiver))
        .as_deref()
        == Some(name);
    if on_name && INPLACE_METHODS.contains(&method) {
        return true;
    }
    let first_argument_is_name = call
        .positional()
        .first()
        .is_some_and(|argument| file.node_text(*argument) == name);
    if !first_argument_is_name {
        return false;
    }
    let functional_inplace = method.ends_with('_') && INPLACE_METHODS.contains(&method);
    let inplace_flag = call
        .keyword(file, "inplace")
        .is_some_and(|flag| flag.kind_name() == "true");
    functional_inplace || inplace_flag
}
