use fmr_core::AuditFinding;

use crate::semantic::training::short_text;
use crate::syntax::NodeExt;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for `print(...)` of values inside a function that JAX traces: a function compiled
/// with `jax.jit`/`pmap`, mapped with `vmap`, given to a `jax.lax` control-flow primitive, or
/// defined in or called from one.
///
/// A `print` of literals only (`print("compiling train_step")`) is a deliberate trace-time
/// marker and is not reported.
///
/// ## Why is this bad?
/// The Python body of a traced function runs once, at trace time, on abstract tracers. The
/// `print` shows `Traced<ShapedArray(float32[])>` instead of values, and then never runs again:
/// debugging a NaN with it shows nothing, and logging meant to run every step is silent.
///
/// ## Example
/// ```python
/// @jax.jit
/// def train_step(state, batch):
///     loss, grads = jax.value_and_grad(loss_fn)(state.params, batch)
///     print("loss", loss)
///     return state.apply_gradients(grads=grads), loss
/// ```
///
/// Use instead:
/// ```python
/// @jax.jit
/// def train_step(state, batch):
///     loss, grads = jax.value_and_grad(loss_fn)(state.params, batch)
///     jax.debug.print("loss {}", loss)
///     return state.apply_gradients(grads=grads), loss
/// ```
///
/// ## References
/// - [JAX: `jax.debug.print` and debugging](https://docs.jax.dev/en/latest/debugging/print_breakpoint.html)
/// - [JAX: the sharp bits, pure functions](https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#pure-functions)
///
/// ## Confirms
/// - none yet (proposed entry: "side effects and prints inside jax.jit run once")
pub struct PrintInJit;

impl AuditRule for PrintInJit {
    fn code(&self) -> &'static str {
        "JX003"
    }

    fn name(&self) -> &'static str {
        "print-in-jit"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("print(") {
            return Vec::new();
        }
        let jit = file.jit_functions();
        let mut findings = Vec::new();
        for call in file.calls_named("print") {
            if call.function.kind_name() != "identifier" {
                continue;
            }
            // `print("compiling train_step")` marks when tracing happens, on purpose.
            let prints_values = call.positional().iter().any(|argument| {
                !matches!(
                    argument.kind_name(),
                    "string" | "integer" | "float" | "concatenated_string"
                )
            });
            if !prints_values {
                continue;
            }
            let Some(traced) = jit.traced_function_around(file, call.node) else {
                continue;
            };
            let (line, _) = file.position(traced);
            let message = format!(
                "`{}` runs inside a function JAX traces (line {line}): it prints tracers, not values, once at trace \
                 time, and never again on later calls; use `jax.debug.print(\"{{}}\", x)`",
                short_text(file, call.node)
            );
            findings.push(file.finding(self, call.node, message, 0.85));
        }
        findings
    }
}
