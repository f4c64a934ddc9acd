use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{grad_disabled_by, last_value_before, scope_body};
use crate::semantic::training::{GradEvent, backward_is_library_managed, short_text};
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a loss that is computed with gradients turned off and then backpropagated: the
/// loss is assigned inside `with torch.no_grad():` (or `torch.inference_mode()`,
/// `torch.set_grad_enabled(False)`, a function decorated with one of them) and `.backward()` is
/// called on it, inside the block or after it.
///
/// A `.backward()` under `no_grad` on a loss computed outside the block is not reported: the
/// graph already exists and the call works.
///
/// ## Why is this bad?
/// Under `no_grad` PyTorch records no graph. If nothing in the loss requires grad, `backward()`
/// raises "element 0 of tensors does not require grad and does not have a grad_fn"; if another
/// term does (a trainable head, a regularizer), backward runs and silently leaves every
/// parameter used under `no_grad` without a gradient, so that part of the model never trains.
///
/// ## Example
/// ```python
/// with torch.no_grad():
///     logits = model(inputs)
///     loss = criterion(logits, targets)
/// loss.backward()
/// optimizer.step()
/// ```
///
/// Use instead:
/// ```python
/// logits = model(inputs)
/// loss = criterion(logits, targets)
/// loss.backward()
/// optimizer.step()
/// ```
///
/// ## References
/// - [PyTorch: `torch.no_grad`](https://pytorch.org/docs/stable/generated/torch.no_grad.html)
/// - [PyTorch: locally disabling gradient computation](https://pytorch.org/docs/stable/notes/autograd.html#locally-disabling-gradient-computation)
///
/// ## Confirms
/// - FM0129: no gradient reaches part of the model
/// - FM0191: "element 0 of tensors does not require grad"
pub struct BackwardUnderNoGrad;

impl AuditRule for BackwardUnderNoGrad {
    fn code(&self) -> &'static str {
        "PT012"
    }

    fn name(&self) -> &'static str {
        "backward-under-no-grad"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("no_grad")
            && !file.mentions("inference_mode")
            && !file.mentions("set_grad_enabled")
        {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for (event, backward) in file.grad_events() {
            if *event != GradEvent::Backward {
                continue;
            }
            let Some(call) = Call::new(*backward) else {
                continue;
            };
            if backward_is_library_managed(file, &call) {
                continue;
            }
            let Some(loss) = backward_loss(file, &call) else {
                continue;
            };
            let Some((computed_at, block)) = computed_without_grad(file, *backward, loss) else {
                continue;
            };
            let (line, _) = file.position(computed_at);
            let (block_line, _) = file.position(block);
            let how = if block.kind_name() == "function_definition" {
                format!("in a function decorated to run without gradients (line {block_line})")
            } else {
                format!("inside the gradient-free `with` block of line {block_line}")
            };
            let message = format!(
                "`{}` is computed at line {line}, {how}, so no graph is recorded: `{}` either raises \"element 0 \
                 of tensors does not require grad\" or, when another term requires grad, leaves the model's \
                 parameters without gradients; compute the loss outside `torch.no_grad()`",
                short_text(file, loss),
                short_text(file, *backward),
            );
            findings.push(file.finding(self, *backward, message, 0.85));
        }
        findings
    }
}

/// The loss expression `backward` runs on: `loss` in `loss.backward()` and in
/// `scaler.scale(loss).backward()`, the argument of `torch.autograd.backward(loss)`.
fn backward_loss<'t>(file: &Context<'t>, backward: &Call<'t>) -> Option<Node<'t>> {
    let loss = match backward.receiver() {
        Some(receiver) => unparenthesized(receiver),
        None => backward.argument(file, 0, "tensors")?,
    };
    match Call::new(loss) {
        Some(scale) if scale.callee_name(file) == "scale" => scale.argument(file, 0, "outputs"),
        _ => Some(loss),
    }
}

/// Where the loss was computed without gradients, and the block (or decorated function) that
/// turned them off.
fn computed_without_grad<'t>(
    file: &Context<'t>,
    backward: Node<'t>,
    loss: Node<'t>,
) -> Option<(Node<'t>, Node<'t>)> {
    // An inline expression (`criterion(model(x), y).backward()`) is computed where it stands.
    if dotted_name(file, loss).is_none() {
        return grad_disabled_by(file, loss).map(|block| (loss, block));
    }
    let scope = scope_body(file, backward);
    let value = last_value_before(file, scope, file.node_text(loss), backward.start_byte())?;
    let block = grad_disabled_by(file, value)?;
    Some((value, block))
}
