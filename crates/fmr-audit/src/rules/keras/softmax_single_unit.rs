use fmr_core::AuditFinding;

use crate::semantic::keras::{activation_name, dense_units};
use crate::semantic::training::short_text;
use crate::syntax::Call;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a Keras `Dense` layer with a single unit and a softmax activation
/// (`Dense(1, activation="softmax")`), or a one-unit `Dense` followed by
/// `Activation("softmax")` in a `Sequential` list.
///
/// ## Why is this bad?
/// Softmax normalizes over the units of the layer. With one unit it divides the value by
/// itself: the output is exactly 1.0 for every input. The loss is constant, the gradients are
/// zero, and accuracy sticks at the share of the positive class, however long training runs.
/// A binary output needs a sigmoid.
///
/// ## Example
/// ```python
/// outputs = layers.Dense(1, activation="softmax")(x)
/// model.compile(optimizer="adam", loss="binary_crossentropy")
/// ```
///
/// Use instead:
/// ```python
/// outputs = layers.Dense(1, activation="sigmoid")(x)
/// model.compile(optimizer="adam", loss="binary_crossentropy")
/// ```
///
/// ## References
/// - [Keras: `Dense` layer](https://keras.io/api/layers/core_layers/dense/)
/// - [Keras: softmax activation](https://keras.io/api/layers/activations/#softmax-function)
///
/// ## Confirms
/// - FM0018: output activation does not match the labels
pub struct SoftmaxSingleUnit;

impl AuditRule for SoftmaxSingleUnit {
    fn code(&self) -> &'static str {
        "KR001"
    }

    fn name(&self) -> &'static str {
        "softmax-single-unit"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("softmax") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for dense in file.calls_named("Dense") {
            if dense_units(file, dense) != Some(1.0) {
                continue;
            }
            let softmax_here = dense
                .argument(file, 1, "activation")
                .and_then(|activation| activation_name(file, activation))
                == Some("softmax");
            if !softmax_here && !followed_by_softmax(file, dense) {
                continue;
            }
            let layer = if softmax_here {
                format!("`{}`", short_text(file, dense.node))
            } else {
                format!(
                    "`{}` followed by `Activation(\"softmax\")`",
                    short_text(file, dense.node)
                )
            };
            let message = format!(
                "{layer} applies softmax over a single unit: the output is always exactly 1.0, so the loss never \
                 changes and nothing is learned; use `activation=\"sigmoid\"` for one output, or one unit per class \
                 with softmax"
            );
            findings.push(file.finding(self, dense.node, message, 0.95));
        }
        findings
    }
}

/// `[..., Dense(1), Activation("softmax")]`: the next element of the same list.
fn followed_by_softmax<'t>(file: &Context<'t>, dense: &Call<'t>) -> bool {
    let Some(next) = dense.node.next_named_sibling() else {
        return false;
    };
    Call::new(next).is_some_and(|call| {
        call.callee_name(file) == "Activation"
            && call
                .argument(file, 0, "activation")
                .and_then(|activation| activation_name(file, activation))
                == Some("softmax")
    })
}
