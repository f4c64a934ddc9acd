use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{GradEvent, loop_body, short_text};
use crate::syntax::{Call, NodeExt};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for gradient clipping (`clip_grad_norm_`, `clip_grad_value_`) placed after
/// `optimizer.step()` with no backward pass in between, in the same loop body (or function),
/// when no other step follows the clipping.
///
/// ## Why is this bad?
/// The step has already applied the unclipped gradients, and the next iteration resets and
/// recomputes them, so the clipping has no effect at all. Training runs as if there were no
/// clipping, and the gradient spikes it was meant to stop still blow up the loss.
///
/// ## Example
/// ```python
/// loss.backward()
/// optimizer.step()
/// torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
/// ```
///
/// Use instead:
/// ```python
/// loss.backward()
/// torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
/// optimizer.step()
/// ```
///
/// ## References
/// - [PyTorch: `clip_grad_norm_`](https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html)
/// - [PyTorch AMP examples: gradient clipping with a scaler](https://pytorch.org/docs/stable/notes/amp_examples.html#gradient-clipping)
///
/// ## Confirms
/// - FM0001: fp16 overflow without loss scaling
/// - FM0006: exploding gradients without (effective) clipping
pub struct ClipAfterStep;

impl AuditRule for ClipAfterStep {
    fn code(&self) -> &'static str {
        "PT006"
    }

    fn name(&self) -> &'static str {
        "clip-after-step"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        let clips: Vec<Node<'_>> = file
            .grad_events()
            .iter()
            .filter(|(event, _)| *event == GradEvent::ClipGrad)
            .map(|(_, node)| *node)
            .collect();
        for clip in clips {
            if measures_only(file, clip) {
                continue;
            }
            let Some(scope) = step_scope(file, clip) else {
                continue;
            };
            let events: Vec<(GradEvent, Node<'_>)> = file
                .grad_events_in(scope)
                .into_iter()
                .filter(|(event, _)| {
                    matches!(event, GradEvent::Backward | GradEvent::OptimizerStep)
                })
                .collect();
            let before = events
                .iter()
                .rev()
                .find(|(_, node)| node.start_byte() < clip.start_byte());
            let after = events
                .iter()
                .find(|(_, node)| node.start_byte() > clip.end_byte());
            let Some((GradEvent::OptimizerStep, step)) = before else {
                continue;
            };
            if matches!(after, Some((GradEvent::OptimizerStep, _))) {
                continue;
            }
            let (step_line, _) = file.position(*step);
            let message = format!(
                "`{}` runs after `{}` (line {step_line}) with no backward pass in between: the step has already \
                 used the unclipped gradients and the next iteration replaces them, so clipping has no effect; \
                 clip between `backward()` and `step()`",
                short_text(file, clip),
                short_text(file, *step),
            );
            findings.push(file.finding(self, clip, message, 0.85));
        }
        findings
    }
}

/// `clip_grad_norm_(params, float("inf"))` clips nothing: it measures the gradient norm, for
/// logging, which is fine after the step.
fn measures_only(file: &SourceFile, clip: Node<'_>) -> bool {
    Call::new(clip)
        .and_then(|call| {
            call.argument(file, 1, "max_norm")
                .or_else(|| call.argument(file, 1, "clip_value"))
        })
        .is_some_and(|limit| file.node_text(limit).contains("inf"))
}

/// The straight-line code a training step lives in: the innermost loop body around `node`, or
/// else its function body.
fn step_scope<'t>(file: &Context<'t>, node: Node<'_>) -> Option<Node<'t>> {
    if let Some(training_loop) = file.enclosing_loops(node).next() {
        return loop_body(training_loop);
    }
    let scope = file.enclosing_scope(node);
    match scope.kind_name() {
        "function_definition" => scope.field("body"),
        "module" => Some(scope),
        _ => None,
    }
}
