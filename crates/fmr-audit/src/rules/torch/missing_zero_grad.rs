use std::collections::HashSet;

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{GradEvent, grad_event, loop_body, short_text, stepped_optimizer};
use crate::syntax::{Call, words};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for training loops that call `.backward()` and `optimizer.step()` on every iteration
/// but never reset the gradients (`optimizer.zero_grad()`, `model.zero_grad()`,
/// `p.grad = None`, `p.grad.zero_()`).
///
/// ## Why is this bad?
/// `.backward()` adds into `.grad`; it does not overwrite it. Without a reset, each step applies
/// the sum of every gradient computed so far, so updates grow without bound and the loss
/// oscillates or diverges, with no error raised.
///
/// DeepSpeed engines (`model_engine.step()`) reset gradients themselves and are not reported.
///
/// Gradient accumulation resets every N steps on purpose: the rule stays silent when a reset
/// appears anywhere in the loop (under an `if` too), or in a function of the same file that the
/// loop calls. A reset only in an outer loop (once per epoch) still sums the gradients of every
/// batch of the epoch, and is reported.
///
/// ## Example
/// ```python
/// for inputs, targets in loader:
///     loss = criterion(model(inputs), targets)
///     loss.backward()
///     optimizer.step()
/// ```
///
/// Use instead:
/// ```python
/// for inputs, targets in loader:
///     optimizer.zero_grad(set_to_none=True)
///     loss = criterion(model(inputs), targets)
///     loss.backward()
///     optimizer.step()
/// ```
///
/// ## References
/// - [PyTorch: `Optimizer.zero_grad`](https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.zero_grad.html)
/// - [PyTorch recipe: zeroing out gradients](https://pytorch.org/tutorials/recipes/recipes/zeroing_out_gradients.html)
///
/// ## Confirms
/// - FM0010: gradients accumulate because `zero_grad` is missing
pub struct MissingZeroGrad;

impl AuditRule for MissingZeroGrad {
    fn code(&self) -> &'static str {
        "PT001"
    }

    fn name(&self) -> &'static str {
        "missing-zero-grad"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let locals = file.locals();
        let resets = |node: Node<'_>| grad_event(file, node) == Some(GradEvent::ZeroGrad);
        let mut reported_loops = HashSet::new();
        let mut findings = Vec::new();
        let steps: Vec<Node<'_>> = file
            .grad_events()
            .iter()
            .filter(|(event, _)| *event == GradEvent::OptimizerStep)
            .map(|(_, node)| *node)
            .collect();
        for step in steps {
            if steps_a_deepspeed_engine(file, step) {
                continue;
            }
            // The training loop is the innermost loop around the step that also runs backward.
            let Some((training_loop, backward)) =
                file.enclosing_loops(step).find_map(|candidate| {
                    let body = loop_body(candidate)?;
                    let backward = file
                        .grad_events_in(body)
                        .into_iter()
                        .find_map(|(event, node)| (event == GradEvent::Backward).then_some(node))?;
                    Some((candidate, backward))
                })
            else {
                continue;
            };
            if !reported_loops.insert(training_loop.id()) {
                continue;
            }
            if locals.reaches(file, training_loop, &resets) {
                continue;
            }
            let (Some(step_call), Some(backward_call)) = (Call::new(step), Call::new(backward))
            else {
                continue;
            };
            let optimizer = stepped_optimizer(file, &step_call);
            let loss = backward_call
                .receiver()
                .map_or_else(|| short_text(file, backward), |node| short_text(file, node));
            let (backward_line, _) = file.position(backward);
            let step_text = short_text(file, step);
            let message = format!(
                "`{step_text}` and `{loss}.backward()` (line {backward_line}) run every iteration, but nothing \
                 resets the gradients: `.backward()` adds into `.grad`, so each step applies the sum of all past \
                 gradients; call `{optimizer}.zero_grad()` each iteration"
            );
            findings.push(file.finding(self, step, message, 0.85));
        }
        findings
    }
}

/// `model_engine.step()`: a DeepSpeed engine clears the gradients itself after each step.
fn steps_a_deepspeed_engine(file: &SourceFile, step: Node<'_>) -> bool {
    Call::new(step)
        .and_then(|call| call.receiver())
        .is_some_and(|receiver| {
            words(file.node_text(receiver))
                .iter()
                .any(|word| matches!(word.as_str(), "engine" | "deepspeed"))
        })
}
