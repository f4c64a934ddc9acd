//! Shape facts: the shape of an expression as far as the file states or implies it, following
//! names back through their assignments. `y` of `X, y = make_regression(...)` is `(N,)`;
//! `torch.tensor(y)`, `y[idx]` with a 1-D `idx`, `np.tanh(y / 150.0)` keep it; `y[:, None]`
//! and `y.view(-1, 1)` make it `(N, 1)`; a model ending in `nn.Linear(_, 1)` outputs `(N, 1)`.
//!
//! Only shapes the code determines are reported: a name bound in two ways that disagree, a
//! parameter, a call the rules do not know, all give `None`.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::scope::{Binding, BindingKind, is_module_like, name_text, reaching};
use crate::Context;
use crate::semantic::names::number;
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};

/// How far names are followed back.
const MAX_DEPTH: usize = 32;

/// One dimension: known to be 1, or of some size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    One,
    Any,
}

/// The dimensions of an array or tensor, outermost first; empty for a scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape(pub Vec<Dim>);

impl Shape {
    fn scalar() -> Self {
        Self(Vec::new())
    }

    fn flat() -> Self {
        Self(vec![Dim::Any])
    }

    fn matrix() -> Self {
        Self(vec![Dim::Any, Dim::Any])
    }

    /// `(N,)`.
    pub(crate) fn is_flat(&self) -> bool {
        self.0 == [Dim::Any]
    }

    /// `(N, 1)`.
    pub(crate) fn is_column(&self) -> bool {
        self.0 == [Dim::Any, Dim::One]
    }

    /// `()`, `(N,)`, `(N, 1)`, `(N, D)`, `(N, D1, D2)`.
    pub(crate) fn describe(&self) -> String {
        let mut unnamed = 0;
        let unnamed_total = self
            .0
            .iter()
            .skip(1)
            .filter(|dim| **dim == Dim::Any)
            .count();
        let parts: Vec<String> = self
            .0
            .iter()
            .enumerate()
            .map(|(index, dim)| match (index, dim) {
                (_, Dim::One) => "1".to_owned(),
                (0, Dim::Any) => "N".to_owned(),
                (_, Dim::Any) => {
                    unnamed += 1;
                    if unnamed_total == 1 {
                        "D".to_owned()
                    } else {
                        format!("D{unnamed}")
                    }
                }
            })
            .collect();
        match parts.as_slice() {
            [] => "()".to_owned(),
            [one] => format!("({one},)"),
            _ => format!("({})", parts.join(", ")),
        }
    }
}

/// The shape of `node`, if the code determines it, with the node it was read from (a
/// producer such as `make_regression(...)`, a reshape, a model call).
pub(crate) fn infer<'t>(context: &Context<'t>, node: Node<'t>) -> Option<(Shape, Node<'t>)> {
    let mut inference = Inference {
        context,
        depth: 0,
        visiting: HashSet::new(),
        resolved: HashMap::new(),
        origin: None,
    };
    let shape = inference.expression(node)?;
    Some((shape, inference.origin.unwrap_or(node)))
}

/// The shape of `node` as text (`(N, 1)`), if known.
pub(crate) fn describe<'t>(context: &Context<'t>, node: Node<'t>) -> Option<String> {
    let mut inference = Inference {
        context,
        depth: 0,
        visiting: HashSet::new(),
        resolved: HashMap::new(),
        origin: None,
    };
    inference.expression(node).map(|shape| shape.describe())
}

struct Inference<'c, 't> {
    context: &'c Context<'t>,
    depth: usize,
    visiting: HashSet<usize>,
    /// Shapes of the names already resolved, by node: `x = x + x` repeated must not double
    /// the work at every line.
    resolved: HashMap<usize, Option<Shape>>,
    origin: Option<Node<'t>>,
}

impl<'t> Inference<'_, 't> {
    fn found(&mut self, node: Node<'t>, shape: Shape) -> Option<Shape> {
        if self.origin.is_none() {
            self.origin = Some(node);
        }
        Some(shape)
    }

    fn expression(&mut self, node: Node<'t>) -> Option<Shape> {
        let node = unparenthesized(node);
        match node.kind_name() {
            "integer" | "float" | "true" | "false" => Some(Shape::scalar()),
            "unary_operator" => self.expression(node.field("argument")?),
            "identifier" | "attribute" if name_text(self.context, node).is_some() => {
                self.name(node)
            }
            "binary_operator" => {
                let operator = self.context.node_text(node.field("operator")?);
                if operator == "@" {
                    return None;
                }
                let left = self.expression(node.field("left")?)?;
                let right = self.expression(node.field("right")?)?;
                broadcast(&left, &right)
            }
            "comparison_operator" => {
                let mut cursor = node.walk();
                let operands: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                let [left, right] = operands.as_slice() else {
                    return None;
                };
                let left = self.expression(*left)?;
                let right = self.expression(*right)?;
                broadcast(&left, &right)
            }
            "subscript" => self.subscript(node),
            "call" => self.call(node),
            "conditional_expression" => {
                let mut cursor = node.walk();
                let parts: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
                    return None;
                };
                let first = self.expression(*first)?;
                let last = self.expression(*last)?;
                (first == last).then_some(first)
            }
            _ => None,
        }
    }

    /// A name: the shape every binding that reaches it gives, when they agree.
    fn name(&mut self, node: Node<'t>) -> Option<Shape> {
        let name = name_text(self.context, node)?;
        if let Some(known) = self.resolved.get(&node.id()) {
            return known.clone();
        }
        if self.depth >= MAX_DEPTH || !self.visiting.insert(node.id()) {
            return None;
        }
        self.depth += 1;
        let shape = self.name_uncached(node, &name);
        self.depth -= 1;
        self.visiting.remove(&node.id());
        self.resolved.insert(node.id(), shape.clone());
        shape
    }

    fn name_uncached(&mut self, node: Node<'t>, name: &str) -> Option<Shape> {
        let found = reaching(self.context, node, name);
        if found.is_empty() {
            // `digits.target` of `digits = load_digits()`.
            if node.kind_name() == "attribute" {
                return self.dataset_field(node);
            }
            return None;
        }
        let mut shape: Option<Shape> = None;
        for binding in &found {
            let this = match binding.kind {
                BindingKind::Mutation => {
                    if self.mutation_keeps_shape(binding) {
                        continue;
                    }
                    return None;
                }
                BindingKind::AugAssign => {
                    // `x /= 255`, `x += 1`: a scalar keeps the shape.
                    let scalar = binding
                        .value
                        .and_then(|value| self.expression(value))
                        .is_some_and(|value| value.0.is_empty());
                    if scalar {
                        continue;
                    }
                    return None;
                }
                _ => self.binding(binding)?,
            };
            match &shape {
                Some(known) if *known != this => return None,
                _ => shape = Some(this),
            }
        }
        shape
    }

    fn mutation_keeps_shape(&self, binding: &Binding<'t>) -> bool {
        let Some(call) = binding.value.and_then(|value| self.context.call_at(value)) else {
            // `x[mask] = 0` keeps the shape.
            return binding
                .statement
                .field("left")
                .is_some_and(|left| left.kind_name() == "subscript");
        };
        let name = call.callee_name(self.context);
        !(matches!(
            name,
            "unsqueeze_"
                | "squeeze_"
                | "resize_"
                | "resize"
                | "t_"
                | "transpose_"
                | "append"
                | "extend"
                | "insert"
                | "as_strided_"
                | "set_"
        ))
    }

    fn binding(&mut self, binding: &Binding<'t>) -> Option<Shape> {
        match binding.kind {
            BindingKind::Assign | BindingKind::Walrus => {
                let value = binding.value?;
                self.element(value, &binding.path)
            }
            BindingKind::For => self.loop_item(binding.value?, &binding.path),
            _ => None,
        }
    }

    /// The shape of the element at `path` of `value` (`value` itself for an empty path).
    fn element(&mut self, value: Node<'t>, path: &[usize]) -> Option<Shape> {
        let value = unparenthesized(value);
        let Some((first, rest)) = path.split_first() else {
            return self.expression(value);
        };
        match value.kind_name() {
            "tuple" | "list" | "expression_list" => {
                let mut cursor = value.walk();
                let element = value
                    .named_children(&mut cursor)
                    .filter(|child| child.kind_name() != "comment")
                    .nth(*first)?;
                self.element(element, rest)
            }
            "call" if rest.is_empty() => self.call_output(value, *first),
            _ => None,
        }
    }

    /// Output `index` of a call returning a tuple of arrays.
    fn call_output(&mut self, node: Node<'t>, index: usize) -> Option<Shape> {
        let call = Call::new(node)?;
        let name = call.callee_name(self.context);
        match name {
            "make_regression" => {
                let targets = call
                    .keyword(self.context, "n_targets")
                    .map(|targets| number(self.context, targets));
                match index {
                    0 => self.found(node, Shape::matrix()),
                    1 => match targets {
                        None | Some(Some(1.0)) => self.found(node, Shape::flat()),
                        Some(Some(_)) => self.found(node, Shape::matrix()),
                        Some(None) => None,
                    },
                    _ => None,
                }
            }
            "make_classification"
            | "make_blobs"
            | "make_moons"
            | "make_circles"
            | "make_friedman1"
            | "make_friedman2"
            | "make_friedman3"
            | "make_gaussian_quantiles"
            | "make_hastie_10_2"
            | "make_swiss_roll"
            | "make_s_curve" => match index {
                0 => self.found(node, Shape::matrix()),
                1 => self.found(node, Shape::flat()),
                _ => None,
            },
            _ if (name.starts_with("load_") || name.starts_with("fetch_"))
                && name != "load_linnerud"
                && call
                    .keyword(self.context, "return_X_y")
                    .is_some_and(|flag| self.context.node_text(flag) == "True") =>
            {
                match index {
                    0 => self.found(node, Shape::matrix()),
                    1 => self.found(node, Shape::flat()),
                    _ => None,
                }
            }
            // `a_train, a_test, b_train, b_test = train_test_split(a, b, ...)`
            "train_test_split" => {
                let arrays = call.positional();
                if arrays.iter().any(|array| array.kind_name() == "list_splat") {
                    return None;
                }
                self.expression(*arrays.get(index / 2)?)
            }
            "shuffle" => {
                let arrays = call.positional();
                self.expression(*arrays.get(index)?)
            }
            _ => None,
        }
    }

    /// `bunch.data` / `bunch.target` of `bunch = load_digits()` (sklearn's toy datasets).
    fn dataset_field(&mut self, node: Node<'t>) -> Option<Shape> {
        let object = node.field("object")?;
        let field = self.context.node_text(node.field("attribute")?);
        let object_name = name_text(self.context, object)?;
        let found = reaching(self.context, object, &object_name);
        let [binding] = found.as_slice() else {
            return None;
        };
        let call = Call::new(unparenthesized(binding.value?))?;
        let loader = call.callee_name(self.context);
        let sklearn_loader = (loader.starts_with("load_") || loader.starts_with("fetch_"))
            && loader != "load_linnerud"
            && call.keyword(self.context, "return_X_y").is_none()
            && call.keyword(self.context, "as_frame").is_none();
        if !sklearn_loader || !binding.path.is_empty() {
            return None;
        }
        match field {
            "data" => self.found(call.node, Shape::matrix()),
            "target" => self.found(call.node, Shape::flat()),
            _ => None,
        }
    }

    /// The shape of one item of `iterable` at `path`: `yb` in `for xb, yb in loader` where
    /// `loader = DataLoader(TensorDataset(X, y), ...)` has the shape of `y` (a batch of rows).
    fn loop_item(&mut self, iterable: Node<'t>, path: &[usize]) -> Option<Shape> {
        let iterable = unparenthesized(iterable);
        let call = match iterable.kind_name() {
            "identifier" | "attribute" => {
                let name = name_text(self.context, iterable)?;
                let found = reaching(self.context, iterable, &name);
                let [binding] = found.as_slice() else {
                    return None;
                };
                if binding.kind != BindingKind::Assign || !binding.path.is_empty() {
                    return None;
                }
                Call::new(unparenthesized(binding.value?))?
            }
            "call" => Call::new(iterable)?,
            _ => return None,
        };
        let name = call.callee_name(self.context);
        if name == "DataLoader" {
            // A batch of items: the items' shapes with the batch dimension in front, unless
            // batching is turned off.
            if call
                .keyword(self.context, "batch_size")
                .is_some_and(|size| self.context.node_text(size) == "None")
            {
                return None;
            }
            let dataset = call.argument(self.context, 0, "dataset")?;
            return self.dataset_item(dataset, path);
        }
        None
    }

    /// The batched shape of element `path` of the items of `dataset`.
    fn dataset_item(&mut self, dataset: Node<'t>, path: &[usize]) -> Option<Shape> {
        let dataset = unparenthesized(dataset);
        let call = match dataset.kind_name() {
            "identifier" | "attribute" => {
                let name = name_text(self.context, dataset)?;
                let found = reaching(self.context, dataset, &name);
                let [binding] = found.as_slice() else {
                    return None;
                };
                if binding.kind != BindingKind::Assign || !binding.path.is_empty() {
                    return None;
                }
                Call::new(unparenthesized(binding.value?))?
            }
            "call" => Call::new(dataset)?,
            _ => return None,
        };
        if call.callee_name(self.context) != "TensorDataset" {
            return None;
        }
        let [index] = path else { return None };
        let tensors = call.positional();
        if tensors
            .iter()
            .any(|tensor| tensor.kind_name() == "list_splat")
        {
            return None;
        }
        // A batch of rows of a tensor has the tensor's rank.
        self.expression(*tensors.get(*index)?)
    }

    fn subscript(&mut self, node: Node<'t>) -> Option<Shape> {
        let value = node.field("value")?;
        let base = self.expression(value)?;
        let mut cursor = node.walk();
        let indices: Vec<Node<'t>> = node
            .children_by_field_name("subscript", &mut cursor)
            .collect();
        // What each index does: drop a dimension, keep it, or add one of size 1.
        enum Effect {
            Drop,
            Keep,
            Add,
            Ellipsis,
        }
        let mut effects = Vec::new();
        let mut advanced = 0;
        for index in &indices {
            let index = unparenthesized(*index);
            let effect = match index.kind_name() {
                "slice" => Effect::Keep,
                "none" => Effect::Add,
                "ellipsis" => Effect::Ellipsis,
                "integer" => Effect::Drop,
                "unary_operator" if number(self.context, index).is_some() => Effect::Drop,
                "attribute" if self.context.node_text(index).ends_with("newaxis") => Effect::Add,
                _ => {
                    let index_shape = self.expression(index)?;
                    advanced += 1;
                    match index_shape.0.as_slice() {
                        [] => Effect::Drop,
                        [_] => Effect::Keep,
                        _ => return None,
                    }
                }
            };
            effects.push(effect);
        }
        if advanced > 1 {
            return None;
        }
        let consuming = effects
            .iter()
            .filter(|effect| matches!(effect, Effect::Drop | Effect::Keep))
            .count();
        let ellipses = effects
            .iter()
            .filter(|effect| matches!(effect, Effect::Ellipsis))
            .count();
        if consuming > base.0.len() || ellipses > 1 {
            return None;
        }
        let mut dims = base.0.iter().copied();
        let mut result = Vec::new();
        for effect in effects {
            match effect {
                Effect::Drop => {
                    dims.next()?;
                }
                Effect::Keep => result.push(dims.next()?),
                Effect::Add => result.push(Dim::One),
                Effect::Ellipsis => {
                    let skipped = base.0.len() - consuming;
                    for _ in 0..skipped {
                        result.push(dims.next()?);
                    }
                }
            }
        }
        result.extend(dims);
        Some(Shape(result))
    }

    fn call(&mut self, node: Node<'t>) -> Option<Shape> {
        let call = Call::new(node)?;
        let name = call.callee_name(self.context);
        let receiver = call.receiver();
        let on_value = receiver.is_some_and(|receiver| !is_module_like(self.context, receiver));
        if on_value {
            return self.method(node, &call, name);
        }
        if self.is_single_output_model(call.function) {
            return self.found(node, Shape(vec![Dim::Any, Dim::One]));
        }
        let first = call.positional().first().copied();
        match name {
            "tensor" | "as_tensor" | "from_numpy" | "asarray" | "array" | "FloatTensor"
            | "LongTensor" | "DoubleTensor" | "Tensor" | "ascontiguousarray" => {
                let first = first?;
                if matches!(unparenthesized(first).kind_name(), "list" | "tuple") {
                    return self.literal_list(first);
                }
                self.expression(first)
            }
            "tanh" | "exp" | "log" | "log1p" | "sqrt" | "abs" | "sigmoid" | "relu" | "clip"
            | "clamp" | "sin" | "cos" | "expit" | "round" | "floor" | "ceil" | "square"
            | "sign" | "nan_to_num" | "negative" => self.expression(first?),
            "where" => {
                let arguments = call.positional();
                let [condition, a, b] = arguments.as_slice() else {
                    return None;
                };
                let condition = self.expression(*condition)?;
                let a = self.expression(*a)?;
                let b = self.expression(*b)?;
                broadcast(&broadcast(&condition, &a)?, &b)
            }
            "randperm" | "arange" | "linspace" => self.found(node, Shape::flat()),
            "permutation" => {
                let first = first?;
                if number(self.context, first).is_some() || self.is_length(first) {
                    self.found(node, Shape::flat())
                } else {
                    self.expression(first)
                }
            }
            "randn" | "rand" | "zeros" | "ones" | "empty" => {
                let shape = self.dims_of(&call.positional())?;
                self.found(node, shape)
            }
            "unsqueeze" | "expand_dims" => {
                let arguments = call.positional();
                let [value, axis] = arguments.as_slice() else {
                    return None;
                };
                let base = self.expression(*value)?;
                insert_one(base, number(self.context, *axis)?)
            }
            "squeeze" | "flatten" | "ravel" | "reshape" => {
                let arguments = call.positional();
                let (value, rest) = arguments.split_first()?;
                let base = self.expression(*value)?;
                reshaped(self.context, name, base, rest)
            }
            _ => None,
        }
    }

    fn method(&mut self, node: Node<'t>, call: &Call<'t>, name: &str) -> Option<Shape> {
        let receiver = call.receiver()?;
        let arguments = call.positional();
        match name {
            "float" | "double" | "half" | "bfloat16" | "long" | "int" | "bool" | "byte"
            | "type" | "astype" | "to" | "cpu" | "cuda" | "detach" | "clone" | "copy"
            | "contiguous" | "numpy" | "abs" | "exp" | "log" | "sqrt" | "sigmoid" | "tanh"
            | "relu" | "clamp" | "clip" | "neg" | "round" | "floor" | "ceil" | "sin" | "cos"
            | "requires_grad_" | "masked_fill" | "fillna" | "pin_memory" | "to_numpy" | "log1p"
            | "square" | "sign" | "detach_" => self.expression(receiver),
            "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum" => {
                let base = self.expression(receiver)?;
                let other = self.expression(*arguments.first()?)?;
                broadcast(&base, &other)
            }
            "item" => Some(Shape::scalar()),
            "unsqueeze" => {
                let base = self.expression(receiver)?;
                let shape = insert_one(base, number(self.context, *arguments.first()?)?)?;
                self.found(node, shape)
            }
            "view" | "reshape" | "squeeze" | "flatten" | "ravel" => {
                if name == "view" || name == "reshape" {
                    let shape = self.dims_of(&arguments)?;
                    return self.found(node, shape);
                }
                let base = self.expression(receiver)?;
                let shape = reshaped(self.context, name, base, &arguments)?;
                self.found(node, shape)
            }
            "mean" | "sum" | "max" | "min" | "std" | "var" | "argmax" | "argmin" | "prod"
            | "norm" | "median" => {
                let axis = call
                    .keyword(self.context, "dim")
                    .or_else(|| call.keyword(self.context, "axis"))
                    .or_else(|| arguments.first().copied());
                match axis {
                    None => Some(Shape::scalar()),
                    Some(_) => None,
                }
            }
            _ => {
                if matches!(name, "forward" | "__call__")
                    && self.is_single_output_model(call.function)
                {
                    return self.found(node, Shape(vec![Dim::Any, Dim::One]));
                }
                None
            }
        }
    }

    /// `len(X)`, `X.shape[0]`, `X.size(0)`.
    fn is_length(&self, node: Node<'_>) -> bool {
        let node = unparenthesized(node);
        match node.kind_name() {
            "call" => Call::new(node)
                .is_some_and(|call| matches!(call.callee_name(self.context), "len" | "size")),
            "subscript" => node
                .field("value")
                .is_some_and(|value| self.context.node_text(value).ends_with(".shape")),
            _ => false,
        }
    }

    /// The dimensions given as arguments: `(-1, 1)`, `(n, 1)`, `((n, 1))`, `(batch, 8)`.
    fn dims_of(&mut self, arguments: &[Node<'t>]) -> Option<Shape> {
        let arguments: Vec<Node<'t>> = match arguments {
            [single] if matches!(unparenthesized(*single).kind_name(), "tuple" | "list") => {
                let single = unparenthesized(*single);
                let mut cursor = single.walk();
                single
                    .named_children(&mut cursor)
                    .filter(|child| child.kind_name() != "comment")
                    .collect()
            }
            _ => arguments.to_vec(),
        };
        if arguments.is_empty()
            || arguments
                .iter()
                .any(|argument| matches!(argument.kind_name(), "list_splat" | "keyword_argument"))
        {
            return None;
        }
        Some(Shape(
            arguments
                .iter()
                .map(|argument| match number(self.context, *argument) {
                    Some(1.0) => Dim::One,
                    _ => Dim::Any,
                })
                .collect(),
        ))
    }

    /// `torch.tensor([1.0, 2.0])` is `(N,)`; `[[1, 2], [3, 4]]` is `(N, D)`.
    fn literal_list(&mut self, node: Node<'t>) -> Option<Shape> {
        let node = unparenthesized(node);
        let mut cursor = node.walk();
        let elements: Vec<Node<'t>> = node
            .named_children(&mut cursor)
            .filter(|child| child.kind_name() != "comment")
            .collect();
        let first = elements.first()?;
        if matches!(unparenthesized(*first).kind_name(), "list" | "tuple") {
            let inner = self.literal_list(*first)?;
            let mut dims = vec![Dim::Any];
            dims.extend(inner.0);
            return Some(Shape(dims));
        }
        elements
            .iter()
            .all(|element| number(self.context, *element).is_some())
            .then(Shape::flat)
    }

    /// Whether `callee` names `nn.Linear(_, 1)`, or an `nn.Sequential` ending in one, bound
    /// once in the file: calling it gives an `(N, 1)` column.
    fn is_single_output_model(&self, callee: Node<'_>) -> bool {
        let Some(name) = dotted_name(self.context, callee) else {
            return false;
        };
        let mut verdict = None;
        for (left, right) in self.context.assignment_sides() {
            if dotted_name(self.context, left).as_deref() != Some(name.as_str()) {
                continue;
            }
            let column = Call::new(unparenthesized(right)).is_some_and(|call| {
                self.is_single_output_linear(&call)
                    || (call.callee_name(self.context) == "Sequential"
                        && call
                            .positional()
                            .last()
                            .and_then(|layer| Call::new(unparenthesized(*layer)))
                            .is_some_and(|layer| self.is_single_output_linear(&layer)))
            });
            match verdict {
                None => verdict = Some(column),
                Some(previous) if previous != column => return false,
                Some(_) => {}
            }
        }
        verdict == Some(true)
    }

    fn is_single_output_linear(&self, call: &Call<'_>) -> bool {
        call.callee_name(self.context) == "Linear"
            && call
                .argument(self.context, 1, "out_features")
                .and_then(|size| number(self.context, size))
                == Some(1.0)
    }
}

/// `base` with a dimension of size 1 inserted at `axis` (negative counts from the end).
fn insert_one(mut base: Shape, axis: f64) -> Option<Shape> {
    let rank = i64::try_from(base.0.len()).ok()?;
    #[allow(clippy::cast_possible_truncation)]
    let axis = axis as i64;
    let at = if axis < 0 { rank + 1 + axis } else { axis };
    let at = usize::try_from(at).ok()?;
    if at > base.0.len() {
        return None;
    }
    base.0.insert(at, Dim::One);
    Some(base)
}

/// `squeeze`, `flatten` and `ravel` applied to `base`.
fn reshaped(
    context: &Context<'_>,
    name: &str,
    base: Shape,
    arguments: &[Node<'_>],
) -> Option<Shape> {
    match name {
        "flatten" | "ravel" if arguments.is_empty() => Some(Shape::flat()),
        "squeeze" => match arguments {
            [] => Some(Shape(
                base.0.into_iter().filter(|dim| *dim != Dim::One).collect(),
            )),
            [axis] => {
                let rank = i64::try_from(base.0.len()).ok()?;
                #[allow(clippy::cast_possible_truncation)]
                let axis = number(context, *axis)? as i64;
                let at = usize::try_from(if axis < 0 { rank + axis } else { axis }).ok()?;
                let mut dims = base.0;
                match dims.get(at) {
                    Some(Dim::One) => {
                        dims.remove(at);
                        Some(Shape(dims))
                    }
                    // Squeezing a dimension that is not 1 does nothing (or fails).
                    Some(Dim::Any) => None,
                    None => None,
                }
            }
            _ => None,
        },
        _ => None,
    }
}

/// NumPy broadcasting of two shapes, aligned at the last dimension.
fn broadcast(left: &Shape, right: &Shape) -> Option<Shape> {
    let rank = left.0.len().max(right.0.len());
    let padded = |shape: &Shape| -> Vec<Option<Dim>> {
        let mut dims = vec![None; rank - shape.0.len()];
        dims.extend(shape.0.iter().copied().map(Some));
        dims
    };
    let (left, right) = (padded(left), padded(right));
    Some(Shape(
        left.into_iter()
            .zip(right)
            .map(|pair| match pair {
                (None, Some(dim)) | (Some(dim), None) => dim,
                (Some(Dim::One), Some(dim)) | (Some(dim), Some(Dim::One)) => dim,
                _ => Dim::Any,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFile;

    fn shape_of_last_use(code: &str, name: &str) -> Option<String> {
        let file = SourceFile::parse("t.py", code).expect("parses");
        let context = Context::new(&file);
        let node = context
            .nodes_of_kind("identifier")
            .filter(|node| context.node_text(*node) == name)
            .last()
            .expect("the name is used");
        describe(&context, node)
    }

    #[test]
    fn producers_splits_and_indexing_keep_a_flat_target_flat() {
        let code = "\
X, y = make_regression(n_samples=100, n_features=8)
y = np.tanh(y / 150.0) * 2 + 0.1 * X[:, 0] ** 2
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2)
y_train = torch.tensor(y_train, dtype=torch.float32)
perm = torch.randperm(len(X_train))
idx = perm[0:64]
use(y_train[idx], X_train[idx], y_train[:, None], y_train.view(-1, 1), y_train[0])
";
        let file = SourceFile::parse("t.py", code).expect("parses");
        let context = Context::new(&file);
        let call = context.calls_named("use").next().expect("use(...)");
        let shapes: Vec<Option<String>> = call
            .positional()
            .iter()
            .map(|argument| describe(&context, *argument))
            .collect();
        assert_eq!(
            shapes,
            [
                Some("(N,)".to_owned()),
                Some("(N, D)".to_owned()),
                Some("(N, 1)".to_owned()),
                Some("(N, 1)".to_owned()),
                Some("()".to_owned()),
            ]
        );
    }

    #[test]
    fn disagreeing_or_unknown_bindings_give_no_shape() {
        assert_eq!(
            shape_of_last_use(
                "if a:\n    y = torch.zeros(4)\nelse:\n    y = torch.zeros(4, 1)\nf(y)\n",
                "y"
            ),
            None
        );
        assert_eq!(shape_of_last_use("def f(y):\n    return g(y)\n", "y"), None);
        assert_eq!(
            shape_of_last_use("y = torch.zeros(4)\ny.unsqueeze_(1)\nf(y)\n", "y"),
            None
        );
        assert_eq!(
            shape_of_last_use("y = torch.zeros(4)\nnp.random.shuffle(y)\nf(y)\n", "y"),
            Some("(N,)".to_owned())
        );
    }

    #[test]
    fn batches_of_a_tensor_dataset_keep_the_tensor_rank() {
        let code = "\
X, y = make_classification(n_samples=100)
loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=32)
for xb, yb in loader:
    f(yb)
";
        assert_eq!(shape_of_last_use(code, "yb"), Some("(N,)".to_owned()));
        assert_eq!(
            shape_of_last_use(code.replace("f(yb)", "f(xb)").as_str(), "xb"),
            Some("(N, D)".to_owned())
        );
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let flat = Shape::flat();
        let column = Shape(vec![Dim::Any, Dim::One]);
        assert_eq!(broadcast(&flat, &Shape::scalar()), Some(flat.clone()));
        assert_eq!(broadcast(&column, &flat), Some(Shape::matrix()));
        assert_eq!(Shape::matrix().describe(), "(N, D)");
        assert_eq!(
            Shape(vec![Dim::Any, Dim::Any, Dim::Any]).describe(),
            "(N, D1, D2)"
        );
    }
}
