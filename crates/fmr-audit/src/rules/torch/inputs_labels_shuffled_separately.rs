use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::names_labels;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, unparenthesized, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for inputs and labels shuffled by two independent random draws in the same block:
/// `np.random.shuffle(X); np.random.shuffle(y)`, `random.shuffle(...)` twice,
/// `X = X[np.random.permutation(n)]; y = y[np.random.permutation(n)]`, or
/// `sklearn.utils.shuffle(X)` and `shuffle(y)` called separately.
///
/// Shuffles that share one permutation (`perm = np.random.permutation(n); X, y = X[perm],
/// y[perm]`), one call over both arrays (`shuffle(X, y)`), a reseed between the two draws, or
/// the same fixed `random_state` are correct and not reported.
///
/// ## Why is this bad?
/// Each draw permutes its array differently, so after the second shuffle every input carries a
/// random label. The model can only learn the label prior: training loss stalls at the entropy
/// of the classes and accuracy stays at chance, with no error anywhere.
///
/// ## Example
/// ```python
/// np.random.shuffle(X_train)
/// np.random.shuffle(y_train)
/// ```
///
/// Use instead:
/// ```python
/// order = np.random.permutation(len(X_train))
/// X_train, y_train = X_train[order], y_train[order]
/// ```
///
/// ## References
/// - [NumPy: `Generator.permutation`](https://numpy.org/doc/stable/reference/random/generated/numpy.random.Generator.permutation.html)
/// - [scikit-learn: `sklearn.utils.shuffle`](https://scikit-learn.org/stable/modules/generated/sklearn.utils.shuffle.html)
///
/// ## Confirms
/// - FM0107: inputs and labels out of sync
/// - FM0024: labels that look like noise
pub struct InputsLabelsShuffledSeparately;

impl AuditRule for InputsLabelsShuffledSeparately {
    fn code(&self) -> &'static str {
        "PT015"
    }

    fn name(&self) -> &'static str {
        "inputs-labels-shuffled-separately"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("shuffle") && !file.mentions("perm") {
            return Vec::new();
        }
        let shuffles = independent_shuffles(file);
        let mut findings = Vec::new();
        for (index, later) in shuffles.iter().enumerate() {
            let partner = shuffles[..index].iter().rev().find(|earlier| {
                earlier.block.id() == later.block.id()
                    && earlier.array != later.array
                    && names_labels(&earlier.array) != names_labels(&later.array)
                    && (earlier.fixed_seed.is_none() || earlier.fixed_seed != later.fixed_seed)
                    && !reseeds_between(file, earlier.node, later.node)
            });
            let Some(earlier) = partner else {
                continue;
            };
            let (line, _) = file.position(earlier.node);
            let message = format!(
                "`{}` shuffles `{}` with a new random draw, independently of `{}` (line {line}): inputs and labels \
                 are permuted differently, so every example gets a random label and the model can only learn the \
                 class prior; draw one permutation and index both with it",
                short_text(file, later.node),
                later.array,
                short_text(file, earlier.node),
            );
            findings.push(file.finding(self, later.node, message, 0.85));
        }
        findings
    }
}

/// A shuffle of one array by its own random draw.
struct Shuffle<'t> {
    node: Node<'t>,
    /// The shuffled array, as written.
    array: String,
    /// The block whose statement holds the shuffle.
    block: Node<'t>,
    /// The literal `random_state` of `sklearn.utils.shuffle`, when given.
    fixed_seed: Option<String>,
}

fn independent_shuffles<'t>(file: &Context<'t>) -> Vec<Shuffle<'t>> {
    let mut shuffles = Vec::new();
    for call in file.calls_named("shuffle") {
        let positional = call.positional();
        let [array] = positional.as_slice() else {
            continue;
        };
        if !draws_randomly(file, call) {
            continue;
        }
        let fixed_seed = call
            .keyword(file, "random_state")
            .filter(|seed| seed.kind_name() == "integer")
            .map(|seed| file.node_text(seed).to_owned());
        if let Some(block) = statement_block(file, call.node) {
            shuffles.push(Shuffle {
                node: call.node,
                array: file.node_text(*array).to_owned(),
                block,
                fixed_seed,
            });
        }
    }
    // `X[np.random.permutation(n)]`: a permutation drawn inline for one array.
    for subscript in file.nodes_of_kind("subscript") {
        let Some(index) = subscript.field("subscript").map(unparenthesized) else {
            continue;
        };
        let fresh = Call::new(index).is_some_and(|call| {
            matches!(
                call.callee_name(file),
                "permutation" | "randperm" | "permuted"
            )
        });
        let Some(array) = subscript.field("value") else {
            continue;
        };
        if fresh && let Some(block) = statement_block(file, subscript) {
            shuffles.push(Shuffle {
                node: subscript,
                array: file.node_text(array).to_owned(),
                block,
                fixed_seed: None,
            });
        }
    }
    shuffles.sort_by_key(|shuffle| shuffle.node.start_byte());
    shuffles
}

/// `np.random.shuffle`, `random.shuffle`, `rng.shuffle`, `sklearn.utils.shuffle`: calls that
/// draw new randomness (not `dataset.shuffle(seed=...)` or a `shuffle` flag setter).
fn draws_randomly(file: &Context<'_>, call: &Call<'_>) -> bool {
    match call.receiver() {
        None => true,
        Some(receiver) => words(file.node_text(receiver)).iter().any(|word| {
            matches!(
                word.as_str(),
                "random" | "rng" | "np" | "numpy" | "generator" | "gen" | "rs" | "utils"
            )
        }),
    }
}

/// The block whose statement contains `node`.
fn statement_block<'t>(file: &Context<'t>, node: Node<'_>) -> Option<Node<'t>> {
    file.ancestors(node)
        .find(|ancestor| matches!(ancestor.kind_name(), "block" | "module"))
}

/// Whether a seed is set (or a generator rebuilt) between the two draws, making them equal.
fn reseeds_between(file: &Context<'_>, earlier: Node<'_>, later: Node<'_>) -> bool {
    file.calls()
        .iter()
        .filter(|call| {
            call.node.start_byte() > earlier.end_byte() && call.node.end_byte() < later.start_byte()
        })
        .any(|call| {
            matches!(
                call.callee_name(file),
                "seed" | "manual_seed" | "set_state" | "default_rng" | "RandomState" | "set_seed"
            )
        })
}
