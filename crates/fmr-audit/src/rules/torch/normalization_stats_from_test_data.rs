use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{names_held_out_data, names_labels, names_training_data, scope_body};
use crate::semantic::preprocessing::preprocessing_fits;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for normalization statistics learned from held-out data:
/// - a preprocessing transformer (`StandardScaler`, `MinMaxScaler`, `PCA`, `TfidfVectorizer`,
///   an imputer or a feature selector) fitted on data whose name says test or validation
///   (`scaler.fit(X_test)`, `scaler.fit_transform(X_val)`);
/// - a mean or standard deviation computed on held-out data and then used to normalize
///   training data (`mean = X_test.mean(0)` then `(X_train - mean) / std`).
///
/// `scaler.transform(X_test)` after fitting on the training set is the correct pattern and is not
/// reported.
///
/// ## Why is this bad?
/// The model is trained on data normalized with the test set's statistics and evaluated on data
/// those statistics were computed from: the test score is optimistic, and when deployed the
/// inputs are scaled differently from anything seen in training. Nothing fails; the evaluation
/// is just wrong.
///
/// ## Example
/// ```python
/// scaler = StandardScaler()
/// X_test = scaler.fit_transform(X_test)
/// X_train = scaler.transform(X_train)
/// ```
///
/// Use instead:
/// ```python
/// scaler = StandardScaler()
/// X_train = scaler.fit_transform(X_train)
/// X_test = scaler.transform(X_test)
/// ```
///
/// ## References
/// - [scikit-learn: common pitfalls, data leakage](https://scikit-learn.org/stable/common_pitfalls.html#data-leakage)
/// - [scikit-learn: `StandardScaler`](https://scikit-learn.org/stable/modules/generated/sklearn.preprocessing.StandardScaler.html)
///
/// ## Confirms
/// - FM0016: train/test leakage
/// - FM0022: preprocessing that differs between training and use
pub struct NormalizationStatsFromTestData;

impl AuditRule for NormalizationStatsFromTestData {
    fn code(&self) -> &'static str {
        "PT016"
    }

    fn name(&self) -> &'static str {
        "normalization-stats-from-test-data"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        for fit in preprocessing_fits(file) {
            let data = file.node_text(fit.data);
            if !names_held_out_data(data) || names_labels(data) {
                continue;
            }
            let message = format!(
                "`{}` learns its statistics from `{data}`, held-out data: the model trains on inputs scaled with \
                 test-set statistics and the evaluation is optimistic; fit on the training split and only \
                 `transform` the held-out data",
                short_text(file, fit.call.node)
            );
            findings.push(file.finding(self, fit.call.node, message, 0.85));
        }
        for (statistic, source, use_site) in held_out_statistics_applied_to_training_data(file) {
            let (line, _) = file.position(use_site);
            let message = format!(
                "`{}` is computed on `{source}`, held-out data, and normalizes training data at line {line} \
                 (`{}`): training and evaluation both use test-set statistics; compute them on the training \
                 split",
                short_text(file, statistic),
                short_text(file, use_site)
            );
            findings.push(file.finding(self, statistic, message, 0.8));
        }
        findings
    }
}

const STATISTICS: &[&str] = &[
    "mean", "std", "var", "min", "max", "median", "nanmean", "nanstd",
];

/// `(the statistic's assignment value, the held-out data it reads, the expression that applies
/// it to training data)`.
fn held_out_statistics_applied_to_training_data<'t>(
    file: &Context<'t>,
) -> Vec<(Node<'t>, String, Node<'t>)> {
    let mut found = Vec::new();
    for (left, right) in file.assignment_sides() {
        if left.kind_name() != "identifier" {
            continue;
        }
        let Some(call) = Call::new(unparenthesized(right)) else {
            continue;
        };
        if !STATISTICS.contains(&call.callee_name(file)) {
            continue;
        }
        // `X_test.mean(0)` or `np.mean(X_test, axis=0)`.
        let data = match call.receiver() {
            Some(receiver) if matches!(file.node_text(receiver), "np" | "numpy" | "torch") => {
                call.argument(file, 0, "a")
            }
            Some(receiver) => Some(receiver),
            None => call.argument(file, 0, "a"),
        };
        let Some(data) = data.map(|data| file.node_text(data)) else {
            continue;
        };
        if !names_held_out_data(data) {
            continue;
        }
        let name = file.node_text(left);
        let scope = scope_body(file, left);
        let applied = file
            .scope_descendants(scope)
            .filter(|node| {
                node.start_byte() > right.end_byte() && node.kind_name() == "binary_operator"
            })
            .find(|operation| normalizes_training_data(file, *operation, name));
        if let Some(use_site) = applied {
            found.push((right, data.to_owned(), use_site));
        }
    }
    found
}

/// `X_train - mean` or `(X_train - mean) / std`, with `statistic` one operand.
fn normalizes_training_data(file: &Context<'_>, operation: Node<'_>, statistic: &str) -> bool {
    let Some(operator) = operation.field("operator") else {
        return false;
    };
    if !matches!(operator.kind_name(), "-" | "/") {
        return false;
    }
    let (Some(left), Some(right)) = (operation.field("left"), operation.field("right")) else {
        return false;
    };
    let is_statistic = |node: Node<'_>| file.node_text(unparenthesized(node)) == statistic;
    let is_training = |node: Node<'_>| names_training_data(file.node_text(node));
    (is_statistic(right) && is_training(left)) || (is_statistic(left) && is_training(right))
}
