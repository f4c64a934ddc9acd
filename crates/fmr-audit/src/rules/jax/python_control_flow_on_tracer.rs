use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::jax::{Transform, parameter_names};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for Python control flow on a traced argument of a function compiled with `jax.jit` or
/// `jax.pmap`: `if x > 0:`, `while step < n:`, `a if flag else b`, or `for i in range(n)`,
/// where `x`, `step`, `flag` or `n` is a parameter not listed in `static_argnums` /
/// `static_argnames`.
///
/// Tests on static properties (`x.shape`, `x.ndim`, `len(x)`, `x is None`, `isinstance(x, ...)`)
/// are allowed and not reported, and so is any attribute of an argument (`state.dynamic_scale`
/// can be a static part of a pytree).
///
/// ## Why is this bad?
/// Under `jit` every non-static argument is an abstract tracer: it has a shape and dtype but no
/// value, so Python cannot decide the branch. JAX raises `ConcretizationTypeError` (or
/// `TracerBoolConversionError`) at the first call. A boolean flag such as `train` passed as a
/// normal argument is the common case.
///
/// ## Example
/// ```python
/// @jax.jit
/// def forward(params, x, train):
///     if train:
///         x = dropout(x)
///     return apply(params, x)
/// ```
///
/// Use instead:
/// ```python
/// @functools.partial(jax.jit, static_argnames="train")
/// def forward(params, x, train):
///     if train:
///         x = dropout(x)
///     return apply(params, x)
/// ```
///
/// ## References
/// - [JAX: control flow and `jit`](https://docs.jax.dev/en/latest/control-flow.html)
/// - [JAX: `ConcretizationTypeError`](https://docs.jax.dev/en/latest/errors.html#jax.errors.ConcretizationTypeError)
///
/// ## Confirms
/// - FM0100: JIT tracing and static arguments
pub struct PythonControlFlowOnTracer;

impl AuditRule for PythonControlFlowOnTracer {
    fn code(&self) -> &'static str {
        "JX005"
    }

    fn name(&self) -> &'static str {
        "python-control-flow-on-tracer"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        for compiled in &file.jit_functions().compiled {
            let Some(function) = compiled
                .function
                .filter(|function| function.kind_name() == "function_definition")
            else {
                continue;
            };
            if !matches!(compiled.transform, Transform::Jit | Transform::Pmap) {
                continue;
            }
            let traced: Vec<String> = parameter_names(file, function)
                .into_iter()
                .filter(|name| name != "self" && !compiled.static_params.contains(name))
                .collect();
            let Some(body) = function.field("body") else {
                continue;
            };
            for node in file.scope_descendants(body) {
                let condition = match node.kind_name() {
                    "if_statement" | "while_statement" | "elif_clause" => node.field("condition"),
                    "conditional_expression" => node.named_child(1),
                    "for_statement" => node
                        .field("right")
                        .and_then(|iterable| Call::new(unparenthesized(iterable)))
                        .filter(|call| call.callee_name(file) == "range")
                        .map(|call| call.node),
                    _ => None,
                };
                let Some(condition) = condition else {
                    continue;
                };
                let Some(parameter) = traced_value_in(file, condition, &traced) else {
                    continue;
                };
                let message = format!(
                    "Python control flow here (`{}`) depends on `{parameter}`, a traced argument of a function \
                     compiled with {}: it has no concrete value at trace time, so JAX raises \
                     `ConcretizationTypeError`; use `jax.lax.cond`/`jnp.where`, or mark `{parameter}` static \
                     (`static_argnames`)",
                    short_text(file, condition),
                    compiled.transform.describe()
                );
                findings.push(file.finding(self, condition, message, 0.85));
            }
        }
        findings
    }
}

/// A traced parameter whose value `condition` reads (not just its shape or identity).
fn traced_value_in(file: &Context<'_>, condition: Node<'_>, traced: &[String]) -> Option<String> {
    file.descendants(condition)
        .filter(|node| node.kind_name() == "identifier")
        .map(|node| (node, file.node_text(node)))
        .filter(|(_, name)| traced.iter().any(|parameter| parameter == name))
        .find(|(node, _)| reads_value(file, *node, condition))
        .map(|(_, name)| name.to_owned())
}

/// Whether the identifier's value is used, rather than a static property of it.
fn reads_value(file: &Context<'_>, identifier: Node<'_>, condition: Node<'_>) -> bool {
    let Some(parent) = file.parent(identifier) else {
        return true;
    };
    // `x.shape` is static; `state.dynamic_scale` may be a static sub-structure of a pytree
    // argument (a Python object or `None`), so attribute reads are never taken as values.
    if parent.kind_name() == "attribute"
        && parent
            .field("object")
            .is_some_and(|object| object.id() == identifier.id())
    {
        return false;
    }
    // `x is None`, `x is not None`
    if parent.kind_name() == "comparison_operator" && file.node_text(parent).contains(" is ") {
        return false;
    }
    let static_call = file
        .ancestors(identifier)
        .take_while(|ancestor| ancestor.id() != condition.id())
        .chain(std::iter::once(condition))
        .filter_map(Call::new)
        .any(|call| {
            matches!(
                call.callee_name(file),
                "len" | "isinstance" | "hasattr" | "callable" | "type"
            )
        });
    !static_call
}
