use std::collections::HashSet;

use fmr_core::AuditFinding;

use crate::semantic::flow::{Activation, LossKind, describe_input, first_conflicting_loss};
use crate::semantic::training::short_text;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for softmax outputs passed to a loss that normalizes its input itself:
/// `nn.CrossEntropyLoss`, `F.cross_entropy` and `optax.softmax_cross_entropy` apply
/// log-softmax to their input, and `nn.NLLLoss` expects log-probabilities. The softmax may be
/// applied directly, through a variable, through an `nn.Softmax` module or an `nn.Sequential`
/// ending in one, or in the `forward` of a model class of the same file.
///
/// `log_softmax` followed by `CrossEntropyLoss` is not reported: log-softmax is idempotent, so
/// that loss is correct (only redundant).
///
/// ## Why is this bad?
/// Cross-entropy then takes a second softmax over values squeezed into [0, 1]: the predicted
/// distribution can never become confident, the gradients shrink, and the loss plateaus near
/// its starting value while accuracy may still creep up. Nothing raises an error. With
/// `NLLLoss`, probabilities are read as log-probabilities and the loss is simply wrong.
///
/// ## Example
/// ```python
/// criterion = nn.CrossEntropyLoss()
/// probs = F.softmax(model(inputs), dim=1)
/// loss = criterion(probs, targets)
/// ```
///
/// Use instead:
/// ```python
/// criterion = nn.CrossEntropyLoss()
/// logits = model(inputs)
/// loss = criterion(logits, targets)
/// ```
///
/// ## References
/// - [PyTorch: `CrossEntropyLoss`](https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html)
/// - [PyTorch: `NLLLoss`](https://pytorch.org/docs/stable/generated/torch.nn.NLLLoss.html)
/// - [Optax: `softmax_cross_entropy`](https://optax.readthedocs.io/en/latest/api/losses.html)
///
/// ## Confirms
/// - FM0019: softmax fed to a loss that applies its own
pub struct SoftmaxBeforeCrossEntropy;

impl AuditRule for SoftmaxBeforeCrossEntropy {
    fn code(&self) -> &'static str {
        "PT002"
    }

    fn name(&self) -> &'static str {
        "softmax-before-cross-entropy"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("softmax") && !file.mentions("Softmax") {
            return Vec::new();
        }
        let flows = file.flows();
        let mut findings = Vec::new();
        let mut classes_reported = HashSet::new();
        for loss in flows
            .losses
            .iter()
            .filter(|loss| loss.origin.activation == Activation::Softmax)
        {
            if let Some(class) = &loss.origin.model_class {
                classes_reported.insert(class.clone());
            }
            let input = describe_input(file, loss);
            let label = &loss.loss_label;
            let message = if loss.loss == LossKind::NegativeLogLikelihood {
                format!(
                    "{input}; {label} expects log-probabilities, so it reads the probabilities as logs and \
                     the loss is wrong; use `log_softmax` instead of `softmax`"
                )
            } else {
                format!(
                    "{input}; {label} applies log-softmax itself: the loss takes a second softmax over \
                     values in [0, 1], which flattens the gradients and stalls training; pass the logits"
                )
            };
            findings.push(file.finding(self, loss.call, message, 0.9));
        }
        let Some((loss_kind, loss_site)) = first_conflicting_loss(flows, Activation::Softmax)
        else {
            return findings;
        };
        for summary in flows.activation_returns.iter().filter(|summary| {
            summary.origin.activation == Activation::Softmax
                && !classes_reported.contains(&summary.class_name)
        }) {
            let (loss_line, _) = file.position(loss_site);
            let expectation = if loss_kind == LossKind::NegativeLogLikelihood {
                "which expects log-probabilities"
            } else {
                "which applies log-softmax itself"
            };
            let message = format!(
                "`{}.{}` returns `{}`, and this file trains with `{}` (line {loss_line}), {expectation}: \
                 return the logits and apply softmax only for predictions",
                summary.class_name,
                summary.method_name,
                short_text(file, summary.origin.node),
                short_text(file, loss_site),
            );
            findings.push(file.finding(self, summary.return_node, message, 0.7));
        }
        findings
    }
}
