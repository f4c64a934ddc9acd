//! What names mean: where a name was last assigned in a function, whether a name says training
//! data, test data or labels, whether code runs with gradients disabled, literal values.

use std::collections::HashSet;

use tree_sitter::Node;

use crate::syntax::{NodeExt, bound_names, unparenthesized, words};
use crate::{Context, SourceFile};

/// The left and right sides of an `assignment` node.
pub fn assignment_sides(node: Node<'_>) -> Option<(Node<'_>, Node<'_>)> {
    if node.kind_name() != "assignment" {
        return None;
    }
    Some((node.field("left")?, node.field("right")?))
}

/// The body that runs as the scope of `node`: a function's body, or the module.
pub fn scope_body<'t>(file: &Context<'t>, node: Node<'_>) -> Node<'t> {
    let scope = file.enclosing_scope(node);
    if scope.kind_name() == "function_definition" {
        scope.field("body").unwrap_or(scope)
    } else {
        scope
    }
}

/// The right-hand side last assigned to `name` (a name or attribute text) in `scope` before
/// `before` (a byte offset), not looking into nested functions.
pub fn last_value_before<'t>(
    file: &Context<'t>,
    scope: Node<'_>,
    name: &str,
    before: usize,
) -> Option<Node<'t>> {
    file.scope_descendants(scope)
        .take_while(|node| node.start_byte() < before)
        .filter_map(assignment_sides)
        .filter(|(left, right)| file.node_text(*left) == name && right.end_byte() <= before)
        .last()
        .map(|(_, right)| right)
}

/// `value`, or what the name `value` last held in its function when it was used: follows one
/// plain-name assignment.
pub fn resolve_value<'t>(file: &Context<'t>, value: Node<'t>) -> Node<'t> {
    let value = unparenthesized(value);
    if !matches!(value.kind_name(), "identifier" | "attribute") {
        return value;
    }
    let scope = scope_body(file, value);
    last_value_before(file, scope, file.node_text(value), value.start_byte())
        .map_or(value, unparenthesized)
}

/// The number `node` stands for: a literal, a name last assigned a literal in its function, or
/// a module-level constant (`BATCH_SIZE = 2`) assigned anywhere in the file.
pub fn number_value<'t>(file: &Context<'t>, node: Node<'t>) -> Option<f64> {
    let resolved = resolve_value(file, node);
    number(file, resolved).or_else(|| {
        if resolved.kind_name() != "identifier" {
            return None;
        }
        let root = file.root();
        let constant = last_value_before(file, root, file.node_text(resolved), root.end_byte())?;
        number(file, unparenthesized(constant))
    })
}

/// Words that name held-out data.
const HELD_OUT_WORDS: &[&str] = &[
    "test",
    "tst",
    "val",
    "valid",
    "validation",
    "eval",
    "evaluation",
    "dev",
    "holdout",
    "heldout",
];

/// Whether the text names held-out data (`X_test`, `val_ds`) and not training data.
pub fn names_held_out_data(text: &str) -> bool {
    let text_words = words(text);
    text_words
        .iter()
        .any(|word| HELD_OUT_WORDS.contains(&word.as_str()))
        && !text_words.iter().any(|word| word.starts_with("train"))
}

/// Whether the text names training data (`X_train`, `trainset`) and not held-out data.
pub fn names_training_data(text: &str) -> bool {
    let text_words = words(text);
    text_words
        .iter()
        .any(|word| word.starts_with("train") && !word.starts_with("trainer"))
        && !text_words
            .iter()
            .any(|word| HELD_OUT_WORDS.contains(&word.as_str()))
}

/// Whether the text names labels rather than inputs: `y`, `labels`, `y_train`, `targets`.
pub fn names_labels(text: &str) -> bool {
    words(text).iter().any(|word| {
        matches!(
            word.as_str(),
            "y" | "ys"
                | "label"
                | "labels"
                | "target"
                | "targets"
                | "lbl"
                | "lbls"
                | "gt"
                | "truth"
                | "classes"
                | "cls"
                | "answer"
                | "answers"
        )
    })
}

/// The `with` block or decorated function around `node` that turns gradients off
/// (`torch.no_grad()`, `torch.inference_mode()`, `torch.set_grad_enabled(False)`), unless a
/// `torch.enable_grad()` inside it turns them back on first. Stops at the enclosing function's
/// definition, whose decorators count.
pub fn grad_disabled_by<'t>(file: &Context<'t>, node: Node<'_>) -> Option<Node<'t>> {
    for ancestor in file.ancestors(node) {
        match ancestor.kind_name() {
            "with_statement" => {
                let clause = with_clause_text(file, ancestor);
                if clause.contains("enable_grad") || clause.contains("set_grad_enabled(True)") {
                    return None;
                }
                if disables_grad(&clause) {
                    return Some(ancestor);
                }
            }
            "function_definition" => {
                let decorated = file
                    .parent(ancestor)
                    .filter(|parent| parent.kind_name() == "decorated_definition");
                let disabled = decorated.is_some_and(|parent| {
                    let mut cursor = parent.walk();
                    parent.named_children(&mut cursor).any(|child| {
                        child.kind_name() == "decorator" && disables_grad(file.node_text(child))
                    })
                });
                return disabled.then_some(ancestor);
            }
            "lambda" | "class_definition" => return None,
            _ => {}
        }
    }
    None
}

fn with_clause_text(file: &SourceFile, with_statement: Node<'_>) -> String {
    let mut cursor = with_statement.walk();
    with_statement
        .named_children(&mut cursor)
        .filter(|child| child.kind_name() == "with_clause")
        .map(|child| file.node_text(child))
        .collect::<Vec<_>>()
        .join(" ")
}

fn disables_grad(text: &str) -> bool {
    text.contains("no_grad")
        || text.contains("inference_mode")
        || text.contains("set_grad_enabled(False)")
}

/// Whether `value` reads a name that the loops around `at` rebind on each iteration: their
/// loop variables, or names assigned in their bodies.
pub fn varies_per_iteration(file: &Context<'_>, value: Node<'_>, at: Node<'_>) -> bool {
    let mut rebound: HashSet<&str> = HashSet::new();
    for surrounding in file.enclosing_loops(at) {
        for node in file.scope_descendants(surrounding) {
            let target = match node.kind_name() {
                "assignment" | "augmented_assignment" | "for_statement" => node.field("left"),
                _ => None,
            };
            if let Some(target) = target {
                rebound.extend(bound_names(target).iter().map(|name| file.node_text(*name)));
            }
        }
    }
    file.descendants(value).any(|node| {
        matches!(node.kind_name(), "identifier" | "attribute")
            && rebound.contains(file.node_text(node))
    })
}

/// The value of a numeric literal (`0.1`, `1e-3`, `-2`, `30`), if `node` is one.
pub fn number(file: &SourceFile, node: Node<'_>) -> Option<f64> {
    let node = unparenthesized(node);
    match node.kind_name() {
        "integer" | "float" => file.node_text(node).replace('_', "").parse().ok(),
        "unary_operator" => {
            let operand = number(file, node.field("argument")?)?;
            let negative = file.node_text(node).trim_start().starts_with('-');
            Some(if negative { -operand } else { operand })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_label_names() {
        assert!(names_held_out_data("X_test"));
        assert!(names_held_out_data("val_loader"));
        assert!(!names_held_out_data("train_val_split"));
        assert!(names_training_data("trainset"));
        assert!(!names_training_data("trainer"));
        assert!(names_labels("y_train"));
        assert!(names_labels("batch_labels"));
        assert!(!names_labels("X_train"));
    }

    #[test]
    fn numbers_and_last_values() {
        let file = SourceFile::parse(
            "t.py",
            "def f():\n    x = 1\n    x = -2.5\n    return x\nwith torch.no_grad():\n    y = g()\n",
        )
        .expect("parses");
        let context = Context::new(&file);
        let literals: Vec<Option<f64>> = context
            .assignment_sides()
            .map(|(_, right)| number(&file, right))
            .collect();
        assert_eq!(literals, [Some(1.0), Some(-2.5), None]);
        let returned = context
            .nodes_of_kind("return_statement")
            .next()
            .and_then(|statement| statement.named_child(0))
            .expect("return value");
        assert_eq!(file.node_text(resolve_value(&context, returned)), "-2.5");
        let call = context.calls_named("g").next().expect("g()");
        assert!(grad_disabled_by(&context, call.node).is_some());
        assert!(grad_disabled_by(&context, returned).is_none());
    }
}
