//! What an operation does to the value that flows through it: the [`StepKind`] of a method
//! called on it, a function it is passed to, an operator, an index.

use tree_sitter::Node;

use super::StepKind;
use super::scope::{is_module_like, name_text};
use crate::Context;
use crate::semantic::names::number;
use crate::syntax::{Call, NodeExt, unparenthesized, words};

/// Methods that only read metadata: the value does not flow through them.
const METADATA: &[&str] = &[
    "shape",
    "size",
    "dim",
    "ndim",
    "ndimension",
    "numel",
    "nelement",
    "dtype",
    "device",
    "is_cuda",
    "requires_grad",
    "stride",
    "element_size",
    "nbytes",
    "itemsize",
    "is_contiguous",
    "data_ptr",
    "columns",
    "index",
    "keys",
    "__len__",
];

/// Functions whose result says nothing of the value's data: `len(x)`, `print(x)`.
const NOT_DATA_FUNCTIONS: &[&str] = &[
    "len",
    "print",
    "isinstance",
    "type",
    "id",
    "repr",
    "str",
    "hasattr",
    "getattr",
    "setattr",
    "format",
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "log",
    "add_scalar",
    "add_scalars",
    "log_metrics",
    "log_dict",
    "range",
    "enumerate_params",
    "hash",
    "callable",
    "write",
    "dump",
    "dumps",
    "set_description",
    "set_postfix",
];

/// Methods that return the value unchanged (a copy or a view of the same data).
const NEUTRAL_METHODS: &[&str] = &[
    "clone",
    "copy",
    "contiguous",
    "requires_grad_",
    "retain_grad",
    "__iter__",
    "iter",
    "values",
    "to_dense",
];

/// Data sources: a library call that makes the value.
const SOURCE_PREFIXES: &[&str] = &["make_", "load_", "fetch_", "read_"];
const SOURCE_FUNCTIONS: &[&str] = &[
    "load",
    "loadtxt",
    "genfromtxt",
    "fromfile",
    "frombuffer",
    "load_dataset",
    "open",
    "imread",
    "randn",
    "rand",
    "randint",
    "randperm",
    "normal",
    "uniform",
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "linspace",
    "eye",
    "randn_like",
    "rand_like",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "DataFrame",
    "MNIST",
    "FashionMNIST",
    "KMNIST",
    "EMNIST",
    "CIFAR10",
    "CIFAR100",
    "SVHN",
    "STL10",
    "ImageFolder",
    "ImageNet",
    "CelebA",
    "Omniglot",
    "from_pretrained",
    "File",
    "choice",
    "permutation",
    "default_rng",
    "PRNGKey",
    "key",
];

/// The kind of step a method called on the value makes; `None` when the value passes through
/// unchanged or the method only reads metadata (see [`is_metadata`]).
pub(crate) fn method_kind(file: &Context<'_>, call: &Call<'_>, method: &str) -> Option<StepKind> {
    if NEUTRAL_METHODS.contains(&method) {
        return None;
    }
    Some(match method {
        "float" | "double" | "half" | "bfloat16" | "long" | "int" | "bool" | "byte" | "short"
        | "char" | "type" | "astype" | "numpy" | "tolist" | "item" | "to_numpy" | "type_as"
        | "to_list" | "as_tensor" | "to_tensor" | "float32" => StepKind::Cast,
        "cuda" | "cpu" | "pin_memory" | "to_device" => StepKind::Device,
        "to" => {
            let text = call
                .arguments
                .map_or("", |arguments| file.node_text(arguments));
            if text.contains("float")
                || text.contains("int")
                || text.contains("half")
                || text.contains("dtype")
                || text.contains("bool")
                || text.contains("double")
            {
                if text.contains("device") || text.contains("cuda") || text.contains("cpu") {
                    StepKind::Device
                } else {
                    StepKind::Cast
                }
            } else {
                StepKind::Device
            }
        }
        "detach" | "detach_" => StepKind::Detach,
        "view" | "reshape" | "permute" | "transpose" | "squeeze" | "unsqueeze" | "flatten"
        | "ravel" | "expand" | "expand_as" | "repeat" | "view_as" | "reshape_as" | "swapaxes"
        | "moveaxis" | "t" | "unflatten" | "squeeze_" | "unsqueeze_" | "tile"
        | "repeat_interleave" | "transpose_" | "t_" | "resize_" | "mT" => StepKind::Reshape,
        "gather" | "index_select" | "take" | "masked_select" | "select" | "narrow"
        | "take_along_dim" | "take_along_axis" | "head" | "tail" | "nonzero" => StepKind::Index,
        "shuffle" => StepKind::Shuffle,
        "sample" if call.keyword(file, "frac").is_some() => StepKind::Shuffle,
        "split" | "chunk" | "tensor_split" | "unbind" | "train_test_split" => StepKind::Split,
        "mean" | "sum" | "max" | "min" | "argmax" | "argmin" | "std" | "var" | "norm" | "prod"
        | "any" | "all" | "median" | "logsumexp" | "count_nonzero" | "amax" | "amin"
        | "nanmean" | "nansum" => StepKind::Reduce,
        "backward" => StepKind::BackwardPass,
        "add" | "sub" | "mul" | "div" | "pow" | "exp" | "log" | "log1p" | "sqrt" | "abs"
        | "clamp" | "clip" | "neg" | "sigmoid" | "softmax" | "log_softmax" | "tanh" | "relu"
        | "round" | "floor" | "ceil" | "add_" | "sub_" | "mul_" | "div_" | "clamp_" | "pow_"
        | "masked_fill" | "masked_fill_" | "where" | "fillna" | "eq" | "ne" | "gt" | "lt"
        | "ge" | "le" | "sign" | "square" | "exp_" | "log_" | "abs_" | "sqrt_" | "sin" | "cos"
        | "lerp" | "addcmul" | "addcdiv" | "reciprocal" | "matmul" | "mm" | "bmm" | "dot"
        | "cumsum" | "diff" => StepKind::Arithmetic,
        "normal_" | "uniform_" | "fill_" | "zero_" | "copy_" | "scatter_" | "index_fill_"
        | "index_add_" | "append" | "extend" | "insert" | "update" => StepKind::Mutate,
        "flip" | "fliplr" | "flipud" | "roll" | "rot90" => StepKind::Augment,
        "normalize" | "standardize" => StepKind::Normalize,
        _ => StepKind::Call,
    })
}

/// Whether reading `name` of the value gives metadata rather than the data (`x.shape`,
/// `x.size()`, `len(x)`).
pub(crate) fn is_metadata(name: &str) -> bool {
    METADATA.contains(&name)
}

/// Whether a function call's result does not carry its arguments' data.
pub(crate) fn is_not_data_function(file: &Context<'_>, call: &Call<'_>) -> bool {
    let name = call.callee_name(file);
    if NOT_DATA_FUNCTIONS.contains(&name) {
        return true;
    }
    // `logger.info(...)`, `writer.add_scalar(...)`, `wandb.log(...)`.
    call.receiver()
        .and_then(|receiver| name_text(file, receiver))
        .is_some_and(|receiver| {
            let receiver_words = words(&receiver);
            receiver_words.iter().any(|word| {
                matches!(
                    word.as_str(),
                    "logger" | "logging" | "writer" | "wandb" | "mlflow" | "tb" | "pbar" | "bar"
                )
            })
        })
}

/// Whether `call` makes data from nothing the trace can follow: a library producer
/// (`make_regression`, `np.load`, `pd.read_csv`, `torch.randn`, a torchvision dataset).
pub(crate) fn is_source_call(file: &Context<'_>, call: &Call<'_>) -> bool {
    let name = call.callee_name(file);
    if name.is_empty() {
        return false;
    }
    if SOURCE_FUNCTIONS.contains(&name) {
        // `rng.permutation(x)` shuffles `x`; `np.random.permutation(n)` makes indices.
        if name == "permutation" {
            return call.positional().first().is_none_or(|first| {
                number(file, *first).is_some() || is_size_expression(file, *first)
            });
        }
        return true;
    }
    if SOURCE_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        return true;
    }
    // `np.random.normal(...)`, `torch.tensor([1, 2, 3])`.
    let dotted = call.dotted_name(file).unwrap_or_default();
    let resolved = file.imports().resolve(&dotted);
    if resolved.starts_with("numpy.random.") || dotted.starts_with("np.random.") {
        return !matches!(name, "shuffle" | "permutation");
    }
    matches!(name, "tensor" | "array" | "asarray" | "as_tensor")
        && call
            .positional()
            .first()
            .is_some_and(|first| is_literal(*first))
}

/// `len(x)`, `x.shape[0]`, `x.size(0)`, `n`: a number of elements, not data.
fn is_size_expression(file: &Context<'_>, node: Node<'_>) -> bool {
    let node = unparenthesized(node);
    match node.kind_name() {
        "call" => Call::new(node)
            .is_some_and(|call| matches!(call.callee_name(file), "len" | "size" | "numel" | "int")),
        "subscript" => node
            .field("value")
            .is_some_and(|value| file.node_text(value).ends_with("shape")),
        "identifier" => words(file.node_text(node))
            .iter()
            .any(|word| matches!(word.as_str(), "n" | "num" | "size" | "count" | "len")),
        _ => false,
    }
}

/// A literal: numbers, strings, `None`, booleans, and lists or tuples of them.
pub(crate) fn is_literal(node: Node<'_>) -> bool {
    let node = unparenthesized(node);
    match node.kind_name() {
        "integer"
        | "float"
        | "string"
        | "concatenated_string"
        | "true"
        | "false"
        | "none"
        | "ellipsis" => true,
        "unary_operator" => node.field("argument").is_some_and(is_literal),
        "list" | "tuple" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor)
                .all(|child| child.kind_name() == "comment" || is_literal(child))
        }
        _ => false,
    }
}

/// The kind of step a function call makes to a value passed as an argument.
pub(crate) fn function_kind(file: &Context<'_>, call: &Call<'_>) -> StepKind {
    let name = call.callee_name(file);
    let callee_words = words(name);
    let has_word = |wanted: &[&str]| {
        callee_words
            .iter()
            .any(|word| wanted.contains(&word.as_str()))
    };
    match name {
        "tensor" | "as_tensor" | "from_numpy" | "array" | "asarray" | "asanyarray"
        | "ascontiguousarray" | "FloatTensor" | "LongTensor" | "Tensor" | "DoubleTensor"
        | "IntTensor" | "BoolTensor" | "HalfTensor" | "convert_to_tensor" | "float32"
        | "float64" | "int64" | "int32" | "float" | "int" | "bool" | "one_hot" | "to_tensor"
        | "ToTensor" | "list" | "tuple" => return StepKind::Cast,
        "shuffle" | "permutation" => return StepKind::Shuffle,
        "train_test_split" | "random_split" | "split" | "array_split" | "chunk"
        | "tensor_split" | "hsplit" | "vsplit" => return StepKind::Split,
        "reshape" | "expand_dims" | "squeeze" | "unsqueeze" | "flatten" | "transpose"
        | "permute" | "stack" | "cat" | "concat" | "concatenate" | "vstack" | "hstack"
        | "dstack" | "column_stack" | "rearrange" | "atleast_1d" | "atleast_2d" | "atleast_3d"
        | "moveaxis" | "swapaxes" | "ravel" | "broadcast_to" | "pad" | "pad_sequence"
        | "repeat" | "tile" => return StepKind::Reshape,
        "to_device" | "device_put" | "move_to_device" | "move_to" | "cuda" => {
            return StepKind::Device;
        }
        "stop_gradient" => return StepKind::Detach,
        "normalize" | "standardize" | "scale" | "minmax_scale" | "robust_scale" | "zscore"
        | "maxabs_scale" => return StepKind::Normalize,
        "mean" | "sum" | "max" | "min" | "std" | "var" | "argmax" | "argmin" | "median"
        | "norm" | "prod" | "logsumexp" | "average" | "nanmean" => return StepKind::Reduce,
        "exp" | "log" | "log1p" | "sqrt" | "tanh" | "sigmoid" | "softmax" | "log_softmax"
        | "relu" | "gelu" | "clip" | "clamp" | "abs" | "where" | "maximum" | "minimum" | "sin"
        | "cos" | "power" | "square" | "round" | "floor" | "ceil" | "matmul" | "dot" | "einsum"
        | "expit" | "logit" | "sign" | "cumsum" | "diff" | "outer" => {
            return StepKind::Arithmetic;
        }
        "gather" | "index_select" | "take" | "take_along_axis" | "masked_select" | "Subset" => {
            return StepKind::Index;
        }
        "backward" => return StepKind::BackwardPass,
        _ => {}
    }
    if name.ends_with("Loader") || name == "WebLoader" {
        return StepKind::Loader;
    }
    if name.ends_with("Dataset") || name.ends_with("dataset") {
        return StepKind::Dataset;
    }
    if matches!(name, "transform" | "fit_transform") {
        return if receiver_scales(file, call) {
            StepKind::Normalize
        } else {
            StepKind::Call
        };
    }
    if has_word(&[
        "augment",
        "aug",
        "augmentation",
        "mixup",
        "cutmix",
        "cutout",
        "jitter",
        "noise",
        "flip",
        "rotate",
        "crop",
        "transform",
        "transforms",
        "erasing",
    ]) || name.starts_with("random_")
        || name.starts_with("Random")
    {
        return StepKind::Augment;
    }
    StepKind::Call
}

/// `scaler.transform(x)`, `StandardScaler().fit_transform(x)`: the receiver scales its input.
fn receiver_scales(file: &Context<'_>, call: &Call<'_>) -> bool {
    let Some(receiver) = call.receiver() else {
        return false;
    };
    let mut text = file.node_text(receiver).to_lowercase();
    // `scaler = StandardScaler().fit(X)`: read what the name was bound to.
    if let Some(name) = name_text(file, receiver) {
        for (left, right) in file.assignment_sides() {
            if name_text(file, left).as_deref() == Some(name.as_str()) {
                text.push(' ');
                text.push_str(&file.node_text(right).to_lowercase());
            }
        }
    }
    ["scal", "normaliz", "standard"]
        .iter()
        .any(|word| text.contains(word))
}

/// Words of names that hold statistics used to normalize, not data.
const STATISTIC_WORDS: &[&str] = &[
    "mean", "mu", "avg", "average", "std", "sigma", "stdev", "var", "variance", "scale", "min",
    "max", "center", "centre", "norm", "range", "eps", "epsilon", "stats",
];

/// Whether an operand names a statistic (`mean`, `self.std`, `x.mean(0)`, `X_train.std()`).
pub(crate) fn is_statistic(file: &Context<'_>, node: Node<'_>) -> bool {
    let node = unparenthesized(node);
    if let Some(call) = Call::new(node) {
        let name = call.callee_name(file);
        return matches!(
            name,
            "mean" | "std" | "var" | "min" | "max" | "amin" | "amax" | "norm" | "sqrt"
        );
    }
    if node.kind_name() == "binary_operator" {
        // `std + eps`, `max - min`
        return [node.field("left"), node.field("right")]
            .into_iter()
            .flatten()
            .any(|operand| is_statistic(file, operand));
    }
    words(file.node_text(node))
        .iter()
        .any(|word| STATISTIC_WORDS.contains(&word.as_str()))
}

/// Whether an operand draws random numbers (`torch.randn_like(x)`, `noise`).
fn is_random(file: &Context<'_>, node: Node<'_>) -> bool {
    let text = file.node_text(node);
    [
        "randn",
        "rand(",
        "rand_like",
        "normal(",
        "noise",
        "uniform(",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// A constant: a literal, an upper-case name (`SIZE`, `cfg.BATCH`), or arithmetic of those
/// (`SIZE - 8`).
pub(crate) fn is_constant(file: &Context<'_>, node: Node<'_>) -> bool {
    let node = unparenthesized(node);
    let upper = |text: &str| {
        text.chars().any(char::is_alphabetic)
            && text
                .chars()
                .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '_')
    };
    match node.kind_name() {
        "identifier" => upper(file.node_text(node)),
        "attribute" => node
            .field("attribute")
            .is_some_and(|field| upper(file.node_text(field))),
        "binary_operator" => [node.field("left"), node.field("right")]
            .into_iter()
            .all(|operand| operand.is_some_and(|operand| is_constant(file, operand))),
        "unary_operator" => node
            .field("argument")
            .is_some_and(|argument| is_constant(file, argument)),
        _ => is_literal(node),
    }
}

/// The kind of step a binary operator makes to the values it combines.
pub(crate) fn operator_kind(file: &Context<'_>, operator: Node<'_>) -> StepKind {
    let op = operator
        .field("operator")
        .map_or("", |op| file.node_text(op));
    let (Some(left), Some(right)) = (operator.field("left"), operator.field("right")) else {
        return StepKind::Arithmetic;
    };
    match op {
        "/" | "/=" => {
            let centred = unparenthesized(left).kind_name() == "binary_operator"
                && unparenthesized(left)
                    .field("operator")
                    .is_some_and(|inner| file.node_text(inner) == "-");
            let by_large_constant = number(file, right).is_some_and(|value| value.abs() >= 10.0);
            if centred || by_large_constant || is_statistic(file, right) {
                StepKind::Normalize
            } else {
                StepKind::Arithmetic
            }
        }
        "-" | "-=" if is_statistic(file, right) => StepKind::Normalize,
        // `x + 0.01 * torch.randn_like(x)` adds noise to data; `0.1 * torch.randn(n)` only
        // scales a random draw.
        "+" | "*" | "+=" | "*="
            if (is_random(file, left) && !is_constant(file, right))
                || (is_random(file, right) && !is_constant(file, left)) =>
        {
            StepKind::Augment
        }
        _ => StepKind::Arithmetic,
    }
}

/// `x - mean` inside `(x - mean) / std`: the division is the normalization step, so the
/// subtraction makes no step of its own.
pub(crate) fn is_part_of_normalization(file: &Context<'_>, subtraction: Node<'_>) -> bool {
    if subtraction
        .field("operator")
        .is_none_or(|op| file.node_text(op) != "-")
    {
        return false;
    }
    let mut node = subtraction;
    while let Some(parent) = file.parent(node) {
        if parent.kind_name() != "parenthesized_expression" {
            return parent.kind_name() == "binary_operator"
                && parent
                    .field("left")
                    .is_some_and(|left| left.id() == node.id())
                && operator_kind(file, parent) == StepKind::Normalize;
        }
        node = parent;
    }
    false
}

/// The kind of step indexing the value makes: `x[:, None]` reshapes, `x[perm]` with a random
/// permutation shuffles, anything else selects.
pub(crate) fn subscript_kind(file: &Context<'_>, subscript: Node<'_>) -> StepKind {
    let Some(value) = subscript.field("value") else {
        return StepKind::Index;
    };
    let index = file
        .text()
        .get(value.end_byte()..subscript.end_byte())
        .unwrap_or("");
    if index.contains("None") || index.contains("newaxis") {
        return StepKind::Reshape;
    }
    let mut cursor = subscript.walk();
    let indices: Vec<Node<'_>> = subscript
        .children_by_field_name("subscript", &mut cursor)
        .collect();
    let shuffles = indices.iter().any(|index| {
        let text = file.node_text(*index);
        if text.contains("randperm") || text.contains("permutation") {
            return true;
        }
        // `perm = torch.randperm(n)` then `x[perm]`, or `idx = perm[i:j]` then `x[idx]`.
        let root = file
            .descendants(*index)
            .find(|node| node.kind_name() == "identifier");
        root.is_some_and(|name| holds_permutation(file, file.node_text(name), 3))
    });
    if shuffles {
        StepKind::Shuffle
    } else {
        StepKind::Index
    }
}

/// Whether `name` is bound (file-wide) to a random permutation or to a part of one.
fn holds_permutation(file: &Context<'_>, name: &str, depth: usize) -> bool {
    file.assignment_sides().any(|(left, right)| {
        if file.node_text(left) != name {
            return false;
        }
        let bound = file.node_text(right);
        if bound.contains("randperm") || bound.contains("permutation") {
            return true;
        }
        // `idx = perm[start:end]`
        depth > 0
            && unparenthesized(right).kind_name() == "subscript"
            && unparenthesized(right).field("value").is_some_and(|value| {
                value.kind_name() == "identifier"
                    && file.node_text(value) != name
                    && holds_permutation(file, file.node_text(value), depth - 1)
            })
    })
}

/// Whether the name held by `receiver` is a model: an instance of a project model class, an
/// `nn` module, or a name that says so (`model`, `net`, `self.encoder`).
pub(crate) fn names_model(file: &Context<'_>, callee: Node<'_>) -> bool {
    let Some(text) = name_text(file, callee) else {
        return false;
    };
    if is_module_like(file, callee) {
        return false;
    }
    let callee_words = words(&text);
    callee_words.iter().any(|word| {
        matches!(
            word.as_str(),
            "model"
                | "net"
                | "network"
                | "encoder"
                | "decoder"
                | "backbone"
                | "head"
                | "classifier"
                | "regressor"
                | "generator"
                | "discriminator"
                | "critic"
                | "actor"
                | "policy"
                | "mlp"
                | "cnn"
                | "rnn"
                | "lstm"
                | "gru"
                | "transformer"
                | "module"
                | "layer"
                | "layers"
                | "embedding"
                | "embed"
                | "fc"
                | "linear"
                | "conv"
                | "unet"
                | "resnet"
                | "vit"
                | "bert"
                | "gpt"
        )
    }) || file.assignment_sides().any(|(left, right)| {
        name_text(file, left).as_deref() == Some(text.as_str()) && {
            let bound = file.node_text(right);
            bound.starts_with("nn.")
                || bound.starts_with("torch.nn.")
                || bound.contains("Sequential(")
        }
    })
}
