//! Which calls compute a PyTorch loss, with their prediction and target arguments: loss modules
//! bound to a name anywhere in the file (`criterion = nn.MSELoss()`, `self.loss_fn = ...`),
//! constructed inline (`nn.MSELoss()(pred, y)`), or functional losses (`F.mse_loss(pred, y)`).

use std::collections::HashMap;

use tree_sitter::Node;

use crate::syntax::{Call, dotted_name, unparenthesized};
use crate::{Context, SourceFile};

/// What a loss compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossFamily {
    /// Class scores against class indices: cross-entropy, negative log-likelihood.
    Classification,
    /// Probabilities or logits against 0/1 targets.
    Binary,
    /// Element by element, broadcasting their arguments: MSE, L1, smooth L1, Huber.
    Elementwise,
    /// Divergences and the rest.
    Other,
}

const LOSS_MODULES: &[(&str, LossFamily)] = &[
    ("BCELoss", LossFamily::Binary),
    ("BCEWithLogitsLoss", LossFamily::Binary),
    ("CrossEntropyLoss", LossFamily::Classification),
    ("HuberLoss", LossFamily::Elementwise),
    ("KLDivLoss", LossFamily::Other),
    ("L1Loss", LossFamily::Elementwise),
    ("MSELoss", LossFamily::Elementwise),
    ("NLLLoss", LossFamily::Classification),
    ("SmoothL1Loss", LossFamily::Elementwise),
];

const LOSS_FUNCTIONS: &[(&str, LossFamily)] = &[
    ("binary_cross_entropy", LossFamily::Binary),
    ("binary_cross_entropy_with_logits", LossFamily::Binary),
    ("cross_entropy", LossFamily::Classification),
    ("huber_loss", LossFamily::Elementwise),
    ("kl_div", LossFamily::Other),
    ("l1_loss", LossFamily::Elementwise),
    ("mse_loss", LossFamily::Elementwise),
    ("nll_loss", LossFamily::Classification),
    ("smooth_l1_loss", LossFamily::Elementwise),
];

fn module_family(name: &str) -> Option<LossFamily> {
    LOSS_MODULES
        .iter()
        .find(|(module, _)| *module == name)
        .map(|(_, family)| *family)
}

fn function_family(name: &str) -> Option<LossFamily> {
    LOSS_FUNCTIONS
        .iter()
        .find(|(function, _)| *function == name)
        .map(|(_, family)| *family)
}

/// One call computing a loss.
#[derive(Clone)]
pub struct LossCall<'t> {
    pub call: Call<'t>,
    pub family: LossFamily,
    /// How messages name the loss: "`criterion` (`nn.MSELoss`)", "`F.mse_loss`".
    pub label: String,
    /// The prediction (first argument, `input`).
    pub input: Option<Node<'t>>,
    /// The target (second argument, `target`).
    pub target: Option<Node<'t>>,
}

/// Names bound to loss modules anywhere in the file.
pub struct LossModules {
    /// Name (`criterion`, `self.loss_fn`) → (family, constructor as written). A name bound to
    /// two different kinds of loss is left out.
    by_name: HashMap<String, Option<(LossFamily, String)>>,
}

impl LossModules {
    pub fn collect(file: &Context<'_>) -> Self {
        let mut by_name: HashMap<String, Option<(LossFamily, String)>> = HashMap::new();
        for (left, right) in file.assignment_sides() {
            let Some(call) = Call::new(unparenthesized(right)) else {
                continue;
            };
            let Some(family) = module_family(call.callee_name(file)) else {
                continue;
            };
            let Some(name) = dotted_name(file, left) else {
                continue;
            };
            let constructor = call
                .dotted_name(file)
                .unwrap_or_else(|| call.callee_name(file).to_owned());
            by_name
                .entry(name)
                .and_modify(|existing| {
                    if existing.as_ref().is_none_or(|(known, _)| *known != family) {
                        *existing = None;
                    }
                })
                .or_insert(Some((family, constructor)));
        }
        Self { by_name }
    }

    /// The loss computed by `call`, if it is one.
    pub fn loss_call<'t>(&self, file: &Context<'t>, call: &Call<'t>) -> Option<LossCall<'t>> {
        let (family, label) = if let Some(bound) = dotted_name(file, call.function)
            .and_then(|name| self.by_name.get(&name).map(|binding| (name, binding)))
        {
            let (name, Some((family, constructor))) = bound else {
                return None;
            };
            (*family, format!("`{name}` (`{constructor}`)"))
        } else if let Some(constructor) = Call::new(call.function) {
            // `nn.MSELoss()(pred, target)`
            let family = module_family(constructor.callee_name(file))?;
            (family, format!("`{}`", file.node_text(constructor.node)))
        } else {
            let family = function_family(call.callee_name(file))?;
            if !is_torch_functional(file, call) {
                return None;
            }
            (family, format!("`{}`", file.node_text(call.function)))
        };
        Some(LossCall {
            call: *call,
            family,
            label,
            input: call.argument(file, 0, "input"),
            target: call.argument(file, 1, "target"),
        })
    }
}

/// `F.mse_loss`, `torch.nn.functional.mse_loss`, or `mse_loss` imported from there; not a
/// function of the same name defined in the file.
fn is_torch_functional(file: &Context<'_>, call: &Call<'_>) -> bool {
    let Some(dotted) = call.dotted_name(file) else {
        return false;
    };
    let resolved = file.imports().resolve(&dotted);
    if resolved.starts_with("torch.nn.functional.") || resolved.starts_with("torch.") {
        return true;
    }
    // A bare name: only when no local definition shadows it and nothing imported it from
    // elsewhere.
    !dotted.contains('.') && resolved == dotted && !file.locals().is_defined(&dotted)
}

/// Whether the file names a class-index loss anywhere (constructor, function or Keras string).
pub fn uses_class_index_loss(file: &SourceFile) -> bool {
    let text = file.text();
    [
        "CrossEntropyLoss",
        "cross_entropy",
        "NLLLoss",
        "nll_loss",
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
    ]
    .iter()
    .any(|name| text.contains(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_bound_inline_and_functional_losses() {
        let file = SourceFile::parse(
            "t.py",
            "import torch.nn.functional as F\nfrom torch import nn\ncriterion = nn.MSELoss()\n\
             a = criterion(p, y)\nb = F.cross_entropy(p, y)\nc = nn.L1Loss()(p, y)\nd = other(p, y)\n\
             def mse_loss(a, b):\n    return 0\ne = mse_loss(p, y)\n",
        )
        .expect("parses");
        let context = Context::new(&file);
        let losses = LossModules::collect(&context);
        let families: Vec<Option<LossFamily>> = context
            .calls()
            .iter()
            .filter(|call| {
                call.callee_name(&file) != "MSELoss" && call.callee_name(&file) != "L1Loss"
            })
            .map(|call| losses.loss_call(&context, call).map(|loss| loss.family))
            .collect();
        assert_eq!(
            families,
            [
                Some(LossFamily::Elementwise),
                Some(LossFamily::Classification),
                Some(LossFamily::Elementwise),
                None,
                None
            ]
        );
    }
}
