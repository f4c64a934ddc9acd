use fmr_core::AuditFinding;

use crate::semantic::jax::Transform;
use crate::semantic::training::short_text;
use crate::syntax::{Call, string_value};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks collectives (`jax.lax.psum`, `pmean`, `pmax`, `pmin`, `all_gather`, `ppermute`,
/// `axis_index`, ...) inside a function mapped with `jax.pmap` (or `vmap` with an axis name):
/// the collective's literal axis name must be the one given to the map, and a map without
/// `axis_name` cannot serve any collective.
///
/// ## Why is this bad?
/// Collectives reduce over a named mapped axis. With a name the map does not define, JAX raises
/// "unbound axis name" at trace time; in code that switches between several maps, the
/// reduction silently runs over a different axis than intended. Gradients are then not
/// averaged across devices and replicas drift apart.
///
/// ## Example
/// ```python
/// @functools.partial(jax.pmap, axis_name="batch")
/// def train_step(state, batch):
///     grads = jax.grad(loss_fn)(state.params, batch)
///     grads = jax.lax.pmean(grads, axis_name="devices")
///     return state.apply_gradients(grads=grads)
/// ```
///
/// Use instead:
/// ```python
/// @functools.partial(jax.pmap, axis_name="batch")
/// def train_step(state, batch):
///     grads = jax.grad(loss_fn)(state.params, batch)
///     grads = jax.lax.pmean(grads, axis_name="batch")
///     return state.apply_gradients(grads=grads)
/// ```
///
/// ## References
/// - [JAX: `jax.pmap` and collectives](https://docs.jax.dev/en/latest/_autosummary/jax.pmap.html)
/// - [JAX: parallel evaluation](https://docs.jax.dev/en/latest/sharded-computation.html)
///
/// ## Confirms
/// - FM0026: gradients not synchronized across devices
pub struct CollectiveAxisNameMismatch;

const COLLECTIVES: &[&str] = &[
    "all_gather",
    "all_to_all",
    "axis_index",
    "pmax",
    "pmean",
    "pmin",
    "ppermute",
    "psum",
    "psum_scatter",
];

impl AuditRule for CollectiveAxisNameMismatch {
    fn code(&self) -> &'static str {
        "JX011"
    }

    fn name(&self) -> &'static str {
        "collective-axis-name-mismatch"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("pmap") && !file.mentions("vmap") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for compiled in &file.jit_functions().compiled {
            if !matches!(compiled.transform, Transform::Pmap | Transform::Vmap) {
                continue;
            }
            // A vmap without axis name is common and serves no collective: only pmap is checked then.
            if compiled.transform == Transform::Vmap && compiled.axis_name.is_none() {
                continue;
            }
            let Some(function) = compiled.function else {
                continue;
            };
            for call in file.calls_in(function) {
                if !COLLECTIVES.contains(&call.callee_name(file)) || !from_lax(file, call) {
                    continue;
                }
                let position = usize::from(call.callee_name(file) != "axis_index");
                let Some(axis) = call.argument(file, position, "axis_name") else {
                    continue;
                };
                let Some(axis) = string_value(file, axis) else {
                    continue;
                };
                let problem = match &compiled.axis_name {
                    Some(mapped) if mapped == axis => continue,
                    Some(mapped) => format!(
                        "but the map at line {} names its axis \"{mapped}\"",
                        file.position(compiled.site).0
                    ),
                    None => format!(
                        "but the map at line {} gives no `axis_name`",
                        file.position(compiled.site).0
                    ),
                };
                let message = format!(
                    "`{}` reduces over axis \"{axis}\", {problem}: JAX raises \"unbound axis name\", or the reduction \
                     runs over another axis and gradients are not averaged across devices; use the map's axis name",
                    short_text(file, call.node)
                );
                findings.push(file.finding(self, call.node, message, 0.85));
            }
        }
        findings
    }
}

/// `jax.lax.psum`, `lax.psum`, `psum` imported from `jax.lax`.
fn from_lax(file: &Context<'_>, call: &Call<'_>) -> bool {
    call.dotted_name(file)
        .is_some_and(|callee| file.imports().resolve(&callee).starts_with("jax.lax."))
}
