use fmr_core::AuditFinding;

use super::manual_optimization_without_zero_grad::{manual_optimization, method};
use crate::syntax::{NodeExt, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a `LightningModule` with automatic optimization whose `training_step` computes a
/// loss but returns nothing (no `return`, or only `return None`).
///
/// Modules with manual optimization (`self.automatic_optimization = False`) are not reported:
/// their `training_step` does not need to return the loss.
///
/// ## Why is this bad?
/// With automatic optimization Lightning backpropagates the value `training_step` returns. When
/// it returns `None`, Lightning skips the optimization step for that batch. If no batch returns
/// a loss, the model is never updated: the logged loss stays flat while epochs go by, without an
/// error.
///
/// ## Example
/// ```python
/// def training_step(self, batch, batch_idx):
///     x, y = batch
///     loss = F.cross_entropy(self(x), y)
///     self.log("train_loss", loss)
/// ```
///
/// Use instead:
/// ```python
/// def training_step(self, batch, batch_idx):
///     x, y = batch
///     loss = F.cross_entropy(self(x), y)
///     self.log("train_loss", loss)
///     return loss
/// ```
///
/// ## References
/// - [Lightning: `LightningModule.training_step`](https://lightning.ai/docs/pytorch/stable/common/lightning_module.html#training-step)
///
/// ## Confirms
/// - none yet (proposed entry: "Lightning training_step returns no loss")
pub struct TrainingStepReturnsNone;

impl AuditRule for TrainingStepReturnsNone {
    fn code(&self) -> &'static str {
        "PL002"
    }

    fn name(&self) -> &'static str {
        "training-step-returns-none"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("LightningModule") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for class in file.nodes_of_kind("class_definition") {
            let is_lightning = class
                .field("superclasses")
                .is_some_and(|bases| file.node_text(bases).contains("LightningModule"));
            if !is_lightning || manual_optimization(file, class) {
                continue;
            }
            let Some(step) = method(file, class, "training_step") else {
                continue;
            };
            let Some(body) = step.field("body") else {
                continue;
            };
            let returns_value = file.scope_descendants(body).any(|node| {
                node.kind_name() == "return_statement"
                    && node
                        .named_child(0)
                        .is_some_and(|value| value.kind_name() != "none")
            });
            let computes_loss = file.scope_descendants(body).any(|node| {
                node.kind_name() == "identifier"
                    && words(file.node_text(node))
                        .iter()
                        .any(|word| word == "loss")
            });
            if returns_value || !computes_loss {
                continue;
            }
            let name = step.field("name").unwrap_or(step);
            let message = "`training_step` computes a loss but returns no value: with automatic optimization \
                           Lightning skips the optimizer step for any batch whose `training_step` returns `None`, \
                           so the model is never updated; `return loss`"
                .to_owned();
            findings.push(file.finding(self, name, message, 0.8));
        }
        findings
    }
}
