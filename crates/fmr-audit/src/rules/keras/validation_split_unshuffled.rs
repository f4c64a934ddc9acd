use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{last_value_before, scope_body};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for `model.fit(x, y, validation_split=...)` where `x` was assembled in order in the
/// same function (`np.concatenate`, `np.vstack`, `np.array` of a list filled in a loop) and
/// nothing shuffles it between assembly and `fit` (no `shuffle`, `permutation` or
/// `train_test_split`).
///
/// ## Why is this bad?
/// Keras takes the validation split from the *end* of the arrays, before any shuffling (the
/// `shuffle` argument of `fit` only shuffles the training part). Data assembled class by class,
/// source by source or in time order puts one class, one source or the latest period entirely
/// in validation: validation accuracy is near zero or meaningless and early stopping and model
/// selection follow noise.
///
/// ## Example
/// ```python
/// x = np.concatenate([cats, dogs])
/// y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
/// model.fit(x, y, epochs=10, validation_split=0.2)
/// ```
///
/// Use instead:
/// ```python
/// x = np.concatenate([cats, dogs])
/// y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
/// order = np.random.permutation(len(x))
/// model.fit(x[order], y[order], epochs=10, validation_split=0.2)
/// ```
///
/// ## References
/// - [Keras: `Model.fit` (`validation_split` is taken before shuffling)](https://keras.io/api/models/model_training_apis/#fit-method)
///
/// ## Confirms
/// - FM0017: unshuffled, ordered data
/// - FM0109: validation drawn from a different distribution
pub struct ValidationSplitUnshuffled;

const ORDERED_ASSEMBLY: &[&str] = &[
    "concatenate",
    "vstack",
    "hstack",
    "stack",
    "append",
    "array",
    "asarray",
];

const SHUFFLES: &[&str] = &[
    "shuffle",
    "permutation",
    "permuted",
    "train_test_split",
    "randperm",
    "sample",
];

impl AuditRule for ValidationSplitUnshuffled {
    fn code(&self) -> &'static str {
        "KR004"
    }

    fn name(&self) -> &'static str {
        "validation-split-unshuffled"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("validation_split") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for fit in file.calls_named("fit") {
            if fit.keyword(file, "validation_split").is_none() {
                continue;
            }
            let Some(inputs) = fit.argument(file, 0, "x").map(unparenthesized) else {
                continue;
            };
            if inputs.kind_name() != "identifier" {
                continue;
            }
            let scope = scope_body(file, fit.node);
            let name = file.node_text(inputs);
            let Some(value) = last_value_before(file, scope, name, fit.node.start_byte()) else {
                continue;
            };
            let Some(assembly) = ordered_assembly(file, scope, value) else {
                continue;
            };
            let shuffled = file.calls_in(scope).iter().any(|call| {
                call.node.start_byte() > value.end_byte()
                    && call.node.start_byte() < fit.node.start_byte()
                    && SHUFFLES.contains(&call.callee_name(file))
            });
            if shuffled {
                continue;
            }
            let (line, _) = file.position(value);
            let message = format!(
                "`{}` takes its validation data from the end of `{name}`, which `{}` (line {line}) assembled in \
                 order and nothing shuffled: the last class or period ends up entirely in validation; shuffle `x` \
                 and `y` together before `fit` (or pass `validation_data`)",
                short_text(file, fit.node),
                short_text(file, assembly),
            );
            findings.push(file.finding(self, fit.node, message, 0.7));
        }
        findings
    }
}

/// The call that assembled `value` in order: `np.concatenate([...])`, or `np.array(items)` where
/// `items` is appended to in a loop of the same function.
fn ordered_assembly<'t>(file: &Context<'t>, scope: Node<'_>, value: Node<'t>) -> Option<Node<'t>> {
    let call = Call::new(unparenthesized(value))?;
    let name = call.callee_name(file);
    if !ORDERED_ASSEMBLY.contains(&name) {
        return None;
    }
    let parts = call.positional().first().copied()?;
    match parts.kind_name() {
        "list" | "tuple" => (parts.named_child_count() >= 2).then_some(value),
        "identifier" => {
            let list = file.node_text(parts);
            let appended_in_loop = file.calls_in(scope).iter().any(|append| {
                matches!(append.callee_name(file), "append" | "extend")
                    && append
                        .receiver()
                        .is_some_and(|receiver| file.node_text(receiver) == list)
                    && file.enclosing_loops(append.node).next().is_some()
                    && append.node.start_byte() < value.start_byte()
            });
            appended_in_loop.then_some(value)
        }
        _ => None,
    }
}
