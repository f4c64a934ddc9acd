use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::last_value_before;
use crate::semantic::training::{is_jax_grad_call, short_text};
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks `jax.grad(f)` / `jax.value_and_grad(f)` (without `has_aux=True`) where `f`, a function
/// of the file, returns something that is not a scalar: a tuple (`return loss, metrics`) or a
/// reduction that keeps its dimensions (`jnp.mean(..., keepdims=True)`), directly or through the
/// name it returns.
///
/// ## Why is this bad?
/// `jax.grad` differentiates scalar functions only. A tuple return raises "Gradient only
/// defined for scalar-output functions" (the fix is `has_aux=True`); a reduction with
/// `keepdims=True` returns shape `(1,)` and raises the same error.
///
/// ## Example
/// ```python
/// def loss_fn(params, batch):
///     logits = model.apply(params, batch["x"])
///     loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()
///     return loss, logits
///
/// grads = jax.grad(loss_fn)(params, batch)
/// ```
///
/// Use instead:
/// ```python
/// (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch)
/// ```
///
/// ## References
/// - [JAX: `jax.grad` (`has_aux`)](https://docs.jax.dev/en/latest/_autosummary/jax.grad.html)
///
/// ## Confirms
/// - none yet (proposed entry: "jax.grad of a non-scalar function")
pub struct GradOfNonScalar;

impl AuditRule for GradOfNonScalar {
    fn code(&self) -> &'static str {
        "JX014"
    }

    fn name(&self) -> &'static str {
        "grad-of-non-scalar"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("grad") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for call in file
            .calls()
            .iter()
            .filter(|call| is_jax_grad_call(file, call))
        {
            let has_aux = call
                .keyword(file, "has_aux")
                .is_some_and(|flag| flag.kind_name() == "true");
            if has_aux {
                continue;
            }
            let Some(name) = call
                .argument(file, 0, "fun")
                .filter(|function| function.kind_name() == "identifier")
                .map(|function| file.node_text(function))
            else {
                continue;
            };
            let Some(function) = file
                .nodes_of_kind("function_definition")
                .filter(|definition| {
                    definition
                        .field("name")
                        .is_some_and(|found| file.node_text(found) == name)
                })
                .last()
            else {
                continue;
            };
            let Some((returned, why)) = non_scalar_return(file, function) else {
                continue;
            };
            let (line, _) = file.position(returned);
            let message = format!(
                "`{}` differentiates `{name}`, which returns {why} (`{}`, line {line}): `jax.grad` needs a scalar \
                 output and raises \"Gradient only defined for scalar-output functions\"; return the scalar loss \
                 and pass `has_aux=True` for the rest",
                short_text(file, call.node),
                short_text(file, returned)
            );
            findings.push(file.finding(self, call.node, message, 0.85));
        }
        findings
    }
}

/// A return of `function` that is a tuple or an axis reduction, with a description.
fn non_scalar_return<'t>(
    file: &Context<'t>,
    function: Node<'t>,
) -> Option<(Node<'t>, &'static str)> {
    let body = function.field("body")?;
    file.scope_descendants(body)
        .filter(|node| node.kind_name() == "return_statement")
        .filter_map(|statement| statement.named_child(0))
        .find_map(|value| {
            let value = unparenthesized(value);
            if matches!(value.kind_name(), "expression_list" | "tuple")
                && value.named_child_count() >= 2
            {
                return Some((value, "a tuple"));
            }
            let resolved = if value.kind_name() == "identifier" {
                last_value_before(file, body, file.node_text(value), value.start_byte())
                    .unwrap_or(value)
            } else {
                value
            };
            keeps_dimensions(file, resolved)
                .then_some((resolved, "an array that keeps its reduced dimensions"))
        })
}

/// `jnp.mean(x, keepdims=True)`, `x.sum(keepdims=True)`: a reduction whose result is not 0-d.
fn keeps_dimensions(file: &Context<'_>, value: Node<'_>) -> bool {
    let Some(call) = Call::new(unparenthesized(value)) else {
        return false;
    };
    matches!(call.callee_name(file), "mean" | "sum")
        && call
            .keyword(file, "keepdims")
            .is_some_and(|keep| keep.kind_name() == "true")
}
