use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{names_labels, resolve_value};
use crate::semantic::training::{GradEvent, short_text};
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a loss whose prediction argument is cut from the autograd graph while its target
/// is the labels: `criterion(outputs.detach(), labels)`, `F.mse_loss(pred.data, y)`,
/// `criterion(torch.tensor(preds), y)`, or a name assigned from such an expression in the same
/// function, in a function that runs `.backward()` (or a Lightning `training_step`).
///
/// Detaching the *target* (`F.mse_loss(q, target_q.detach())`, distillation targets, GAN
/// discriminator inputs such as `D(fake.detach())`) is correct and not reported.
///
/// ## Why is this bad?
/// `.detach()`, `.data`, `.item()` and re-wrapping with `torch.tensor` return a tensor with no
/// history. The loss then has no path back to the model: `backward()` raises "element 0 of
/// tensors does not require grad", or, when another term of the loss does require grad, runs
/// and leaves the model's gradients at zero, so the weights never change while the loss is
/// logged as if training were happening.
///
/// ## Example
/// ```python
/// outputs = model(inputs).detach()
/// loss = criterion(outputs, labels)
/// loss.backward()
/// ```
///
/// Use instead:
/// ```python
/// outputs = model(inputs)
/// loss = criterion(outputs, labels)
/// loss.backward()
/// ```
///
/// ## References
/// - [PyTorch: `Tensor.detach`](https://pytorch.org/docs/stable/generated/torch.Tensor.detach.html)
/// - [PyTorch autograd mechanics](https://pytorch.org/docs/stable/notes/autograd.html)
///
/// ## Confirms
/// - FM0129: no gradient reaches part of the model
/// - FM0191: "element 0 of tensors does not require grad"
pub struct DetachedPredictionInLoss;

impl AuditRule for DetachedPredictionInLoss {
    fn code(&self) -> &'static str {
        "PT013"
    }

    fn name(&self) -> &'static str {
        "detached-prediction-in-loss"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let cuts_graphs = [
            "detach",
            ".data",
            "tensor(",
            "item(",
            "numpy(",
            "tolist(",
            "from_numpy",
        ]
        .iter()
        .any(|needle| file.mentions(needle));
        if !cuts_graphs {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for call in file.calls() {
            let Some(loss) = file.loss_call(call) else {
                continue;
            };
            let (Some(input), Some(target)) = (loss.input, loss.target) else {
                continue;
            };
            if !names_labels(file.node_text(target)) || !trains_here(file, call.node) {
                continue;
            }
            let value = resolve_value(file, input);
            let Some(cut) = graph_cut(file, value) else {
                continue;
            };
            let how = describe_cut(file, cut);
            let input_text = short_text(file, input);
            let subject = if value.id() == unparenthesized(input).id() {
                format!("`{input_text}`, which {how}")
            } else {
                let (line, _) = file.position(value);
                format!(
                    "`{input_text}` (`{}`, line {line}), which {how}",
                    short_text(file, value)
                )
            };
            let message = format!(
                "{} receives {subject}: the prediction has no autograd history, so the loss cannot reach the \
                 model and its gradients stay zero (or `backward()` raises \"does not require grad\"); pass the \
                 prediction itself and detach only what is logged",
                loss.label
            );
            findings.push(file.finding(self, call.node, message, 0.85));
        }
        findings
    }
}

/// Whether the function around `node` trains: it runs a backward pass of its own, or it is a
/// Lightning `training_step`, whose returned loss Lightning backpropagates.
fn trains_here(file: &Context<'_>, node: Node<'_>) -> bool {
    let Some(function) = file.enclosing_function(node) else {
        return false;
    };
    let named_training_step = function
        .field("name")
        .is_some_and(|name| file.node_text(name) == "training_step");
    named_training_step
        || function.field("body").is_some_and(|body| {
            file.grad_events_in(body)
                .iter()
                .any(|(event, _)| *event == GradEvent::Backward)
        })
}

/// Methods that keep a tensor's values (and its graph, or lack of one).
const PASS_THROUGH: &[&str] = &[
    "float",
    "double",
    "half",
    "to",
    "cpu",
    "cuda",
    "view",
    "reshape",
    "squeeze",
    "unsqueeze",
    "flatten",
    "contiguous",
    "clone",
    "type",
];

/// The expression in `value` that removes the autograd history, looking through casts and
/// reshapes: `.detach()`, `.data`, `.item()`, `.numpy()`, `.tolist()`, `torch.tensor(...)`.
fn graph_cut<'t>(file: &Context<'t>, value: Node<'t>) -> Option<Node<'t>> {
    let value = unparenthesized(value);
    match value.kind_name() {
        "attribute" => (value
            .field("attribute")
            .is_some_and(|attribute| file.node_text(attribute) == "data"))
        .then_some(value),
        "call" => {
            let call = Call::new(value)?;
            let name = call.callee_name(file);
            match call.receiver() {
                Some(_) if matches!(name, "detach" | "item" | "numpy" | "tolist") => {
                    (call.argument_count() == 0).then_some(value)
                }
                Some(receiver) if PASS_THROUGH.contains(&name) => graph_cut(file, receiver),
                _ if matches!(
                    name,
                    "tensor" | "as_tensor" | "from_numpy" | "Tensor" | "FloatTensor"
                ) =>
                {
                    let module = call
                        .receiver()
                        .map(|receiver| file.node_text(receiver))
                        .unwrap_or("");
                    (module == "torch").then_some(value)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn describe_cut(file: &Context<'_>, cut: Node<'_>) -> String {
    if cut.kind_name() == "attribute" {
        return "goes through `.data`".to_owned();
    }
    let name = Call::new(cut).map_or("", |call| call.callee_name(file));
    match name {
        "detach" => "is detached by `.detach()`".to_owned(),
        "item" | "tolist" | "numpy" => format!("leaves autograd through `.{name}()`"),
        _ => format!(
            "is re-created as a new leaf tensor by `{}`",
            short_text(file, cut)
        ),
    }
}
