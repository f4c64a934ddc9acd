use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{GradEvent, loop_body, short_text};
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a loss tensor that is backpropagated in a training loop and also accumulated into
/// a running total (`total_loss += loss`) or a list (`losses.append(loss)`) without `.item()`
/// or `.detach()`, when that total is never itself backpropagated.
///
/// Accumulating on purpose to call `backward()` on the sum later, and accumulating
/// `loss.item()` or `loss.detach()`, are not reported.
///
/// ## Why is this bad?
/// A loss tensor carries its whole autograd graph. Adding it to a running total keeps every
/// iteration's graph, activations included, alive until the total is dropped: memory grows
/// step after step until the process runs out of GPU memory, and each step gets slower. The
/// numbers printed look right, which hides the cause.
///
/// ## Example
/// ```python
/// total_loss = 0
/// for inputs, targets in loader:
///     loss = criterion(model(inputs), targets)
///     loss.backward()
///     optimizer.step()
///     total_loss += loss
/// ```
///
/// Use instead:
/// ```python
/// total_loss = 0.0
/// for inputs, targets in loader:
///     loss = criterion(model(inputs), targets)
///     loss.backward()
///     optimizer.step()
///     total_loss += loss.item()
/// ```
///
/// ## References
/// - [PyTorch FAQ: my model reports "cuda runtime error(2): out of memory"](https://pytorch.org/docs/stable/notes/faq.html#my-model-reports-cuda-runtime-error-2-out-of-memory)
/// - [PyTorch: `Tensor.item`](https://pytorch.org/docs/stable/generated/torch.Tensor.item.html)
///
/// ## Confirms
/// - FM0105: memory grows every step from retained graphs
pub struct LossAccumulatedWithGraph;

impl AuditRule for LossAccumulatedWithGraph {
    fn code(&self) -> &'static str {
        "PT029"
    }

    fn name(&self) -> &'static str {
        "loss-accumulated-with-graph"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        for (event, backward) in file.grad_events() {
            if *event != GradEvent::Backward {
                continue;
            }
            let Some(loss) = Call::new(*backward)
                .and_then(|call| call.receiver())
                .map(unparenthesized)
                .filter(|receiver| receiver.kind_name() == "identifier")
                .map(|receiver| file.node_text(receiver))
            else {
                continue;
            };
            let Some(body) = file.enclosing_loops(*backward).next().and_then(loop_body) else {
                continue;
            };
            for (accumulation, total) in accumulations(file, body, loss) {
                if is_backpropagated(file, &total) {
                    continue;
                }
                let (line, _) = file.position(*backward);
                let message = format!(
                    "`{}` keeps `{loss}`, which is backpropagated at line {line}, with its autograd graph: every \
                     iteration's graph and activations stay alive through `{total}`, so memory grows each step; \
                     accumulate `{loss}.item()` (or `{loss}.detach()`)",
                    short_text(file, accumulation)
                );
                findings.push(file.finding(self, accumulation, message, 0.8));
            }
        }
        findings.sort_by_key(|finding| (finding.line, finding.column));
        findings.dedup_by_key(|finding| (finding.line, finding.column));
        findings
    }
}

/// `total += loss`, `total = total + loss`, `history.append(loss)` in the loop body, with the
/// name of the accumulator.
fn accumulations<'t>(file: &Context<'t>, body: Node<'_>, loss: &str) -> Vec<(Node<'t>, String)> {
    let mut found = Vec::new();
    for node in file.scope_descendants(body) {
        match node.kind_name() {
            "augmented_assignment" => {
                let (Some(left), Some(operator), Some(right)) = (
                    node.field("left"),
                    node.field("operator"),
                    node.field("right"),
                ) else {
                    continue;
                };
                if operator.kind_name() == "+=" && holds_loss(file, right, loss) {
                    found.push((node, file.node_text(left).to_owned()));
                }
            }
            "call" => {
                let Some(call) = file.call_at(node) else {
                    continue;
                };
                if call.callee_name(file) != "append" {
                    continue;
                }
                let (Some(list), Some(item)) =
                    (call.receiver(), call.positional().first().copied())
                else {
                    continue;
                };
                if file.node_text(unparenthesized(item)) == loss {
                    found.push((node, file.node_text(list).to_owned()));
                }
            }
            _ => {}
        }
    }
    found
}

/// `loss` itself or `loss * weight`: still the tensor with its graph.
fn holds_loss(file: &Context<'_>, value: Node<'_>, loss: &str) -> bool {
    let value = unparenthesized(value);
    match value.kind_name() {
        "identifier" => file.node_text(value) == loss,
        "binary_operator" => {
            value
                .field("operator")
                .is_some_and(|operator| matches!(operator.kind_name(), "*" | "/"))
                && [value.field("left"), value.field("right")]
                    .into_iter()
                    .flatten()
                    .any(|operand| file.node_text(unparenthesized(operand)) == loss)
        }
        _ => false,
    }
}

/// Whether anything built from `total` is backpropagated in the file (`total.backward()`,
/// `torch.stack(total).mean().backward()`).
fn is_backpropagated(file: &Context<'_>, total: &str) -> bool {
    file.grad_events().iter().any(|(event, node)| {
        *event == GradEvent::Backward
            && file
                .descendants(*node)
                .any(|part| dotted_name(file, part).as_deref() == Some(total))
    }) || file.nodes_of_kind("assignment").any(|assignment| {
        // `loss = sum(losses)` followed by `loss.backward()`.
        assignment.field("right").is_some_and(|right| {
            file.descendants(right)
                .any(|part| dotted_name(file, part).as_deref() == Some(total))
        }) && assignment.field("left").is_some_and(|left| {
            let name = file.node_text(left);
            file.grad_events().iter().any(|(event, node)| {
                *event == GradEvent::Backward
                    && Call::new(*node)
                        .and_then(|call| call.receiver())
                        .is_some_and(|receiver| file.node_text(receiver) == name)
            })
        })
    })
}
