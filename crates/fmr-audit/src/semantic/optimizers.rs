//! Optimizer constructions and the parameters they are given.

use tree_sitter::Node;

use super::training::is_optimizer_constructor;
use crate::Context;
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};

/// An optimizer built in the file and the modules whose `.parameters()` it receives.
pub struct OptimizerConstruction<'t> {
    pub call: Call<'t>,
    /// `model` for `Adam(model.parameters())`, `self.encoder` for
    /// `Adam(self.encoder.parameters())`; every module named anywhere in the first argument.
    pub modules: Vec<String>,
}

/// Every optimizer construction of the file, in source order.
pub fn optimizer_constructions<'t>(file: &Context<'t>) -> Vec<OptimizerConstruction<'t>> {
    file.calls()
        .iter()
        .filter(|call| is_optimizer_constructor(file, call))
        .filter_map(|call| {
            let params = call.argument(file, 0, "params")?;
            Some(OptimizerConstruction {
                call: *call,
                modules: parameter_owners(file, params),
            })
        })
        .collect()
}

/// The receivers of `.parameters()` / `.named_parameters()` calls inside `params`.
pub fn parameter_owners(file: &Context<'_>, params: Node<'_>) -> Vec<String> {
    file.calls_in(params)
        .iter()
        .filter(|call| matches!(call.callee_name(file), "parameters" | "named_parameters"))
        .filter_map(|call| {
            call.receiver()
                .and_then(|receiver| dotted_name(file, receiver))
        })
        .collect()
}

/// Layer classes of `torch.nn` commonly attached to a model after construction.
const LAYER_CLASSES: &[&str] = &[
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "GRU",
    "LSTM",
    "LayerNorm",
    "Linear",
    "ModuleDict",
    "ModuleList",
    "MultiheadAttention",
    "Parameter",
    "Sequential",
];

/// Whether `value` builds a new module with parameters: an `nn.` class, a known layer, or a
/// class defined in this file.
pub fn constructs_module(file: &Context<'_>, value: Node<'_>) -> bool {
    let Some(call) = Call::new(unparenthesized(value)) else {
        return false;
    };
    let name = call.callee_name(file);
    if !name.starts_with(char::is_uppercase) {
        return false;
    }
    let dotted = call.dotted_name(file).unwrap_or_default();
    LAYER_CLASSES.contains(&name)
        || dotted.starts_with("nn.")
        || dotted.starts_with("torch.nn.")
        || file.nodes_of_kind("class_definition").any(|class| {
            class
                .field("name")
                .is_some_and(|class_name| file.node_text(class_name) == name)
        })
}
