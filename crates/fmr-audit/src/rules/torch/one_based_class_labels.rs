use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::losses::uses_class_index_loss;
use crate::semantic::names::{names_labels, number};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, bound_names, unparenthesized, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a class-to-index mapping that numbers classes from 1
/// (`{name: i for i, name in enumerate(classes, start=1)}`, `{c: i + 1 for i, c in
/// enumerate(classes)}`, `dict(zip(classes, range(1, len(classes) + 1)))`) in a file that trains
/// with a class-index loss (`CrossEntropyLoss`, `NLLLoss`, `sparse_categorical_crossentropy`).
///
/// Files that make room for the extra index (`num_classes + 1`, `len(classes) + 1` outputs, a
/// background class at 0 with `ignore_index=0`) or shift the labels back (`labels - 1`) are not
/// reported.
///
/// ## Why is this bad?
/// Class-index losses expect labels in `0 .. C-1`. With labels `1 .. C`, the largest class is
/// out of range: on GPU a device-side assert aborts training ("Assertion `t >= 0 && t <
/// n_classes` failed"), far from the cause; with one extra output unit the model never predicts
/// class 0 and every label is shifted against its logit.
///
/// ## Example
/// ```python
/// label_to_index = {name: i for i, name in enumerate(class_names, start=1)}
/// criterion = nn.CrossEntropyLoss()
/// ```
///
/// Use instead:
/// ```python
/// label_to_index = {name: i for i, name in enumerate(class_names)}
/// criterion = nn.CrossEntropyLoss()
/// ```
///
/// ## References
/// - [PyTorch: `CrossEntropyLoss` (target class indices in `[0, C)`)](https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html)
/// - [Keras: `SparseCategoricalCrossentropy`](https://keras.io/api/losses/probabilistic_losses/#sparsecategoricalcrossentropy-class)
///
/// ## Confirms
/// - FM0018: label format does not match the loss
pub struct OneBasedClassLabels;

impl AuditRule for OneBasedClassLabels {
    fn code(&self) -> &'static str {
        "PT031"
    }

    fn name(&self) -> &'static str {
        "one-based-class-labels"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !uses_class_index_loss(file) {
            return Vec::new();
        }
        let mappings: Vec<(Node<'_>, Node<'_>)> = file
            .assignment_sides()
            .filter(|(_, right)| numbers_from_one(file, *right))
            .collect();
        if mappings.is_empty() || makes_room_or_shifts_back(file, &mappings) {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for (left, right) in mappings {
            let target = file.node_text(left);
            let target_words = words(target);
            let names_a_mapping = target_words.iter().any(|word| {
                matches!(
                    word.as_str(),
                    "label"
                        | "labels"
                        | "class"
                        | "classes"
                        | "idx"
                        | "id"
                        | "index"
                        | "cat"
                        | "category"
                        | "target"
                )
            }) || target.contains("2id")
                || target.contains("2idx");
            if !names_a_mapping {
                continue;
            }
            let message = format!(
                "`{target}` numbers the classes from 1 (`{}`), but this file trains with a class-index loss, which \
                 expects labels 0 to C-1: the last class is out of range (a device-side assert on GPU) or every \
                 label is shifted by one; number them from 0",
                short_text(file, right)
            );
            findings.push(file.finding(self, right, message, 0.65));
        }
        findings
    }
}

/// `{k: i for i, k in enumerate(xs, 1)}`, `{k: i + 1 for i, k in enumerate(xs)}`,
/// `dict(zip(xs, range(1, ...)))`.
fn numbers_from_one(file: &Context<'_>, value: Node<'_>) -> bool {
    let value = unparenthesized(value);
    match value.kind_name() {
        "dictionary_comprehension" => {
            let Some(pair) = value.field("body") else {
                return false;
            };
            let Some(index_value) = pair.field("value") else {
                return false;
            };
            let mut cursor = value.walk();
            let clauses: Vec<Node<'_>> = value
                .named_children(&mut cursor)
                .filter(|child| child.kind_name() == "for_in_clause")
                .collect();
            clauses.iter().any(|clause| {
                let (Some(names), Some(iterable)) = (clause.field("left"), clause.field("right"))
                else {
                    return false;
                };
                let Some(enumerate) = Call::new(unparenthesized(iterable))
                    .filter(|call| call.callee_name(file) == "enumerate")
                else {
                    return false;
                };
                let Some(index_name) = bound_names(names).first().map(|name| file.node_text(*name))
                else {
                    return false;
                };
                let starts_at_one = enumerate
                    .argument(file, 1, "start")
                    .and_then(|start| number(file, start))
                    == Some(1.0);
                let value_text = file
                    .node_text(unparenthesized(index_value))
                    .replace(' ', "");
                (starts_at_one && value_text == index_name)
                    || value_text == format!("{index_name}+1")
            })
        }
        "call" => {
            let Some(call) = Call::new(value) else {
                return false;
            };
            call.callee_name(file) == "dict"
                && file.calls_in(value).iter().any(|inner| {
                    inner.callee_name(file) == "range"
                        && inner.argument_count() >= 2
                        && inner
                            .argument(file, 0, "start")
                            .and_then(|start| number(file, start))
                            == Some(1.0)
                })
        }
        _ => false,
    }
}

/// `num_classes + 1`, `len(classes) + 1`, `ignore_index=0`, `labels - 1`: the file accounts
/// for labels starting at 1. Arithmetic inside the mappings themselves does not count.
fn makes_room_or_shifts_back(file: &Context<'_>, mappings: &[(Node<'_>, Node<'_>)]) -> bool {
    if file.mentions("ignore_index=0") {
        return true;
    }
    let in_mapping = |node: Node<'_>| {
        mappings
            .iter()
            .any(|(_, mapping)| crate::syntax::contains(*mapping, node))
    };
    file.nodes_of_kind("binary_operator")
        .filter(|operation| !in_mapping(*operation))
        .any(|operation| {
            let (Some(left), Some(operator), Some(right)) = (
                operation.field("left"),
                operation.field("operator"),
                operation.field("right"),
            ) else {
                return false;
            };
            if number(file, right) != Some(1.0) {
                return false;
            }
            let left_text = file.node_text(left);
            match operator.kind_name() {
                "+" => {
                    left_text.starts_with("len(")
                        || words(left_text).iter().any(|word| {
                            matches!(
                                word.as_str(),
                                "classes" | "labels" | "num" | "n" | "outputs"
                            )
                        })
                }
                "-" => names_labels(left_text),
                _ => false,
            }
        })
}
