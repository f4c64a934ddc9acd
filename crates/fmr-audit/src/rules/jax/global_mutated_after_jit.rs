use std::collections::HashSet;

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::jax::{Transform, parameter_names};
use crate::syntax::{NodeExt, bound_names, contains};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a function compiled with `jax.jit` (or `pmap`) that reads a module-level variable
/// which the program changes: reassigned at module level, rebound through `global` in a
/// function, or mutated in place (`CONFIG["lr"] = ...`, `SCHEDULE.append(...)`).
///
/// ## Why is this bad?
/// The compiled function captures the global's value when it is first traced and bakes it into
/// the program as a constant. Later changes are ignored: a learning rate or temperature
/// annealed through a global stays at its first value, while the Python code suggests
/// otherwise. Nothing raises an error.
///
/// ## Example
/// ```python
/// learning_rate = 1e-3
///
/// @jax.jit
/// def update(params, grads):
///     return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
///
/// def decay():
///     global learning_rate
///     learning_rate *= 0.5
/// ```
///
/// Use instead:
/// ```python
/// @jax.jit
/// def update(params, grads, learning_rate):
///     return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
/// ```
///
/// ## References
/// - [JAX: the sharp bits, pure functions and globals](https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#pure-functions)
///
/// ## Confirms
/// - FM0012: learning-rate schedule that never takes effect
/// - FM0100: compiled-function semantics
pub struct GlobalMutatedAfterJit;

impl AuditRule for GlobalMutatedAfterJit {
    fn code(&self) -> &'static str {
        "JX013"
    }

    fn name(&self) -> &'static str {
        "global-mutated-after-jit"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let compiled: Vec<(Node<'_>, Option<usize>)> = file
            .jit_functions()
            .compiled
            .iter()
            .filter(|compiled| matches!(compiled.transform, Transform::Jit | Transform::Pmap))
            .filter_map(|compiled| {
                let first_call = compiled.callable_name.as_deref().and_then(|name| {
                    file.calls()
                        .iter()
                        .find(|call| file.node_text(call.function) == name)
                        .map(|call| call.node.start_byte())
                });
                Some((compiled.function?, first_call))
            })
            .collect();
        if compiled.is_empty() {
            return Vec::new();
        }
        // Changes made inside compiled functions are side effects there (JX004), not updates.
        let changing: Vec<Change<'_>> = changing_globals(file)
            .into_iter()
            .filter(|change| {
                !compiled
                    .iter()
                    .any(|(function, _)| contains(*function, change.node))
            })
            .collect();
        if changing.is_empty() {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for (function, first_call) in compiled {
            let locals = local_names(file, function);
            let mut reported = HashSet::new();
            for node in file.descendants(function) {
                if node.kind_name() != "identifier" {
                    continue;
                }
                let name = file.node_text(node);
                // A module-level reassignment matters only once the function has been traced:
                // after its first call (a script rebinding a name before that is fine).
                let Some(change) = changing.iter().find(|change| {
                    change.name == name
                        && (!change.module_level
                            || first_call.is_some_and(|call| change.node.start_byte() > call))
                }) else {
                    continue;
                };
                if locals.contains(name) || !reads(file, node) || !reported.insert(name.to_owned())
                {
                    continue;
                }
                let (line, _) = file.position(change.node);
                let message = format!(
                    "`{name}` is a module-level variable that the program changes (line {line}), read inside a \
                     compiled function: its value is captured once at trace time and later changes are ignored; pass \
                     it as an argument"
                );
                findings.push(file.finding(self, node, message, 0.75));
            }
        }
        findings
    }
}

/// A change of a module-level name.
struct Change<'t> {
    name: String,
    node: Node<'t>,
    /// A reassignment at module level (rather than through `global` or an in-place mutation
    /// inside a function, which can run at any time).
    module_level: bool,
}

/// Module-level names changed after their definition, with where.
fn changing_globals<'t>(file: &Context<'t>) -> Vec<Change<'t>> {
    let mut defined: Vec<String> = Vec::new();
    let mut changes = Vec::new();
    for node in file.nodes() {
        let in_function = file.enclosing_function(node).is_some();
        match node.kind_name() {
            "assignment" | "augmented_assignment" => {
                let Some(target) = node.field("left") else {
                    continue;
                };
                if target.kind_name() == "subscript" {
                    // `CONFIG["lr"] = 0.1` mutates the container, wherever it runs.
                    if let Some(container) = target
                        .field("value")
                        .filter(|value| value.kind_name() == "identifier")
                    {
                        changes.push(Change {
                            name: file.node_text(container).to_owned(),
                            node,
                            module_level: !in_function,
                        });
                    }
                    continue;
                }
                if in_function || file.enclosing_class(node).is_some() {
                    continue;
                }
                for name in bound_names(target) {
                    let name = file.node_text(name).to_owned();
                    if defined.contains(&name) || node.kind_name() == "augmented_assignment" {
                        changes.push(Change {
                            name: name.clone(),
                            node,
                            module_level: true,
                        });
                    }
                    defined.push(name);
                }
            }
            "global_statement" => {
                let mut cursor = node.walk();
                for name in node.named_children(&mut cursor) {
                    changes.push(Change {
                        name: file.node_text(name).to_owned(),
                        node,
                        module_level: false,
                    });
                }
            }
            "call" => {
                let Some(call) = file.call_at(node) else {
                    continue;
                };
                let mutates = matches!(
                    call.callee_name(file),
                    "append" | "extend" | "update" | "insert" | "pop" | "clear"
                );
                if let (true, Some(receiver)) = (
                    mutates,
                    call.receiver()
                        .filter(|receiver| receiver.kind_name() == "identifier"),
                ) {
                    changes.push(Change {
                        name: file.node_text(receiver).to_owned(),
                        node,
                        module_level: !in_function,
                    });
                }
            }
            _ => {}
        }
    }
    // Only names that exist at module level are globals.
    changes.retain(|change| defined.contains(&change.name));
    changes
}

/// Parameters and names bound inside the function, its nested functions included (they shadow
/// globals): assignment targets, loop variables, nested definitions and their parameters.
fn local_names(file: &Context<'_>, function: Node<'_>) -> HashSet<String> {
    let mut names: HashSet<String> = parameter_names(file, function).into_iter().collect();
    for node in file.descendants(function) {
        match node.kind_name() {
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                if let Some(target) = node.field("left") {
                    names.extend(
                        bound_names(target)
                            .iter()
                            .map(|name| file.node_text(*name).to_owned()),
                    );
                }
            }
            "function_definition" | "lambda" => {
                if let Some(name) = node.field("name") {
                    names.insert(file.node_text(name).to_owned());
                }
                names.extend(parameter_names(file, node));
            }
            _ => {}
        }
    }
    names
}

/// Whether the identifier is read (not a keyword name, an attribute name or a parameter).
fn reads(file: &Context<'_>, identifier: Node<'_>) -> bool {
    let Some(parent) = file.parent(identifier) else {
        return false;
    };
    match parent.kind_name() {
        "keyword_argument" => parent
            .field("value")
            .is_some_and(|value| value.id() == identifier.id()),
        "attribute" => parent
            .field("object")
            .is_some_and(|object| object.id() == identifier.id()),
        "parameters"
        | "default_parameter"
        | "typed_parameter"
        | "function_definition"
        | "lambda_parameters" => false,
        _ => true,
    }
}
