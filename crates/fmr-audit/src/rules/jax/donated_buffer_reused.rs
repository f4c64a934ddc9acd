use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::scope_body;
use crate::semantic::training::short_text;
use crate::syntax::{NodeExt, assigned_to, bound_names};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for an array passed to a donated argument of a compiled function
/// (`jax.jit(step, donate_argnums=0)`) and read again afterwards without being rebound to the
/// call's result: `new_params = step(params, batch)` followed by a use of `params`.
///
/// ## Why is this bad?
/// Donation lets XLA reuse the input's memory for the output, and JAX deletes the donated
/// array. Reading it afterwards raises "Array has been deleted" (on accelerators; on CPU the
/// donation is ignored, so the bug hides until the code moves to a GPU or TPU).
///
/// ## Example
/// ```python
/// step = jax.jit(train_step, donate_argnums=(0,))
/// new_state = step(state, batch)
/// log(state.step)
/// ```
///
/// Use instead:
/// ```python
/// step = jax.jit(train_step, donate_argnums=(0,))
/// state = step(state, batch)
/// log(state.step)
/// ```
///
/// ## References
/// - [JAX: buffer donation](https://docs.jax.dev/en/latest/faq.html#buffer-donation)
///
/// ## Confirms
/// - none yet (proposed entry: "donated JAX buffer used after donation")
pub struct DonatedBufferReused;

impl AuditRule for DonatedBufferReused {
    fn code(&self) -> &'static str {
        "JX009"
    }

    fn name(&self) -> &'static str {
        "donated-buffer-reused"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("donate_arg") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for compiled in &file.jit_functions().compiled {
            let Some(callable) = &compiled.callable_name else {
                continue;
            };
            if compiled.donated.is_empty() {
                continue;
            }
            for call in file
                .calls()
                .iter()
                .filter(|call| file.node_text(call.function) == callable.as_str())
            {
                let rebound: Vec<&str> = assigned_to(call.node)
                    .map(|target| {
                        bound_names(target)
                            .iter()
                            .map(|name| file.node_text(*name))
                            .collect()
                    })
                    .unwrap_or_default();
                let positional = call.positional();
                for position in &compiled.donated {
                    let Some(donated) = positional
                        .get(*position)
                        .filter(|node| node.kind_name() == "identifier")
                    else {
                        continue;
                    };
                    let name = file.node_text(*donated);
                    if rebound.contains(&name) {
                        continue;
                    }
                    let Some(reuse) = read_after(file, call.node, name) else {
                        continue;
                    };
                    let (line, _) = file.position(call.node);
                    let message = format!(
                        "`{name}` was donated to `{}` at line {line} (`donate_argnums` includes {position}) and is \
                         read again here: its buffer has been handed to the output, so this raises \"Array has been \
                         deleted\" on GPU/TPU; rebind `{name}` to the call's result or stop donating it",
                        short_text(file, call.node)
                    );
                    findings.push(file.finding(self, reuse, message, 0.85));
                }
            }
        }
        findings
    }
}

/// The first read of `name` after `call` in its scope, before any reassignment.
fn read_after<'t>(file: &Context<'t>, call: Node<'_>, name: &str) -> Option<Node<'t>> {
    let scope = scope_body(file, call);
    let statement_end = file
        .ancestors(call)
        .find(|ancestor| matches!(ancestor.kind_name(), "expression_statement" | "assignment"))
        .map_or(call.end_byte(), |statement| statement.end_byte());
    for node in file
        .scope_descendants(scope)
        .filter(|node| node.start_byte() >= statement_end)
    {
        if node.kind_name() == "assignment"
            && node.field("left").is_some_and(|left| {
                bound_names(left)
                    .iter()
                    .any(|bound| file.node_text(*bound) == name)
            })
        {
            return None;
        }
        if node.kind_name() == "identifier" && file.node_text(node) == name {
            return Some(node);
        }
    }
    None
}
