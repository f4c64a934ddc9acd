use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{GradEvent, backward_is_library_managed, loop_body, short_text};
use crate::syntax::{Call, NodeExt, contains, preorder, unparenthesized, words};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for gradient accumulation, an optimizer step under `if (i + 1) % N == 0:` while
/// `.backward()` runs on every iteration, where the loss passed to backward is never divided
/// (or multiplied) by the accumulation factor.
///
/// Backward passes run by Accelerate, Fabric or DeepSpeed are not reported: those libraries
/// divide the loss themselves. Neither are loops that also step an optimizer on every
/// iteration (a delayed policy update in TD3, say): the gated step belongs to another optimizer.
///
/// Also: an inner `for micro in range(ACCUM_STEPS)` loop that calls `backward()` while the
/// optimizer steps once after it, in the enclosing loop.
///
/// ## Why is this bad?
/// Gradients add up over the N micro-batches, so the step applies N times the mean gradient.
/// With SGD this multiplies the effective learning rate by N, which can make training
/// oscillate or diverge when N changes. Adam mostly normalizes the scale away, but its epsilon
/// and any gradient-clipping threshold now act N times weaker. The run silently differs from
/// the same batch size without accumulation.
///
/// ## Example
/// ```python
/// for i, (inputs, targets) in enumerate(loader):
///     loss = criterion(model(inputs), targets)
///     loss.backward()
///     if (i + 1) % accumulation_steps == 0:
///         optimizer.step()
///         optimizer.zero_grad()
/// ```
///
/// Use instead:
/// ```python
/// for i, (inputs, targets) in enumerate(loader):
///     loss = criterion(model(inputs), targets) / accumulation_steps
///     loss.backward()
///     if (i + 1) % accumulation_steps == 0:
///         optimizer.step()
///         optimizer.zero_grad()
/// ```
///
/// ## References
/// - [Hugging Face: gradient accumulation](https://huggingface.co/docs/accelerate/usage_guides/gradient_accumulation)
/// - [PyTorch AMP examples: gradient accumulation](https://pytorch.org/docs/stable/notes/amp_examples.html#gradient-accumulation)
///
/// ## Confirms
/// - FM0011: gradient accumulation without loss normalization
pub struct GradAccumulationLossNotDivided;

impl AuditRule for GradAccumulationLossNotDivided {
    fn code(&self) -> &'static str {
        "PT008"
    }

    fn name(&self) -> &'static str {
        "grad-accumulation-loss-not-divided"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        for gate in file.nodes_of_kind("if_statement") {
            let (Some(condition), Some(consequence)) =
                (gate.field("condition"), gate.field("consequence"))
            else {
                continue;
            };
            let Some(divisor) = modulo_divisor(file, condition) else {
                continue;
            };
            let Some(step) = file
                .grad_events_in(consequence)
                .into_iter()
                .find_map(|(event, node)| (event == GradEvent::OptimizerStep).then_some(node))
            else {
                continue;
            };
            let Some(body) = file.enclosing_loops(gate).next().and_then(loop_body) else {
                continue;
            };
            // The accumulating backward runs on every iteration, outside the gated block.
            let Some(backward) = file
                .grad_events_in(body)
                .into_iter()
                .find_map(|(event, node)| {
                    (event == GradEvent::Backward && !contains(consequence, node)).then_some(node)
                })
            else {
                continue;
            };
            // An optimizer stepped every iteration consumes the gradients each time: the gated
            // step belongs to another optimizer (TD3's delayed actor update), nothing accumulates.
            let stepped_every_iteration = file.grad_events_in(body).iter().any(|(event, node)| {
                *event == GradEvent::OptimizerStep && !contains(consequence, *node)
            });
            if stepped_every_iteration {
                continue;
            }
            let Some(backward_call) = Call::new(backward) else {
                continue;
            };
            if backward_is_library_managed(file, &backward_call) {
                continue;
            }
            let Some(loss) = backward_loss(file, &backward_call) else {
                continue;
            };
            if is_scaled(loss)
                || loss_is_scaled_in(file, body, loss)
                || mentions_divisor(file, body, divisor)
            {
                continue;
            }
            let divisor_text = short_text(file, divisor);
            let (step_line, _) = file.position(step);
            let message = format!(
                "`{}` runs every iteration but `{}` (line {step_line}) only every `{divisor_text}` iterations, and \
                 `{}` is never divided by `{divisor_text}`: the accumulated gradient is `{divisor_text}` times the \
                 mean, which scales the effective learning rate (for SGD) and weakens epsilon and clipping; \
                 divide the loss by `{divisor_text}` before backward",
                short_text(file, backward),
                short_text(file, step),
                short_text(file, loss),
            );
            findings.push(file.finding(self, backward, message, 0.6));
        }
        self.check_micro_batch_loops(file, &mut findings);
        findings
    }
}

/// Words that mark a loop as gradient accumulation rather than, say, a sum over tasks whose
/// gradients are meant to add up.
const ACCUMULATION_WORDS: &[&str] = &["accum", "accumulation", "accumulate", "micro", "microbatch"];

impl GradAccumulationLossNotDivided {
    /// `for micro in range(ACCUM_STEPS): loss.backward()` with the optimizer stepped once after
    /// that inner loop, in the enclosing loop.
    fn check_micro_batch_loops(&self, file: &Context<'_>, findings: &mut Vec<AuditFinding>) {
        for inner in file.nodes_of_kind("for_statement") {
            let Some(divisor) = range_count(file, inner) else {
                continue;
            };
            let named_as_accumulation = [Some(divisor), inner.field("left")]
                .into_iter()
                .flatten()
                .flat_map(|node| words(file.node_text(node)))
                .any(|word| ACCUMULATION_WORDS.contains(&word.as_str()));
            let (Some(inner_body), Some(outer_body)) = (
                loop_body(inner),
                file.enclosing_loops(inner).next().and_then(loop_body),
            ) else {
                continue;
            };
            if !named_as_accumulation {
                continue;
            }
            let inner_events = file.grad_events_in(inner_body);
            if inner_events
                .iter()
                .any(|(event, _)| *event == GradEvent::OptimizerStep)
            {
                continue;
            }
            let Some(step) =
                file.grad_events_in(outer_body)
                    .into_iter()
                    .find_map(|(event, node)| {
                        (event == GradEvent::OptimizerStep && node.start_byte() > inner.end_byte())
                            .then_some(node)
                    })
            else {
                continue;
            };
            let Some(backward) = inner_events
                .iter()
                .find_map(|(event, node)| (*event == GradEvent::Backward).then_some(*node))
            else {
                continue;
            };
            let Some(backward_call) = Call::new(backward) else {
                continue;
            };
            if backward_is_library_managed(file, &backward_call) {
                continue;
            }
            let Some(loss) = backward_loss(file, &backward_call) else {
                continue;
            };
            if is_scaled(loss)
                || loss_is_scaled_in(file, inner_body, loss)
                || divisor_scales_tensors(file, outer_body, divisor, step)
            {
                continue;
            }
            let divisor_text = short_text(file, divisor);
            let (step_line, _) = file.position(step);
            let message = format!(
                "`{}` runs `{divisor_text}` times per `{}` (line {step_line}) and `{}` is never divided by \
                 `{divisor_text}`: the accumulated gradient is `{divisor_text}` times the mean, which scales the \
                 effective learning rate (for SGD) and weakens epsilon and clipping; divide the loss by \
                 `{divisor_text}` before backward",
                short_text(file, backward),
                short_text(file, step),
                short_text(file, loss),
            );
            findings.push(file.finding(self, backward, message, 0.6));
        }
    }
}

/// `N` in `for _ in range(N)`.
fn range_count<'t>(file: &Context<'t>, loop_node: Node<'t>) -> Option<Node<'t>> {
    let call = Call::new(loop_node.field("right")?)?;
    if call.callee_name(file) != "range" || call.argument_count() != 1 {
        return None;
    }
    let count = call.positional().first().copied()?;
    (file.node_text(count) != "1").then_some(count)
}

/// Whether the divisor appears in `body` before the optimizer step, other than in a Python
/// number for logging (`loss.item() / ACCUM_STEPS`), which cannot scale the gradients.
fn divisor_scales_tensors(
    file: &Context<'_>,
    body: Node<'_>,
    divisor: Node<'_>,
    step: Node<'_>,
) -> bool {
    let text = file.node_text(divisor);
    file.scope_descendants(body)
        .filter(|node| node.start_byte() < step.end_byte())
        .filter(|node| file.node_text(*node) == text && node.id() != divisor.id())
        .filter(|node| matches!(node.kind_name(), "identifier" | "attribute" | "integer"))
        .any(|node| {
            !file
                .ancestors(node)
                .take_while(|ancestor| ancestor.id() != body.id())
                .any(|ancestor| {
                    ancestor.kind_name() == "binary_operator"
                        && file.descendants(ancestor).any(|inner| {
                            Call::new(inner).is_some_and(|call| {
                                matches!(call.callee_name(file), "item" | "float" | "tolist")
                            })
                        })
                })
        })
}

/// `N` in a condition such as `(i + 1) % N == 0`; `None` for conditions without a modulo
/// test and for `N == 1`.
fn modulo_divisor<'t>(file: &SourceFile, condition: Node<'t>) -> Option<Node<'t>> {
    let modulo = preorder(condition).find(|node| {
        node.kind_name() == "binary_operator"
            && node
                .field("operator")
                .is_some_and(|operator| file.node_text(operator) == "%")
    })?;
    let divisor = unparenthesized(modulo.field("right")?);
    (file.node_text(divisor) != "1").then_some(divisor)
}

/// The loss a backward call differentiates: `loss` in `loss.backward()`,
/// `scaler.scale(loss).backward()` and `torch.autograd.backward(loss)`.
fn backward_loss<'t>(file: &SourceFile, backward: &Call<'t>) -> Option<Node<'t>> {
    let loss = match backward.receiver() {
        Some(receiver) => unparenthesized(receiver),
        None => backward.argument(file, 0, "tensors")?,
    };
    match Call::new(loss) {
        Some(scale) if scale.callee_name(file) == "scale" => scale.argument(file, 0, "outputs"),
        _ => Some(loss),
    }
}

/// Whether an expression divides or multiplies at its top level (`loss / n`, `loss * w`).
fn is_scaled(expression: Node<'_>) -> bool {
    let expression = unparenthesized(expression);
    expression.kind_name() == "binary_operator"
        && expression
            .field("operator")
            .is_some_and(|operator| matches!(operator.kind_name(), "/" | "*" | "//"))
}

/// Whether the loop body scales `loss` by reassigning it: `loss = loss / n`, `loss /= n`,
/// `loss = criterion(...) / n`.
fn loss_is_scaled_in(file: &Context<'_>, body: Node<'_>, loss: Node<'_>) -> bool {
    let name = file.node_text(loss);
    file.scope_descendants(body).any(|node| {
        let assigns_loss = node
            .field("left")
            .is_some_and(|left| file.node_text(left) == name);
        match node.kind_name() {
            "assignment" => assigns_loss && node.field("right").is_some_and(is_scaled),
            "augmented_assignment" => {
                assigns_loss
                    && node
                        .field("operator")
                        .is_some_and(|operator| matches!(operator.kind_name(), "/=" | "*=" | "//="))
            }
            _ => false,
        }
    })
}

/// Whether the divisor is used in the loop other than in modulo tests; then the loss may be
/// divided in a way this rule cannot see (`compute_loss(batch, accumulation_steps)`).
fn mentions_divisor(file: &Context<'_>, body: Node<'_>, divisor: Node<'_>) -> bool {
    let text = file.node_text(divisor);
    file.scope_descendants(body)
        .filter(|node| {
            matches!(node.kind_name(), "identifier" | "attribute" | "integer")
                && file.node_text(*node) == text
        })
        .filter(|node| {
            !node.parent().is_some_and(|parent| {
                parent.kind_name() == "attribute"
                    && parent
                        .field("attribute")
                        .is_some_and(|a| a.id() == node.id())
            })
        })
        .any(|node| {
            !file
                .ancestors(node)
                .take_while(|ancestor| ancestor.id() != body.id())
                .any(|ancestor| {
                    ancestor.kind_name() == "binary_operator"
                        && ancestor
                            .field("operator")
                            .is_some_and(|operator| file.node_text(operator) == "%")
                })
        })
}
