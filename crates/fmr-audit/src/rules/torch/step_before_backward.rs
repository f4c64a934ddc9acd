use std::collections::HashSet;

use fmr_core::AuditFinding;

use crate::semantic::training::{GradEvent, loop_body, short_text};
use crate::syntax::{NodeExt, is_loop};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for loops whose body calls `optimizer.step()` before `loss.backward()`, with no step
/// after the backward pass.
///
/// A step placed under an `if` before the backward pass (a deliberate "step at the start of
/// the next iteration" for gradient accumulation) is not reported.
///
/// ## Why is this bad?
/// Each update uses the gradients of the previous iteration (or none at all, when
/// `zero_grad()` runs in between), so the parameters lag one batch behind and the first
/// update is lost. Training still runs and the loss may even fall, slowly, which hides the bug.
///
/// ## Example
/// ```python
/// for inputs, targets in loader:
///     optimizer.zero_grad()
///     optimizer.step()
///     loss = criterion(model(inputs), targets)
///     loss.backward()
/// ```
///
/// Use instead:
/// ```python
/// for inputs, targets in loader:
///     optimizer.zero_grad()
///     loss = criterion(model(inputs), targets)
///     loss.backward()
///     optimizer.step()
/// ```
///
/// ## References
/// - [PyTorch: taking an optimization step](https://pytorch.org/docs/stable/optim.html#taking-an-optimization-step)
///
/// ## Confirms
/// - FM0010: optimizer step and backward out of order
pub struct StepBeforeBackward;

impl AuditRule for StepBeforeBackward {
    fn code(&self) -> &'static str {
        "PT011"
    }

    fn name(&self) -> &'static str {
        "step-before-backward"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut reported = HashSet::new();
        let mut findings = Vec::new();
        let loops: Vec<_> = file.nodes().filter(|&node| is_loop(node)).collect();
        for training_loop in loops {
            let Some(body) = loop_body(training_loop) else {
                continue;
            };
            let events = file.grad_events_in(body);
            let steps: Vec<_> = events
                .iter()
                .filter(|(event, _)| *event == GradEvent::OptimizerStep)
                .collect();
            let backwards: Vec<_> = events
                .iter()
                .filter(|(event, _)| *event == GradEvent::Backward)
                .collect();
            let (Some((_, first_step)), Some((_, first_backward)), Some((_, last_backward))) =
                (steps.first(), backwards.first(), backwards.last())
            else {
                continue;
            };
            let steps_late = steps
                .iter()
                .any(|(_, step)| step.start_byte() > last_backward.end_byte());
            if first_step.start_byte() > first_backward.start_byte() || steps_late {
                continue;
            }
            let conditional = file
                .ancestors(*first_step)
                .take_while(|ancestor| ancestor.id() != body.id())
                .any(|ancestor| {
                    matches!(
                        ancestor.kind_name(),
                        "if_statement" | "conditional_expression"
                    )
                });
            if conditional || !reported.insert(first_step.id()) {
                continue;
            }
            let (backward_line, _) = file.position(*first_backward);
            let message = format!(
                "`{}` runs before `{}` (line {backward_line}) in this loop and no step follows the backward pass: \
                 each update uses the previous iteration's gradients (or none, right after `zero_grad()`); call \
                 `step()` after `backward()`",
                short_text(file, *first_step),
                short_text(file, *first_backward),
            );
            findings.push(file.finding(self, *first_step, message, 0.8));
        }
        findings
    }
}
