use fmr_core::AuditFinding;

use crate::semantic::keras::compiled_models;
use crate::semantic::training::short_text;
use crate::syntax::string_value;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks that the label format a Keras data pipeline produces matches the loss the model is
/// compiled with, in the same file: `flow_from_directory`/`flow_from_dataframe` (`class_mode`,
/// `"categorical"` by default) and `image_dataset_from_directory`/`text_dataset_from_directory`
/// (`label_mode`, `"int"` by default) against `sparse_categorical_crossentropy` (integer labels),
/// `categorical_crossentropy` (one-hot labels) and `binary_crossentropy` (0/1 labels).
///
/// ## Why is this bad?
/// One-hot labels with a sparse loss, or integer labels with a categorical loss, fail with a
/// shape error at the first batch, far from where the mode was chosen; one-hot labels with
/// binary cross-entropy train each class as an independent yes/no question and report an
/// inflated binary accuracy, silently.
///
/// ## Example
/// ```python
/// train = datagen.flow_from_directory("data/train", target_size=(224, 224))
/// model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
/// ```
///
/// Use instead:
/// ```python
/// train = datagen.flow_from_directory("data/train", target_size=(224, 224), class_mode="sparse")
/// model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
/// ```
///
/// ## References
/// - [Keras: `ImageDataGenerator.flow_from_directory`](https://www.tensorflow.org/api_docs/python/tf/keras/preprocessing/image/ImageDataGenerator#flow_from_directory)
/// - [Keras: `image_dataset_from_directory`](https://keras.io/api/data_loading/image/)
///
/// ## Confirms
/// - FM0018: label format does not match the loss
pub struct ClassModeLossMismatch;

/// How labels come out of a pipeline.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Labels {
    OneHot,
    Integer,
    Binary,
}

impl AuditRule for ClassModeLossMismatch {
    fn code(&self) -> &'static str {
        "KR003"
    }

    fn name(&self) -> &'static str {
        "class-mode-loss-mismatch"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("_directory") && !file.mentions("flow_from_dataframe") {
            return Vec::new();
        }
        let models = compiled_models(file);
        let mut findings = Vec::new();
        let pipelines = [
            ("flow_from_directory", "class_mode", "categorical"),
            ("flow_from_dataframe", "class_mode", "categorical"),
            ("image_dataset_from_directory", "label_mode", "int"),
            ("text_dataset_from_directory", "label_mode", "int"),
            ("audio_dataset_from_directory", "label_mode", "int"),
        ];
        for (function, keyword, default) in pipelines {
            for pipeline in file.calls_named(function) {
                let Some(mode) = label_mode(file, pipeline, keyword, default) else {
                    continue;
                };
                let Some(labels) = label_format(mode) else {
                    continue;
                };
                for model in &models {
                    let Some(loss) = &model.loss else {
                        continue;
                    };
                    let problem = match (labels, loss.name.as_str()) {
                        (Labels::OneHot, "sparse_categorical_crossentropy") => {
                            "one-hot labels meet a loss that expects integer class indices: training fails with a \
                             shape error at the first batch"
                        }
                        (Labels::Integer | Labels::Binary, "categorical_crossentropy") => {
                            "integer labels meet a loss that expects one-hot vectors: training fails with a shape \
                             error, or (with one output unit) the loss is identically zero"
                        }
                        (Labels::OneHot, "binary_crossentropy") => {
                            "one-hot labels with binary cross-entropy train each class as an independent yes/no \
                             question and report an inflated binary accuracy"
                        }
                        _ => continue,
                    };
                    let (line, _) = file.position(model.compile.node);
                    let message = format!(
                        "`{}` yields {} labels ({keyword}=\"{mode}\"), but the model is compiled with `{}` (line \
                         {line}): {problem}; make the label mode and the loss agree",
                        short_text(file, pipeline.node),
                        describe(labels),
                        short_text(file, loss.node),
                    );
                    findings.push(file.finding(self, pipeline.node, message, 0.75));
                }
            }
        }
        findings
    }
}

fn label_mode<'t>(
    file: &'t Context<'_>,
    pipeline: &crate::syntax::Call<'_>,
    keyword: &str,
    default: &'static str,
) -> Option<&'t str> {
    match pipeline.keyword(file, keyword) {
        None => Some(default),
        Some(mode) => string_value(file, mode),
    }
}

fn label_format(mode: &str) -> Option<Labels> {
    match mode {
        "categorical" => Some(Labels::OneHot),
        "int" | "sparse" => Some(Labels::Integer),
        "binary" => Some(Labels::Binary),
        _ => None,
    }
}

fn describe(labels: Labels) -> &'static str {
    match labels {
        Labels::OneHot => "one-hot",
        Labels::Integer => "integer",
        Labels::Binary => "0/1",
    }
}
