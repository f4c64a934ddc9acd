use std::collections::HashSet;

use fmr_core::AuditFinding;

use crate::semantic::flow::{Activation, LossKind, describe_input, first_conflicting_loss};
use crate::semantic::training::short_text;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for sigmoid outputs (`torch.sigmoid`, `.sigmoid()`, `nn.Sigmoid`, a model whose
/// `forward` ends in a sigmoid) passed to `nn.BCELoss` / `F.binary_cross_entropy`, and for
/// sigmoid outputs passed to losses that apply a sigmoid themselves
/// (`nn.BCEWithLogitsLoss`, `F.binary_cross_entropy_with_logits`,
/// `optax.sigmoid_binary_cross_entropy`).
///
/// ## Why is this bad?
/// `BCELoss` computes `log(sigmoid(x))` in two steps. For large `|x|` the sigmoid rounds to 0 or
/// 1 and the log is clamped at -100, so gradients vanish or jump; in fp16 it overflows, which
/// is why autocast refuses it. `BCEWithLogitsLoss` fuses both steps with the log-sum-exp trick.
/// Feeding a sigmoid into a with-logits loss is worse: the loss sees `sigmoid(sigmoid(x))`,
/// confined to [0.5, 0.73], and cannot be minimized.
///
/// ## Example
/// ```python
/// criterion = nn.BCELoss()
/// loss = criterion(torch.sigmoid(logits), targets)
/// ```
///
/// Use instead:
/// ```python
/// criterion = nn.BCEWithLogitsLoss()
/// loss = criterion(logits, targets)
/// ```
///
/// ## References
/// - [PyTorch: `BCEWithLogitsLoss`](https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html)
/// - [PyTorch AMP: ops that autocast refuses](https://pytorch.org/docs/stable/amp.html#prefer-binary-cross-entropy-with-logits-over-binary-cross-entropy)
///
/// ## Confirms
/// - FM0141: log of zero from probabilities saturating in BCE
pub struct SigmoidIntoBce;

impl AuditRule for SigmoidIntoBce {
    fn code(&self) -> &'static str {
        "PT003"
    }

    fn name(&self) -> &'static str {
        "sigmoid-into-bce"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("sigmoid") && !file.mentions("Sigmoid") && !file.mentions("expit") {
            return Vec::new();
        }
        let flows = file.flows();
        let mut findings = Vec::new();
        let mut classes_reported = HashSet::new();
        for loss in flows
            .losses
            .iter()
            .filter(|loss| loss.origin.activation == Activation::Sigmoid)
        {
            if let Some(class) = &loss.origin.model_class {
                classes_reported.insert(class.clone());
            }
            let input = describe_input(file, loss);
            let label = &loss.loss_label;
            let (message, confidence) = if loss.loss == LossKind::BinaryCrossEntropy {
                let message = format!(
                    "{input}; {label} then takes its log in a separate step, which saturates for large \
                     logits and overflows in fp16; use `nn.BCEWithLogitsLoss` on the logits"
                );
                (message, 0.8)
            } else {
                let message = format!(
                    "{input}; {label} applies a sigmoid itself: the loss sees sigmoid(sigmoid(x)), confined \
                     to [0.5, 0.73], and cannot fit the targets; pass the logits"
                );
                (message, 0.9)
            };
            findings.push(file.finding(self, loss.call, message, confidence));
        }
        let Some((loss_kind, loss_site)) = first_conflicting_loss(flows, Activation::Sigmoid)
        else {
            return findings;
        };
        for summary in flows.activation_returns.iter().filter(|summary| {
            summary.origin.activation == Activation::Sigmoid
                && !classes_reported.contains(&summary.class_name)
        }) {
            let (loss_line, _) = file.position(loss_site);
            let (consequence, confidence) = if loss_kind == LossKind::BinaryCrossEntropy {
                (
                    "which takes the log in a separate, unstable step; return the logits and use `nn.BCEWithLogitsLoss`",
                    0.6,
                )
            } else {
                ("which applies a sigmoid itself; return the logits", 0.8)
            };
            let message = format!(
                "`{}.{}` returns `{}`, and this file trains with `{}` (line {loss_line}), {consequence}",
                summary.class_name,
                summary.method_name,
                short_text(file, summary.origin.node),
                short_text(file, loss_site),
            );
            findings.push(file.finding(self, summary.return_node, message, confidence));
        }
        findings
    }
}
