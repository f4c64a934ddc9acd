use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::resolve_value;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, unparenthesized, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for `softmax`/`log_softmax` taken over dimension 0 of a model's batch-first output:
/// `F.softmax(logits, dim=0)`, `model(x).log_softmax(0)`, `torch.softmax(self.fc(h), 0)`,
/// where the input is the output of a network or layer call, or a name such as `logits` or
/// `outputs` assigned from one.
///
/// Softmax over dimension 0 of other tensors (attention or pooling weights over a set of
/// instances, 1-D score vectors) is not reported.
///
/// ## Why is this bad?
/// Classifier outputs are `(batch, classes)`. Normalizing over dimension 0 makes each class
/// column sum to one across the batch: an example's "probabilities" depend on the other
/// examples in its batch and do not sum to one. Training with such outputs, or picking
/// predictions from them, gives results that change with batch size and composition, without
/// any error.
///
/// ## Example
/// ```python
/// logits = model(images)
/// probs = F.softmax(logits, dim=0)
/// ```
///
/// Use instead:
/// ```python
/// logits = model(images)
/// probs = F.softmax(logits, dim=-1)
/// ```
///
/// ## References
/// - [PyTorch: `torch.nn.functional.softmax`](https://pytorch.org/docs/stable/generated/torch.nn.functional.softmax.html)
/// - [PyTorch: `nn.Softmax`](https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html)
///
/// ## Confirms
/// - FM0110: predictions or metrics computed along the wrong axis
/// - FM0018: outputs and labels in mismatched formats
pub struct SoftmaxOverBatchDim;

/// Words naming a network whose call returns batch-first scores.
const NETWORK_WORDS: &[&str] = &[
    "model",
    "net",
    "network",
    "classifier",
    "head",
    "fc",
    "linear",
    "decoder",
    "policy",
    "actor",
    "lm",
];

/// Names given to batch-first network outputs.
const OUTPUT_WORDS: &[&str] = &["logits", "outputs", "output", "preds", "predictions", "out"];

/// Words that name weights over a set rather than class scores.
const SET_WORDS: &[&str] = &[
    "attn",
    "attention",
    "alpha",
    "weights",
    "weight",
    "score",
    "scores",
    "energy",
];

impl AuditRule for SoftmaxOverBatchDim {
    fn code(&self) -> &'static str {
        "PT030"
    }

    fn name(&self) -> &'static str {
        "softmax-over-batch-dim"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("softmax") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for name in ["softmax", "log_softmax"] {
            for call in file.calls_named(name) {
                let Some((input, dimension)) = input_and_dimension(file, call) else {
                    continue;
                };
                if file.node_text(dimension) != "0" {
                    continue;
                }
                let Some(network_call) = batch_first_network_output(file, input) else {
                    continue;
                };
                let message = format!(
                    "`{}` normalizes over dimension 0, the batch, of `{}`: each class column sums to one across \
                     the batch, so an example's probabilities depend on its batch-mates; use `dim=-1` (the class \
                     dimension)",
                    short_text(file, call.node),
                    short_text(file, network_call),
                );
                findings.push(file.finding(self, call.node, message, 0.75));
            }
        }
        findings
    }
}

/// The tensor and the `dim` of `F.softmax(x, dim)`, `torch.softmax(x, dim)` or `x.softmax(dim)`.
fn input_and_dimension<'t>(file: &Context<'t>, call: &Call<'t>) -> Option<(Node<'t>, Node<'t>)> {
    let functional = call.receiver().is_none_or(|receiver| {
        matches!(
            file.node_text(receiver),
            "F" | "torch" | "nn.functional" | "torch.nn.functional"
        )
    });
    if functional {
        Some((
            call.argument(file, 0, "input")?,
            call.argument(file, 1, "dim")?,
        ))
    } else {
        Some((call.receiver()?, call.argument(file, 0, "dim")?))
    }
}

/// The network call whose output `input` is (directly or through one assignment), when the
/// names involved say batch-first class scores.
fn batch_first_network_output<'t>(file: &Context<'t>, input: Node<'t>) -> Option<Node<'t>> {
    let input = unparenthesized(input);
    let input_words = words(file.node_text(input));
    if input_words
        .iter()
        .any(|word| SET_WORDS.contains(&word.as_str()))
    {
        return None;
    }
    let value = resolve_value(file, input);
    let call = Call::new(unparenthesized(value))?;
    if call.function.kind_name() == "call" {
        return None;
    }
    let callee_words = words(file.node_text(call.function));
    let network = callee_words
        .last()
        .is_some_and(|word| NETWORK_WORDS.contains(&word.as_str()));
    let named_output = input.kind_name() == "identifier"
        && input_words
            .iter()
            .any(|word| OUTPUT_WORDS.contains(&word.as_str()));
    (network && (value.id() == input.id() || named_output)).then_some(call.node)
}
