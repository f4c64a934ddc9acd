use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::number;
use crate::semantic::optimizers::optimizer_constructions;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for an optimizer that applies a weight decay of 0.01 or more to every parameter of a
/// model (`AdamW(model.parameters(), weight_decay=0.1)`) whose class, defined in the same file,
/// has normalization layers (`LayerNorm`, `BatchNorm*`, `GroupNorm`, `RMSNorm`).
///
/// Parameter groups that exempt some parameters (`[{"params": decay, ...}, {"params":
/// no_decay, "weight_decay": 0.0}]`) and models whose layers cannot be seen are not reported.
///
/// ## Why is this bad?
/// Weight decay pulls every parameter toward zero. For normalization gains and biases this is a
/// pure handicap: a norm layer's scale has no reason to shrink, and decaying it fights the
/// layer's purpose, which costs accuracy and, with large decay, destabilizes training of deep
/// transformers. Common recipes (BERT, GPT, ViT, timm) exclude 1-D parameters from decay.
///
/// ## Example
/// ```python
/// optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
/// ```
///
/// Use instead:
/// ```python
/// decay = [p for p in model.parameters() if p.ndim >= 2]
/// no_decay = [p for p in model.parameters() if p.ndim < 2]
/// optimizer = torch.optim.AdamW(
///     [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
///     lr=3e-4,
/// )
/// ```
///
/// ## References
/// - [Loshchilov and Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019)](https://arxiv.org/abs/1711.05101)
/// - [Transformers: parameter groups without decay for bias and LayerNorm](https://huggingface.co/docs/transformers/main_classes/trainer)
///
/// ## Confirms
/// - FM0014: weight decay misconfigured
pub struct WeightDecayOnNormAndBias;

const NORM_LAYERS: &[&str] = &[
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "LayerNorm",
    "RMSNorm",
    "SyncBatchNorm",
];

impl AuditRule for WeightDecayOnNormAndBias {
    fn code(&self) -> &'static str {
        "PT022"
    }

    fn name(&self) -> &'static str {
        "weight-decay-on-norm-and-bias"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("weight_decay") || !file.mentions("Norm") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for optimizer in optimizer_constructions(file) {
            let Some(decay) = optimizer.call.keyword(file, "weight_decay") else {
                continue;
            };
            if number(file, decay).is_none_or(|decay| decay < 0.01) {
                continue;
            }
            let Some(model) = optimizer
                .call
                .argument(file, 0, "params")
                .and_then(|params| Call::new(unparenthesized(params)))
                .filter(|params| params.callee_name(file) == "parameters")
                .and_then(|params| params.receiver())
            else {
                continue;
            };
            let Some((class_name, norm)) = model_norm_layer(file, model) else {
                continue;
            };
            let (line, _) = file.position(norm);
            let model_text = file.node_text(model);
            let message = format!(
                "`{}` decays every parameter of `{model_text}`, including the gains and biases of `{class_name}`'s \
                 normalization layers (`{}`, line {line}): they are pulled toward zero for no benefit; put 1-D \
                 parameters (norms, biases) in a group with `weight_decay=0.0`",
                short_text(file, optimizer.call.node),
                short_text(file, norm),
            );
            findings.push(file.finding(self, optimizer.call.node, message, 0.5));
        }
        findings
    }
}

/// The model's class (defined in this file) and one of its normalization layers: `self` inside
/// the class, or a name assigned from the class's constructor.
fn model_norm_layer<'t>(file: &Context<'t>, model: Node<'_>) -> Option<(String, Node<'t>)> {
    let class = if file.node_text(model) == "self" {
        file.enclosing_class(model)?
    } else {
        let name = dotted_name(file, model)?;
        let constructor = file
            .assignment_sides()
            .filter(|(left, _)| file.node_text(*left) == name)
            .find_map(|(_, right)| Call::new(unparenthesized(right)))?;
        let class_name = constructor.callee_name(file);
        file.nodes_of_kind("class_definition").find(|class| {
            class
                .field("name")
                .is_some_and(|name| file.node_text(name) == class_name)
        })?
    };
    let class_name = file.node_text(class.field("name")?).to_owned();
    let norm = file
        .calls_in(class)
        .iter()
        .find(|call| NORM_LAYERS.contains(&call.callee_name(file)))?;
    Some((class_name, norm.node))
}
