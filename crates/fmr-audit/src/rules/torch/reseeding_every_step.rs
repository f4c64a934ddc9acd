use crate::semantic::names::varies_per_iteration;
use crate::semantic::training::{GradEvent, loop_body, short_text};
use crate::{AuditRule, Auditor, Context};
use fmr_core::AuditFinding;

/// ## What it does
/// Checks for a random seed set inside a training loop (a loop whose body runs `.backward()` or
/// `optimizer.step()`) with a value that does not change between iterations:
/// `torch.manual_seed(0)`, `np.random.seed(args.seed)`, `random.seed(SEED)`,
/// `transformers.set_seed(42)`, `seed_everything(seed)`.
///
/// A seed derived from the loop variable (`torch.manual_seed(base_seed + step)`) changes every
/// iteration and is not reported.
///
/// ## Why is this bad?
/// Reseeding with the same value restarts the random stream every step: each batch gets the
/// same dropout masks, the same augmentations and the same noise. Regularization that relies on
/// fresh randomness stops working, and the model overfits the repeated pattern. Nothing
/// raises an error.
///
/// ## Example
/// ```python
/// for batch in loader:
///     torch.manual_seed(42)
///     loss = model(batch).loss
///     loss.backward()
///     optimizer.step()
/// ```
///
/// Use instead:
/// ```python
/// torch.manual_seed(42)
/// for batch in loader:
///     loss = model(batch).loss
///     loss.backward()
///     optimizer.step()
/// ```
///
/// ## References
/// - [PyTorch: reproducibility](https://pytorch.org/docs/stable/notes/randomness.html)
/// - [PyTorch: `torch.manual_seed`](https://pytorch.org/docs/stable/generated/torch.manual_seed.html)
///
/// ## Confirms
/// - FM0023: the same random stream replayed (duplicated augmentation)
pub struct ReseedingEveryStep;

const SEED_FUNCTIONS: &[&str] = &[
    "manual_seed",
    "manual_seed_all",
    "seed",
    "set_seed",
    "seed_everything",
    "set_random_seed",
];

impl AuditRule for ReseedingEveryStep {
    fn code(&self) -> &'static str {
        "PT024"
    }

    fn name(&self) -> &'static str {
        "reseeding-every-step"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("seed") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for name in SEED_FUNCTIONS {
            for call in file.calls_named(name) {
                // `rng.seed()`-style calls on objects and `random.seed()` without a value reseed
                // from the OS; only a value makes the stream repeat.
                let Some(value) = call
                    .positional()
                    .first()
                    .copied()
                    .or_else(|| call.keyword(file, "seed"))
                else {
                    continue;
                };
                let Some(training_loop) = file.enclosing_loops(call.node).next() else {
                    continue;
                };
                let Some(body) = loop_body(training_loop) else {
                    continue;
                };
                let trains = file.grad_events_in(body).iter().any(|(event, _)| {
                    matches!(event, GradEvent::Backward | GradEvent::OptimizerStep)
                });
                if !trains || varies_per_iteration(file, value, call.node) {
                    continue;
                }
                let (line, _) = file.position(training_loop);
                let message = format!(
                    "`{}` runs on every iteration of the training loop (line {line}) with the same value: each \
                     step replays the same random numbers (dropout masks, augmentations, noise), so randomness \
                     no longer regularizes; seed once before the loop",
                    short_text(file, call.node)
                );
                findings.push(file.finding(self, call.node, message, 0.8));
            }
        }
        findings
    }
}
