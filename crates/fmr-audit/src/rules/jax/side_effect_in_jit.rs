use std::collections::HashSet;

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::jax::{Transform, parameter_names};
use crate::semantic::training::short_text;
use crate::syntax::{NodeExt, bound_names, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for side effects inside a function compiled with `jax.jit` or `jax.pmap`:
/// appending to or writing into a list or dict that lives outside the function
/// (`history.append(loss)`, `cache[key] = x`), assigning to `self` attributes
/// (`self.step += 1`), `global`/`nonlocal` rebinding, and logging calls (`logger.info`,
/// `wandb.log`, `writer.add_scalar`).
///
/// ## Why is this bad?
/// Compiled functions must be pure. Their Python body runs once, at trace time, and the
/// compiled program replays only the array computation: the list gets one tracer and never
/// grows again, the counter stays at one, the log line is written once with a tracer. Later
/// reads of that state are stale or leak tracers ("UnexpectedTracerError").
///
/// ## Example
/// ```python
/// losses = []
///
/// @jax.jit
/// def train_step(params, batch):
///     loss, grads = jax.value_and_grad(loss_fn)(params, batch)
///     losses.append(loss)
///     return update(params, grads)
/// ```
///
/// Use instead:
/// ```python
/// @jax.jit
/// def train_step(params, batch):
///     loss, grads = jax.value_and_grad(loss_fn)(params, batch)
///     return update(params, grads), loss
///
/// params, loss = train_step(params, batch)
/// losses.append(float(loss))
/// ```
///
/// ## References
/// - [JAX: the sharp bits, pure functions](https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#pure-functions)
/// - [JAX: `UnexpectedTracerError`](https://docs.jax.dev/en/latest/errors.html#jax.errors.UnexpectedTracerError)
///
/// ## Confirms
/// - none yet (proposed entry: "side effects and prints inside jax.jit run once")
pub struct SideEffectInJit;

const MUTATING_METHODS: &[&str] = &[
    "append", "extend", "insert", "update", "add", "pop", "clear",
];
const LOGGING_RECEIVERS: &[&str] = &[
    "logger", "logging", "log", "wandb", "writer", "mlflow", "tb", "summary",
];

impl AuditRule for SideEffectInJit {
    fn code(&self) -> &'static str {
        "JX004"
    }

    fn name(&self) -> &'static str {
        "side-effect-in-jit"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        for compiled in &file.jit_functions().compiled {
            if !matches!(compiled.transform, Transform::Jit | Transform::Pmap) {
                continue;
            }
            let Some(function) = compiled.function else {
                continue;
            };
            let Some(body) = function.field("body") else {
                continue;
            };
            let locals = local_names(file, function, body);
            for node in file.scope_descendants(body) {
                let Some(what) = side_effect(file, node, &locals) else {
                    continue;
                };
                let message = format!(
                    "`{}` {what} inside a function compiled with {}: the Python body runs once at trace time, so \
                     this happens once (with tracers) and never on later calls; return the value and do it outside \
                     the compiled function",
                    short_text(file, node),
                    compiled.transform.describe()
                );
                findings.push(file.finding(self, node, message, 0.8));
            }
        }
        findings
    }
}

/// Names the function binds itself: parameters and assignment targets.
fn local_names(file: &Context<'_>, function: Node<'_>, body: Node<'_>) -> HashSet<String> {
    let mut names: HashSet<String> = parameter_names(file, function).into_iter().collect();
    for node in file.scope_descendants(body) {
        let target = match node.kind_name() {
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                node.field("left")
            }
            "with_item" => node.field("alias"),
            _ => None,
        };
        if let Some(target) = target {
            names.extend(
                bound_names(target)
                    .iter()
                    .map(|name| file.node_text(*name).to_owned()),
            );
        }
    }
    names
}

/// What side effect `node` performs, if any.
fn side_effect(
    file: &Context<'_>,
    node: Node<'_>,
    locals: &HashSet<String>,
) -> Option<&'static str> {
    match node.kind_name() {
        "global_statement" | "nonlocal_statement" => {
            Some("rebinds a variable outside the function")
        }
        "assignment" | "augmented_assignment" => {
            let target = node.field("left")?;
            let text = file.node_text(target);
            if text.starts_with("self.") {
                return Some("changes state on `self`");
            }
            if target.kind_name() == "subscript" {
                let container = target.field("value")?;
                let root = file.node_text(container).split('.').next().unwrap_or("");
                if container.kind_name() == "identifier" && !locals.contains(root) {
                    return Some("writes into a container defined outside the function");
                }
            }
            None
        }
        "call" => {
            let call = file.call_at(node)?;
            let receiver = call.receiver()?;
            let receiver_text = file.node_text(receiver);
            let method = call.callee_name(file);
            // `list.append`, `dict.update`, `set.add` return None: a call whose result is used
            // (`updates, state = optimizer.update(...)`) is some other API, not a mutation.
            let result_discarded = file
                .parent(node)
                .is_some_and(|parent| parent.kind_name() == "expression_statement");
            if receiver.kind_name() == "identifier"
                && MUTATING_METHODS.contains(&method)
                && (result_discarded || method == "pop")
                && !locals.contains(receiver_text)
                && !receiver_text.starts_with(char::is_uppercase)
                && !matches!(receiver_text, "jnp" | "jax" | "np" | "optax")
            {
                return Some("mutates a container defined outside the function");
            }
            let logs = words(receiver_text)
                .iter()
                .any(|word| LOGGING_RECEIVERS.contains(&word.as_str()))
                && (method.starts_with("log")
                    || method.starts_with("add_")
                    || matches!(method, "info" | "debug" | "warning" | "error"));
            logs.then_some("logs")
        }
        _ => None,
    }
}
