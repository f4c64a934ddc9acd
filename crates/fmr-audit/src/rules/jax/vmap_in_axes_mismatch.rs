use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::jax::parameter_names;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks `jax.vmap(f, in_axes=(...))` where `in_axes` is a tuple whose length differs from the
/// number of positional arguments: the parameters of `f` when it is a function of the file
/// without defaults or `*args`, or the arguments of an immediate call
/// (`jax.vmap(f, in_axes=(0, None))(x, y, z)`).
///
/// ## Why is this bad?
/// `in_axes` must give one entry per positional argument. A tuple of the wrong length raises
/// "vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional
/// arguments" when the mapped function is called, usually deep inside a training step far from
/// the `vmap` that caused it; after an edit that adds a parameter, the mapping of the others
/// may also shift.
///
/// ## Example
/// ```python
/// def loss(params, x, y):
///     return jnp.mean((predict(params, x) - y) ** 2)
///
/// per_example = jax.vmap(loss, in_axes=(None, 0))
/// ```
///
/// Use instead:
/// ```python
/// per_example = jax.vmap(loss, in_axes=(None, 0, 0))
/// ```
///
/// ## References
/// - [JAX: `jax.vmap`](https://docs.jax.dev/en/latest/_autosummary/jax.vmap.html)
///
/// ## Confirms
/// - none yet (proposed entry: "vmap in_axes do not match the arguments")
pub struct VmapInAxesMismatch;

impl AuditRule for VmapInAxesMismatch {
    fn code(&self) -> &'static str {
        "JX012"
    }

    fn name(&self) -> &'static str {
        "vmap-in-axes-mismatch"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("in_axes") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for vmap in file.calls_named("vmap") {
            let Some(in_axes) = vmap.argument(file, 1, "in_axes").map(unparenthesized) else {
                continue;
            };
            if !matches!(in_axes.kind_name(), "tuple" | "list") {
                continue;
            }
            let entries = in_axes.named_child_count();
            let expected = immediate_call_arguments(file, vmap.node).or_else(|| {
                vmap.argument(file, 0, "fun")
                    .and_then(|function| fixed_arity(file, function))
            });
            let Some((expected, source)) = expected else {
                continue;
            };
            if expected == entries {
                continue;
            }
            let message = format!(
                "`{}` gives {entries} `in_axes` entries but {source} {expected} positional arguments: JAX raises \
                 \"vmap in_axes must be ... a tuple of entries corresponding to the positional arguments\" when it \
                 is called; give one entry per argument",
                short_text(file, vmap.node)
            );
            findings.push(file.finding(self, vmap.node, message, 0.85));
        }
        findings
    }
}

/// `jax.vmap(f, ...)(a, b, c)`: the number of arguments of the call right after.
fn immediate_call_arguments(file: &Context<'_>, vmap: Node<'_>) -> Option<(usize, &'static str)> {
    let outer = file.parent(vmap).and_then(Call::new)?;
    if outer.function.id() != vmap.id() || outer.has_splat() {
        return None;
    }
    Some((outer.positional().len(), "it is called with"))
}

/// The number of positional parameters of a function of the file that has no defaults and no
/// `*args`.
fn fixed_arity(file: &Context<'_>, function: Node<'_>) -> Option<(usize, &'static str)> {
    let function = unparenthesized(function);
    let definition = match function.kind_name() {
        "lambda" => function,
        "identifier" => {
            let name = file.node_text(function);
            file.nodes_of_kind("function_definition")
                .filter(|definition| {
                    definition
                        .field("name")
                        .is_some_and(|found| file.node_text(found) == name)
                })
                .last()?
        }
        _ => return None,
    };
    let parameters = definition.field("parameters")?;
    let mut cursor = parameters.walk();
    let plain = parameters
        .named_children(&mut cursor)
        .all(|parameter| matches!(parameter.kind_name(), "identifier" | "typed_parameter"));
    plain.then(|| {
        (
            parameter_names(file, definition).len(),
            "the function takes",
        )
    })
}
