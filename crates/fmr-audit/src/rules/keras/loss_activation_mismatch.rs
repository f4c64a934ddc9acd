use fmr_core::AuditFinding;

use crate::semantic::keras::compiled_models;
use crate::semantic::training::short_text;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks a compiled Keras model's loss against the activation of its output layer, when both
/// are in the same file:
/// - `categorical_crossentropy` on a single sigmoid unit;
/// - `binary_crossentropy` on a softmax over several units;
/// - a loss with `from_logits=True` on an output that already applies softmax or sigmoid;
/// - a probabilistic loss (`binary_`, `categorical_`, `sparse_categorical_crossentropy`) without
///   `from_logits=True` on an output with no activation (logits).
///
/// ## Why is this bad?
/// Categorical cross-entropy over one unit is identically zero, so nothing trains. Binary
/// cross-entropy on a softmax treats each class as an independent yes/no question and reports
/// a flattering binary accuracy. `from_logits=True` on probabilities applies the activation twice
/// and squeezes the gradients; logits read as probabilities are clipped into [1e-7, 1 - 1e-7]
/// before the log, which saturates and stalls training. None of these raises an error.
///
/// ## Example
/// ```python
/// model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10)])
/// model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
/// ```
///
/// Use instead:
/// ```python
/// model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10)])
/// model.compile(
///     optimizer="adam",
///     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
/// )
/// ```
///
/// ## References
/// - [Keras: probabilistic losses and `from_logits`](https://keras.io/api/losses/probabilistic_losses/)
/// - [TensorFlow: `tf.keras.losses.BinaryCrossentropy`](https://www.tensorflow.org/api_docs/python/tf/keras/losses/BinaryCrossentropy)
///
/// ## Confirms
/// - FM0018: loss does not match the output format
/// - FM0019: activation applied twice or not at all before cross-entropy
pub struct LossActivationMismatch;

const PROBABILISTIC_LOSSES: &[&str] = &[
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
];

impl AuditRule for LossActivationMismatch {
    fn code(&self) -> &'static str {
        "KR002"
    }

    fn name(&self) -> &'static str {
        "loss-activation-mismatch"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("compile") || !file.mentions("Dense") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for model in compiled_models(file) {
            let (Some(loss), Some(output)) = (model.loss, model.output) else {
                continue;
            };
            let activation = output.activation;
            let units = output.units;
            let (line, _) = file.position(output.node);
            let output_text = short_text(file, output.node);
            let loss_text = short_text(file, loss.node);
            let (problem, confidence) = match (loss.name.as_str(), activation) {
                ("categorical_crossentropy", "sigmoid") if units == Some(1.0) => (
                    "categorical cross-entropy over a single unit is identically zero, so nothing trains; use \
                     `binary_crossentropy` for one sigmoid unit"
                        .to_owned(),
                    0.9,
                ),
                ("binary_crossentropy", "softmax") if units.is_some_and(|units| units > 1.0) => (
                    "binary cross-entropy treats each of the softmax's classes as an independent yes/no label and \
                     reports an inflated binary accuracy; use `categorical_crossentropy` (one-hot labels) or \
                     `sparse_categorical_crossentropy` (integer labels)"
                        .to_owned(),
                    0.7,
                ),
                (name, "softmax" | "sigmoid") if loss.from_logits && PROBABILISTIC_LOSSES.contains(&name) => (
                    format!(
                        "the loss expects logits (`from_logits=True`) but the output already applies `{activation}`: \
                         the activation is applied twice, squeezing the gradients; drop the activation or \
                         `from_logits`"
                    ),
                    0.8,
                ),
                (name, "linear") if !loss.from_logits && PROBABILISTIC_LOSSES.contains(&name) => (
                    "the output has no activation, so it produces logits, but the loss reads probabilities: Keras \
                     clips them into [1e-7, 1 - 1e-7] before the log, which saturates and stalls training; pass \
                     `from_logits=True` to the loss (or add the activation)"
                        .to_owned(),
                    0.75,
                ),
                _ => continue,
            };
            let message = format!(
                "`{}` compiles with `{loss_text}` on the output `{output_text}` (line {line}): {problem}",
                short_text(file, model.compile.node)
            );
            findings.push(file.finding(self, model.compile.node, message, confidence));
        }
        findings
    }
}
