//! Where the output of a softmax or a sigmoid goes: a small, flow-sensitive tracking of
//! probabilities into loss functions, inside each function and through the modules and model
//! classes a file defines.
//!
//! Three layers:
//! 1. *bindings*: names (`criterion`, `self.head`, `model`) bound anywhere in the file to a loss
//!    module, an activation module, an `nn.Sequential` ending in one, or an instance of a model
//!    class whose `forward` returns probabilities. A name bound to two different kinds is
//!    ambiguous and ignored;
//! 2. *values*: inside one function, in source order, which local names hold probabilities;
//! 3. *sinks*: loss calls whose input holds probabilities.

use std::collections::HashMap;

use tree_sitter::Node;

use super::training::{LocalFunctions, short_text};
use crate::syntax::{Call, NodeExt, bound_names, dotted_name, unparenthesized};
use crate::{Context, SourceFile};

/// An output activation that turns logits into probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Softmax,
    Sigmoid,
}

/// A loss that takes logits (or log-probabilities) and applies its own normalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// `nn.CrossEntropyLoss`, `F.cross_entropy`: log-softmax inside.
    CrossEntropy,
    /// `nn.NLLLoss`, `F.nll_loss`: expects log-probabilities.
    NegativeLogLikelihood,
    /// `optax.softmax_cross_entropy[_with_integer_labels]`: log-softmax inside.
    OptaxSoftmaxCrossEntropy,
    /// `nn.BCELoss`, `F.binary_cross_entropy`: takes probabilities, but computes the log in a
    /// second, unstable step.
    BinaryCrossEntropy,
    /// `nn.BCEWithLogitsLoss`, `F.binary_cross_entropy_with_logits`: sigmoid inside.
    BinaryCrossEntropyWithLogits,
    /// `optax.sigmoid_binary_cross_entropy`: sigmoid inside.
    OptaxSigmoidBinaryCrossEntropy,
}

impl LossKind {
    /// The activation whose output this loss must not receive.
    pub fn conflicting_activation(self) -> Activation {
        match self {
            Self::CrossEntropy | Self::NegativeLogLikelihood | Self::OptaxSoftmaxCrossEntropy => {
                Activation::Softmax
            }
            Self::BinaryCrossEntropy
            | Self::BinaryCrossEntropyWithLogits
            | Self::OptaxSigmoidBinaryCrossEntropy => Activation::Sigmoid,
        }
    }

    fn from_constructor(name: &str) -> Option<Self> {
        match name {
            "CrossEntropyLoss" => Some(Self::CrossEntropy),
            "NLLLoss" => Some(Self::NegativeLogLikelihood),
            "BCELoss" => Some(Self::BinaryCrossEntropy),
            "BCEWithLogitsLoss" => Some(Self::BinaryCrossEntropyWithLogits),
            _ => None,
        }
    }

    fn from_function(name: &str) -> Option<Self> {
        match name {
            "cross_entropy" => Some(Self::CrossEntropy),
            "nll_loss" => Some(Self::NegativeLogLikelihood),
            "softmax_cross_entropy" | "softmax_cross_entropy_with_integer_labels" => {
                Some(Self::OptaxSoftmaxCrossEntropy)
            }
            "binary_cross_entropy" => Some(Self::BinaryCrossEntropy),
            "binary_cross_entropy_with_logits" => Some(Self::BinaryCrossEntropyWithLogits),
            "sigmoid_binary_cross_entropy" => Some(Self::OptaxSigmoidBinaryCrossEntropy),
            _ => None,
        }
    }

    /// The name of the input argument when passed by keyword.
    fn input_keyword(self) -> &'static str {
        match self {
            Self::OptaxSoftmaxCrossEntropy | Self::OptaxSigmoidBinaryCrossEntropy => "logits",
            _ => "input",
        }
    }
}

impl Activation {
    fn from_constructor(name: &str) -> Option<Self> {
        match name {
            "Softmax" => Some(Self::Softmax),
            "Sigmoid" => Some(Self::Sigmoid),
            _ => None,
        }
    }

    fn from_function(name: &str) -> Option<Self> {
        match name {
            "softmax" => Some(Self::Softmax),
            "sigmoid" | "expit" => Some(Self::Sigmoid),
            _ => None,
        }
    }
}

/// Methods that keep values as they are (shape, dtype, device or bounds change only), so
/// probabilities stay probabilities.
const VALUE_PRESERVING_METHODS: &[&str] = &[
    "view",
    "reshape",
    "flatten",
    "squeeze",
    "unsqueeze",
    "permute",
    "transpose",
    "contiguous",
    "float",
    "double",
    "to",
    "type",
    "clone",
    "detach",
    "cpu",
    "cuda",
    "clamp",
    "clip",
    "clamp_min",
    "view_as",
    "reshape_as",
];

/// Calls that wrap a module and forward to it unchanged.
const MODULE_WRAPPERS: &[&str] = &["DistributedDataParallel", "DDP", "DataParallel", "compile"];

/// Where probabilities were made.
#[derive(Debug, Clone)]
pub struct Origin<'t> {
    pub activation: Activation,
    /// The expression that applied the activation.
    pub node: Node<'t>,
    /// How a module call produced it, e.g. "`Net.forward` returns `F.softmax(x)` at line 9".
    pub via: Option<String>,
    /// The model class whose `forward` applied it.
    pub model_class: Option<String>,
}

/// A loss call whose input holds probabilities.
#[derive(Debug, Clone)]
pub struct LossOnActivation<'t> {
    pub loss: LossKind,
    /// How the loss is named in messages: "`criterion` (`nn.CrossEntropyLoss`)".
    pub loss_label: String,
    pub call: Node<'t>,
    pub input: Node<'t>,
    pub origin: Origin<'t>,
}

/// A model class whose `forward` (or `__call__`) unconditionally returns probabilities.
#[derive(Debug, Clone)]
pub struct ActivationReturn<'t> {
    pub class_name: String,
    pub method_name: String,
    pub return_node: Node<'t>,
    pub origin: Origin<'t>,
}

/// Everything the activation rules need from one file.
#[derive(Debug, Default)]
pub struct Flows<'t> {
    pub losses: Vec<LossOnActivation<'t>>,
    pub activation_returns: Vec<ActivationReturn<'t>>,
    /// Every loss the file constructs or calls, with where: lets a rule say "this file trains
    /// with `nn.CrossEntropyLoss` (line 40)".
    pub loss_sites: Vec<(LossKind, Node<'t>)>,
}

impl<'t> Flows<'t> {
    pub fn analyze(file: &Context<'t>) -> Self {
        let locals = file.locals();
        let plain_bindings = Bindings::collect(file, &HashMap::new());
        let activation_returns = class_activation_returns(file, &plain_bindings, locals);
        let classes: HashMap<String, ActivationReturn<'t>> = activation_returns
            .iter()
            .map(|summary| (summary.class_name.clone(), summary.clone()))
            .collect();
        let bindings = Bindings::collect(file, &classes);
        let walker = Walker {
            file,
            bindings: &bindings,
            locals,
        };

        let mut losses = Vec::new();
        let scopes =
            std::iter::once(file.source().root()).chain(file.nodes_of_kind("function_definition"));
        for scope in scopes {
            let body = if scope.kind_name() == "function_definition" {
                scope.field("body")
            } else {
                Some(scope)
            };
            if let Some(body) = body {
                walker.walk(body, &mut |loss| losses.push(loss), &mut |_, _| {});
            }
        }
        let mut loss_sites = bindings.loss_sites.clone();
        loss_sites.extend(
            file.calls()
                .iter()
                .filter_map(|call| walker.loss_call(call).map(|(kind, _, _)| (kind, call.node))),
        );
        loss_sites.sort_by_key(|(_, node)| node.start_byte());
        loss_sites.dedup_by_key(|(_, node)| node.id());
        Self {
            losses,
            activation_returns,
            loss_sites,
        }
    }
}

#[derive(Debug, Clone)]
enum Binding<'t> {
    Produces(Origin<'t>),
    Loss(LossKind, String),
    Ambiguous,
}

impl Binding<'_> {
    fn same_kind(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Produces(a), Self::Produces(b)) => a.activation == b.activation,
            (Self::Loss(a, _), Self::Loss(b, _)) => a == b,
            _ => false,
        }
    }
}

struct Bindings<'t> {
    by_name: HashMap<String, Binding<'t>>,
    loss_sites: Vec<(LossKind, Node<'t>)>,
}

impl<'t> Bindings<'t> {
    fn collect(context: &Context<'t>, classes: &HashMap<String, ActivationReturn<'t>>) -> Self {
        let mut bindings = Self {
            by_name: HashMap::new(),
            loss_sites: Vec::new(),
        };
        for (left, right) in context.assignment_sides() {
            let Some(key) = binding_key(context, left) else {
                continue;
            };
            let Some(binding) = bindings.classify(context, right, classes) else {
                continue;
            };
            if let Binding::Loss(kind, _) = &binding {
                bindings.loss_sites.push((*kind, right));
            }
            let merged = match bindings.by_name.get(&key) {
                Some(existing) if !existing.same_kind(&binding) => Binding::Ambiguous,
                Some(existing) => existing.clone(),
                None => binding,
            };
            bindings.by_name.insert(key, merged);
        }
        bindings
    }

    /// What a right-hand side binds, if it is a module this analysis knows.
    fn classify(
        &self,
        context: &Context<'t>,
        value: Node<'t>,
        classes: &HashMap<String, ActivationReturn<'t>>,
    ) -> Option<Binding<'t>> {
        let file = context.source();
        let value = unparenthesized(value);
        if matches!(value.kind_name(), "identifier" | "attribute") {
            return self.by_name.get(&binding_key(context, value)?).cloned();
        }
        let call = Call::new(value)?;
        let name = call.callee_name(file);
        if let Some(activation) = Activation::from_constructor(name) {
            return Some(Binding::Produces(Origin {
                activation,
                node: value,
                via: None,
                model_class: None,
            }));
        }
        if let Some(kind) = LossKind::from_constructor(name) {
            let constructor = call.dotted_name(file).unwrap_or_else(|| name.to_owned());
            return Some(Binding::Loss(kind, constructor));
        }
        if name == "Sequential" {
            let last = call.positional().last().copied()?;
            let last_call = Call::new(last)?;
            let activation = Activation::from_constructor(last_call.callee_name(file))?;
            let (line, _) = file.position(last);
            let via = format!(
                "`nn.Sequential` ends in `{}` at line {line}",
                short_text(file, last)
            );
            return Some(Binding::Produces(Origin {
                activation,
                node: last,
                via: Some(via),
                model_class: None,
            }));
        }
        if let Some(summary) = classes.get(name) {
            let (line, _) = file.position(summary.origin.node);
            let via = format!(
                "`{}.{}` returns `{}` at line {line}",
                summary.class_name,
                summary.method_name,
                short_text(file, summary.origin.node)
            );
            return Some(Binding::Produces(Origin {
                activation: summary.origin.activation,
                node: summary.return_node,
                via: Some(via),
                model_class: Some(summary.class_name.clone()),
            }));
        }
        if MODULE_WRAPPERS.contains(&name) {
            return self.classify(context, call.argument(file, 0, "module")?, classes);
        }
        if matches!(
            call.method_name(file),
            Some("to" | "cuda" | "cpu" | "float" | "double" | "train" | "eval")
        ) {
            return self.classify(context, call.receiver()?, classes);
        }
        None
    }

    /// The binding of the name `node`, and the name as written.
    fn get(&self, context: &Context<'_>, node: Node<'_>) -> Option<(&Binding<'t>, String)> {
        let key = binding_key(context, node)?;
        let written = dotted_name(context, node)?;
        self.by_name.get(&key).map(|binding| (binding, written))
    }
}

/// The key a name is bound under: the dotted name, with `self.` attributes qualified by their
/// class (`Discriminator.self.main` and `Generator.self.main` are different modules).
fn binding_key(context: &Context<'_>, node: Node<'_>) -> Option<String> {
    let name = dotted_name(context, node)?;
    if !name.starts_with("self.") {
        return Some(name);
    }
    let class = context
        .enclosing_class(node)
        .and_then(|class| class.field("name"))
        .map_or("", |class_name| context.node_text(class_name));
    Some(format!("{class}.{name}"))
}

/// New values of names, `None` when a name stops holding probabilities.
type Updates<'t> = Vec<(String, Option<Origin<'t>>)>;

struct Walker<'a, 't> {
    file: &'a Context<'t>,
    bindings: &'a Bindings<'t>,
    locals: &'a LocalFunctions<'t>,
}

impl<'t> Walker<'_, 't> {
    /// Walks one function body (or the module) in source order, tracking which names hold
    /// probabilities, and reports loss calls and return statements that receive them.
    fn walk(
        &self,
        body: Node<'t>,
        on_loss: &mut dyn FnMut(LossOnActivation<'t>),
        on_return: &mut dyn FnMut(Node<'t>, Origin<'t>),
    ) {
        let mut values: HashMap<String, Origin<'t>> = HashMap::new();
        // An assignment's new binding takes effect once its right-hand side has been walked.
        let mut pending: Vec<(usize, Updates<'t>)> = Vec::new();
        for node in self.file.scope_descendants(body) {
            while pending
                .last()
                .is_some_and(|(end, _)| node.start_byte() >= *end)
            {
                if let Some((_, updates)) = pending.pop() {
                    apply(&mut values, updates);
                }
            }
            match node.kind_name() {
                "assignment" | "augmented_assignment" => {
                    let updates = self.assignment_updates(node, &values);
                    pending.push((node.end_byte(), updates));
                }
                "for_statement" | "for_in_clause" => {
                    if let Some(left) = node.field("left") {
                        for name in bound_names(left) {
                            values.remove(self.file.node_text(name));
                        }
                    }
                }
                "return_statement" => {
                    let value = node
                        .named_children(&mut node.walk())
                        .find(|child| child.kind_name() != "comment");
                    if let Some(origin) = value.and_then(|value| self.origin(value, &values)) {
                        on_return(node, origin);
                    }
                }
                "call" => {
                    let Some(call) = Call::new(node) else {
                        continue;
                    };
                    let Some((loss, loss_label, input)) = self.loss_call(&call) else {
                        continue;
                    };
                    if let Some(origin) = self.origin(input, &values)
                        && origin.activation == loss.conflicting_activation()
                    {
                        on_loss(LossOnActivation {
                            loss,
                            loss_label,
                            call: node,
                            input,
                            origin,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    fn assignment_updates(
        &self,
        assignment: Node<'t>,
        values: &HashMap<String, Origin<'t>>,
    ) -> Updates<'t> {
        let Some(left) = assignment.field("left") else {
            return Vec::new();
        };
        let single_target = matches!(left.kind_name(), "identifier" | "attribute");
        if assignment.kind_name() == "assignment" && single_target {
            let origin = assignment
                .field("right")
                .and_then(|right| self.origin(right, values));
            return vec![(self.file.node_text(left).to_owned(), origin)];
        }
        bound_names(left)
            .into_iter()
            .map(|name| (self.file.node_text(name).to_owned(), None))
            .collect()
    }

    /// Whether `expression` holds probabilities, and where they were made.
    fn origin(
        &self,
        expression: Node<'t>,
        values: &HashMap<String, Origin<'t>>,
    ) -> Option<Origin<'t>> {
        let expression = unparenthesized(expression);
        match expression.kind_name() {
            "identifier" | "attribute" => values.get(self.file.node_text(expression)).cloned(),
            "subscript" => self.origin(expression.field("value")?, values),
            "call" => self.call_origin(&Call::new(expression)?, values),
            _ => None,
        }
    }

    fn call_origin(
        &self,
        call: &Call<'t>,
        values: &HashMap<String, Origin<'t>>,
    ) -> Option<Origin<'t>> {
        // A bound module says what its call returns, whatever its name suggests.
        if let Some((binding, _)) = self.bindings.get(self.file, call.function) {
            return match binding {
                Binding::Produces(origin) => Some(Origin {
                    node: call.node,
                    ..origin.clone()
                }),
                Binding::Loss(..) | Binding::Ambiguous => None,
            };
        }
        // `nn.Softmax(dim=1)(x)`
        if let Some(constructor) = Call::new(call.function) {
            let activation = Activation::from_constructor(constructor.callee_name(self.file))?;
            return Some(Origin {
                activation,
                node: call.node,
                via: None,
                model_class: None,
            });
        }
        let name = call.callee_name(self.file);
        if let Some(activation) = Activation::from_function(name) {
            return Some(Origin {
                activation,
                node: call.node,
                via: None,
                model_class: None,
            });
        }
        if VALUE_PRESERVING_METHODS.contains(&name) {
            // `probs.view(-1, C)` or `torch.clamp(probs, 1e-7, 1)`.
            let source = match call.receiver() {
                Some(receiver) if !is_module_path(self.file, receiver) => receiver,
                _ => call.argument(self.file, 0, "input")?,
            };
            return self.origin(source, values);
        }
        None
    }

    /// The loss a call computes, how to name it, and its input argument.
    fn loss_call(&self, call: &Call<'t>) -> Option<(LossKind, String, Node<'t>)> {
        if let Some((binding, key)) = self.bindings.get(self.file, call.function) {
            let Binding::Loss(kind, constructor) = binding else {
                return None;
            };
            let input = call.argument(self.file, 0, kind.input_keyword())?;
            return Some((*kind, format!("`{key}` (`{constructor}`)"), input));
        }
        if let Some(constructor) = Call::new(call.function) {
            let kind = LossKind::from_constructor(constructor.callee_name(self.file))?;
            let input = call.argument(self.file, 0, kind.input_keyword())?;
            return Some((
                kind,
                format!("`{}`", short_text(self.file, constructor.node)),
                input,
            ));
        }
        let kind = LossKind::from_function(call.callee_name(self.file))?;
        // A function of that name written in this file (or a method) may expect anything.
        let user_defined = match call.receiver() {
            None => self.locals.is_defined(call.callee_name(self.file)),
            Some(receiver) => !is_module_path(self.file, receiver),
        };
        if user_defined {
            return None;
        }
        let input = call.argument(self.file, 0, kind.input_keyword())?;
        Some((
            kind,
            format!("`{}`", short_text(self.file, call.function)),
            input,
        ))
    }
}

fn apply<'t>(values: &mut HashMap<String, Origin<'t>>, updates: Updates<'t>) {
    for (name, origin) in updates {
        match origin {
            Some(origin) => values.insert(name, origin),
            None => values.remove(&name),
        };
    }
}

/// `F`, `torch.nn.functional`, `optax`, `jax.nn`: a receiver that names a module, not a value.
/// Decided by convention, since imports may alias anything: modules are the usual short names.
fn is_module_path(file: &SourceFile, receiver: Node<'_>) -> bool {
    let Some(path) = dotted_name(file, receiver) else {
        return false;
    };
    let root = path.split('.').next().unwrap_or("");
    matches!(
        root,
        "F" | "torch"
            | "nn"
            | "functional"
            | "optax"
            | "jax"
            | "jnp"
            | "tf"
            | "special"
            | "np"
            | "numpy"
            | "scipy"
    )
}

/// Model classes whose `forward` or `__call__` returns probabilities on every path.
fn class_activation_returns<'t>(
    file: &Context<'t>,
    bindings: &Bindings<'t>,
    locals: &LocalFunctions<'t>,
) -> Vec<ActivationReturn<'t>> {
    let walker = Walker {
        file,
        bindings,
        locals,
    };
    let mut summaries = Vec::new();
    for class in file.nodes_of_kind("class_definition") {
        let (Some(name), Some(body)) = (class.field("name"), class.field("body")) else {
            continue;
        };
        let mut cursor = body.walk();
        let methods =
            body.named_children(&mut cursor)
                .filter_map(|statement| match statement.kind_name() {
                    "function_definition" => Some(statement),
                    "decorated_definition" => statement.field("definition"),
                    _ => None,
                });
        for method in methods {
            let Some(method_name) = method.field("name").map(|node| file.node_text(node)) else {
                continue;
            };
            if !matches!(method_name, "forward" | "__call__") {
                continue;
            }
            let Some(method_body) = method.field("body") else {
                continue;
            };
            let mut unconditional = None;
            walker.walk(method_body, &mut |_| {}, &mut |return_node, origin| {
                if unconditional.is_none() && !is_conditional(file, return_node, method) {
                    unconditional = Some((return_node, origin));
                }
            });
            if let Some((return_node, origin)) = unconditional {
                summaries.push(ActivationReturn {
                    class_name: file.node_text(name).to_owned(),
                    method_name: method_name.to_owned(),
                    return_node,
                    origin,
                });
            }
        }
    }
    summaries
}

/// Whether `node` runs only under a condition inside `function` (a `return` under `if not
/// self.training:` is how models legitimately return probabilities at inference).
fn is_conditional(file: &Context<'_>, node: Node<'_>, function: Node<'_>) -> bool {
    file.ancestors(node)
        .take_while(|ancestor| ancestor.id() != function.id())
        .any(|ancestor| {
            matches!(
                ancestor.kind_name(),
                "if_statement" | "match_statement" | "conditional_expression"
            )
        })
}

/// How a message names the probabilities reaching a loss: the activation call itself, or the
/// variable holding it and where it was made.
pub fn describe_input(file: &SourceFile, loss: &LossOnActivation<'_>) -> String {
    let origin_text = short_text(file, loss.origin.node);
    let (origin_line, _) = file.position(loss.origin.node);
    if loss.input.id() == loss.origin.node.id() {
        return match &loss.origin.via {
            Some(via) => format!("`{origin_text}` returns probabilities (its {via})"),
            None => format!("`{origin_text}` gives probabilities"),
        };
    }
    let input_text = short_text(file, loss.input);
    match &loss.origin.via {
        Some(via) => {
            format!("`{input_text}` comes from `{origin_text}` (line {origin_line}), whose {via}")
        }
        None => format!("`{input_text}` holds `{origin_text}` (line {origin_line})"),
    }
}

/// The first loss site of the file that conflicts with `activation`, for class-level findings.
pub fn first_conflicting_loss<'t>(
    flows: &Flows<'t>,
    activation: Activation,
) -> Option<(LossKind, Node<'t>)> {
    flows
        .loss_sites
        .iter()
        .copied()
        .find(|(kind, _)| kind.conflicting_activation() == activation)
}
