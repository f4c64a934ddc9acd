//! Techniques a paper names (gradient clipping, warmup, EMA of weights, ...) and the evidence
//! that code uses them.
//!
//! Evidence is a call (`clip_grad_norm_(...)`, `GradScaler()`), a setting (`max_grad_norm: 1.0`,
//! `fp16=True`), or a code shape (`x + attn(ln(x))` is a pre-LayerNorm residual). Settings that
//! switch a technique off (`dropout: 0.0`, `gradient_accumulation_steps: 1`) are kept as
//! inactive evidence, so a report can say "dropout is set to 0.0 at config.yaml:7" rather than
//! only "no dropout found".

use serde::{Deserialize, Serialize};
use tree_sitter::Node;

use super::collect::{Anchor, CodeValue};
use super::names::normalize;
use super::value::{ParamValue, precision_label, schedule_label};
use crate::Context;
use crate::syntax::{Call, NodeExt, string_value, unparenthesized, words};

/// A technique fmr can look for.
#[derive(Debug)]
pub struct ComponentInfo {
    /// Stable id, e.g. `gradient_clipping`.
    pub id: &'static str,
    /// How a sentence names it.
    pub label: &'static str,
    /// Other names papers use.
    pub spellings: &'static [&'static str],
    /// The hyperparameter that sets it, e.g. `max_grad_norm`.
    pub param: Option<&'static str>,
    /// What was looked for, for "no ... found".
    pub looked_for: &'static str,
    pub(crate) anchor: Option<Anchor>,
}

const fn component(
    id: &'static str,
    label: &'static str,
    spellings: &'static [&'static str],
    param: Option<&'static str>,
    looked_for: &'static str,
    anchor: Option<Anchor>,
) -> ComponentInfo {
    ComponentInfo {
        id,
        label,
        spellings,
        param,
        looked_for,
        anchor,
    }
}

/// Every technique fmr can check.
pub const COMPONENTS: &[ComponentInfo] = &[
    component(
        "gradient_clipping",
        "gradient clipping",
        &[
            "gradient clipping",
            "grad clipping",
            "gradient norm clipping",
            "clip grad norm",
            "gradient clip",
            "clipping",
            "global norm clipping",
            "max grad norm",
        ],
        Some("max_grad_norm"),
        "clip_grad_norm_/clip_grad_value_/optax.clip_by_global_norm call or max_grad_norm/gradient_clip_val setting",
        Some(Anchor::TrainingStep),
    ),
    component(
        "warmup",
        "learning-rate warmup",
        &[
            "warmup",
            "warm up",
            "lr warmup",
            "learning rate warmup",
            "linear warmup",
        ],
        Some("warmup_steps"),
        "warmup schedule call (get_*_schedule_with_warmup, warmup_cosine_decay_schedule), warmup_steps/warmup_ratio setting or warmup variable in the learning-rate code",
        Some(Anchor::Optimizer),
    ),
    component(
        "cosine_schedule",
        "cosine learning-rate decay",
        &[
            "cosine",
            "cosine decay",
            "cosine schedule",
            "cosine annealing",
            "cosine learning rate schedule",
            "cosine learning rate decay",
            "cosine lr schedule",
            "cosine lr",
        ],
        Some("lr_scheduler"),
        "CosineAnnealingLR/get_cosine_schedule_with_warmup/optax cosine schedule, a `cosine` scheduler setting or math.cos in a learning-rate function",
        Some(Anchor::Optimizer),
    ),
    component(
        "linear_schedule",
        "linear learning-rate decay",
        &[
            "linear decay",
            "linear schedule",
            "linear lr decay",
            "linear learning rate decay",
            "linear learning rate schedule",
        ],
        Some("lr_scheduler"),
        "get_linear_schedule_with_warmup/LinearLR or a `linear` scheduler setting",
        Some(Anchor::Optimizer),
    ),
    component(
        "step_schedule",
        "step learning-rate decay",
        &[
            "step decay",
            "step schedule",
            "multistep",
            "multi step",
            "step lr",
            "piecewise constant",
        ],
        Some("lr_scheduler"),
        "StepLR/MultiStepLR or a `step` scheduler setting",
        Some(Anchor::Optimizer),
    ),
    component(
        "label_smoothing",
        "label smoothing",
        &["label smoothing", "label smoothed cross entropy"],
        Some("label_smoothing"),
        "label_smoothing > 0 in a loss call or setting, optax.smooth_labels or a label-smoothing loss",
        Some(Anchor::Loss),
    ),
    component(
        "ema",
        "an EMA of the weights",
        &[
            "ema",
            "exponential moving average",
            "ema of weights",
            "weight ema",
            "model ema",
            "ema weights",
            "polyak averaging",
            "moving average of weights",
            "exponential moving average of weights",
            "ema of the weights",
            "ema model",
        ],
        Some("ema_decay"),
        "ExponentialMovingAverage/EMA/ModelEma/AveragedModel/optax.ema call, an ema update or an ema_decay setting",
        Some(Anchor::TrainingStep),
    ),
    component(
        "weight_decay_exclusion",
        "no weight decay on biases and normalisation weights",
        &[
            "weight decay exclusion",
            "no weight decay on biases",
            "no decay on biases",
            "no weight decay on bias and norm",
        ],
        None,
        "parameter groups with weight_decay 0 (no_decay lists), an optax weight-decay mask or a Trainer that excludes biases and LayerNorm weights",
        Some(Anchor::Optimizer),
    ),
    component(
        "mixed_precision",
        "mixed precision",
        &[
            "mixed precision",
            "amp",
            "automatic mixed precision",
            "mixed precision training",
            "fp16 training",
            "bf16 training",
            "half precision",
            "loss scaling",
            "fp16",
            "bf16",
            "bfloat16",
        ],
        Some("precision"),
        "autocast/GradScaler call or an fp16/bf16/mixed_precision setting",
        Some(Anchor::TrainingStep),
    ),
    component(
        "dropout",
        "dropout",
        &["dropout", "residual dropout", "attention dropout"],
        Some("dropout"),
        "Dropout layer or dropout setting above 0",
        None,
    ),
    component(
        "gradient_accumulation",
        "gradient accumulation",
        &[
            "gradient accumulation",
            "grad accumulation",
            "accumulated gradients",
            "gradient accumulation steps",
        ],
        Some("gradient_accumulation_steps"),
        "gradient_accumulation_steps > 1 setting, accelerator.accumulate or an accumulation counter in the training loop",
        Some(Anchor::TrainingStep),
    ),
    component(
        "data_augmentation",
        "data augmentation",
        &[
            "data augmentation",
            "augmentation",
            "augmentations",
            "random crop",
            "random resized crop",
            "horizontal flip",
            "random flip",
            "random horizontal flip",
            "color jitter",
            "random crops and flips",
        ],
        None,
        "augmentation transforms (RandomResizedCrop, RandomHorizontalFlip, ColorJitter, RandAugment, ...)",
        Some(Anchor::DataLoader),
    ),
    component(
        "mixup",
        "mixup",
        &["mixup", "mix up"],
        Some("mixup_alpha"),
        "Mixup transform, a mixup function or a mixup_alpha setting",
        Some(Anchor::DataLoader),
    ),
    component(
        "cutmix",
        "CutMix",
        &["cutmix", "cut mix"],
        Some("cutmix_alpha"),
        "CutMix transform, a cutmix function or a cutmix_alpha setting",
        Some(Anchor::DataLoader),
    ),
    component(
        "randaugment",
        "RandAugment",
        &["randaugment", "rand augment"],
        None,
        "RandAugment transform or a rand-m* auto_augment policy",
        Some(Anchor::DataLoader),
    ),
    component(
        "pre_layernorm",
        "pre-LayerNorm residual blocks",
        &[
            "pre layernorm",
            "pre layer norm",
            "pre ln",
            "pre norm",
            "prenorm",
            "pre layer normalization",
            "pre normalization",
            "pre ln transformer",
        ],
        None,
        "a residual `x + f(norm(x))`, norm_first=True or a pre_norm setting",
        None,
    ),
    component(
        "post_layernorm",
        "post-LayerNorm residual blocks",
        &[
            "post layernorm",
            "post layer norm",
            "post ln",
            "post norm",
            "postnorm",
            "post layer normalization",
            "post normalization",
        ],
        None,
        "a residual `norm(x + f(x))` or a TransformerEncoderLayer without norm_first",
        None,
    ),
    component(
        "tied_embeddings",
        "tied input and output embeddings",
        &[
            "tied embeddings",
            "weight tying",
            "tied input output embeddings",
            "tied input and output embeddings",
            "shared embeddings",
            "shared input output embeddings",
            "tie word embeddings",
            "embedding tying",
            "tied weights",
            "tied embedding",
        ],
        None,
        "an output head sharing the embedding's weight (`lm_head.weight = wte.weight`), tie_weights() or tie_word_embeddings=True",
        None,
    ),
    component(
        "nesterov",
        "Nesterov momentum",
        &["nesterov", "nesterov momentum"],
        None,
        "nesterov=True in the optimizer",
        Some(Anchor::Optimizer),
    ),
    component(
        "gradient_checkpointing",
        "gradient checkpointing",
        &[
            "gradient checkpointing",
            "activation checkpointing",
            "activation recomputation",
            "rematerialization",
            "remat",
        ],
        None,
        "torch.utils.checkpoint/jax.checkpoint/remat call, gradient_checkpointing_enable() or gradient_checkpointing=True",
        None,
    ),
    component(
        "early_stopping",
        "early stopping",
        &["early stopping"],
        None,
        "EarlyStopping callback or a patience counter",
        Some(Anchor::TrainingStep),
    ),
    component(
        "stochastic_depth",
        "stochastic depth",
        &["stochastic depth", "drop path", "droppath"],
        Some("drop_path_rate"),
        "DropPath/StochasticDepth layer or drop_path_rate above 0",
        None,
    ),
    component(
        "weight_decay",
        "weight decay",
        &[
            "weight decay",
            "decoupled weight decay",
            "l2 regularization",
        ],
        Some("weight_decay"),
        "weight_decay above 0 in the optimizer or a setting",
        Some(Anchor::Optimizer),
    ),
    component(
        "batch_norm",
        "batch normalization",
        &["batch normalization", "batchnorm", "batch norm", "bn"],
        None,
        "BatchNorm layer",
        None,
    ),
    component(
        "layer_norm",
        "layer normalization",
        &["layer normalization", "layernorm", "layer norm"],
        None,
        "LayerNorm layer",
        None,
    ),
    component(
        "rms_norm",
        "RMSNorm",
        &[
            "rmsnorm",
            "rms norm",
            "rms normalization",
            "root mean square normalization",
        ],
        None,
        "RMSNorm layer",
        None,
    ),
];

pub fn component_info(id: &str) -> Option<&'static ComponentInfo> {
    COMPONENTS.iter().find(|info| info.id == id)
}

/// The technique a paper's phrase names: an exact spelling (`EMA`, `pre-LN`, `MixUp`), else the
/// longest spelling the phrase contains as whole words (`gradient clipping at norm 1.0`).
/// `No weight decay on biases and LayerNorm` and similar phrasings name the
/// weight-decay exclusion.
pub fn resolve_component(name: &str) -> Option<&'static ComponentInfo> {
    let bare = name.split(['(', '[']).next().unwrap_or(name);
    let normalized = normalize(bare);
    if normalized.is_empty() {
        return None;
    }
    let phrase_words: Vec<&str> = normalized.split(' ').collect();
    let starts = |prefix: &str| phrase_words.iter().any(|word| word.starts_with(prefix));
    let negated = phrase_words.iter().any(|word| {
        matches!(*word, "no" | "without" | "except" | "skip" | "not") || word.starts_with("exclud")
    });
    if starts("decay") && (starts("bias") || starts("norm")) && negated {
        return component_info("weight_decay_exclusion");
    }
    if let Some(exact) = COMPONENTS.iter().find(|info| {
        info.spellings
            .iter()
            .any(|spelling| normalize(spelling) == normalized)
    }) {
        return Some(exact);
    }
    let padded = format!(" {normalized} ");
    COMPONENTS
        .iter()
        .flat_map(|info| {
            info.spellings
                .iter()
                .map(move |spelling| (info, normalize(spelling)))
        })
        .filter(|(_, spelling)| spelling.len() > 3 && padded.contains(&format!(" {spelling} ")))
        .max_by_key(|(_, spelling)| spelling.len())
        .map(|(info, _)| info)
}

/// A sign that the code uses (or switches off) a technique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The component id, e.g. `gradient_clipping`.
    pub component: String,
    pub file: String,
    pub line: usize,
    /// What was seen, e.g. `clip_grad_norm_(model.parameters(), 1.0)`.
    pub what: String,
    /// `false` when the setting switches the technique off (`dropout: 0.0`).
    pub active: bool,
}

/// Calls that show a technique by their name.
const CALLS: &[(&str, &[&str])] = &[
    (
        "gradient_clipping",
        &[
            "clip_grad_norm_",
            "clip_grad_value_",
            "clip_grad_norm",
            "clip_grad_value",
            "clip_gradients",
            "clip_by_global_norm",
            "clip_by_norm",
            "clip_by_block_rms",
            "adaptive_grad_clip",
        ],
    ),
    (
        "label_smoothing",
        &[
            "LabelSmoothingCrossEntropy",
            "LabelSmoothingLoss",
            "smooth_labels",
            "label_smoothed_nll_loss",
        ],
    ),
    (
        "ema",
        &[
            "ExponentialMovingAverage",
            "EMA",
            "EMAModel",
            "ModelEma",
            "ModelEmaV2",
            "ModelEmaV3",
            "get_ema_multi_avg_fn",
            "get_ema_avg_fn",
            "update_ema",
            "ema_update",
            "update_ema_variables",
        ],
    ),
    (
        "mixed_precision",
        &["GradScaler", "autocast", "set_global_policy"],
    ),
    ("gradient_accumulation", &["accumulate", "no_sync"]),
    (
        "data_augmentation",
        &[
            "ColorJitter",
            "RandAugment",
            "AutoAugment",
            "TrivialAugmentWide",
            "AugMix",
            "HorizontalFlip",
            "VerticalFlip",
            "ShiftScaleRotate",
            "CoarseDropout",
            "Cutout",
            "SpecAugment",
            "TimeMasking",
            "FrequencyMasking",
            "random_flip_left_right",
            "random_crop",
            "random_brightness",
            "random_contrast",
            "create_transform",
            "Mixup",
            "CutMix",
        ],
    ),
    (
        "mixup",
        &["Mixup", "MixUp", "mixup_data", "mixup", "mixup_criterion"],
    ),
    ("cutmix", &["CutMix", "cutmix", "cutmix_data", "rand_bbox"]),
    (
        "randaugment",
        &["RandAugment", "rand_augment_transform", "RandAugmentMC"],
    ),
    (
        "tied_embeddings",
        &[
            "tie_weights",
            "tie_embeddings",
            "_tie_or_clone_weights",
            "attend",
        ],
    ),
    (
        "gradient_checkpointing",
        &[
            "gradient_checkpointing_enable",
            "checkpoint_sequential",
            "remat",
        ],
    ),
    (
        "early_stopping",
        &["EarlyStopping", "EarlyStoppingCallback"],
    ),
    (
        "stochastic_depth",
        &["DropPath", "StochasticDepth", "drop_path"],
    ),
    (
        "batch_norm",
        &[
            "BatchNorm1d",
            "BatchNorm2d",
            "BatchNorm3d",
            "BatchNorm",
            "BatchNormalization",
            "SyncBatchNorm",
            "batch_norm",
        ],
    ),
    (
        "layer_norm",
        &["LayerNorm", "LayerNormalization", "layer_norm"],
    ),
    (
        "rms_norm",
        &["RMSNorm", "rms_norm", "LlamaRMSNorm", "T5LayerNorm"],
    ),
    (
        "weight_decay_exclusion",
        &[
            "masked",
            "param_groups_weight_decay",
            "add_weight_decay",
            "exclude_from_weight_decay",
            "get_decay_parameter_names",
            "get_parameter_names",
        ],
    ),
];

/// Keyword arguments whose `True` shows a technique (and whose `False` switches it off).
const FLAGS: &[(&str, &[&str])] = &[
    ("nesterov", &["nesterov"]),
    (
        "gradient_checkpointing",
        &[
            "gradient_checkpointing",
            "use_gradient_checkpointing",
            "activation_checkpointing",
        ],
    ),
    (
        "tied_embeddings",
        &[
            "tie_word_embeddings",
            "tie_embeddings",
            "share_embeddings",
            "weight_tying",
            "tie_weights",
        ],
    ),
    (
        "pre_layernorm",
        &[
            "norm_first",
            "pre_norm",
            "prenorm",
            "normalize_before",
            "pre_layer_norm",
            "pre_ln",
        ],
    ),
];

/// Finds evidence of techniques in one Python file.
pub(crate) fn detect_in_python(file: &Context<'_>, out: &mut Vec<Evidence>) {
    let path = file.display_path().to_owned();
    let mut push = |component: &str, node: Node<'_>, what: String, active: bool| {
        out.push(Evidence {
            component: component.to_owned(),
            file: path.clone(),
            line: file.position(node).0,
            what,
            active,
        });
    };
    for call in file.calls() {
        let name = call.callee_name(file);
        if name.is_empty() {
            continue;
        }
        let shown = short_call(file, call);
        for (component, names) in CALLS {
            if names.contains(&name) && call_shows(file, call, component) {
                push(component, call.node, shown.clone(), true);
            }
        }
        let name_words = words(name);
        let torchvision_random = name.starts_with("Random") && name.len() > 6;
        if torchvision_random || name_words.iter().any(|word| word.starts_with("augment")) {
            push("data_augmentation", call.node, shown.clone(), true);
        }
        if name_words.iter().any(|word| word.contains("warmup")) {
            push("warmup", call.node, shown.clone(), true);
        }
        if name.ends_with("Dropout")
            || name.ends_with("Dropout1d")
            || name.ends_with("Dropout2d")
            || name == "dropout"
        {
            dropout_call(file, call, &shown, &mut push);
        }
        if name.ends_with("RMSNorm") {
            push("rms_norm", call.node, shown.clone(), true);
        }
        if name == "checkpoint" {
            let resolved = call
                .dotted_name(file)
                .map(|dotted| file.imports().resolve(&dotted))
                .unwrap_or_default();
            if resolved.contains("utils.checkpoint") || resolved.starts_with("jax") {
                push("gradient_checkpointing", call.node, shown.clone(), true);
            }
        }
        if is_ema_update(file, call) {
            push("ema", call.node, shown.clone(), true);
        }
        if name == "cos" && in_learning_rate_function(file, call.node) {
            push("cosine_schedule", call.node, shown.clone(), true);
        }
        if matches!(name, "TransformerEncoderLayer" | "TransformerDecoderLayer")
            && call.keyword(file, "norm_first").is_none()
            && !call.has_splat()
        {
            push(
                "post_layernorm",
                call.node,
                format!("{shown} (PyTorch's default norm_first=False)"),
                true,
            );
        }
        if is_hugging_face_trainer(file, call) {
            push(
                "weight_decay_exclusion",
                call.node,
                format!(
                    "{shown}: the Hugging Face Trainer leaves biases and LayerNorm weights out of weight decay"
                ),
                true,
            );
        }
        if call.keyword(file, "mask").is_some() && is_optax_decay(file, call) {
            push(
                "weight_decay_exclusion",
                call.node,
                format!("{shown} with a weight-decay mask"),
                true,
            );
        }
        flag_arguments(file, call, &mut push);
        if norm_call(file, call)
            && call
                .positional()
                .first()
                .map(|argument| unparenthesized(*argument))
                .is_some_and(|argument| is_addition(file, argument))
        {
            push("post_layernorm", call.node, shown.clone(), true);
        }
    }
    for kind in ["binary_operator", "augmented_assignment"] {
        for node in file.nodes_of_kind(kind) {
            if pre_norm_residual(file, node) {
                push("pre_layernorm", node, short(file.node_text(node)), true);
            }
            identifier_evidence(file, node, &mut push);
        }
    }
    for node in file.nodes_of_kind("comparison_operator") {
        identifier_evidence(file, node, &mut push);
    }
    for dictionary in file.nodes_of_kind("dictionary") {
        if is_no_decay_group(file, dictionary) {
            push(
                "weight_decay_exclusion",
                dictionary,
                short(file.node_text(dictionary)),
                true,
            );
        }
    }
    let mut named_exclusion = false;
    for identifier in file.nodes_of_kind("identifier") {
        let text = file.node_text(identifier).to_lowercase();
        if !named_exclusion
            && [
                "no_decay",
                "nodecay",
                "no_weight_decay",
                "skip_decay",
                "decay_mask",
                "wd_mask",
                "no_wd",
            ]
            .iter()
            .any(|needle| text.contains(needle))
        {
            named_exclusion = true;
            push(
                "weight_decay_exclusion",
                identifier,
                format!("`{}`", file.node_text(identifier)),
                true,
            );
        }
    }
    for string in file.nodes_of_kind("string") {
        if string_value(file, string).is_some_and(|text| text.starts_with("rand-m")) {
            push("randaugment", string, short(file.node_text(string)), true);
        }
    }
    for assignment in file.assignments() {
        if ties_embedding(file, assignment.left, assignment.right) {
            push(
                "tied_embeddings",
                assignment.node,
                short(file.node_text(assignment.node)),
                true,
            );
        }
    }
}

/// Extra conditions of some call names: `optax.masked` and `get_parameter_names` are only
/// weight-decay exclusion inside decay code; `accumulate` only on an accelerator.
fn call_shows(file: &Context<'_>, call: &Call<'_>, component: &str) -> bool {
    let name = call.callee_name(file);
    match (component, name) {
        ("weight_decay_exclusion", "masked") => {
            is_optax_decay(file, call) || file.mentions("decay")
        }
        ("weight_decay_exclusion", "get_parameter_names") => file.mentions("decay"),
        ("gradient_accumulation", "accumulate") => call.receiver().is_some_and(|receiver| {
            let text = file.node_text(receiver);
            text.contains("accelerator") || text.contains("fabric")
        }),
        ("gradient_accumulation", "no_sync") => call.receiver().is_some(),
        ("tied_embeddings", "attend") => call
            .receiver()
            .is_some_and(|receiver| embedding_words(file.node_text(receiver))),
        ("mixed_precision", "set_global_policy") => call
            .positional()
            .first()
            .and_then(|policy| string_value(file, *policy))
            .is_some_and(|policy| policy.contains("mixed")),
        _ => true,
    }
}

fn is_optax_decay(file: &Context<'_>, call: &Call<'_>) -> bool {
    call.dotted_name(file)
        .map(|dotted| file.imports().resolve(&dotted))
        .is_some_and(|resolved| resolved.starts_with("optax."))
}

/// `nn.Dropout(p)`, `F.dropout(x, p)`: active unless the probability is a literal 0 (literal
/// values are reported as settings too).
fn dropout_call(
    file: &Context<'_>,
    call: &Call<'_>,
    shown: &str,
    push: &mut impl FnMut(&str, Node<'_>, String, bool),
) {
    let position = usize::from(call.callee_name(file) == "dropout");
    let probability = call
        .argument(file, position, "p")
        .or_else(|| call.keyword(file, "rate"));
    let zero = probability.is_some_and(|node| {
        crate::semantic::names::number(file, node).is_some_and(|number| number == 0.0)
    });
    push("dropout", call.node, shown.to_owned(), !zero);
}

/// `ema.update()`, `self.ema_model.update_parameters(model)`, `ema_params = ...lerp...`.
fn is_ema_update(file: &Context<'_>, call: &Call<'_>) -> bool {
    let Some(method) = call.method_name(file) else {
        return false;
    };
    if !matches!(
        method,
        "update"
            | "step"
            | "update_parameters"
            | "apply"
            | "copy_to"
            | "store"
            | "restore"
            | "lerp_"
    ) {
        return false;
    }
    call.receiver().is_some_and(|receiver| {
        words(file.node_text(receiver))
            .iter()
            .any(|word| word == "ema")
    })
}

/// Inside a function named for the learning rate (`get_lr`, `lr_lambda`, `cosine_schedule`).
fn in_learning_rate_function(file: &Context<'_>, node: Node<'_>) -> bool {
    file.enclosing_function(node)
        .and_then(|function| function.field("name"))
        .is_some_and(|name| {
            words(file.node_text(name)).iter().any(|word| {
                matches!(
                    word.as_str(),
                    "lr" | "learning" | "schedule" | "scheduler" | "rate" | "lambda"
                )
            })
        })
        || (file
            .ancestors(node)
            .any(|ancestor| ancestor.kind_name() == "lambda")
            && file.mentions("LambdaLR"))
}

fn is_hugging_face_trainer(file: &Context<'_>, call: &Call<'_>) -> bool {
    let name = call.callee_name(file);
    if !matches!(
        name,
        "Trainer" | "Seq2SeqTrainer" | "SFTTrainer" | "DPOTrainer" | "RewardTrainer"
    ) {
        return false;
    }
    call.dotted_name(file)
        .map(|dotted| file.imports().resolve(&dotted))
        .is_some_and(|resolved| resolved.starts_with("transformers") || resolved.starts_with("trl"))
}

/// `nesterov=True`, `norm_first=True`, `tie_word_embeddings=False`, ...
fn flag_arguments(
    file: &Context<'_>,
    call: &Call<'_>,
    push: &mut impl FnMut(&str, Node<'_>, String, bool),
) {
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
        let key = file.node_text(key);
        let flag = match value.kind_name() {
            "true" => true,
            "false" => false,
            _ => continue,
        };
        for (component, keys) in FLAGS {
            if !keys.contains(&key) {
                continue;
            }
            let shown = short(file.node_text(argument));
            if *component == "pre_layernorm" {
                let which = if flag {
                    "pre_layernorm"
                } else {
                    "post_layernorm"
                };
                push(which, argument, shown, true);
            } else {
                push(component, argument, shown, flag);
            }
        }
    }
}

/// A call of a normalisation layer: `self.ln_1(x)`, `self.norm1(x)`, `F.layer_norm(x, ...)`,
/// `self.input_layernorm(x)`.
fn norm_call(file: &Context<'_>, call: &Call<'_>) -> bool {
    let name = call.callee_name(file);
    words(name).iter().any(|word| {
        let word = word.as_str();
        if matches!(
            word,
            "normalize" | "normalized" | "normal" | "normalization_factor"
        ) {
            return false;
        }
        word.starts_with("norm")
            || word.ends_with("norm")
            || word
                .strip_prefix("ln")
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
    }) && !name.starts_with(char::is_uppercase)
}

fn is_addition(file: &Context<'_>, node: Node<'_>) -> bool {
    node.kind_name() == "binary_operator"
        && node
            .field("operator")
            .is_some_and(|operator| file.node_text(operator) == "+")
}

/// `x + self.attn(self.ln_1(x))` or `x += self.mlp(self.norm2(x))`: the residual adds a
/// sublayer applied to the normalised input.
fn pre_norm_residual(file: &Context<'_>, node: Node<'_>) -> bool {
    let (residual, branch) = match node.kind_name() {
        "binary_operator" if is_addition(file, node) => {
            let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
                return false;
            };
            if matches!(left.kind_name(), "identifier" | "attribute") {
                (left, right)
            } else {
                (right, left)
            }
        }
        "augmented_assignment" => {
            let operator = node
                .field("operator")
                .map(|operator| file.node_text(operator));
            if operator != Some("+=") {
                return false;
            }
            let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
                return false;
            };
            (left, right)
        }
        _ => return false,
    };
    if !matches!(residual.kind_name(), "identifier" | "attribute") {
        return false;
    }
    let residual_text = file.node_text(residual);
    let Some(outer) = Call::new(unparenthesized(branch)) else {
        return false;
    };
    if norm_call(file, &outer) {
        return false;
    }
    file.calls_in(branch).iter().any(|inner| {
        inner.node.id() != outer.node.id()
            && norm_call(file, inner)
            && inner
                .positional()
                .first()
                .is_some_and(|argument| file.node_text(*argument) == residual_text)
    })
}

/// Identifiers used in arithmetic or comparisons that show a technique in hand-written loops:
/// `if it < warmup_iters`, `loss / grad_accum_steps`, `if bad_epochs > patience`.
fn identifier_evidence(
    file: &Context<'_>,
    node: Node<'_>,
    push: &mut impl FnMut(&str, Node<'_>, String, bool),
) {
    let mut cursor = node.walk();
    for operand in node.named_children(&mut cursor) {
        if !matches!(operand.kind_name(), "identifier" | "attribute") {
            continue;
        }
        let operand_words = words(file.node_text(operand));
        let component = if operand_words.iter().any(|word| word.contains("warmup")) {
            "warmup"
        } else if operand_words.iter().any(|word| word.starts_with("accum")) {
            "gradient_accumulation"
        } else if operand_words.iter().any(|word| word == "patience") {
            "early_stopping"
        } else {
            continue;
        };
        push(component, node, short(file.node_text(node)), true);
    }
}

/// `{"params": no_decay, "weight_decay": 0.0}`.
fn is_no_decay_group(file: &Context<'_>, dictionary: Node<'_>) -> bool {
    let mut cursor = dictionary.walk();
    let mut has_params = false;
    let mut zero_decay = false;
    for pair in dictionary.named_children(&mut cursor) {
        let (Some(key), Some(value)) = (pair.field("key"), pair.field("value")) else {
            continue;
        };
        match string_value(file, key) {
            Some("params") => has_params = true,
            Some("weight_decay") => {
                zero_decay = crate::semantic::names::number(file, value) == Some(0.0);
            }
            _ => {}
        }
    }
    has_params && zero_decay
}

fn embedding_words(text: &str) -> bool {
    words(text).iter().any(|word| {
        matches!(
            word.as_str(),
            "wte"
                | "embed"
                | "embedding"
                | "embeddings"
                | "emb"
                | "tok"
                | "token"
                | "word"
                | "embed_tokens"
                | "shared"
        ) || word.starts_with("embed")
    })
}

fn head_words(text: &str) -> bool {
    words(text).iter().any(|word| {
        matches!(
            word.as_str(),
            "head"
                | "lm"
                | "output"
                | "decoder"
                | "proj"
                | "classifier"
                | "out"
                | "logits"
                | "unembed"
                | "readout"
        )
    })
}

/// `self.lm_head.weight = self.transformer.wte.weight` (either way round).
fn ties_embedding(file: &Context<'_>, left: Node<'_>, right: Node<'_>) -> bool {
    let (left_text, right_text) = (file.node_text(left), file.node_text(right));
    left.kind_name() == "attribute"
        && right.kind_name() == "attribute"
        && left_text.ends_with(".weight")
        && right_text.ends_with(".weight")
        && ((embedding_words(left_text) && head_words(right_text))
            || (head_words(left_text) && embedding_words(right_text)))
}

/// An expression on one line: whitespace runs collapsed, cut at 70 characters.
pub(crate) fn short(text: &str) -> String {
    let mut collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (", )", ")"),
    ] {
        collapsed = collapsed.replace(from, to);
    }
    if collapsed.chars().count() > 70 {
        format!("{}…", collapsed.chars().take(69).collect::<String>())
    } else {
        collapsed
    }
}

fn short_call(file: &Context<'_>, call: &Call<'_>) -> String {
    short(file.node_text(call.node))
}

/// Evidence from the values a project sets: `max_grad_norm: 1.0` shows clipping,
/// `dropout: 0.0` switches dropout off, `lr_scheduler_type: cosine` is a cosine decay.
pub(crate) fn evidence_from_values(values: &[CodeValue]) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    for value in values {
        let number = value.value.as_number();
        let positive = number.is_some_and(|number| number > 0.0);
        let (component, active) = match value.param.as_str() {
            "max_grad_norm" => ("gradient_clipping", positive),
            "warmup_steps" | "warmup_ratio" | "warmup_epochs" => ("warmup", positive),
            "label_smoothing" => ("label_smoothing", positive),
            "ema_decay" => ("ema", positive),
            "dropout" | "attention_dropout" => ("dropout", positive),
            "drop_path_rate" => ("stochastic_depth", positive),
            "weight_decay" => ("weight_decay", positive),
            "mixup_alpha" => ("mixup", positive),
            "cutmix_alpha" => ("cutmix", positive),
            "gradient_accumulation_steps" => {
                ("gradient_accumulation", number.is_some_and(|n| n > 1.0))
            }
            "precision" => (
                "mixed_precision",
                matches!(
                    precision_label(&value.value),
                    Some("fp16" | "bf16" | "mixed" | "fp8")
                ),
            ),
            "lr_scheduler" => {
                let ParamValue::Text(text) = &value.value else {
                    continue;
                };
                match schedule_label(text) {
                    Some("cosine") => ("cosine_schedule", true),
                    Some("linear") => ("linear_schedule", true),
                    Some("step") => ("step_schedule", true),
                    _ => continue,
                }
            }
            _ => continue,
        };
        let mut what = match value.origin {
            super::collect::Origin::Implied => value.text.clone(),
            _ => format!("{} = {}", value.name, value.text),
        };
        if let Some(note) = &value.note {
            what.push_str(&format!(" ({note})"));
        }
        evidence.push(Evidence {
            component: component.to_owned(),
            file: value.file.clone(),
            line: value.line,
            what,
            active,
        });
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFile;

    fn detected(code: &str) -> Vec<(String, usize, bool)> {
        let file = SourceFile::parse("m.py", code).expect("parses");
        let context = Context::new(&file);
        let mut evidence = Vec::new();
        detect_in_python(&context, &mut evidence);
        evidence
            .into_iter()
            .map(|e| (e.component, e.line, e.active))
            .collect()
    }

    #[test]
    fn resolves_paper_phrases() {
        let id = |name: &str| resolve_component(name).map(|info| info.id);
        assert_eq!(id("EMA"), Some("ema"));
        assert_eq!(
            id("Gradient clipping at norm 1.0"),
            Some("gradient_clipping")
        );
        assert_eq!(id("pre-LN"), Some("pre_layernorm"));
        assert_eq!(id("MixUp"), Some("mixup"));
        assert_eq!(
            id("No weight decay on biases and LayerNorm weights"),
            Some("weight_decay_exclusion")
        );
        assert_eq!(id("Cosine learning-rate decay"), Some("cosine_schedule"));
        assert_eq!(id("Sparse attention"), None);
    }

    #[test]
    fn residual_shapes_tell_pre_from_post_norm() {
        let pre =
            detected("def forward(self, x):\n    x = x + self.attn(self.ln_1(x))\n    return x\n");
        assert!(pre.contains(&("pre_layernorm".into(), 2, true)), "{pre:?}");
        let post =
            detected("def forward(self, x):\n    x = self.norm1(x + self.attn(x))\n    return x\n");
        assert!(
            post.contains(&("post_layernorm".into(), 2, true)),
            "{post:?}"
        );
        assert!(!post.iter().any(|(c, _, _)| c == "pre_layernorm"));
    }

    #[test]
    fn tying_exclusion_and_loop_counters() {
        let found = detected(
            "self.transformer.wte.weight = self.lm_head.weight\n\
             groups = [{'params': decay}, {'params': nodecay, 'weight_decay': 0.0}]\n\
             if it < warmup_iters:\n    pass\n\
             loss = loss / grad_accum_steps\n\
             layer = nn.Dropout(0.0)\n",
        );
        assert!(found.contains(&("tied_embeddings".into(), 1, true)));
        assert!(found.contains(&("weight_decay_exclusion".into(), 2, true)));
        assert!(found.contains(&("warmup".into(), 3, true)));
        assert!(found.contains(&("gradient_accumulation".into(), 5, true)));
        assert!(found.contains(&("dropout".into(), 6, false)));
    }
}
