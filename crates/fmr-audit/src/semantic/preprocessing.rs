//! Fitted preprocessing: scikit-learn transformers (`StandardScaler`, `PCA`, `TfidfVectorizer`,
//! feature selectors) whose `fit` learns statistics from the data it is given.

use tree_sitter::Node;

use crate::Context;
use crate::syntax::{Call, unparenthesized, words};

/// Transformers that learn statistics of their input in `fit`.
const FITTED_TRANSFORMERS: &[&str] = &[
    "CountVectorizer",
    "KBinsDiscretizer",
    "KNNImputer",
    "MaxAbsScaler",
    "MinMaxScaler",
    "Normalizer",
    "OneHotEncoder",
    "OrdinalEncoder",
    "PCA",
    "PowerTransformer",
    "QuantileTransformer",
    "RobustScaler",
    "SelectFromModel",
    "SelectKBest",
    "SelectPercentile",
    "SimpleImputer",
    "StandardScaler",
    "TargetEncoder",
    "TfidfVectorizer",
    "TruncatedSVD",
    "VarianceThreshold",
];

/// Words that name a fitted transformer object.
const TRANSFORMER_WORDS: &[&str] = &[
    "scaler",
    "normalizer",
    "normaliser",
    "standardizer",
    "pca",
    "svd",
    "imputer",
    "vectorizer",
    "tfidf",
    "selector",
    "discretizer",
    "preprocessor",
];

/// A `fit` or `fit_transform` of a preprocessing transformer.
pub struct Fit<'t> {
    pub call: Call<'t>,
    /// The data the statistics are learned from.
    pub data: Node<'t>,
}

/// Every preprocessing fit of the file, in source order.
pub fn preprocessing_fits<'t>(file: &Context<'t>) -> Vec<Fit<'t>> {
    let mut fits: Vec<Fit<'t>> = ["fit", "fit_transform"]
        .iter()
        .flat_map(|name| file.calls_named(name))
        .filter_map(|call| {
            let receiver = call.receiver()?;
            if !is_transformer(file, receiver) {
                return None;
            }
            Some(Fit {
                call: *call,
                data: call.argument(file, 0, "X")?,
            })
        })
        .collect();
    fits.sort_by_key(|fit| fit.call.node.start_byte());
    fits
}

/// Whether `receiver` is a fitted transformer: built inline (`StandardScaler().fit(...)`),
/// named like one, or bound anywhere in the file to one of the known classes.
fn is_transformer(file: &Context<'_>, receiver: Node<'_>) -> bool {
    let receiver = unparenthesized(receiver);
    if let Some(constructor) = Call::new(receiver) {
        return FITTED_TRANSFORMERS.contains(&constructor.callee_name(file));
    }
    let text = file.node_text(receiver);
    let receiver_words = words(text);
    if receiver_words
        .iter()
        .any(|word| word == "label" || word == "model")
    {
        return false;
    }
    if receiver_words
        .iter()
        .any(|word| TRANSFORMER_WORDS.contains(&word.as_str()))
    {
        return true;
    }
    file.assignment_sides()
        .filter(|(left, _)| file.node_text(*left) == text)
        .filter_map(|(_, right)| Call::new(unparenthesized(right)))
        .any(|call| FITTED_TRANSFORMERS.contains(&call.callee_name(file)))
}
