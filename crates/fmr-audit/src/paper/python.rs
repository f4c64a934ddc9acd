//! Hyperparameters set in Python: argparse / absl / click defaults, dataclass and class
//! fields, function parameter defaults, constants and assignments, `cfg.get("lr", 3e-4)`
//! fallbacks, keyword and positional arguments of optimizers, schedulers, losses, dropout,
//! clipping and EMA calls, dict configs (`dict(type='AdamW', lr=...)`), and the library
//! defaults of calls that leave an argument out (`AdamW(params, lr=3e-4)` decays weights by
//! 0.01).

use std::collections::HashMap;

use tree_sitter::Node;

use super::collect::{Anchor, Origin, RawItem};
use super::components::short;
use super::names::{Contexts, Ctx};
use super::value::{ParamValue, format_number, read_value, schedule_label};
use crate::Context;
use crate::semantic::names::names_held_out_data;
use crate::semantic::training::{GradEvent, is_optimizer_constructor};
use crate::syntax::{Call, NodeExt, dotted_name, string_value, unparenthesized};

/// What a Python file sets.
pub(crate) struct Extraction {
    pub items: Vec<RawItem>,
    /// First line of each anchor in the file.
    pub anchors: Vec<(Anchor, usize)>,
}

/// Optax's optimizer constructors.
const OPTAX_OPTIMIZERS: &[&str] = &[
    "adabelief",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "fromage",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "nadamw",
    "noisy_sgd",
    "novograd",
    "radam",
    "rmsprop",
    "sgd",
    "sm3",
    "yogi",
];

/// Calls whose keyword arguments are settings rather than arguments of an operation:
/// `dict(lr=...)`, `TrainingArguments(...)`, `GPTConfig(...)`.
fn is_config_like(name: &str) -> bool {
    matches!(
        name,
        "dict" | "EasyDict" | "edict" | "ConfigDict" | "FrozenConfigDict" | "create" | "Namespace"
    ) || [
        "Config",
        "Args",
        "Arguments",
        "Params",
        "Hparams",
        "HParams",
        "Settings",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

/// Arguments a call takes by position: `(position, keyword, key to resolve)`.
struct Positional {
    callee: &'static str,
    /// A substring the resolved callee must contain (`optax`, `keras`), if any.
    module: Option<&'static str>,
    args: &'static [(usize, &'static str, &'static str)],
}

const TORCH_ADAM: &[(usize, &str, &str)] = &[
    (1, "lr", "lr"),
    (2, "betas", "betas"),
    (3, "eps", "eps"),
    (4, "weight_decay", "weight_decay"),
];
const OPTAX_ADAM: &[(usize, &str, &str)] = &[
    (0, "learning_rate", "learning_rate"),
    (1, "b1", "b1"),
    (2, "b2", "b2"),
    (3, "eps", "eps"),
];
const WARMUP_SCHEDULE: &[(usize, &str, &str)] = &[
    (1, "num_warmup_steps", "num_warmup_steps"),
    (2, "num_training_steps", "num_training_steps"),
];
const DROPOUT_MODULE: &[(usize, &str, &str)] = &[(0, "p", "p")];

const POSITIONAL: &[Positional] = &[
    Positional {
        callee: "clip_grad_norm_",
        module: None,
        args: &[(1, "max_norm", "max_norm")],
    },
    Positional {
        callee: "clip_grad_norm",
        module: None,
        args: &[(1, "max_norm", "max_norm")],
    },
    Positional {
        callee: "clip_grad_value_",
        module: None,
        args: &[(1, "clip_value", "clip_value")],
    },
    Positional {
        callee: "clip_by_global_norm",
        module: Some("optax"),
        args: &[(0, "max_norm", "max_norm")],
    },
    Positional {
        callee: "clip_by_global_norm",
        module: Some("tensorflow"),
        args: &[(1, "clip_norm", "clip_norm")],
    },
    Positional {
        callee: "clip_by_global_norm",
        module: Some("tf."),
        args: &[(1, "clip_norm", "clip_norm")],
    },
    Positional {
        callee: "Dropout",
        module: None,
        args: DROPOUT_MODULE,
    },
    Positional {
        callee: "Dropout1d",
        module: None,
        args: DROPOUT_MODULE,
    },
    Positional {
        callee: "Dropout2d",
        module: None,
        args: DROPOUT_MODULE,
    },
    Positional {
        callee: "dropout",
        module: Some("torch"),
        args: &[(1, "p", "p")],
    },
    Positional {
        callee: "get_cosine_schedule_with_warmup",
        module: None,
        args: WARMUP_SCHEDULE,
    },
    Positional {
        callee: "get_linear_schedule_with_warmup",
        module: None,
        args: WARMUP_SCHEDULE,
    },
    Positional {
        callee: "get_cosine_with_hard_restarts_schedule_with_warmup",
        module: None,
        args: WARMUP_SCHEDULE,
    },
    Positional {
        callee: "get_polynomial_decay_schedule_with_warmup",
        module: None,
        args: WARMUP_SCHEDULE,
    },
    Positional {
        callee: "get_constant_schedule_with_warmup",
        module: None,
        args: &[(1, "num_warmup_steps", "num_warmup_steps")],
    },
    Positional {
        callee: "get_scheduler",
        module: None,
        args: &[
            (0, "name", "name"),
            (2, "num_warmup_steps", "num_warmup_steps"),
            (3, "num_training_steps", "num_training_steps"),
        ],
    },
    Positional {
        callee: "warmup_cosine_decay_schedule",
        module: Some("optax"),
        args: &[
            (1, "peak_value", "peak_value"),
            (2, "warmup_steps", "warmup_steps"),
            (3, "decay_steps", "decay_steps"),
            (4, "end_value", "end_value"),
        ],
    },
    Positional {
        callee: "cosine_decay_schedule",
        module: Some("optax"),
        args: &[
            (0, "init_value", "peak_value"),
            (1, "decay_steps", "decay_steps"),
        ],
    },
    Positional {
        callee: "OneCycleLR",
        module: None,
        args: &[(1, "max_lr", "max_lr"), (2, "total_steps", "total_steps")],
    },
    Positional {
        callee: "CosineAnnealingLR",
        module: None,
        args: &[(2, "eta_min", "eta_min")],
    },
    Positional {
        callee: "Adam",
        module: Some("keras"),
        args: &[(0, "learning_rate", "learning_rate")],
    },
    Positional {
        callee: "AdamW",
        module: Some("keras"),
        args: &[(0, "learning_rate", "learning_rate")],
    },
    Positional {
        callee: "SGD",
        module: Some("keras"),
        args: &[
            (0, "learning_rate", "learning_rate"),
            (1, "momentum", "momentum"),
        ],
    },
    Positional {
        callee: "Adam",
        module: Some("torch"),
        args: TORCH_ADAM,
    },
    Positional {
        callee: "AdamW",
        module: Some("torch"),
        args: TORCH_ADAM,
    },
    Positional {
        callee: "SGD",
        module: Some("torch"),
        args: &[
            (1, "lr", "lr"),
            (2, "momentum", "momentum"),
            (4, "weight_decay", "weight_decay"),
        ],
    },
    Positional {
        callee: "adam",
        module: Some("optax"),
        args: OPTAX_ADAM,
    },
    Positional {
        callee: "adamw",
        module: Some("optax"),
        args: OPTAX_ADAM,
    },
    Positional {
        callee: "lamb",
        module: Some("optax"),
        args: OPTAX_ADAM,
    },
    Positional {
        callee: "lion",
        module: Some("optax"),
        args: &[
            (0, "learning_rate", "learning_rate"),
            (1, "b1", "b1"),
            (2, "b2", "b2"),
        ],
    },
    Positional {
        callee: "sgd",
        module: Some("optax"),
        args: &[
            (0, "learning_rate", "learning_rate"),
            (1, "momentum", "momentum"),
        ],
    },
    Positional {
        callee: "smooth_labels",
        module: Some("optax"),
        args: &[(1, "alpha", "label_smoothing")],
    },
    Positional {
        callee: "ExponentialMovingAverage",
        module: Some("tensorflow"),
        args: &[(0, "decay", "decay")],
    },
    Positional {
        callee: "ExponentialMovingAverage",
        module: None,
        args: &[(1, "decay", "decay")],
    },
    Positional {
        callee: "ModelEma",
        module: None,
        args: &[(1, "decay", "decay")],
    },
    Positional {
        callee: "ModelEmaV2",
        module: None,
        args: &[(1, "decay", "decay")],
    },
    Positional {
        callee: "ModelEmaV3",
        module: None,
        args: &[(1, "decay", "decay")],
    },
    Positional {
        callee: "EMAModel",
        module: None,
        args: &[(1, "decay", "decay")],
    },
    Positional {
        callee: "EMA",
        module: None,
        args: &[(1, "beta", "beta")],
    },
    Positional {
        callee: "ema",
        module: Some("optax"),
        args: &[(0, "decay", "decay")],
    },
    Positional {
        callee: "get_ema_multi_avg_fn",
        module: None,
        args: &[(0, "decay", "decay")],
    },
    Positional {
        callee: "get_ema_avg_fn",
        module: None,
        args: &[(0, "decay", "decay")],
    },
    Positional {
        callee: "VectorQuantizer",
        module: None,
        args: &[
            (0, "num_embeddings", "num_embeddings"),
            (2, "commitment_cost", "commitment_cost"),
        ],
    },
    Positional {
        callee: "VectorQuantize",
        module: None,
        args: &[(1, "codebook_size", "codebook_size")],
    },
    Positional {
        callee: "TransformerEncoderLayer",
        module: None,
        args: &[
            (0, "d_model", "d_model"),
            (1, "nhead", "nhead"),
            (3, "dropout", "dropout"),
        ],
    },
    Positional {
        callee: "TransformerDecoderLayer",
        module: None,
        args: &[
            (0, "d_model", "d_model"),
            (1, "nhead", "nhead"),
            (3, "dropout", "dropout"),
        ],
    },
];

/// A default a library applies when a call leaves an argument out.
#[derive(Clone, Copy)]
enum Default {
    Number(f64),
    Pair(f64, f64),
    Text(&'static str),
}

struct Defaults {
    callee: &'static str,
    /// A substring the resolved callee must contain.
    module: &'static str,
    library: &'static str,
    /// `(keyword, position when passed positionally, default)`.
    values: &'static [(&'static str, Option<usize>, Default)],
}

const TORCH_ADAMW_DEFAULTS: &[(&str, Option<usize>, Default)] = &[
    ("lr", Some(1), Default::Number(1e-3)),
    ("betas", Some(2), Default::Pair(0.9, 0.999)),
    ("eps", Some(3), Default::Number(1e-8)),
    ("weight_decay", Some(4), Default::Number(1e-2)),
];

const DEFAULTS: &[Defaults] = &[
    Defaults {
        callee: "AdamW",
        module: "torch",
        library: "PyTorch",
        values: TORCH_ADAMW_DEFAULTS,
    },
    Defaults {
        callee: "Adam",
        module: "torch",
        library: "PyTorch",
        values: &[
            ("lr", Some(1), Default::Number(1e-3)),
            ("betas", Some(2), Default::Pair(0.9, 0.999)),
            ("eps", Some(3), Default::Number(1e-8)),
            ("weight_decay", Some(4), Default::Number(0.0)),
        ],
    },
    Defaults {
        callee: "SGD",
        module: "torch",
        library: "PyTorch",
        values: &[
            ("momentum", Some(2), Default::Number(0.0)),
            ("weight_decay", Some(4), Default::Number(0.0)),
        ],
    },
    Defaults {
        callee: "adamw",
        module: "optax",
        library: "Optax",
        values: &[
            ("b1", Some(1), Default::Number(0.9)),
            ("b2", Some(2), Default::Number(0.999)),
            ("eps", Some(3), Default::Number(1e-8)),
            ("weight_decay", Some(6), Default::Number(1e-4)),
        ],
    },
    Defaults {
        callee: "adam",
        module: "optax",
        library: "Optax",
        values: &[
            ("b1", Some(1), Default::Number(0.9)),
            ("b2", Some(2), Default::Number(0.999)),
            ("eps", Some(3), Default::Number(1e-8)),
        ],
    },
    Defaults {
        callee: "CrossEntropyLoss",
        module: "torch",
        library: "PyTorch",
        values: &[("label_smoothing", None, Default::Number(0.0))],
    },
    Defaults {
        callee: "cross_entropy",
        module: "torch",
        library: "PyTorch",
        values: &[("label_smoothing", None, Default::Number(0.0))],
    },
    Defaults {
        callee: "TrainingArguments",
        module: "transformers",
        library: "Hugging Face Transformers",
        values: HF_TRAINING_DEFAULTS,
    },
    Defaults {
        callee: "Seq2SeqTrainingArguments",
        module: "transformers",
        library: "Hugging Face Transformers",
        values: HF_TRAINING_DEFAULTS,
    },
];

const HF_TRAINING_DEFAULTS: &[(&str, Option<usize>, Default)] = &[
    ("learning_rate", None, Default::Number(5e-5)),
    ("weight_decay", None, Default::Number(0.0)),
    ("adam_beta1", None, Default::Number(0.9)),
    ("adam_beta2", None, Default::Number(0.999)),
    ("adam_epsilon", None, Default::Number(1e-8)),
    ("max_grad_norm", None, Default::Number(1.0)),
    ("num_train_epochs", None, Default::Number(3.0)),
    ("lr_scheduler_type", None, Default::Text("linear")),
    ("per_device_train_batch_size", None, Default::Number(8.0)),
    ("gradient_accumulation_steps", None, Default::Number(1.0)),
    ("optim", None, Default::Text("adamw_torch")),
    ("label_smoothing_factor", None, Default::Number(0.0)),
];

/// Functional losses, for the loss anchor.
const LOSS_FUNCTIONS: &[&str] = &[
    "cross_entropy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sigmoid_binary_cross_entropy",
];

/// Reads a file's hyperparameters.
pub(crate) fn extract(file: &Context<'_>) -> Extraction {
    let evaluator = Evaluator::new(file);
    let mut items = Vec::new();
    let mut anchors: Vec<(Anchor, usize)> = Vec::new();
    let mut anchor = |kind: Anchor, node: Node<'_>| {
        if !anchors.iter().any(|(existing, _)| *existing == kind) {
            anchors.push((kind, file.position(node).0));
        }
    };
    if let Some((_, node)) = file
        .grad_events()
        .iter()
        .find(|(event, _)| matches!(event, GradEvent::Backward | GradEvent::OptimizerStep))
    {
        anchor(Anchor::TrainingStep, *node);
    }
    assignments(file, &evaluator, &mut items);
    parameter_defaults(file, &evaluator, &mut items);
    for call in file.calls() {
        let name = call.callee_name(file);
        if is_optimizer_constructor(file, call) || optax_optimizer(file, call).is_some() {
            anchor(Anchor::Optimizer, call.node);
        }
        if name.ends_with("DataLoader") {
            anchor(Anchor::DataLoader, call.node);
        }
        if (name.ends_with("Loss") && name.starts_with(char::is_uppercase))
            || LOSS_FUNCTIONS.contains(&name)
        {
            anchor(Anchor::Loss, call.node);
        }
        call_items(file, &evaluator, call, &mut items);
    }
    dictionaries(file, &evaluator, &mut items);
    Extraction { items, anchors }
}

/// Evaluates literal expressions, with the file's module-level constants.
struct Evaluator<'c, 't> {
    file: &'c Context<'t>,
    constants: HashMap<String, ParamValue>,
}

impl<'c, 't> Evaluator<'c, 't> {
    fn new(file: &'c Context<'t>) -> Self {
        let mut evaluator = Self {
            file,
            constants: HashMap::new(),
        };
        for assignment in file.assignments() {
            if assignment.left.kind_name() == "identifier"
                && is_module_level(file, assignment.node)
                && let Some(value) = evaluator.literal(assignment.right)
            {
                let name = file.node_text(assignment.left).to_owned();
                evaluator.constants.insert(name, value);
            }
        }
        evaluator
    }

    /// The value of a literal: numbers (with arithmetic), strings, booleans, tuples and lists
    /// of numbers, module constants, `float("3e-4")`, dtype names (`torch.bfloat16`) and enum
    /// members (`SchedulerType.COSINE`).
    fn literal(&self, node: Node<'_>) -> Option<ParamValue> {
        let file = self.file;
        let node = unparenthesized(node);
        match node.kind_name() {
            "integer" | "float" => file
                .node_text(node)
                .replace('_', "")
                .parse()
                .ok()
                .map(ParamValue::Number),
            "unary_operator" => {
                let operand = self.literal(node.field("argument")?)?.as_number()?;
                let operator = file.node_text(node.field("operator")?);
                match operator {
                    "-" => Some(ParamValue::Number(-operand)),
                    "+" => Some(ParamValue::Number(operand)),
                    _ => None,
                }
            }
            "binary_operator" => {
                let left = self.literal(node.field("left")?)?.as_number()?;
                let right = self.literal(node.field("right")?)?.as_number()?;
                let result = match file.node_text(node.field("operator")?) {
                    "+" => left + right,
                    "-" => left - right,
                    "*" => left * right,
                    "/" if right != 0.0 => left / right,
                    "//" if right != 0.0 => (left / right).floor(),
                    "**" => left.powf(right),
                    _ => return None,
                };
                result.is_finite().then_some(ParamValue::Number(result))
            }
            "true" => Some(ParamValue::Bool(true)),
            "false" => Some(ParamValue::Bool(false)),
            "string" => string_value(file, node).map(|text| ParamValue::Text(text.to_owned())),
            "tuple" | "list" => {
                let mut cursor = node.walk();
                let items: Option<Vec<ParamValue>> = node
                    .named_children(&mut cursor)
                    .filter(|child| child.kind_name() != "comment")
                    .map(|child| {
                        self.literal(child)
                            .filter(|value| matches!(value, ParamValue::Number(_)))
                    })
                    .collect();
                items
                    .filter(|items| !items.is_empty())
                    .map(ParamValue::List)
            }
            "identifier" => self.constants.get(file.node_text(node)).cloned(),
            "attribute" => {
                let dotted = dotted_name(file, node)?;
                let (object, member) = dotted.rsplit_once('.')?;
                let root = object.split('.').next().unwrap_or(object);
                let dtype = matches!(
                    root,
                    "torch" | "jnp" | "jax" | "np" | "numpy" | "tf" | "mx" | "ml_dtypes"
                ) && matches!(
                    member,
                    "float16" | "bfloat16" | "float32" | "half" | "float" | "float64" | "double"
                );
                let enum_member = object
                    .rsplit('.')
                    .next()
                    .is_some_and(|class| class.starts_with(char::is_uppercase))
                    && member.len() > 1
                    && member
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                (dtype || enum_member).then_some(ParamValue::Text(dotted))
            }
            "call" => {
                let call = Call::new(node)?;
                if !matches!(call.callee_name(file), "float" | "int") || call.argument_count() != 1
                {
                    return None;
                }
                let argument = *call.positional().first()?;
                match self.literal(argument)? {
                    ParamValue::Text(text) => read_value(&text)
                        .ok()?
                        .value
                        .as_number()
                        .map(ParamValue::Number),
                    number @ ParamValue::Number(_) => Some(number),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

fn is_module_level(file: &Context<'_>, node: Node<'_>) -> bool {
    file.enclosing_function(node).is_none() && file.enclosing_class(node).is_none()
}

/// The contexts of the scopes around `node`: its class and function names.
fn scope_contexts(file: &Context<'_>, node: Node<'_>) -> Contexts {
    let mut contexts = Contexts::NONE;
    for scope in [file.enclosing_function(node), file.enclosing_class(node)]
        .into_iter()
        .flatten()
    {
        if let Some(name) = scope.field("name") {
            contexts = contexts.union(Contexts::from_name(file.node_text(name)));
        }
    }
    contexts
}

fn make_item(
    file: &Context<'_>,
    key: &str,
    display: String,
    contexts: Contexts,
    value: ParamValue,
    value_node: Node<'_>,
    origin: Origin,
) -> RawItem {
    RawItem {
        key: key.to_owned(),
        display,
        contexts,
        value,
        text: short(file.node_text(value_node)),
        line: file.position(value_node).0,
        origin,
        note: None,
        canonical: None,
    }
}

/// `LR = 3e-4`, `self.lr = 3e-4`, `beta1, beta2 = 0.9, 0.95`, dataclass fields
/// (`lr: float = 3e-4`, `lr: float = field(default=3e-4)`).
fn assignments(file: &Context<'_>, evaluator: &Evaluator<'_, '_>, items: &mut Vec<RawItem>) {
    for assignment in file.assignments() {
        let pairs = target_value_pairs(assignment.left, assignment.right);
        let in_function = file.enclosing_function(assignment.node);
        let class = file.enclosing_class(assignment.node);
        let origin = match (in_function, class) {
            (None, None) => Origin::Constant,
            (None, Some(_)) => Origin::FieldDefault,
            _ => Origin::Assignment,
        };
        let scope = scope_contexts(file, assignment.node);
        let class_name = class
            .filter(|_| in_function.is_none())
            .and_then(|class| class.field("name"))
            .map(|name| file.node_text(name));
        for (target, value) in pairs {
            if !matches!(target.kind_name(), "identifier" | "attribute") {
                continue;
            }
            let Some(dotted) = dotted_name(file, target) else {
                continue;
            };
            let (owner, key) = dotted.rsplit_once('.').unwrap_or(("", dotted.as_str()));
            let value = field_default(file, value).unwrap_or(value);
            let Some(literal) = evaluator.literal(value) else {
                continue;
            };
            let display = match class_name {
                Some(class) => format!("{class}.{key}"),
                None => dotted.clone(),
            };
            let contexts = scope.union(Contexts::from_name(owner));
            items.push(make_item(
                file, key, display, contexts, literal, value, origin,
            ));
        }
    }
}

/// `a, b = 1, 2` pairs its targets with its values; any other assignment is one pair.
fn target_value_pairs<'t>(left: Node<'t>, right: Node<'t>) -> Vec<(Node<'t>, Node<'t>)> {
    let unpacks = matches!(left.kind_name(), "pattern_list" | "tuple_pattern")
        && matches!(right.kind_name(), "expression_list" | "tuple");
    if unpacks {
        let mut left_cursor = left.walk();
        let mut right_cursor = right.walk();
        let targets: Vec<Node<'t>> = left.named_children(&mut left_cursor).collect();
        let values: Vec<Node<'t>> = right.named_children(&mut right_cursor).collect();
        if targets.len() == values.len() {
            return targets.into_iter().zip(values).collect();
        }
    }
    vec![(left, right)]
}

/// The default inside `field(default=...)`, `attr.ib(default=...)`, `Field(3e-4)`.
fn field_default<'t>(file: &Context<'t>, value: Node<'t>) -> Option<Node<'t>> {
    let call = Call::new(unparenthesized(value))?;
    match call.callee_name(file) {
        "field" | "ib" | "attrib" | "Field" => call.keyword(file, "default").or_else(|| {
            (call.callee_name(file) == "Field").then(|| call.positional().first().copied())?
        }),
        _ => None,
    }
}

/// `def train(lr=3e-4, batch_size: int = 32)`.
fn parameter_defaults(file: &Context<'_>, evaluator: &Evaluator<'_, '_>, items: &mut Vec<RawItem>) {
    for kind in ["default_parameter", "typed_default_parameter"] {
        for parameter in file.nodes_of_kind(kind) {
            let (Some(name), Some(value)) = (parameter.field("name"), parameter.field("value"))
            else {
                continue;
            };
            let Some(literal) = evaluator.literal(value) else {
                continue;
            };
            let key = file.node_text(name);
            let function = file.enclosing_function(parameter);
            let function_name = function
                .and_then(|function| function.field("name"))
                .map_or("", |name| file.node_text(name));
            let contexts =
                scope_contexts(file, parameter).union(Contexts::from_name(function_name));
            let display = format!("{function_name}({key}=)");
            let mut item = make_item(
                file,
                key,
                display,
                contexts,
                literal,
                value,
                Origin::FieldDefault,
            );
            item.note = Some("default of a function parameter".to_owned());
            items.push(item);
        }
    }
}

/// The callee resolved through the file's imports, e.g. `torch.optim.AdamW`.
fn resolved_callee(file: &Context<'_>, call: &Call<'_>) -> String {
    call.dotted_name(file)
        .map(|dotted| file.imports().resolve(&dotted))
        .unwrap_or_default()
}

/// `optax.adamw(...)`: the optimizer's name.
fn optax_optimizer<'f>(file: &'f Context<'_>, call: &Call<'_>) -> Option<&'f str> {
    let name = call.callee_name(file);
    (OPTAX_OPTIMIZERS.contains(&name) && resolved_callee(file, call).starts_with("optax."))
        .then_some(name)
}

/// Everything one call sets.
fn call_items(
    file: &Context<'_>,
    evaluator: &Evaluator<'_, '_>,
    call: &Call<'_>,
    items: &mut Vec<RawItem>,
) {
    let name = call.callee_name(file);
    if name.is_empty() {
        return;
    }
    let resolved = resolved_callee(file, call);
    let mut contexts = Contexts::from_name(if resolved.is_empty() { name } else { &resolved })
        .union(Contexts::from_name(name))
        .union(scope_contexts(file, call.node));
    if name.ends_with("DataLoader")
        && call
            .positional()
            .first()
            .is_some_and(|dataset| names_held_out_data(file.node_text(*dataset)))
    {
        contexts = contexts.with(Ctx::Eval);
    }
    let config_like = is_config_like(name);
    if name == "dict" {
        contexts = contexts.union(container_contexts(file, call.node));
        if call.keyword(file, "params").is_some() || in_preset_table(file, call.node) {
            return;
        }
    }
    if !config_like {
        contexts = contexts.with(Ctx::CallArgument);
    }
    match name {
        "add_argument" => return command_line_option(file, evaluator, call, items),
        "option" => {
            command_line_option(file, evaluator, call, items);
            return;
        }
        "get" | "getenv" | "getattr" => lookup_default(file, evaluator, call, items),
        _ if name.starts_with("DEFINE_") => return absl_flag(file, evaluator, call, items),
        _ => {}
    }
    positional_items(file, evaluator, call, &resolved, contexts, items);
    implied_items(file, evaluator, call, &resolved, items);
    default_items(file, call, &resolved, contexts, items);
    // Keyword arguments.
    let Some(arguments) = call.arguments else {
        return;
    };
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        if argument.kind_name() != "keyword_argument" {
            continue;
        }
        let (Some(key), Some(value)) = (argument.field("name"), argument.field("value")) else {
            continue;
        };
        let Some(literal) = evaluator.literal(value) else {
            continue;
        };
        let key = file.node_text(key);
        let mut argument_contexts = contexts;
        // `dict(type='AdamW', lr=...)`: the type says what the settings are for.
        if config_like
            && let Some(ParamValue::Text(kind)) = call
                .keyword(file, "type")
                .or_else(|| call.keyword(file, "name"))
                .and_then(|node| evaluator.literal(node))
        {
            argument_contexts = argument_contexts.union(Contexts::from_name(&kind));
        }
        let display = format!("{name}({key}=)");
        items.push(make_item(
            file,
            key,
            display,
            argument_contexts,
            literal,
            value,
            Origin::CallArgument,
        ));
    }
}

/// The contexts of what holds a dict: the name it is assigned to, the keyword or key it is the
/// value of, the call it is passed to (`optimizer=dict(lr=...)`, `cfg = {"optim": {...}}`).
fn container_contexts(file: &Context<'_>, node: Node<'_>) -> Contexts {
    let mut contexts = Contexts::NONE;
    for ancestor in file.ancestors(node).take(8) {
        let name = match ancestor.kind_name() {
            "keyword_argument" => ancestor.field("name").map(|name| file.node_text(name)),
            "pair" => ancestor
                .field("key")
                .and_then(|key| string_value(file, key)),
            "assignment" => ancestor.field("left").map(|left| file.node_text(left)),
            "call" => Call::new(ancestor).map(|call| call.callee_name(file)),
            "function_definition" | "class_definition" => {
                contexts = contexts.union(ancestor.field("name").map_or(Contexts::NONE, |name| {
                    Contexts::from_name(file.node_text(name))
                }));
                break;
            }
            _ => None,
        };
        if let Some(name) = name {
            contexts = contexts.union(Contexts::from_name(name));
        }
    }
    contexts
}

/// A settings dict that is one entry of a table of presets (`{'gpt2': dict(n_layer=12),
/// 'gpt2-xl': dict(n_layer=48)}`): a menu of configurations, not the one trained.
fn in_preset_table(file: &Context<'_>, node: Node<'_>) -> bool {
    let Some(pair) = file
        .parent(node)
        .filter(|parent| parent.kind_name() == "pair")
    else {
        return false;
    };
    let Some(table) = file
        .parent(pair)
        .filter(|parent| parent.kind_name() == "dictionary")
    else {
        return false;
    };
    let mut cursor = table.walk();
    let settings_entries = table
        .named_children(&mut cursor)
        .filter(|entry| entry.kind_name() == "pair")
        .filter_map(|entry| entry.field("value"))
        .filter(|value| {
            value.kind_name() == "dictionary"
                || Call::new(*value).is_some_and(|call| call.callee_name(file) == "dict")
        })
        .count();
    settings_entries >= 2
}

/// `parser.add_argument("--lr", type=float, default=3e-4)`, `@click.option("--lr",
/// default=3e-4)`.
fn command_line_option(
    file: &Context<'_>,
    evaluator: &Evaluator<'_, '_>,
    call: &Call<'_>,
    items: &mut Vec<RawItem>,
) {
    let options: Vec<&str> = call
        .positional()
        .into_iter()
        .filter_map(|node| string_value(file, node))
        .collect();
    let Some(option) = options
        .iter()
        .find(|option| option.starts_with("--"))
        .or_else(|| options.first())
    else {
        return;
    };
    if call.callee_name(file) == "option" && !option.starts_with("--") {
        return;
    }
    let Some(default) = call.keyword(file, "default") else {
        return;
    };
    let Some(literal) = evaluator.literal(default) else {
        return;
    };
    let key = call
        .keyword(file, "dest")
        .and_then(|dest| string_value(file, dest))
        .unwrap_or_else(|| option.trim_start_matches('-'));
    let contexts = scope_contexts(file, call.node);
    items.push(make_item(
        file,
        key,
        (*option).to_owned(),
        contexts,
        literal,
        default,
        Origin::CliDefault,
    ));
}

/// `flags.DEFINE_float("lr", 3e-4, "learning rate")`.
fn absl_flag(
    file: &Context<'_>,
    evaluator: &Evaluator<'_, '_>,
    call: &Call<'_>,
    items: &mut Vec<RawItem>,
) {
    let positional = call.positional();
    let Some(key) = call
        .argument(file, 0, "name")
        .and_then(|node| string_value(file, node))
    else {
        return;
    };
    let Some(default) = call
        .keyword(file, "default")
        .or_else(|| positional.get(1).copied())
    else {
        return;
    };
    let Some(literal) = evaluator.literal(default) else {
        return;
    };
    items.push(make_item(
        file,
        key,
        format!("--{key}"),
        Contexts::NONE,
        literal,
        default,
        Origin::CliDefault,
    ));
}

/// `cfg.get("lr", 3e-4)`, `os.getenv("LR", "3e-4")`, `getattr(args, "lr", 3e-4)`.
fn lookup_default(
    file: &Context<'_>,
    evaluator: &Evaluator<'_, '_>,
    call: &Call<'_>,
    items: &mut Vec<RawItem>,
) {
    let positional = call.positional();
    let (key_node, default_node, receiver) = if call.callee_name(file) == "getattr" {
        if positional.len() != 3 {
            return;
        }
        (positional[1], positional[2], Some(positional[0]))
    } else {
        if positional.len() != 2 {
            return;
        }
        (positional[0], positional[1], call.receiver())
    };
    let Some(key) = string_value(file, key_node) else {
        return;
    };
    let Some(literal) = evaluator.literal(default_node) else {
        return;
    };
    let receiver_text = receiver.map_or("", |node| file.node_text(node));
    let contexts = Contexts::from_name(receiver_text).union(scope_contexts(file, call.node));
    let display = format!("{}(\"{key}\")", short(file.node_text(call.function)));
    items.push(make_item(
        file,
        key,
        display,
        contexts,
        literal,
        default_node,
        Origin::LookupDefault,
    ));
}

fn module_matches(resolved: &str, module: Option<&str>) -> bool {
    module.is_none_or(|module| resolved.contains(module))
}

/// Arguments passed by position to calls that take hyperparameters positionally.
fn positional_items(
    file: &Context<'_>,
    evaluator: &Evaluator<'_, '_>,
    call: &Call<'_>,
    resolved: &str,
    contexts: Contexts,
    items: &mut Vec<RawItem>,
) {
    let name = call.callee_name(file);
    let Some(table) = POSITIONAL
        .iter()
        .find(|entry| entry.callee == name && module_matches(resolved, entry.module))
    else {
        return;
    };
    let positional = call.positional();
    if positional
        .iter()
        .any(|node| node.kind_name() == "list_splat")
    {
        return;
    }
    for (position, keyword, key) in table.args {
        let node = match positional.get(*position) {
            Some(node) => *node,
            // Given by keyword under another name than the key (`init_value` → peak value).
            None if keyword != key => match call.keyword(file, keyword) {
                Some(node) => node,
                None => continue,
            },
            None => continue,
        };
        let Some(literal) = evaluator.literal(node) else {
            continue;
        };
        let display = format!("{name}({keyword})");
        items.push(make_item(
            file,
            key,
            display,
            contexts,
            literal,
            node,
            Origin::CallArgument,
        ));
    }
}

/// What a call implies by itself: the optimizer `AdamW(...)` is, the schedule
/// `CosineAnnealingLR(...)` is, the precision `GradScaler()` / `autocast(dtype=...)` runs in.
fn implied_items(
    file: &Context<'_>,
    evaluator: &Evaluator<'_, '_>,
    call: &Call<'_>,
    resolved: &str,
    items: &mut Vec<RawItem>,
) {
    let name = call.callee_name(file);
    let implied = |canonical: &'static str, value: ParamValue, note: Option<String>| RawItem {
        key: canonical.to_owned(),
        display: format!("{}(...)", short(file.node_text(call.function))),
        contexts: Contexts::NONE,
        text: short(file.node_text(call.node)),
        value,
        line: file.position(call.node).0,
        origin: Origin::Implied,
        note,
        canonical: Some(canonical),
    };
    if is_optimizer_constructor(file, call) {
        items.push(implied(
            "optimizer",
            ParamValue::Text(name.to_owned()),
            None,
        ));
        return;
    }
    if let Some(optimizer) = optax_optimizer(file, call) {
        items.push(implied(
            "optimizer",
            ParamValue::Text(optimizer.to_owned()),
            None,
        ));
        return;
    }
    if is_scheduler(name) && schedule_label(name).is_some() && !is_warmup_part(file, call) {
        items.push(implied(
            "lr_scheduler",
            ParamValue::Text(name.to_owned()),
            None,
        ));
        return;
    }
    match name {
        "GradScaler" => items.push(implied(
            "precision",
            ParamValue::Text("fp16".to_owned()),
            Some("a GradScaler scales the loss for fp16 mixed precision".to_owned()),
        )),
        "autocast" => {
            let dtype = call
                .keyword(file, "dtype")
                .and_then(|node| evaluator.literal(node));
            let device = call
                .argument(file, 0, "device_type")
                .and_then(|node| string_value(file, node));
            let (value, note) = match (dtype, device) {
                (Some(dtype), _) => (dtype, None),
                (None, Some("cpu")) => (
                    ParamValue::Text("bf16".to_owned()),
                    Some("autocast on the CPU defaults to bfloat16".to_owned()),
                ),
                (None, _) => (
                    ParamValue::Text("fp16".to_owned()),
                    Some("autocast on the GPU defaults to float16".to_owned()),
                ),
            };
            items.push(implied("precision", value, note));
        }
        "set_global_policy" | "set_policy" | "get_policy" if !resolved.is_empty() => {
            if let Some(policy) = call
                .positional()
                .first()
                .and_then(|node| string_value(file, *node))
            {
                items.push(implied(
                    "precision",
                    ParamValue::Text(policy.to_owned()),
                    None,
                ));
            }
        }
        _ => {}
    }
}

/// `CosineAnnealingLR`, `get_cosine_schedule_with_warmup`, `CosineDecay`,
/// `warmup_cosine_decay_schedule`, `StepLR`.
fn is_scheduler(name: &str) -> bool {
    let capitalized = name.starts_with(char::is_uppercase);
    (capitalized
        && (name.ends_with("LR") || name.ends_with("Decay") || name.ends_with("Scheduler")))
        || name.contains("schedule")
        || name.ends_with("LRScheduler")
        || name == "ReduceLROnPlateau"
        || name == "CosineAnnealingWarmRestarts"
        || name == "CosineDecayRestarts"
}

/// A `LinearLR` / `ConstantLR` / `linear_schedule` used as the warmup part of a composed
/// schedule (`SequentialLR([warmup, cosine])`, `warmup = LinearLR(...)`), which does not name
/// the schedule.
fn is_warmup_part(file: &Context<'_>, call: &Call<'_>) -> bool {
    let name = call.callee_name(file);
    if !matches!(
        name,
        "LinearLR" | "ConstantLR" | "linear_schedule" | "constant_schedule"
    ) {
        return false;
    }
    let composed = file.ancestors(call.node).take(6).any(|ancestor| {
        Call::new(ancestor).is_some_and(|outer| {
            matches!(
                outer.callee_name(file),
                "SequentialLR" | "ChainedScheduler" | "join_schedules"
            )
        })
    });
    let named_warmup = crate::syntax::assigned_to(call.node).is_some_and(|target| {
        crate::syntax::words(file.node_text(target))
            .iter()
            .any(|word| word.contains("warm"))
    });
    composed || named_warmup || name.starts_with("linear") || name.starts_with("constant")
}

/// The library defaults a call relies on for arguments it leaves out.
fn default_items(
    file: &Context<'_>,
    call: &Call<'_>,
    resolved: &str,
    contexts: Contexts,
    items: &mut Vec<RawItem>,
) {
    let name = call.callee_name(file);
    let Some(defaults) = DEFAULTS
        .iter()
        .find(|entry| entry.callee == name && resolved.contains(entry.module))
    else {
        return;
    };
    if call.has_splat() {
        return;
    }
    let positional_count = call.positional().len();
    for (keyword, position, default) in defaults.values {
        let given_by_position = position.is_some_and(|position| positional_count > position);
        if given_by_position || call.keyword(file, keyword).is_some() {
            continue;
        }
        let (value, text) = match default {
            Default::Number(number) => (ParamValue::Number(*number), format_number(*number)),
            Default::Pair(first, second) => (
                ParamValue::List(vec![
                    ParamValue::Number(*first),
                    ParamValue::Number(*second),
                ]),
                format!("({}, {})", format_number(*first), format_number(*second)),
            ),
            Default::Text(text) => (ParamValue::Text((*text).to_owned()), format!("{text:?}")),
        };
        items.push(RawItem {
            key: (*keyword).to_owned(),
            display: format!("{name}({keyword}=)"),
            contexts,
            value,
            text,
            line: file.position(call.node).0,
            origin: Origin::LibraryDefault,
            note: Some(format!(
                "not set in this call, so the {} default applies",
                defaults.library
            )),
            canonical: None,
        });
    }
}

/// `{"lr": 3e-4, "optimizer": "adamw"}`: string keys with literal values. Parameter groups
/// (dicts with a `params` key) are left to the weight-decay-exclusion check.
fn dictionaries(file: &Context<'_>, evaluator: &Evaluator<'_, '_>, items: &mut Vec<RawItem>) {
    for dictionary in file.nodes_of_kind("dictionary") {
        let mut cursor = dictionary.walk();
        let pairs: Vec<(&str, Node<'_>)> = dictionary
            .named_children(&mut cursor)
            .filter(|child| child.kind_name() == "pair")
            .filter_map(|pair| {
                let key = string_value(file, pair.field("key")?)?;
                Some((key, pair.field("value")?))
            })
            .collect();
        if pairs.iter().any(|(key, _)| *key == "params") || in_preset_table(file, dictionary) {
            continue;
        }
        let mut contexts = container_contexts(file, dictionary);
        for (key, value) in &pairs {
            if matches!(*key, "type" | "name")
                && let Some(ParamValue::Text(kind)) = evaluator.literal(*value)
            {
                contexts = contexts.union(Contexts::from_name(&kind));
            }
        }
        for (key, value) in pairs {
            let Some(literal) = evaluator.literal(value) else {
                continue;
            };
            items.push(make_item(
                file,
                key,
                format!("[\"{key}\"]"),
                contexts,
                literal,
                value,
                Origin::CallArgument,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFile;

    fn items(code: &str) -> Vec<(String, String, ParamValue, usize)> {
        let file = SourceFile::parse("t.py", code).expect("parses");
        let context = Context::new(&file);
        extract(&context)
            .items
            .into_iter()
            .map(|item| (item.key, item.display, item.value, item.line))
            .collect()
    }

    #[test]
    fn literals_fold_arithmetic_and_constants() {
        let found = items("BASE = 1e-4\nLR = BASE * 3\nSTEPS = 2 ** 10\nNEG = -0.5\n");
        let values: Vec<&ParamValue> = found.iter().map(|(_, _, value, _)| value).collect();
        assert_eq!(values.len(), 4);
        assert!(matches!(values[1], ParamValue::Number(n) if (n - 3e-4).abs() < 1e-12));
        assert_eq!(values[2], &ParamValue::Number(1024.0));
        assert_eq!(values[3], &ParamValue::Number(-0.5));
    }

    #[test]
    fn command_line_defaults_and_lookups() {
        let found = items(
            "parser.add_argument('--weight-decay', type=float, default=0.1)\n\
             flags.DEFINE_float('lr', 3e-4, 'learning rate')\n\
             eps = cfg.get('eps', 1e-8)\n",
        );
        assert!(found.contains(&(
            "weight-decay".into(),
            "--weight-decay".into(),
            ParamValue::Number(0.1),
            1
        )));
        assert!(found.contains(&("lr".into(), "--lr".into(), ParamValue::Number(3e-4), 2)));
        assert!(found.contains(&(
            "eps".into(),
            "cfg.get(\"eps\")".into(),
            ParamValue::Number(1e-8),
            3
        )));
    }

    #[test]
    fn preset_tables_are_not_settings() {
        let found = items(
            "presets = {\n    'small': dict(n_layer=12),\n    'large': {'n_layer': 48},\n}\nconfig = dict(n_layer=6)\n",
        );
        let lines: Vec<usize> = found.iter().map(|(_, _, _, line)| *line).collect();
        assert_eq!(lines, [5]);
    }

    #[test]
    fn positional_and_default_arguments() {
        let found = items(
            "import torch\nopt = torch.optim.AdamW(model.parameters(), 3e-4)\n\
             torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n",
        );
        let keys: Vec<(&str, &ParamValue)> = found
            .iter()
            .map(|(key, _, value, _)| (key.as_str(), value))
            .collect();
        assert!(keys.contains(&("lr", &ParamValue::Number(3e-4))));
        assert!(keys.contains(&("weight_decay", &ParamValue::Number(0.01))));
        assert!(keys.contains(&("max_norm", &ParamValue::Number(1.0))));
        assert!(keys.contains(&("optimizer", &ParamValue::Text("AdamW".into()))));
    }
}
