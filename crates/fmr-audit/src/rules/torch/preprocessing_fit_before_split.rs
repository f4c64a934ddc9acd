use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{names_held_out_data, names_labels, names_training_data, scope_body};
use crate::semantic::preprocessing::preprocessing_fits;
use crate::semantic::training::short_text;
use crate::syntax::{Call, assigned_to, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a preprocessing transformer (scaler, PCA, vectorizer, imputer, feature selector)
/// fitted on the whole dataset before it is split: `X = scaler.fit_transform(X)` followed, in
/// the same function, by `train_test_split(X, ...)` or a cross-validation call
/// (`cross_val_score`, `cross_validate`, `cross_val_predict`) on it.
///
/// Fitting inside a `Pipeline` that is cross-validated, or fitting on the training split, is
/// correct and not reported.
///
/// ## Why is this bad?
/// The statistics (means, variances, vocabulary, selected features) are learned from rows that
/// end up in the test split, so information about the test set leaks into training. The
/// validation score is optimistic, sometimes by a wide margin for feature selection, and the
/// model disappoints on new data. Nothing fails.
///
/// ## Example
/// ```python
/// X = StandardScaler().fit_transform(X)
/// X_train, X_test, y_train, y_test = train_test_split(X, y)
/// ```
///
/// Use instead:
/// ```python
/// X_train, X_test, y_train, y_test = train_test_split(X, y)
/// scaler = StandardScaler().fit(X_train)
/// X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
/// ```
///
/// ## References
/// - [scikit-learn: common pitfalls, data leakage during pre-processing](https://scikit-learn.org/stable/common_pitfalls.html#data-leakage)
/// - [Kaufman et al., "Leakage in data mining" (TKDD 2012)](https://dl.acm.org/doi/10.1145/2382577.2382579)
///
/// ## Confirms
/// - FM0016: train/test leakage
pub struct PreprocessingFitBeforeSplit;

const SPLITS: &[&str] = &[
    "train_test_split",
    "cross_val_score",
    "cross_validate",
    "cross_val_predict",
];

impl AuditRule for PreprocessingFitBeforeSplit {
    fn code(&self) -> &'static str {
        "PT017"
    }

    fn name(&self) -> &'static str {
        "preprocessing-fit-before-split"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !SPLITS.iter().any(|split| file.mentions(split)) {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for fit in preprocessing_fits(file) {
            let data = file.node_text(fit.data);
            if names_held_out_data(data) || names_training_data(data) || names_labels(data) {
                continue;
            }
            // The split may take the transformed copy or the data itself.
            let transformed = assigned_to(fit.call.node).map(|target| file.node_text(target));
            let Some(split) = later_split(file, fit.call.node, data, transformed) else {
                continue;
            };
            let (line, _) = file.position(split);
            let message = format!(
                "`{}` learns its statistics from all of `{data}` before `{}` splits it (line {line}): rows of the \
                 test split shape the preprocessing, so the validation score is optimistic; split first and fit \
                 on the training part (or put the transformer in a `Pipeline`)",
                short_text(file, fit.call.node),
                Call::new(split).map_or("the split", |call| call.callee_name(file)),
            );
            findings.push(file.finding(self, fit.call.node, message, 0.8));
        }
        findings
    }
}

/// The split or cross-validation call after `fit`, in its function, that takes the fitted data
/// (or its transformed copy) as its data argument.
fn later_split<'t>(
    file: &Context<'t>,
    fit: Node<'_>,
    data: &str,
    transformed: Option<&str>,
) -> Option<Node<'t>> {
    let scope = scope_body(file, fit);
    file.calls_in(scope)
        .iter()
        .filter(|call| call.node.start_byte() > fit.end_byte())
        .filter(|call| file.enclosing_scope(call.node).id() == file.enclosing_scope(fit).id())
        .find(|call| {
            let name = call.callee_name(file);
            if !SPLITS.contains(&name) {
                return false;
            }
            // `cross_val_score(estimator, X, y)` takes the data second.
            let position = usize::from(name != "train_test_split");
            call.argument(file, position, "X").is_some_and(|argument| {
                let argument = file.node_text(unparenthesized(argument));
                argument == data || Some(argument) == transformed
            })
        })
        .map(|call| call.node)
}
