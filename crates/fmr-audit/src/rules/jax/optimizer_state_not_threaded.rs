use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::jax::parameter_names;
use crate::semantic::names::scope_body;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for optimizer state that is computed and dropped instead of carried to the next step:
/// - `state.apply_gradients(grads=grads)` (Flax `TrainState`) or
///   `optax.apply_updates(params, updates)` used as a statement, its result discarded;
/// - `updates, _ = tx.update(grads, opt_state, params)`, the new optimizer state discarded;
/// - `updates, new_opt_state = tx.update(grads, opt_state, ...)` where `new_opt_state` is never
///   used afterwards in the function;
/// - `params, _, loss = train_step(params, opt_state, batch)` where the file's own `train_step`
///   takes the optimizer state and returns the new one in the slot assigned to `_`.
///
/// ## Why is this bad?
/// JAX values are immutable: these calls return the new parameters or optimizer state rather
/// than changing anything in place. Discarding `apply_gradients` or `apply_updates` means no
/// update at all; discarding the optimizer state freezes Adam's moments and step count at
/// their initial values, so the bias correction and momentum never take effect and training
/// behaves like a badly scaled SGD. No error is raised.
///
/// ## Example
/// ```python
/// updates, _ = optimizer.update(grads, opt_state, params)
/// params = optax.apply_updates(params, updates)
/// ```
///
/// Use instead:
/// ```python
/// updates, opt_state = optimizer.update(grads, opt_state, params)
/// params = optax.apply_updates(params, updates)
/// ```
///
/// ## References
/// - [Optax: getting started](https://optax.readthedocs.io/en/latest/getting_started.html)
/// - [Flax: `TrainState.apply_gradients`](https://flax.readthedocs.io/en/latest/api_reference/flax.training.html)
///
/// ## Confirms
/// - FM0111: optimizer state reset or not kept
pub struct OptimizerStateNotThreaded;

impl AuditRule for OptimizerStateNotThreaded {
    fn code(&self) -> &'static str {
        "JX006"
    }

    fn name(&self) -> &'static str {
        "optimizer-state-not-threaded"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("optax") && !file.mentions("apply_gradients") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for name in ["apply_gradients", "apply_updates"] {
            for call in file.calls_named(name) {
                let discarded = file
                    .parent(call.node)
                    .is_some_and(|parent| parent.kind_name() == "expression_statement");
                if !discarded {
                    continue;
                }
                let target = if name == "apply_updates" {
                    "params"
                } else {
                    "state"
                };
                let message = format!(
                    "`{}` returns the updated {target} and the result is discarded: JAX values are immutable, so no \
                     update happens and the parameters never change; assign the result (`{target} = ...`)",
                    short_text(file, call.node)
                );
                findings.push(file.finding(self, call.node, message, 0.9));
            }
        }
        for call in file.calls_named("update") {
            let Some(dropped) = dropped_optimizer_state(file, call) else {
                continue;
            };
            let dropped_as = match file.node_text(dropped) {
                "_" => "discards the new optimizer state (`_`)".to_owned(),
                name => format!("returns the new optimizer state as `{name}`, which is never used"),
            };
            let message = format!(
                "`{}` {dropped_as}: the moments and step count stay at their initial values, so Adam-style \
                 optimizers lose momentum and bias correction; carry the state forward (`updates, opt_state = ...`)",
                short_text(file, call.node),
            );
            findings.push(file.finding(self, call.node, message, 0.8));
        }
        for call in file.calls() {
            let Some(dropped) = state_dropped_by_caller(file, call) else {
                continue;
            };
            let message = format!(
                "`{}` passes `{}` in and discards the new optimizer state that `{}` returns (`_`): every step \
                 starts again from the same state, so Adam-style optimizers redo their first, bias-corrected step \
                 and schedules never advance; assign the returned state back to `{}`",
                short_text(file, call.node),
                dropped.passed,
                call.callee_name(file),
                dropped.passed,
            );
            findings.push(file.finding(self, call.node, message, 0.8));
        }
        findings
    }
}

/// The optimizer state a caller passes to a local step function and drops on return.
struct DroppedAtCall {
    /// The argument the state was passed as (`opt_state`).
    passed: String,
}

/// Whether a name reads as optimizer state: `opt_state`, `new_opt_state`, `optimizer_state`.
fn names_optimizer_state(text: &str) -> bool {
    let words = words(text);
    words.iter().any(|word| word == "state")
        && words.iter().any(|word| {
            matches!(
                word.as_str(),
                "opt" | "optimizer" | "optimiser" | "optim" | "tx"
            )
        })
}

/// For `params, _, loss = train_step(params, opt_state, ...)` where the file defines
/// `train_step(params, opt_state, ...)` returning `params, new_opt_state, loss`: the state
/// passed in, when the returned one lands in `_`.
fn state_dropped_by_caller(file: &Context<'_>, call: &Call<'_>) -> Option<DroppedAtCall> {
    let callees = file.locals().callees(file.source(), call);
    let [function] = callees else {
        return None;
    };
    let assignment = file
        .parent(call.node)
        .filter(|parent| parent.kind_name() == "assignment")?;
    let targets = assignment.field("left")?;
    if !matches!(targets.kind_name(), "pattern_list" | "tuple_pattern") {
        return None;
    }
    let parameters = parameter_names(file, *function);
    let state_position = parameters
        .iter()
        .position(|name| names_optimizer_state(name))?;
    let passed = call.positional().get(state_position).copied()?;
    if !names_optimizer_state(file.node_text(passed)) {
        return None;
    }
    let returned = returned_tuple(file, *function)?;
    if returned.len() != targets.named_child_count() {
        return None;
    }
    let state_slot = returned
        .iter()
        .position(|element| names_optimizer_state(element))?;
    let target = targets.named_child(u32::try_from(state_slot).ok()?)?;
    (file.node_text(target) == "_").then(|| DroppedAtCall {
        passed: file.node_text(passed).to_owned(),
    })
}

/// The element texts of the tuple a function returns, when every `return` in its own body
/// returns a tuple of the same length (otherwise the slots are ambiguous).
fn returned_tuple(file: &Context<'_>, function: Node<'_>) -> Option<Vec<String>> {
    let body = function.field("body")?;
    let mut shape: Option<Vec<String>> = None;
    for node in file.scope_descendants(body) {
        if node.kind_name() != "return_statement" {
            continue;
        }
        let value = node.named_child(0)?;
        if !matches!(value.kind_name(), "expression_list" | "tuple") {
            return None;
        }
        let mut cursor = value.walk();
        let elements: Vec<String> = value
            .named_children(&mut cursor)
            .map(|element| file.node_text(element).to_owned())
            .collect();
        match &shape {
            Some(previous) if previous.len() != elements.len() => return None,
            Some(_) => {}
            None => shape = Some(elements),
        }
    }
    shape
}

/// For `updates, state_out = tx.update(grads, opt_state, ...)`, the `state_out` target when it
/// is `_` or never read afterwards in the function.
fn dropped_optimizer_state<'t>(file: &Context<'t>, call: &Call<'t>) -> Option<Node<'t>> {
    let receiver = call.receiver()?;
    let optimizer_like = words(file.node_text(receiver)).iter().any(|word| {
        matches!(
            word.as_str(),
            "tx" | "opt" | "optimizer" | "optim" | "solver" | "optimiser"
        )
    });
    let state_argument = call.positional().get(1).copied()?;
    let state_like = words(file.node_text(state_argument))
        .iter()
        .any(|word| word.contains("state") || word == "opt");
    if !optimizer_like || !state_like {
        return None;
    }
    let assignment = file
        .parent(call.node)
        .filter(|parent| parent.kind_name() == "assignment")?;
    let targets = assignment.field("left")?;
    if !matches!(targets.kind_name(), "pattern_list" | "tuple_pattern")
        || targets.named_child_count() != 2
    {
        return None;
    }
    let state_out = targets.named_child(1)?;
    let name = file.node_text(state_out);
    if name == "_" {
        return Some(state_out);
    }
    // `opt_state = ...update(grads, opt_state)`: threaded, whatever follows.
    if name == file.node_text(state_argument) {
        return None;
    }
    let scope = scope_body(file, call.node);
    let used_later = file
        .scope_descendants(scope)
        .filter(|node| node.start_byte() > assignment.end_byte())
        .any(|node| node.kind_name() == "identifier" && file.node_text(node) == name);
    (!used_later && state_out.kind_name() == "identifier").then_some(state_out)
}
