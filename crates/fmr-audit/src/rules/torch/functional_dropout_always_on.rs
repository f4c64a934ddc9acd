use fmr_core::AuditFinding;

use crate::semantic::training::short_text;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for functional dropout (`F.dropout`, `F.dropout1d/2d/3d`, `F.alpha_dropout`,
/// `F.feature_alpha_dropout`) called inside a class's method without a `training` argument.
///
/// Calls that pass `training=self.training` (or any other value, including `True` for Monte
/// Carlo dropout) are not reported, nor calls outside classes.
///
/// ## Why is this bad?
/// Unlike `nn.Dropout`, the functional form does not follow `model.eval()`: its `training`
/// parameter defaults to `True`. Dropout stays on during validation and inference, so
/// predictions are noisy and evaluation metrics come out worse than the model is, which looks
/// like overfitting or an unstable validation curve.
///
/// ## Example
/// ```python
/// def forward(self, x):
///     x = F.relu(self.fc1(x))
///     x = F.dropout(x, p=0.5)
///     return self.fc2(x)
/// ```
///
/// Use instead:
/// ```python
/// def forward(self, x):
///     x = F.relu(self.fc1(x))
///     x = F.dropout(x, p=0.5, training=self.training)
///     return self.fc2(x)
/// ```
///
/// ## References
/// - [PyTorch: `torch.nn.functional.dropout`](https://pytorch.org/docs/stable/generated/torch.nn.functional.dropout.html)
/// - [PyTorch: `nn.Dropout`](https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html)
///
/// ## Confirms
/// - FM0200: dropout misplaced (active at evaluation)
/// - FM0020: train/eval mode misuse
pub struct FunctionalDropoutAlwaysOn;

const FUNCTIONAL_DROPOUTS: &[&str] = &[
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
];

impl AuditRule for FunctionalDropoutAlwaysOn {
    fn code(&self) -> &'static str {
        "PT026"
    }

    fn name(&self) -> &'static str {
        "functional-dropout-always-on"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("dropout") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for name in FUNCTIONAL_DROPOUTS {
            for call in file.calls_named(name) {
                let Some(dotted) = call.dotted_name(file) else {
                    continue;
                };
                if file.imports().resolve(&dotted) != format!("torch.nn.functional.{name}") {
                    continue;
                }
                if call.argument(file, 2, "training").is_some() || call.has_splat() {
                    continue;
                }
                if file.enclosing_class(call.node).is_none()
                    || file.enclosing_function(call.node).is_none()
                {
                    continue;
                }
                let message = format!(
                    "`{}` has no `training` argument, and functional dropout defaults to `training=True`: it keeps \
                     dropping activations after `model.eval()`, so validation and inference are noisy and score \
                     worse; pass `training=self.training` (or use `nn.Dropout`)",
                    short_text(file, call.node)
                );
                findings.push(file.finding(self, call.node, message, 0.85));
            }
        }
        findings
    }
}
