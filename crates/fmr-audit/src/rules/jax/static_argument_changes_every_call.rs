use fmr_core::AuditFinding;

use crate::semantic::jax::{Transform, parameter_names};
use crate::semantic::names::varies_per_iteration;
use crate::semantic::training::short_text;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a static argument of a jitted function (`static_argnums` / `static_argnames`)
/// that receives a value changing on every iteration of a loop: the loop variable (`step`,
/// `epoch`) or a name reassigned in the loop.
///
/// ## Why is this bad?
/// JAX compiles one program per distinct value of the static arguments. A value that changes
/// every iteration triggers a full trace and XLA compilation on every call: each step takes
/// seconds instead of milliseconds and the compilation cache grows until memory runs out. The
/// results are right, which hides the cause; training is just hundreds of times slower.
///
/// ## Example
/// ```python
/// step_fn = jax.jit(train_step, static_argnums=2)
/// for step in range(num_steps):
///     state = step_fn(state, batch, step)
/// ```
///
/// Use instead:
/// ```python
/// step_fn = jax.jit(train_step)  # `step` traced, used with jnp operations
/// for step in range(num_steps):
///     state = step_fn(state, batch, step)
/// ```
///
/// ## References
/// - [JAX: `jax.jit` static arguments](https://docs.jax.dev/en/latest/_autosummary/jax.jit.html)
/// - [JAX: JIT mechanics, caching](https://docs.jax.dev/en/latest/jit-compilation.html#caching)
///
/// ## Confirms
/// - FM0100: XLA recompilation slows training
pub struct StaticArgumentChangesEveryCall;

impl AuditRule for StaticArgumentChangesEveryCall {
    fn code(&self) -> &'static str {
        "JX010"
    }

    fn name(&self) -> &'static str {
        "static-argument-changes-every-call"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("static_arg") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for compiled in &file.jit_functions().compiled {
            if compiled.transform != Transform::Jit
                || (compiled.static_params.is_empty() && compiled.static_positions.is_empty())
            {
                continue;
            }
            let Some(callable) = &compiled.callable_name else {
                continue;
            };
            let parameters = compiled
                .function
                .map(|function| parameter_names(file, function))
                .unwrap_or_default();
            for call in file
                .calls()
                .iter()
                .filter(|call| file.node_text(call.function) == callable.as_str())
            {
                if file.enclosing_loops(call.node).next().is_none() {
                    continue;
                }
                // Static arguments by name, and by position when the function is not in the file.
                let positional = call.positional();
                let mut statics: Vec<(String, Option<tree_sitter::Node<'_>>)> = compiled
                    .static_params
                    .iter()
                    .map(|parameter| {
                        let argument = match parameters.iter().position(|name| name == parameter) {
                            Some(position) => call.argument(file, position, parameter),
                            None => call.keyword(file, parameter),
                        };
                        (format!("`{parameter}`"), argument)
                    })
                    .collect();
                if parameters.is_empty() {
                    statics.extend(compiled.static_positions.iter().map(|position| {
                        (
                            format!("number {position}"),
                            positional.get(*position).copied(),
                        )
                    }));
                }
                for (parameter, argument) in statics {
                    let Some(argument) = argument else {
                        continue;
                    };
                    if !varies_per_iteration(file, argument, call.node) {
                        continue;
                    }
                    let message = format!(
                        "`{}` passes `{}` as the static argument {parameter}, and it changes on every iteration: \
                         JAX traces and compiles a new program for each value, so every step recompiles; make it a \
                         traced argument or keep its value fixed",
                        short_text(file, call.node),
                        short_text(file, argument)
                    );
                    findings.push(file.finding(self, call.node, message, 0.8));
                }
            }
        }
        findings
    }
}
