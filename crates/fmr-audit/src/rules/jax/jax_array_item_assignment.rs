use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{last_value_before, scope_body};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for item assignment (`x[i] = v`, `x[mask] += 1`) on a name that the same function
/// assigned from a `jax.numpy` or `jax.random` call.
///
/// ## Why is this bad?
/// JAX arrays are immutable: item assignment raises "'JaxArray' object does not support item
/// assignment" (a `TypeError`) at the first run. Code ported from NumPy or PyTorch hits this in
/// buffers, masks and target construction.
///
/// ## Example
/// ```python
/// targets = jnp.zeros((batch, num_classes))
/// targets[jnp.arange(batch), labels] = 1.0
/// ```
///
/// Use instead:
/// ```python
/// targets = jnp.zeros((batch, num_classes))
/// targets = targets.at[jnp.arange(batch), labels].set(1.0)
/// ```
///
/// ## References
/// - [JAX: in-place updates](https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#in-place-updates)
/// - [JAX: `jax.numpy.ndarray.at`](https://docs.jax.dev/en/latest/_autosummary/jax.numpy.ndarray.at.html)
///
/// ## Confirms
/// - none yet (proposed entry: "NumPy-style in-place updates on JAX arrays")
pub struct JaxArrayItemAssignment;

impl AuditRule for JaxArrayItemAssignment {
    fn code(&self) -> &'static str {
        "JX016"
    }

    fn name(&self) -> &'static str {
        "jax-array-item-assignment"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("jnp") && !file.mentions("jax") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for node in file
            .nodes_of_kind("assignment")
            .chain(file.nodes_of_kind("augmented_assignment"))
        {
            let Some(target) = node
                .field("left")
                .filter(|target| target.kind_name() == "subscript")
            else {
                continue;
            };
            let Some(array) = target
                .field("value")
                .filter(|value| value.kind_name() == "identifier")
            else {
                continue;
            };
            let Some(origin) = jax_origin(file, array, node) else {
                continue;
            };
            let name = file.node_text(array);
            let (line, _) = file.position(origin);
            let message = format!(
                "`{}` assigns into `{name}`, a JAX array (`{}`, line {line}): JAX arrays are immutable and this \
                 raises a `TypeError`; use `{name} = {name}.at[...].set(...)` (or `.add`)",
                short_text(file, node),
                short_text(file, origin)
            );
            findings.push(file.finding(self, node, message, 0.9));
        }
        findings
    }
}

/// The `jnp`/`jax.random` call `array` was last assigned from in its function.
fn jax_origin<'t>(file: &Context<'t>, array: Node<'_>, at: Node<'_>) -> Option<Node<'t>> {
    let scope = scope_body(file, at);
    let value = last_value_before(file, scope, file.node_text(array), at.start_byte())?;
    let call = Call::new(unparenthesized(value))?;
    let resolved = file.imports().resolve(&call.dotted_name(file)?);
    (resolved.starts_with("jax.numpy.") || resolved.starts_with("jax.random.")).then_some(value)
}
