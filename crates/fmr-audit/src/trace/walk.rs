//! The walks: backward from a read to the bindings and sources behind it, forward from a value
//! to everything that consumes it. Steps are recorded as a tree (each step knows the one it was
//! reached from) and flattened at the end, sources first.

use std::collections::HashSet;

use tree_sitter::Node;

use super::classify::{
    function_kind, is_constant, is_literal, is_metadata, is_not_data_function,
    is_part_of_normalization, is_source_call, is_statistic, method_kind, names_model,
    operator_kind, subscript_kind,
};
use super::project::{CallSite, Definition, Project};
use super::query::{Mention, is_loss};
use super::scope::{
    Binding, BindingKind, always_runs_before, bindings, is_module_like, mutated_name, name_text,
    parameters, pattern_targets, reaching, reaching_in_scope, reads, scope_of,
};
use super::{Direction, StepKind, TraceStep, shape};
use crate::Context;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, string_value, unparenthesized};

/// At most this many steps in one trace.
const MAX_STEPS: usize = 200;
/// At most this many steps between the traced mention and any step.
const MAX_DEPTH: usize = 40;
/// At most this many call sites of one function are followed.
const MAX_CALL_SITES: usize = 6;
/// At most this many data inputs of one operation are followed backward.
const MAX_INPUTS: usize = 4;
/// At most this many functions deep (calls entered and not yet returned from).
const MAX_CALL_NESTING: usize = 8;
/// At most this many walk functions on the stack at once.
const MAX_NESTING: usize = 160;
/// At most this many nested positions (`x[0][1]`, items of items) in a tracked value.
const MAX_PATH: usize = 6;

/// Keyword arguments that configure an operation rather than pass it data.
const CONFIGURATION_KEYWORDS: &[&str] = &[
    "dtype",
    "device",
    "axis",
    "dim",
    "keepdim",
    "keepdims",
    "batch_size",
    "shuffle",
    "num_workers",
    "drop_last",
    "pin_memory",
    "random_state",
    "test_size",
    "train_size",
    "stratify",
    "requires_grad",
    "reduction",
    "generator",
    "sampler",
    "collate_fn",
    "persistent_workers",
    "non_blocking",
    "copy",
    "out",
    "seed",
    "weight",
    "ignore_index",
    "label_smoothing",
    "pos_weight",
];

/// Methods whose positional arguments carry the data (the receiver is a fitted transformer, a
/// model or a tokenizer): `scaler.transform(x)`, `model.predict(x)`.
const ARGUMENT_METHODS: &[&str] = &[
    "transform",
    "fit_transform",
    "inverse_transform",
    "predict",
    "predict_proba",
    "decision_function",
    "encode",
    "decode",
    "forward",
    "__call__",
    "apply",
    "tokenize",
    "encode_plus",
    "batch_encode_plus",
    "fit",
    "apply_gradients",
];

/// A position inside a value: an element of a tuple, a key of a dict, an item of an iterable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Selector {
    /// One item of an iterable: a batch of a loader, a sample of a dataset.
    Item,
    Index(usize),
    Key(String),
}

type Path = Vec<Selector>;

/// The calls the trace entered and has not returned from, innermost last: a parameter of the
/// innermost one maps to that call's argument only (context-sensitive tracing).
type Calls<'s> = Vec<(Definition<'s>, CallSite<'s>)>;

pub(crate) struct Tracer<'a, 's> {
    project: &'a Project<'s>,
    /// Steps in the order found; `parent` indexes this list until [`Tracer::finish`] orders it.
    steps: Vec<TraceStep>,
    seen_bindings: HashSet<(usize, usize, String, Path)>,
    seen_reads: HashSet<(usize, usize, Path)>,
    notes: Vec<String>,
    /// Walk functions currently on the stack.
    nesting: usize,
}

impl<'a, 's> Tracer<'a, 's> {
    pub(crate) fn new(project: &'a Project<'s>) -> Self {
        Self {
            project,
            steps: Vec::new(),
            seen_bindings: HashSet::new(),
            seen_reads: HashSet::new(),
            notes: Vec::new(),
            nesting: 0,
        }
    }

    /// Traces from `mention` both ways.
    pub(crate) fn run(&mut self, mention: &Mention<'s>) {
        let project = self.project;
        let context = project.context(mention.file);
        let Some(name) = name_text(context, mention.node) else {
            return;
        };
        let scope = scope_of(context, mention.node);
        let own_binding = self
            .class_or_scope_bindings(mention.file, mention.node, &name)
            .into_iter()
            .find(|binding| binding.target.id() == mention.node.id());
        match own_binding {
            Some(binding) => {
                self.back_binding(None, mention.file, &binding, Vec::new(), &Vec::new());
                self.forward_from_binding(None, mention.file, &binding, Vec::new(), &Vec::new());
            }
            None => {
                self.back_read(
                    None,
                    mention.file,
                    mention.node,
                    &name,
                    Vec::new(),
                    &Vec::new(),
                );
                self.forward_value(
                    None,
                    mention.file,
                    scope,
                    &name,
                    mention.node.start_byte(),
                    Vec::new(),
                    &Vec::new(),
                );
            }
        }
    }

    /// The steps, backward ones first (each branch from its source to the mention), then the
    /// forward ones in the order the value meets them; and the notes.
    pub(crate) fn finish(self) -> (Vec<TraceStep>, Vec<String>) {
        let count = self.steps.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
        let mut roots = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            match step.parent {
                Some(parent) if parent < index => children[parent].push(index),
                _ => roots.push(index),
            }
        }
        let mut order = Vec::with_capacity(count);
        for direction in [Direction::Backward, Direction::Forward] {
            for root in roots
                .iter()
                .copied()
                .filter(|root| self.steps[*root].direction == direction)
            {
                if direction == Direction::Backward {
                    post_order(root, &children, &mut order);
                } else {
                    pre_order(root, &children, &mut order);
                }
            }
        }
        let mut new_index = vec![0usize; count];
        for (position, old) in order.iter().enumerate() {
            new_index[*old] = position;
        }
        let mut steps: Vec<Option<TraceStep>> = self.steps.into_iter().map(Some).collect();
        let ordered = order
            .iter()
            .filter_map(|old| steps[*old].take())
            .map(|mut step| {
                step.parent = step.parent.map(|parent| new_index[parent]);
                step
            })
            .collect();
        (ordered, self.notes)
    }

    /// Whether the walk may go one level deeper: nested walks and element paths are bounded, so
    /// odd code (values packed into themselves, long call chains) cannot exhaust the stack.
    fn enter(&mut self, path: &Path) -> bool {
        if self.nesting >= MAX_NESTING {
            self.note(format!(
                "stopped {MAX_NESTING} levels deep; trace from a nearer mention to see further"
            ));
            return false;
        }
        if path.len() > MAX_PATH {
            return false;
        }
        self.nesting += 1;
        true
    }

    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Records a step at `at`; `None` when a limit is reached (the walk then stops there).
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        parent: Option<usize>,
        file: usize,
        at: Node<'s>,
        direction: Direction,
        kind: StepKind,
        via: &str,
        detail: String,
        value: Option<Node<'s>>,
    ) -> Option<usize> {
        let depth = parent.map_or(1, |parent| self.steps[parent].depth + 1);
        if self.steps.len() >= MAX_STEPS {
            self.note(format!(
                "stopped after {MAX_STEPS} steps; trace from a later or earlier mention to see further"
            ));
            return None;
        }
        if depth > MAX_DEPTH {
            self.note(format!(
                "stopped at {MAX_DEPTH} steps from the traced mention"
            ));
            return None;
        }
        let project = self.project;
        let context = project.context(file);
        let (line, column) = context.position(at);
        // The same operation reached again (two ways into one value): reuse it.
        if let Some(existing) = self.steps.iter().position(|step| {
            step.direction == direction
                && step.file == context.display_path()
                && step.line == line
                && step.column == column
                && step.kind == kind
                && step.via == via
                && step.detail == detail
        }) {
            // Reaching a step again through itself is a cycle, not a second way in.
            let mut ancestor = parent;
            while let Some(at) = ancestor {
                if at == existing {
                    return None;
                }
                ancestor = self.steps[at].parent;
            }
            return Some(existing);
        }
        let shape = value.and_then(|value| shape::describe(context, value));
        self.steps.push(TraceStep {
            file: context.display_path().to_owned(),
            line,
            column,
            snippet: context.line_text(line).trim().to_owned(),
            direction,
            kind,
            via: via.to_owned(),
            detail,
            shape,
            depth,
            parent,
        });
        Some(self.steps.len() - 1)
    }

    // ------------------------------------------------------------------ backward

    /// The bindings of `name` at `node`: for `self.x`, the stores in every method of the class
    /// (the ones in the same method that reach `node` first); else the scope's own.
    fn class_or_scope_bindings(&self, file: usize, node: Node<'s>, name: &str) -> Vec<Binding<'s>> {
        let project = self.project;
        let context = project.context(file);
        if let Some(class) = self_attribute_class(context, node, name) {
            let mut found = Vec::new();
            for method in class_methods(project, file, class) {
                found.extend(
                    bindings(context, method, name)
                        .into_iter()
                        .filter(|binding| binding.kind != BindingKind::Param),
                );
            }
            return found;
        }
        bindings(context, scope_of(context, node), name)
    }

    /// Where the value of `name` read at `node` comes from.
    fn back_read(
        &mut self,
        parent: Option<usize>,
        file: usize,
        node: Node<'s>,
        name: &str,
        path: Path,
        calls: &Calls<'s>,
    ) {
        if self.enter(&path) {
            self.back_read_within(parent, file, node, name, path, calls);
            self.nesting -= 1;
        }
    }

    fn back_read_within(
        &mut self,
        parent: Option<usize>,
        file: usize,
        node: Node<'s>,
        name: &str,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let found = if let Some(class) = self_attribute_class(context, node, name) {
            let method = scope_of(context, node);
            let local = reaching_in_scope(context, method, name, node.start_byte());
            if local.is_empty() {
                class_methods(project, file, class)
                    .into_iter()
                    .filter(|other| other.id() != method.id())
                    .flat_map(|other| {
                        bindings(context, other, name)
                            .into_iter()
                            .filter(|binding| binding.kind != BindingKind::Param)
                    })
                    .collect()
            } else {
                local
            }
        } else {
            reaching(context, node, name)
        };
        if found.is_empty() {
            // `digits.target` with no store of its own: follow `digits`, remembering the field.
            if node.kind_name() == "attribute"
                && let (Some(object), Some(field)) = (node.field("object"), node.field("attribute"))
                && let Some(object_name) = name_text(context, object)
            {
                let mut inner = vec![Selector::Key(context.node_text(field).to_owned())];
                inner.extend(path);
                self.back_read(parent, file, object, &object_name, inner, calls);
                return;
            }
            let (line, _) = context.position(node);
            self.note(format!(
                "no assignment of `{name}` reaches {}:{line} (a builtin, a global set elsewhere, or code the tracer cannot follow)",
                context.display_path()
            ));
            return;
        }
        for binding in found {
            self.back_binding(parent, file, &binding, path.clone(), calls);
        }
    }

    /// Where a binding's value comes from.
    fn back_binding(
        &mut self,
        parent: Option<usize>,
        file: usize,
        binding: &Binding<'s>,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let via = name_text(context, binding.target)
            .unwrap_or_else(|| context.node_text(binding.target).to_owned());
        let key = (file, binding.statement.id(), via.clone(), path.clone());
        if !self.seen_bindings.insert(key) {
            return;
        }
        let back = Direction::Backward;
        match binding.kind {
            BindingKind::Assign | BindingKind::Walrus | BindingKind::With => {
                let Some(value) = binding.value else { return };
                let mut full: Path = binding.path.iter().map(|at| Selector::Index(*at)).collect();
                full.extend(path);
                let top = Top {
                    via: via.clone(),
                    statement: binding.statement,
                    attribute: binding.target.kind_name() == "attribute",
                };
                self.back_value(parent, file, value, full, Some(top), calls);
            }
            BindingKind::AugAssign => {
                let kind = operator_kind(context, binding.statement);
                let Some(step) = self.push(
                    parent,
                    file,
                    binding.statement,
                    back,
                    kind,
                    &via,
                    short_text(context, binding.statement),
                    Some(binding.target),
                ) else {
                    return;
                };
                if let Some(value) = binding.value
                    && !is_literal(value)
                {
                    self.back_value(Some(step), file, value, Vec::new(), None, calls);
                }
                self.back_earlier(step, file, binding, &via, path, calls);
            }
            BindingKind::For => {
                let Some(iterable) = binding.value else {
                    return;
                };
                let header = binding
                    .statement
                    .field("left")
                    .map_or_else(String::new, |left| {
                        format!(
                            "for {} in {}",
                            context.node_text(left),
                            short_text(context, iterable)
                        )
                    });
                let Some(step) = self.push(
                    parent,
                    file,
                    binding.target,
                    back,
                    StepKind::Loader,
                    &via,
                    header,
                    Some(binding.target),
                ) else {
                    return;
                };
                let mut full = vec![Selector::Item];
                full.extend(binding.path.iter().map(|at| Selector::Index(*at)));
                full.extend(path);
                self.back_value(Some(step), file, iterable, full, None, calls);
            }
            BindingKind::Param => self.back_parameter(parent, file, binding, &via, path, calls),
            BindingKind::Import => {
                let Some((source, imported)) = project.imported_from(file, &via) else {
                    let module = project
                        .import_of(file, &via)
                        .map_or_else(|| via.clone(), |imported| imported.module.clone());
                    self.push(
                        parent,
                        file,
                        binding.statement,
                        back,
                        StepKind::Source,
                        &via,
                        format!("imported from `{module}`"),
                        None,
                    );
                    return;
                };
                let Some(step) = self.push(
                    parent,
                    file,
                    binding.statement,
                    back,
                    StepKind::Assign,
                    &via,
                    format!("imported from {}", project.display(source)),
                    None,
                ) else {
                    return;
                };
                let source_context = project.context(source);
                let root = source_context.source().root();
                let found = reaching_in_scope(source_context, root, &imported, root.end_byte());
                if found.is_empty() {
                    self.note(format!(
                        "`{imported}` is imported from {}, which does not assign it at module level",
                        project.display(source)
                    ));
                }
                for binding in found {
                    self.back_binding(Some(step), source, &binding, path.clone(), calls);
                }
            }
            BindingKind::Definition => {
                let what = if binding.statement.kind_name() == "class_definition" {
                    "class"
                } else {
                    "def"
                };
                self.push(
                    parent,
                    file,
                    binding.statement,
                    back,
                    StepKind::Source,
                    &via,
                    format!("{what} {via}"),
                    None,
                );
            }
            BindingKind::Mutation => {
                let mutating_call = (binding.statement.kind_name() == "expression_statement")
                    .then(|| binding.value.and_then(|value| context.call_at(value)))
                    .flatten();
                let (kind, added) = match mutating_call {
                    Some(call) => {
                        let method_on_value = call
                            .receiver()
                            .is_some_and(|receiver| receiver.id() == binding.target.id());
                        let kind = if method_on_value {
                            method_kind(context, &call, call.callee_name(context))
                                .unwrap_or(StepKind::Mutate)
                        } else {
                            function_kind(context, &call)
                        };
                        let added =
                            matches!(call.callee_name(context), "append" | "extend" | "insert")
                                .then(|| call.positional().last().copied())
                                .flatten();
                        (kind, added)
                    }
                    // `x[mask] = value`, `x[i] += value`
                    None => (StepKind::Mutate, binding.value),
                };
                let Some(step) = self.push(
                    parent,
                    file,
                    binding.statement,
                    back,
                    kind,
                    &via,
                    short_text(context, binding.statement),
                    None,
                ) else {
                    return;
                };
                if let Some(added) = added
                    && !is_literal(added)
                {
                    self.back_value(Some(step), file, added, Vec::new(), None, calls);
                }
                self.back_earlier(step, file, binding, &via, path, calls);
            }
        }
    }

    /// The value a changing binding (`x += 1`, `np.random.shuffle(x)`) started from.
    fn back_earlier(
        &mut self,
        step: usize,
        file: usize,
        binding: &Binding<'s>,
        via: &str,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let scope = scope_of(context, binding.statement);
        let earlier = reaching_in_scope(context, scope, via, binding.statement.start_byte());
        if earlier.is_empty() {
            self.back_read(Some(step), file, binding.target, via, path, calls);
            return;
        }
        for earlier in earlier {
            self.back_binding(Some(step), file, &earlier, path.clone(), calls);
        }
    }

    /// A parameter: the arguments of its call sites (only the call the trace came through, when
    /// it came through one), or its default.
    fn back_parameter(
        &mut self,
        parent: Option<usize>,
        file: usize,
        binding: &Binding<'s>,
        via: &str,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let function = scope_of(context, binding.target);
        let function_name = function
            .field("name")
            .map_or("<lambda>", |name| context.node_text(name));
        let Some(step) = self.push(
            parent,
            file,
            binding.target,
            Direction::Backward,
            StepKind::Param,
            via,
            format!("parameter `{via}` of `{function_name}`"),
            None,
        ) else {
            return;
        };
        if function.kind_name() != "function_definition" {
            return;
        }
        let definition = Definition {
            file,
            node: function,
        };
        let parameter = parameters(function)
            .into_iter()
            .find(|parameter| parameter.name.id() == binding.target.id());
        let Some(parameter) = parameter else { return };
        let (sites, outer) = match calls.last() {
            Some((entered, site)) if entered.same(&definition) => {
                (vec![*site], calls[..calls.len() - 1].to_vec())
            }
            _ => (project.call_sites(definition), Vec::new()),
        };
        if sites.is_empty() {
            if let Some(batches) = self.framework_batches(file, function, via) {
                let mut full = vec![Selector::Item];
                full.extend(path);
                self.back_value(Some(step), batches.0, batches.1, full, None, &Vec::new());
                return;
            }
            match parameter.default {
                Some(default) => {
                    self.back_value(Some(step), file, default, path, None, &outer);
                }
                None => self.note(format!(
                    "no call of `{function_name}` ({}:{}) found in the project: where `{via}` comes from is not visible",
                    context.display_path(),
                    context.position(function).0
                )),
            }
            return;
        }
        if sites.len() > MAX_CALL_SITES {
            self.note(format!(
                "`{function_name}` is called at {} places; followed the first {MAX_CALL_SITES}",
                sites.len()
            ));
        }
        for site in sites.into_iter().take(MAX_CALL_SITES) {
            let site_context = project.context(site.file);
            let argument = parameter.position.and_then(|position| {
                position.checked_sub(site.skipped).and_then(|position| {
                    site.call
                        .argument(site_context, position, context.node_text(parameter.name))
                })
            });
            let argument = argument.or_else(|| {
                site.call
                    .keyword(site_context, context.node_text(parameter.name))
            });
            let Some(argument) = argument else {
                if let Some(default) = parameter.default {
                    self.back_value(Some(step), file, default, path.clone(), None, &outer);
                }
                continue;
            };
            let argument_via = root_name(site_context, argument)
                .unwrap_or_else(|| short_text(site_context, argument));
            let Some(call_step) = self.push(
                Some(step),
                site.file,
                argument,
                Direction::Backward,
                StepKind::Call,
                &argument_via,
                short_text(site_context, site.call.node),
                Some(argument),
            ) else {
                continue;
            };
            self.back_value(
                Some(call_step),
                site.file,
                argument,
                path.clone(),
                None,
                &outer,
            );
        }
    }

    /// For `training_step(self, batch, batch_idx)` of a Lightning module, called by the
    /// framework: the loader the class's `train_dataloader` returns.
    fn framework_batches(
        &self,
        file: usize,
        function: Node<'s>,
        via: &str,
    ) -> Option<(usize, Node<'s>)> {
        let project = self.project;
        let context = project.context(file);
        let name = context.node_text(function.field("name")?);
        let loader_method = match name {
            "training_step" => "train_dataloader",
            "validation_step" => "val_dataloader",
            "test_step" => "test_dataloader",
            "predict_step" => "predict_dataloader",
            _ => return None,
        };
        let batch = parameters(function)
            .get(1)
            .map(|parameter| parameter.name)?;
        if context.node_text(batch) != via {
            return None;
        }
        let class = project.class_of_method(file, function)?;
        let method = project.method(file, class, loader_method)?;
        let method_context = project.context(method.file);
        let returned = method_context
            .scope_descendants(method.node.field("body")?)
            .find(|node| node.kind_name() == "return_statement")?
            .named_child(0)?;
        Some((method.file, returned))
    }

    /// Where the value of expression `value` (or the part of it at `path`) comes from. `top`
    /// names the binding when `value` is its right-hand side, so the binding's own step carries
    /// the bound name.
    fn back_value(
        &mut self,
        parent: Option<usize>,
        file: usize,
        value: Node<'s>,
        path: Path,
        top: Option<Top<'s>>,
        calls: &Calls<'s>,
    ) {
        if self.enter(&path) {
            self.back_value_within(parent, file, value, path, top, calls);
            self.nesting -= 1;
        }
    }

    /// Traces each of the first [`MAX_INPUTS`] data inputs of a step back to its source, as a
    /// whole value (no element path, no enclosing call).
    fn back_inputs(
        &mut self,
        step: Option<usize>,
        file: usize,
        inputs: Vec<Node<'s>>,
        calls: &Calls<'s>,
    ) {
        for input in inputs.into_iter().take(MAX_INPUTS) {
            self.back_value(step, file, input, Vec::new(), None, calls);
        }
    }

    fn back_value_within(
        &mut self,
        parent: Option<usize>,
        file: usize,
        value: Node<'s>,
        path: Path,
        top: Option<Top<'s>>,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let value = unparenthesized(value);
        let back = Direction::Backward;
        match value.kind_name() {
            "identifier" | "attribute" if name_text(context, value).is_some() => {
                if value.kind_name() == "attribute"
                    && value
                        .field("attribute")
                        .is_some_and(|field| is_metadata(context.node_text(field)))
                {
                    return;
                }
                let name = name_text(context, value).unwrap_or_default();
                let parent = match &top {
                    Some(top) => {
                        let kind = if top.attribute {
                            StepKind::Attribute
                        } else {
                            StepKind::Assign
                        };
                        match self.push(
                            parent,
                            file,
                            top.statement,
                            back,
                            kind,
                            &top.via,
                            short_text(context, top.statement),
                            Some(value),
                        ) {
                            Some(step) => Some(step),
                            None => return,
                        }
                    }
                    None => parent,
                };
                self.back_read(parent, file, value, &name, path, calls);
            }
            "attribute" => {
                let (Some(object), Some(field)) = (value.field("object"), value.field("attribute"))
                else {
                    return;
                };
                if is_metadata(context.node_text(field)) {
                    return;
                }
                let mut inner = vec![Selector::Key(context.node_text(field).to_owned())];
                inner.extend(path);
                self.back_value(parent, file, object, inner, top, calls);
            }
            "subscript" => {
                let Some(object) = value.field("value") else {
                    return;
                };
                let mut cursor = value.walk();
                let indices: Vec<Node<'s>> = value
                    .children_by_field_name("subscript", &mut cursor)
                    .collect();
                let selector = match indices.as_slice() {
                    [only] => constant_selector(context, *only),
                    _ => None,
                };
                let kind = if selector.is_some() {
                    StepKind::Index
                } else {
                    subscript_kind(context, value)
                };
                let via = top
                    .as_ref()
                    .map_or_else(|| root_name_or_text(context, object), |top| top.via.clone());
                let Some(step) = self.push(
                    parent,
                    file,
                    value,
                    back,
                    kind,
                    &via,
                    short_text(context, value),
                    Some(value),
                ) else {
                    return;
                };
                let inner = match selector {
                    Some(selector) => {
                        let mut inner = vec![selector];
                        inner.extend(path);
                        inner
                    }
                    None => path,
                };
                self.back_value(Some(step), file, object, inner, None, calls);
            }
            "call" => {
                if let Some(call) = context.call_at(value) {
                    self.back_call(parent, file, call, path, top, calls);
                }
            }
            "binary_operator"
            | "boolean_operator"
            | "comparison_operator"
            | "unary_operator"
            | "not_operator" => {
                let kind = match value.kind_name() {
                    "binary_operator" => operator_kind(context, value),
                    _ => StepKind::Arithmetic,
                };
                let step = if is_part_of_normalization(context, value) && top.is_none() {
                    parent
                } else {
                    let via = top
                        .as_ref()
                        .map_or_else(|| root_name_or_text(context, value), |top| top.via.clone());
                    match self.push(
                        parent,
                        file,
                        value,
                        back,
                        kind,
                        &via,
                        short_text(context, value),
                        Some(value),
                    ) {
                        Some(step) => Some(step),
                        None => return,
                    }
                };
                let mut cursor = value.walk();
                let operands: Vec<Node<'s>> = value
                    .named_children(&mut cursor)
                    .filter(|operand| {
                        value
                            .field("operator")
                            .is_none_or(|operator| operator.id() != operand.id())
                    })
                    .filter(|operand| {
                        !is_constant(context, *operand) && operand.kind_name() != "comment"
                    })
                    .filter(|operand| {
                        kind != StepKind::Normalize
                            || value
                                .field("left")
                                .is_some_and(|left| left.id() == operand.id())
                            || !is_statistic(context, *operand)
                    })
                    .collect();
                self.back_inputs(step, file, operands, calls);
            }
            "tuple" | "list" | "expression_list" => {
                let elements = named_elements(value);
                match path.first() {
                    Some(Selector::Index(at)) => {
                        if let Some(element) = elements.get(*at) {
                            self.back_value(parent, file, *element, path[1..].to_vec(), top, calls);
                        }
                    }
                    _ => {
                        let parent = self.top_step(parent, file, value, top.as_ref());
                        for element in elements
                            .into_iter()
                            .filter(|element| !is_literal(*element))
                            .take(MAX_INPUTS)
                        {
                            self.back_value(parent, file, element, Vec::new(), None, calls);
                        }
                    }
                }
            }
            "dictionary" => {
                let mut cursor = value.walk();
                let pairs: Vec<Node<'s>> = value
                    .named_children(&mut cursor)
                    .filter(|pair| pair.kind_name() == "pair")
                    .collect();
                if let Some(Selector::Key(key)) = path.first() {
                    let chosen = pairs.iter().find(|pair| {
                        pair.field("key")
                            .and_then(|node| string_value(context, node))
                            .is_some_and(|text| text == key)
                    });
                    if let Some(found) = chosen.and_then(|pair| pair.field("value")) {
                        self.back_value(parent, file, found, path[1..].to_vec(), top, calls);
                        return;
                    }
                }
                let parent = self.top_step(parent, file, value, top.as_ref());
                for found in pairs
                    .iter()
                    .filter_map(|pair| pair.field("value"))
                    .take(MAX_INPUTS)
                {
                    if !is_literal(found) {
                        self.back_value(parent, file, found, Vec::new(), None, calls);
                    }
                }
            }
            "conditional_expression" => {
                let mut cursor = value.walk();
                let branches: Vec<Node<'s>> = value.named_children(&mut cursor).collect();
                let parent = self.top_step(parent, file, value, top.as_ref());
                // `a if condition else b`: the first and last children are the values.
                for branch in [branches.first(), branches.last()].into_iter().flatten() {
                    if !is_literal(*branch) {
                        self.back_value(parent, file, *branch, path.clone(), None, calls);
                    }
                }
            }
            "list_comprehension"
            | "generator_expression"
            | "set_comprehension"
            | "dictionary_comprehension" => {
                let parent = self.top_step(parent, file, value, top.as_ref());
                let mut cursor = value.walk();
                let iterables: Vec<Node<'s>> = value
                    .named_children(&mut cursor)
                    .filter(|child| child.kind_name() == "for_in_clause")
                    .filter_map(|clause| clause.field("right"))
                    .collect();
                for iterable in iterables {
                    self.back_value(parent, file, iterable, Vec::new(), None, calls);
                }
            }
            "await" => {
                if let Some(inner) = value.named_child(0) {
                    self.back_value(parent, file, inner, path, top, calls);
                }
            }
            _ if is_literal(value) => {
                let via = top
                    .as_ref()
                    .map_or_else(|| short_text(context, value), |top| top.via.clone());
                self.push(
                    parent,
                    file,
                    value,
                    back,
                    StepKind::Source,
                    &via,
                    format!("literal {}", short_text(context, value)),
                    Some(value),
                );
            }
            _ => {}
        }
    }

    /// The step for a binding whose value is a container or a choice: an `assign` step at the
    /// statement, or the parent unchanged when there is no binding.
    fn top_step(
        &mut self,
        parent: Option<usize>,
        file: usize,
        value: Node<'s>,
        top: Option<&Top<'s>>,
    ) -> Option<usize> {
        let Some(top) = top else { return parent };
        let project = self.project;
        let context = project.context(file);
        self.push(
            parent,
            file,
            top.statement,
            Direction::Backward,
            StepKind::Assign,
            &top.via,
            short_text(context, top.statement),
            Some(value),
        )
        .or(parent)
    }

    /// Where the result of `call` comes from.
    fn back_call(
        &mut self,
        parent: Option<usize>,
        file: usize,
        call: Call<'s>,
        path: Path,
        top: Option<Top<'s>>,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let back = Direction::Backward;
        let callee = call.callee_name(context);
        let via_or = |fallback: String| top.as_ref().map_or(fallback, |top| top.via.clone());
        let detail = short_text(context, call.node);

        if let Some(definition) = project.callee(file, &call) {
            self.back_project_call(parent, file, call, definition, path, top, calls);
            return;
        }
        if is_loss(context, &call) {
            let Some(step) = self.push(
                parent,
                file,
                call.node,
                back,
                StepKind::Loss,
                &via_or(callee.to_owned()),
                detail,
                Some(call.node),
            ) else {
                return;
            };
            let inputs: Vec<Node<'s>> = [
                call.argument(context, 0, "input"),
                call.argument(context, 1, "target"),
            ]
            .into_iter()
            .flatten()
            .collect();
            for input in inputs {
                self.back_value(Some(step), file, input, Vec::new(), None, calls);
            }
            return;
        }
        if is_source_call(context, &call) {
            let via = via_or(callee.to_owned());
            self.push(
                parent,
                file,
                call.node,
                back,
                StepKind::Source,
                &via,
                detail,
                Some(call.node),
            );
            return;
        }
        let first = call.positional().first().copied();
        let input_name = data_arguments(context, &call).first().map_or_else(
            || callee.to_owned(),
            |input| root_name_or_text(context, *input),
        );
        let element = |path: &Path| match path.as_slice() {
            [Selector::Item, Selector::Index(at), ..] => Some(*at),
            _ => None,
        };
        match callee {
            name if name.ends_with("Loader") || name == "WebLoader" => {
                let via = via_or(input_name.clone());
                let Some(step) = self.push(
                    parent,
                    file,
                    call.node,
                    back,
                    StepKind::Loader,
                    &via,
                    detail,
                    None,
                ) else {
                    return;
                };
                if let Some(dataset) = call.argument(context, 0, "dataset") {
                    self.back_value(Some(step), file, dataset, path, None, calls);
                }
                return;
            }
            "TensorDataset" | "zip" => {
                let kind = if callee == "zip" {
                    StepKind::Assign
                } else {
                    StepKind::Dataset
                };
                let step = if callee == "zip" {
                    top.as_ref().map_or(parent, |top| {
                        self.top_step(parent, file, call.node, Some(top))
                    })
                } else {
                    let via = via_or(input_name.clone());
                    match self.push(parent, file, call.node, back, kind, &via, detail, None) {
                        Some(step) => Some(step),
                        None => return,
                    }
                };
                let arguments = call.positional();
                match element(&path) {
                    Some(at) => {
                        if let Some(argument) = arguments.get(at) {
                            let mut inner = vec![Selector::Item];
                            inner.extend(path[2..].iter().cloned());
                            self.back_value(step, file, *argument, inner, None, calls);
                        }
                    }
                    None => {
                        self.back_inputs(step, file, arguments, calls);
                    }
                }
                return;
            }
            "enumerate" => {
                match path.as_slice() {
                    [Selector::Item, Selector::Index(0), ..] => {
                        let via = via_or(callee.to_owned());
                        self.push(
                            parent,
                            file,
                            call.node,
                            back,
                            StepKind::Source,
                            &via,
                            "the counter of enumerate".to_owned(),
                            None,
                        );
                    }
                    [Selector::Item, Selector::Index(1), rest @ ..] => {
                        if let Some(first) = first {
                            let mut inner = vec![Selector::Item];
                            inner.extend(rest.iter().cloned());
                            let parent = top.as_ref().map_or(parent, |top| {
                                self.top_step(parent, file, call.node, Some(top))
                            });
                            self.back_value(parent, file, first, inner, None, calls);
                        }
                    }
                    _ => {
                        if let Some(first) = first {
                            self.back_value(parent, file, first, path, top, calls);
                        }
                    }
                }
                return;
            }
            "iter" | "tqdm" | "list" | "sorted" | "cycle" | "islice" | "trange" | "reversed" => {
                if let Some(first) = first {
                    self.back_value(parent, file, first, path, top, calls);
                }
                return;
            }
            "next" => {
                if let Some(first) = first {
                    let via = via_or(input_name.clone());
                    let Some(step) = self.push(
                        parent,
                        file,
                        call.node,
                        back,
                        StepKind::Loader,
                        &via,
                        detail,
                        None,
                    ) else {
                        return;
                    };
                    let mut inner = vec![Selector::Item];
                    inner.extend(path);
                    self.back_value(Some(step), file, first, inner, None, calls);
                }
                return;
            }
            "train_test_split" | "random_split" | "shuffle" | "Subset"
                if call
                    .receiver()
                    .is_none_or(|receiver| is_module_like(context, receiver)) =>
            {
                let kind = function_kind(context, &call);
                let via = via_or(input_name.clone());
                let Some(step) = self.push(
                    parent,
                    file,
                    call.node,
                    back,
                    kind,
                    &via,
                    detail,
                    Some(call.node),
                ) else {
                    return;
                };
                let arguments: Vec<Node<'s>> = call
                    .positional()
                    .into_iter()
                    .filter(|argument| !is_literal(*argument))
                    .collect();
                let (chosen, rest): (Vec<Node<'s>>, Path) = match (callee, path.first()) {
                    ("train_test_split", Some(Selector::Index(at))) => (
                        arguments.get(at / 2).copied().into_iter().collect(),
                        path[1..].to_vec(),
                    ),
                    ("shuffle", Some(Selector::Index(at))) => (
                        arguments.get(*at).copied().into_iter().collect(),
                        path[1..].to_vec(),
                    ),
                    ("random_split", Some(Selector::Index(_))) => (
                        arguments.first().copied().into_iter().collect(),
                        path[1..].to_vec(),
                    ),
                    ("Subset", _) => (
                        arguments.first().copied().into_iter().collect(),
                        path.clone(),
                    ),
                    _ => (arguments, Vec::new()),
                };
                for argument in chosen.into_iter().take(MAX_INPUTS) {
                    self.back_value(Some(step), file, argument, rest.clone(), None, calls);
                }
                return;
            }
            _ => {}
        }

        // `self.head(x)`, `self.transform(x)`: a layer or callable stored on the object (its
        // methods were resolved above).
        if call
            .receiver()
            .is_some_and(|receiver| matches!(context.node_text(receiver), "self" | "cls"))
        {
            let kind = if names_model(context, call.function) {
                StepKind::Model
            } else {
                function_kind(context, &call)
            };
            let inputs = data_arguments(context, &call);
            let via = via_or(input_name.clone());
            let Some(step) = self.push(
                parent,
                file,
                call.node,
                back,
                kind,
                &via,
                detail,
                Some(call.node),
            ) else {
                return;
            };
            self.back_inputs(Some(step), file, inputs, calls);
            return;
        }
        // A method call on a value, or a function of a library module.
        if let (Some(receiver), Some(method)) = (call.receiver(), call.method_name(context))
            && !is_module_like(context, receiver)
        {
            if is_metadata(method) {
                return;
            }
            let model_call = names_model(context, receiver)
                && matches!(method, "forward" | "predict" | "__call__" | "generate");
            let argument_method =
                ARGUMENT_METHODS.contains(&method) && !call.positional().is_empty();
            let kind = if model_call {
                Some(StepKind::Model)
            } else if argument_method {
                Some(function_kind(context, &call))
            } else {
                method_kind(context, &call, method)
            };
            let inputs: Vec<Node<'s>> = if model_call || argument_method {
                data_arguments(context, &call)
            } else {
                vec![receiver]
            };
            let Some(kind) = kind else {
                // `.clone()`, `.contiguous()`: the receiver's value, unchanged.
                self.back_value(parent, file, receiver, path, top, calls);
                return;
            };
            let via = via_or(root_name_or_text(context, receiver));
            let Some(step) = self.push(
                parent,
                file,
                call.node,
                back,
                kind,
                &via,
                detail,
                Some(call.node),
            ) else {
                return;
            };
            // An element of a method's result, e.g. `x.split(2)[1]`, is still the receiver's data.
            self.back_inputs(Some(step), file, inputs, calls);
            return;
        }
        if is_not_data_function(context, &call) {
            return;
        }
        let kind = if names_model(context, call.function) {
            StepKind::Model
        } else {
            function_kind(context, &call)
        };
        let inputs = data_arguments(context, &call);
        let via = via_or(inputs.first().map_or_else(
            || callee.to_owned(),
            |input| root_name_or_text(context, *input),
        ));
        let Some(step) = self.push(
            parent,
            file,
            call.node,
            back,
            kind,
            &via,
            detail,
            Some(call.node),
        ) else {
            return;
        };
        self.back_inputs(Some(step), file, inputs, calls);
    }

    /// The result of a call of a project function (its `return`s) or class (a dataset's
    /// `__getitem__` when an item is wanted, else the constructor's arguments).
    #[allow(clippy::too_many_arguments)]
    fn back_project_call(
        &mut self,
        parent: Option<usize>,
        file: usize,
        call: Call<'s>,
        definition: Definition<'s>,
        path: Path,
        top: Option<Top<'s>>,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let back = Direction::Backward;
        let callee = call.callee_name(context).to_owned();
        let via = top
            .as_ref()
            .map_or_else(|| callee.clone(), |top| top.via.clone());
        let detail = short_text(context, call.node);
        if calls.len() >= MAX_CALL_NESTING {
            self.note(format!(
                "stopped following calls {MAX_CALL_NESTING} functions deep"
            ));
            return;
        }
        if calls.iter().any(|(entered, _)| entered.same(&definition)) {
            // A recursive call: its returns are already being followed.
            self.push(
                parent,
                file,
                call.node,
                back,
                StepKind::Call,
                &via,
                detail,
                Some(call.node),
            );
            return;
        }
        if definition.is_class() {
            let wants_item = path.first() == Some(&Selector::Item);
            let item_method = if wants_item {
                project
                    .method(definition.file, definition.node, "__getitem__")
                    .or_else(|| project.method(definition.file, definition.node, "__iter__"))
            } else {
                None
            };
            let kind = if item_method.is_some() || callee.ends_with("Dataset") {
                StepKind::Dataset
            } else if project.is_model_class(definition) {
                StepKind::Source
            } else {
                StepKind::Call
            };
            let Some(step) = self.push(parent, file, call.node, back, kind, &via, detail, None)
            else {
                return;
            };
            if kind == StepKind::Source {
                return;
            }
            let mut inner_calls = calls.clone();
            if let Some(init) = project.method(definition.file, definition.node, "__init__") {
                inner_calls.push((
                    init,
                    CallSite {
                        file,
                        call,
                        skipped: 1,
                    },
                ));
            }
            match item_method {
                Some(method) => {
                    self.back_returns(step, method, path[1..].to_vec(), &inner_calls);
                }
                None => {
                    self.back_inputs(Some(step), file, data_arguments(context, &call), calls);
                }
            }
            return;
        }
        let kind = if is_model_forward(project, definition) {
            StepKind::Model
        } else {
            StepKind::Call
        };
        let Some(step) = self.push(
            parent,
            file,
            call.node,
            back,
            kind,
            &via,
            detail,
            Some(call.node),
        ) else {
            return;
        };
        let skipped = usize::from(
            project
                .class_of_method(definition.file, definition.node)
                .is_some(),
        );
        let mut inner_calls = calls.clone();
        inner_calls.push((
            definition,
            CallSite {
                file,
                call,
                skipped,
            },
        ));
        // Items of a generator are what it yields.
        let generator = path.first() == Some(&Selector::Item)
            && definition.node.field("body").is_some_and(|body| {
                context_of(project, definition.file)
                    .scope_descendants(body)
                    .any(|node| node.kind_name() == "yield")
            });
        let path = if generator { path[1..].to_vec() } else { path };
        self.back_returns(step, definition, path, &inner_calls);
    }

    /// The values `function` returns (or yields), each a `return` step.
    fn back_returns(
        &mut self,
        step: usize,
        function: Definition<'s>,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(function.file);
        let Some(body) = function.node.field("body") else {
            return;
        };
        let returned: Vec<(Node<'s>, Node<'s>)> = context
            .scope_descendants(body)
            .filter(|node| matches!(node.kind_name(), "return_statement" | "yield"))
            .filter_map(|node| node.named_child(0).map(|value| (node, value)))
            .filter(|(_, value)| value.kind_name() != "comment")
            .collect();
        if returned.is_empty() {
            let name = function
                .node
                .field("name")
                .map_or("", |name| context.node_text(name));
            self.note(format!(
                "`{name}` ({}:{}) returns no value the tracer can see",
                context.display_path(),
                context.position(function.node).0
            ));
            return;
        }
        for (statement, value) in returned.into_iter().take(MAX_CALL_SITES) {
            let via = root_name_or_text(context, selected_element(value, &path));
            let Some(return_step) = self.push(
                Some(step),
                function.file,
                statement,
                Direction::Backward,
                StepKind::Return,
                &via,
                short_text(context, statement),
                None,
            ) else {
                return;
            };
            self.back_value(
                Some(return_step),
                function.file,
                value,
                path.clone(),
                None,
                calls,
            );
        }
    }

    // ------------------------------------------------------------------- forward

    /// Where the value bound by `binding` goes.
    fn forward_from_binding(
        &mut self,
        parent: Option<usize>,
        file: usize,
        binding: &Binding<'s>,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let Some(name) = name_text(context, binding.target) else {
            return;
        };
        let scope = scope_of(context, binding.target);
        self.forward_value(
            parent,
            file,
            scope,
            &name,
            binding.visible_from,
            path,
            calls,
        );
    }

    /// Every read of `name` in `scope` from byte `from` on, until a binding that always runs
    /// replaces it; for `self.x`, the reads in every method of the class; for a module-level
    /// name, also the reads in the file's functions and in files importing it.
    #[allow(clippy::too_many_arguments)]
    fn forward_value(
        &mut self,
        parent: Option<usize>,
        file: usize,
        scope: Node<'s>,
        name: &str,
        from: usize,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        if let Some(class) = self_attribute_class(context, scope, name) {
            for method in class_methods(project, file, class) {
                let start = if method.id() == scope.id() { from } else { 0 };
                let until = replaced_at(context, method, name, start);
                for read in reads(context, method, name) {
                    if read.start_byte() >= start && read.start_byte() < until {
                        self.forward_up(parent, file, read, path.clone(), calls, name);
                    }
                }
            }
            return;
        }
        // The bindings whose value is followed: the one made at `from`, or those reaching a read
        // at `from`. A later read that none of them reaches (a loop rebinding the name, a
        // branch) holds another value.
        let origins: Vec<usize> = if bindings(context, scope, name)
            .iter()
            .any(|binding| binding.visible_from == from)
        {
            vec![from]
        } else {
            reaching_in_scope(context, scope, name, from)
                .iter()
                .map(|binding| binding.visible_from)
                .collect()
        };
        let holds_value = |read: Node<'s>| {
            origins.is_empty() || {
                let here = reaching(context, read, name);
                here.is_empty()
                    || here
                        .iter()
                        .any(|binding| origins.contains(&binding.visible_from))
            }
        };
        let until = replaced_at(context, scope, name, from);
        for read in reads(context, scope, name) {
            if read.start_byte() >= from && read.start_byte() < until && holds_value(read) {
                self.forward_up(parent, file, read, path.clone(), calls, name);
            }
        }
        if scope.kind_name() != "module" || until != usize::MAX {
            return;
        }
        // A module-level value lives on: functions of the file that read it without binding it.
        for function in context.nodes_of_kind("function_definition") {
            if !bindings(context, function, name).is_empty() {
                continue;
            }
            for read in reads(context, function, name) {
                if holds_value(read) {
                    self.forward_up(parent, file, read, path.clone(), calls, name);
                }
            }
        }
        // ...and files that import it.
        for (other, other_file) in project.files.iter().enumerate() {
            if other == file {
                continue;
            }
            let imports_it = project
                .imported_from(other, name)
                .is_some_and(|(source, imported)| source == file && imported == name);
            if imports_it {
                let root = other_file.context.source().root();
                self.forward_value(parent, other, root, name, 0, path.clone(), calls);
            }
        }
    }

    /// Follows a value from `node` up through the expressions that use it to the statement
    /// that consumes it, recording each operation.
    fn forward_up(
        &mut self,
        parent: Option<usize>,
        file: usize,
        node: Node<'s>,
        path: Path,
        calls: &Calls<'s>,
        via: &str,
    ) {
        if !self.seen_reads.insert((file, node.id(), path.clone())) {
            return;
        }
        if self.enter(&path) {
            self.forward_up_within(parent, file, node, path, calls, via);
            self.nesting -= 1;
        }
    }

    fn forward_up_within(
        &mut self,
        parent: Option<usize>,
        file: usize,
        node: Node<'s>,
        path: Path,
        calls: &Calls<'s>,
        via: &str,
    ) {
        let project = self.project;
        let context = project.context(file);
        let forward = Direction::Forward;
        let mut current = node;
        let mut path = path;
        let mut parent = parent;
        // Whether a step was recorded since the last binding (a plain copy records none).
        let mut changed = false;
        let via = via.to_owned();
        // The argument (an expression or a `keyword=value`) the value reached a call through.
        let mut argument: Option<Node<'s>> = None;
        for _ in 0..64 {
            let Some(up) = context.parent(current) else {
                return;
            };
            match up.kind_name() {
                "argument_list" => {
                    argument = Some(current);
                    current = up;
                }
                "parenthesized_expression"
                | "keyword_argument"
                | "conditional_expression"
                | "await" => {
                    current = up;
                }
                "attribute" => {
                    if up
                        .field("object")
                        .is_none_or(|object| object.id() != current.id())
                    {
                        return;
                    }
                    let Some(field) = up.field("attribute") else {
                        return;
                    };
                    let field_name = context.node_text(field);
                    if is_metadata(field_name) {
                        return;
                    }
                    let method_call = context
                        .parent(up)
                        .and_then(|outer| context.call_at(outer))
                        .filter(|call| call.function.id() == up.id());
                    match method_call {
                        Some(call) => {
                            if mutated_name(context, &call)
                                .is_some_and(|changed_name| changed_name.id() == current.id())
                                && matches!(field_name, "append" | "extend" | "insert" | "update")
                            {
                                return;
                            }
                            let model_call = names_model(context, current)
                                && matches!(field_name, "forward" | "predict" | "__call__");
                            let kind = if model_call {
                                Some(StepKind::Call)
                            } else {
                                method_kind(context, &call, field_name)
                            };
                            if let Some(kind) = kind {
                                let Some(step) = self.push(
                                    parent,
                                    file,
                                    call.node,
                                    forward,
                                    kind,
                                    &via,
                                    short_text(context, call.node),
                                    Some(call.node),
                                ) else {
                                    return;
                                };
                                parent = Some(step);
                                changed = true;
                                if matches!(kind, StepKind::BackwardPass | StepKind::Mutate) {
                                    return;
                                }
                            }
                            current = call.node;
                            path.clear();
                        }
                        None => {
                            // A field of the value: `batch.labels`, `x.T`.
                            if field_name == "T" {
                                let Some(step) = self.push(
                                    parent,
                                    file,
                                    up,
                                    forward,
                                    StepKind::Reshape,
                                    &via,
                                    short_text(context, up),
                                    Some(up),
                                ) else {
                                    return;
                                };
                                parent = Some(step);
                                changed = true;
                            }
                            match path.first() {
                                Some(Selector::Key(key)) if key == field_name => {
                                    path.remove(0);
                                }
                                Some(Selector::Key(_)) => return,
                                _ => {}
                            }
                            current = up;
                        }
                    }
                }
                "call" => {
                    let Some(call) = context.call_at(up) else {
                        return;
                    };
                    if call.function.id() == current.id() {
                        // The value is called: a model or function held in a name.
                        return;
                    }
                    let Some(argument) = argument.take() else {
                        return;
                    };
                    match self
                        .forward_into_call(parent, file, call, argument, &mut path, calls, &via)
                    {
                        Flow::Stop => return,
                        Flow::Step(step) => {
                            parent = Some(step);
                            changed = true;
                        }
                        Flow::Unchanged => {}
                    }
                    current = up;
                }
                "subscript" => {
                    let is_value = up
                        .field("value")
                        .is_some_and(|value| value.id() == current.id());
                    if !is_value {
                        // The value indexes another: `X[idx]` for a traced `idx`.
                        self.push(
                            parent,
                            file,
                            up,
                            forward,
                            StepKind::Index,
                            &via,
                            format!("indexes {}", short_text(context, up)),
                            None,
                        );
                        return;
                    }
                    let mut cursor = up.walk();
                    let indices: Vec<Node<'s>> = up
                        .children_by_field_name("subscript", &mut cursor)
                        .collect();
                    let selector = match indices.as_slice() {
                        [only] => constant_selector(context, *only),
                        _ => None,
                    };
                    match (selector, path.first()) {
                        (Some(selector), Some(wanted)) if wanted != &Selector::Item => {
                            if &selector != wanted {
                                return;
                            }
                            path.remove(0);
                        }
                        _ => {
                            let kind = subscript_kind(context, up);
                            let Some(step) = self.push(
                                parent,
                                file,
                                up,
                                forward,
                                kind,
                                &via,
                                short_text(context, up),
                                Some(up),
                            ) else {
                                return;
                            };
                            parent = Some(step);
                            changed = true;
                            if path.first() != Some(&Selector::Item) {
                                path.clear();
                            }
                        }
                    }
                    current = up;
                }
                "binary_operator"
                | "boolean_operator"
                | "comparison_operator"
                | "unary_operator"
                | "not_operator" => {
                    let kind = if up.kind_name() == "binary_operator" {
                        operator_kind(context, up)
                    } else {
                        StepKind::Arithmetic
                    };
                    if !is_part_of_normalization(context, up) {
                        let Some(step) = self.push(
                            parent,
                            file,
                            up,
                            forward,
                            kind,
                            &via,
                            short_text(context, up),
                            Some(up),
                        ) else {
                            return;
                        };
                        parent = Some(step);
                        changed = true;
                    }
                    path.clear();
                    current = up;
                }
                "tuple" | "list" | "expression_list" => {
                    let position = named_elements(up)
                        .iter()
                        .position(|element| element.id() == current.id());
                    if let Some(position) = position {
                        path.insert(0, Selector::Index(position));
                    }
                    current = up;
                }
                "pair" => {
                    if up
                        .field("value")
                        .is_none_or(|value| value.id() != current.id())
                    {
                        return;
                    }
                    if let Some(key) = up.field("key").and_then(|key| string_value(context, key)) {
                        path.insert(0, Selector::Key(key.to_owned()));
                    }
                    current = context.parent(up).unwrap_or(up);
                }
                "dictionary"
                | "list_comprehension"
                | "generator_expression"
                | "set_comprehension"
                | "for_in_clause"
                | "dictionary_comprehension" => {
                    current = up;
                }
                "assignment" => {
                    if up
                        .field("right")
                        .is_none_or(|right| right.id() != current.id())
                    {
                        return;
                    }
                    let Some(left) = up.field("left") else { return };
                    self.forward_assign(parent, file, up, left, path, calls, changed);
                    return;
                }
                "augmented_assignment" => {
                    if up
                        .field("right")
                        .is_none_or(|right| right.id() != current.id())
                    {
                        return;
                    }
                    let Some(left) = up.field("left") else { return };
                    let Some(target) = name_text(context, left) else {
                        return;
                    };
                    let kind = operator_kind(context, up);
                    let Some(step) = self.push(
                        parent,
                        file,
                        up,
                        forward,
                        kind,
                        &target,
                        short_text(context, up),
                        Some(left),
                    ) else {
                        return;
                    };
                    let scope = scope_of(context, up);
                    self.forward_value(
                        Some(step),
                        file,
                        scope,
                        &target,
                        up.end_byte(),
                        Vec::new(),
                        calls,
                    );
                    return;
                }
                "named_expression" => {
                    let Some(target) = up.field("name") else {
                        return;
                    };
                    let Some(target_name) = name_text(context, target) else {
                        return;
                    };
                    let Some(step) = self.push(
                        parent,
                        file,
                        up,
                        forward,
                        StepKind::Assign,
                        &target_name,
                        short_text(context, up),
                        Some(target),
                    ) else {
                        return;
                    };
                    let scope = scope_of(context, up);
                    self.forward_value(
                        Some(step),
                        file,
                        scope,
                        &target_name,
                        up.end_byte(),
                        path.clone(),
                        calls,
                    );
                    current = up;
                }
                "for_statement" => {
                    if up
                        .field("right")
                        .is_none_or(|right| right.id() != current.id())
                    {
                        return;
                    }
                    let Some(left) = up.field("left") else { return };
                    if path.first() == Some(&Selector::Item) {
                        path.remove(0);
                    } else {
                        path.clear();
                    }
                    let header = format!(
                        "for {} in {}",
                        context.node_text(left),
                        short_text(context, current)
                    );
                    let Some(step) = self.push(
                        parent,
                        file,
                        left,
                        forward,
                        StepKind::Loader,
                        &via,
                        header,
                        None,
                    ) else {
                        return;
                    };
                    let scope = scope_of(context, up);
                    for (target, rest) in select_targets(left, &path) {
                        let Some(target_name) = name_text(context, target) else {
                            continue;
                        };
                        self.forward_value(
                            Some(step),
                            file,
                            scope,
                            &target_name,
                            left.end_byte(),
                            rest,
                            calls,
                        );
                    }
                    return;
                }
                "return_statement" | "yield" => {
                    let Some(step) = self.push(
                        parent,
                        file,
                        up,
                        forward,
                        StepKind::Return,
                        &via,
                        short_text(context, up),
                        None,
                    ) else {
                        return;
                    };
                    let mut returned = path.clone();
                    if up.kind_name() == "yield" {
                        returned.insert(0, Selector::Item);
                    }
                    self.forward_return(step, file, up, returned, calls);
                    return;
                }
                _ => return,
            }
        }
    }

    /// The value, passed as `argument` of `call`: into a project function's parameter, a loss,
    /// a loader, or through a library function. Updates `path` for containers.
    #[allow(clippy::too_many_arguments)]
    fn forward_into_call(
        &mut self,
        parent: Option<usize>,
        file: usize,
        call: Call<'s>,
        argument: Node<'s>,
        path: &mut Path,
        calls: &Calls<'s>,
        via: &str,
    ) -> Flow {
        let project = self.project;
        let context = project.context(file);
        let forward = Direction::Forward;
        let detail = short_text(context, call.node);
        if is_not_data_function(context, &call) {
            return Flow::Stop;
        }
        let position = call
            .positional()
            .iter()
            .position(|positional| positional.id() == argument.id());
        let keyword = (argument.kind_name() == "keyword_argument")
            .then(|| argument.field("name"))
            .flatten()
            .map(|name| context.node_text(name).to_owned());
        if keyword
            .as_deref()
            .is_some_and(|keyword| CONFIGURATION_KEYWORDS.contains(&keyword))
        {
            return Flow::Stop;
        }
        if let Some(definition) = project.callee(file, &call) {
            if calls.len() >= MAX_CALL_NESTING {
                return Flow::Stop;
            }
            let (function, skipped) = if definition.is_class() {
                match project.method(definition.file, definition.node, "__init__") {
                    Some(init) => (init, 1),
                    None => return Flow::Stop,
                }
            } else {
                let skipped = usize::from(
                    project
                        .class_of_method(definition.file, definition.node)
                        .is_some(),
                );
                (definition, skipped)
            };
            let parameter = parameters(function.node).into_iter().find(|parameter| {
                let function_context = project.context(function.file);
                match (&keyword, position, parameter.position) {
                    (Some(keyword), _, _) => function_context.node_text(parameter.name) == keyword,
                    (None, Some(at), Some(parameter_at)) => parameter_at == at + skipped,
                    _ => false,
                }
            });
            let Some(parameter) = parameter else {
                return Flow::Stop;
            };
            let kind = if definition.is_class()
                && definition.node.field("name").is_some_and(|name| {
                    project
                        .context(definition.file)
                        .node_text(name)
                        .ends_with("Dataset")
                }) {
                StepKind::Dataset
            } else if is_model_forward(project, function) {
                StepKind::Model
            } else {
                StepKind::Call
            };
            let Some(step) = self.push(parent, file, call.node, forward, kind, via, detail, None)
            else {
                return Flow::Stop;
            };
            let function_context = project.context(function.file);
            let parameter_name = function_context.node_text(parameter.name).to_owned();
            let function_name = function
                .node
                .field("name")
                .map_or("", |name| function_context.node_text(name));
            let Some(parameter_step) = self.push(
                Some(step),
                function.file,
                parameter.name,
                forward,
                StepKind::Param,
                &parameter_name,
                format!("parameter `{parameter_name}` of `{function_name}`"),
                None,
            ) else {
                return Flow::Stop;
            };
            let mut inner = calls.clone();
            inner.push((
                function,
                CallSite {
                    file,
                    call,
                    skipped,
                },
            ));
            let from = function
                .node
                .field("parameters")
                .map_or(function.node.start_byte(), |list| list.end_byte());
            self.forward_value(
                Some(parameter_step),
                function.file,
                function.node,
                &parameter_name,
                from,
                path.clone(),
                &inner,
            );
            return Flow::Stop;
        }
        if is_loss(context, &call) {
            path.clear();
            return self
                .push(
                    parent,
                    file,
                    call.node,
                    forward,
                    StepKind::LossInput,
                    via,
                    detail,
                    Some(argument),
                )
                .map_or(Flow::Stop, Flow::Step);
        }
        let callee = call.callee_name(context);
        // `store.append(value)`: the value now lives in `store`.
        if matches!(callee, "append" | "extend" | "insert" | "add" | "put")
            && let Some(receiver) = call.receiver()
            && let Some(store) = name_text(context, receiver)
            && !is_module_like(context, receiver)
        {
            let Some(step) = self.push(
                parent,
                file,
                call.node,
                forward,
                StepKind::Mutate,
                &store,
                detail,
                None,
            ) else {
                return Flow::Stop;
            };
            let scope = scope_of(context, call.node);
            self.forward_value(
                Some(step),
                file,
                scope,
                &store,
                call.node.end_byte(),
                Vec::new(),
                calls,
            );
            return Flow::Stop;
        }
        let strip_item = |path: &mut Path| {
            if path.first() == Some(&Selector::Item) {
                path.remove(0);
            }
        };
        let (kind, new_path): (Option<StepKind>, Option<Path>) = match callee {
            name if name.ends_with("Loader") || name == "WebLoader" => {
                (Some(StepKind::Loader), None)
            }
            "TensorDataset" | "zip" => {
                let mut rest = path.clone();
                strip_item(&mut rest);
                let mut new = vec![Selector::Item, Selector::Index(position.unwrap_or(0))];
                new.extend(rest);
                let kind = (callee == "TensorDataset").then_some(StepKind::Dataset);
                (kind, Some(new))
            }
            "enumerate" => {
                let mut rest = path.clone();
                strip_item(&mut rest);
                let mut new = vec![Selector::Item, Selector::Index(1)];
                new.extend(rest);
                (None, Some(new))
            }
            "iter" | "tqdm" | "list" | "sorted" | "cycle" | "islice" | "reversed" => (None, None),
            "next" => {
                let mut rest = path.clone();
                strip_item(&mut rest);
                (Some(StepKind::Loader), Some(rest))
            }
            "train_test_split" => {
                // `a_train, a_test, b_train, b_test = train_test_split(a, b)`: argument k becomes
                // outputs 2k and 2k + 1; the second is followed here, the first below.
                let at = position.unwrap_or(0);
                let Some(step) = self.push(
                    parent,
                    file,
                    call.node,
                    forward,
                    StepKind::Split,
                    via,
                    detail,
                    Some(argument),
                ) else {
                    return Flow::Stop;
                };
                self.forward_up(
                    Some(step),
                    file,
                    call.node,
                    vec![Selector::Index(2 * at + 1)],
                    calls,
                    via,
                );
                self.seen_reads
                    .remove(&(file, call.node.id(), vec![Selector::Index(2 * at)]));
                *path = vec![Selector::Index(2 * at)];
                return Flow::Step(step);
            }
            "shuffle"
                if call
                    .receiver()
                    .is_none_or(|receiver| is_module_like(context, receiver)) =>
            {
                // `X, y = shuffle(X, y)` returns argument k as output k; a statement-level
                // shuffle changes the value in place.
                (
                    Some(StepKind::Shuffle),
                    Some(vec![Selector::Index(position.unwrap_or(0))]),
                )
            }
            "random_split" | "Subset" => (Some(function_kind(context, &call)), Some(path.clone())),
            _ => {
                if is_source_call(context, &call) {
                    return Flow::Stop;
                }
                let model_call = names_model(context, call.function);
                let kind = if model_call {
                    StepKind::Model
                } else if let (Some(receiver), Some(method)) =
                    (call.receiver(), call.method_name(context))
                {
                    if ARGUMENT_METHODS.contains(&method)
                        && !is_module_like(context, receiver)
                        && names_model(context, receiver)
                    {
                        StepKind::Model
                    } else {
                        function_kind(context, &call)
                    }
                } else {
                    function_kind(context, &call)
                };
                (Some(kind), Some(Vec::new()))
            }
        };
        if let Some(new_path) = new_path {
            *path = new_path;
        }
        let Some(kind) = kind else {
            return Flow::Unchanged;
        };
        // A statement-level call that changes its argument in place (`np.random.shuffle(x)`).
        let in_place = context
            .parent(call.node)
            .is_some_and(|parent| parent.kind_name() == "expression_statement");
        let step = self.push(
            parent,
            file,
            call.node,
            forward,
            kind,
            via,
            detail,
            Some(call.node),
        );
        match step {
            Some(step) if !in_place => Flow::Step(step),
            _ => Flow::Stop,
        }
    }

    /// The value assigned to `left` (a name, an attribute, a tuple pattern, a subscript).
    #[allow(clippy::too_many_arguments)]
    fn forward_assign(
        &mut self,
        parent: Option<usize>,
        file: usize,
        assignment: Node<'s>,
        left: Node<'s>,
        path: Path,
        calls: &Calls<'s>,
        changed: bool,
    ) {
        let project = self.project;
        let context = project.context(file);
        let forward = Direction::Forward;
        let scope = scope_of(context, assignment);
        for (target, rest) in select_targets(left, &path) {
            if target.kind_name() == "subscript" {
                // `store[i] = value`: the value now lives in `store`.
                let Some(object) = target.field("value") else {
                    continue;
                };
                let Some(object_name) = name_text(context, object) else {
                    continue;
                };
                let Some(step) = self.push(
                    parent,
                    file,
                    assignment,
                    forward,
                    StepKind::Mutate,
                    &object_name,
                    short_text(context, assignment),
                    None,
                ) else {
                    continue;
                };
                self.forward_value(
                    Some(step),
                    file,
                    scope,
                    &object_name,
                    assignment.end_byte(),
                    Vec::new(),
                    calls,
                );
                continue;
            }
            let Some(target_name) = name_text(context, target) else {
                continue;
            };
            let attribute = target.kind_name() == "attribute";
            let step = if changed && !attribute {
                parent
            } else {
                let kind = if attribute {
                    StepKind::Attribute
                } else {
                    StepKind::Assign
                };
                match self.push(
                    parent,
                    file,
                    assignment,
                    forward,
                    kind,
                    &target_name,
                    short_text(context, assignment),
                    Some(target),
                ) {
                    Some(step) => Some(step),
                    None => continue,
                }
            };
            // Later steps carry the new name.
            self.forward_value(
                step,
                file,
                scope,
                &target_name,
                assignment.end_byte(),
                rest,
                calls,
            );
        }
    }

    /// A value returned by the function around `statement`: back to the call the trace came
    /// through, or to every caller; a dataset's `__getitem__` returns to the loops over it.
    fn forward_return(
        &mut self,
        step: usize,
        file: usize,
        statement: Node<'s>,
        path: Path,
        calls: &Calls<'s>,
    ) {
        let project = self.project;
        let context = project.context(file);
        let function = scope_of(context, statement);
        if function.kind_name() != "function_definition" {
            return;
        }
        let definition = Definition {
            file,
            node: function,
        };
        if let Some((entered, site)) = calls.last()
            && entered.same(&definition)
        {
            let outer = calls[..calls.len() - 1].to_vec();
            let site_context = project.context(site.file);
            let via = root_name(site_context, site.call.node)
                .unwrap_or_else(|| site.call.callee_name(site_context).to_owned());
            self.forward_up(Some(step), site.file, site.call.node, path, &outer, &via);
            return;
        }
        let name = function
            .field("name")
            .map_or("", |name| context.node_text(name));
        if name == "__getitem__"
            && let Some(class) = project.class_of_method(file, function)
        {
            let mut item = vec![Selector::Item];
            item.extend(path);
            for site in project
                .constructions(Definition { file, node: class })
                .into_iter()
                .take(MAX_CALL_SITES)
            {
                let site_context = project.context(site.file);
                let via = site.call.callee_name(site_context).to_owned();
                self.forward_up(
                    Some(step),
                    site.file,
                    site.call.node,
                    item.clone(),
                    &Vec::new(),
                    &via,
                );
            }
            return;
        }
        let sites = project.call_sites(definition);
        if sites.len() > MAX_CALL_SITES {
            self.note(format!(
                "`{name}` is called at {} places; followed the first {MAX_CALL_SITES}",
                sites.len()
            ));
        }
        for site in sites.into_iter().take(MAX_CALL_SITES) {
            let site_context = project.context(site.file);
            let via = site.call.callee_name(site_context).to_owned();
            self.forward_up(
                Some(step),
                site.file,
                site.call.node,
                path.clone(),
                &Vec::new(),
                &via,
            );
        }
    }
}

/// What a call did to the value flowing through it.
enum Flow {
    /// The value stops here (or continues elsewhere, already followed).
    Stop,
    /// A step was recorded; the call's result carries the value on.
    Step(usize),
    /// The call passes the value through unchanged.
    Unchanged,
}

/// The binding whose right-hand side a backward walk is reading.
#[derive(Clone)]
struct Top<'s> {
    via: String,
    statement: Node<'s>,
    /// The target is an attribute (`self.x = ...`).
    attribute: bool,
}

/// Whether `function` is the `forward` (or `__call__`) of a model class.
fn is_model_forward<'s>(project: &Project<'s>, function: Definition<'s>) -> bool {
    let context = project.context(function.file);
    let is_forward = function
        .node
        .field("name")
        .is_some_and(|name| matches!(context.node_text(name), "forward" | "__call__"));
    is_forward
        && project
            .class_of_method(function.file, function.node)
            .is_some_and(|class| {
                project.is_model_class(Definition {
                    file: function.file,
                    node: class,
                })
            })
}

fn context_of<'a, 's>(project: &'a Project<'s>, file: usize) -> &'a Context<'s> {
    project.context(file)
}

fn post_order(node: usize, children: &[Vec<usize>], order: &mut Vec<usize>) {
    for child in &children[node] {
        post_order(*child, children, order);
    }
    order.push(node);
}

fn pre_order(node: usize, children: &[Vec<usize>], order: &mut Vec<usize>) {
    order.push(node);
    for child in &children[node] {
        pre_order(*child, children, order);
    }
}

/// The class whose methods share `self.x`, when `name` is one and `node` is in a method.
fn self_attribute_class<'s>(context: &Context<'s>, node: Node<'_>, name: &str) -> Option<Node<'s>> {
    if !(name.starts_with("self.") || name.starts_with("cls.")) {
        return None;
    }
    context.enclosing_class(node)
}

/// The methods of `class` (not those of nested classes).
fn class_methods<'s>(project: &Project<'s>, file: usize, class: Node<'s>) -> Vec<Node<'s>> {
    let context = project.context(file);
    context
        .descendants(class)
        .filter(|node| node.kind_name() == "function_definition")
        .filter(|node| {
            project
                .class_of_method(file, *node)
                .is_some_and(|owner| owner.id() == class.id())
        })
        .collect()
}

/// The byte where a binding that always runs replaces `name` after `from` in `scope`
/// (`usize::MAX` if none does).
fn replaced_at<'t>(context: &Context<'t>, scope: Node<'t>, name: &str, from: usize) -> usize {
    bindings(context, scope, name)
        .into_iter()
        .filter(|binding| binding.kind.replaces() && binding.kind != BindingKind::Param)
        .filter(|binding| binding.statement.start_byte() >= from)
        .find(|binding| always_runs_before(context, binding.statement, from))
        .map_or(usize::MAX, |binding| binding.target.start_byte())
}

/// The element of a tuple literal that `path` names, or `value` itself.
fn selected_element<'s>(value: Node<'s>, path: &Path) -> Node<'s> {
    let value = unparenthesized(value);
    match (value.kind_name(), path.first()) {
        ("tuple" | "expression_list" | "list", Some(Selector::Index(at))) => {
            named_elements(value).get(*at).copied().unwrap_or(value)
        }
        _ => value,
    }
}

/// The elements of a tuple or list literal.
fn named_elements(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|child| child.kind_name() != "comment")
        .collect()
}

/// `1` in `batch[1]` or `"labels"` in `batch["labels"]`.
fn constant_selector(context: &Context<'_>, index: Node<'_>) -> Option<Selector> {
    let index = unparenthesized(index);
    match index.kind_name() {
        "integer" => context.node_text(index).parse().ok().map(Selector::Index),
        "string" => string_value(context, index).map(|key| Selector::Key(key.to_owned())),
        _ => None,
    }
}

/// The targets of a pattern the value at `path` reaches, each with what is left of the path.
fn select_targets<'s>(left: Node<'s>, path: &Path) -> Vec<(Node<'s>, Path)> {
    let targets = pattern_targets(left);
    let mut chosen = Vec::new();
    for (target, position) in targets {
        if position.is_empty() {
            chosen.push((target, path.clone()));
            continue;
        }
        // `x, y = value`: only the element the path names, or every target when the path
        // names none.
        let mut rest = path.clone();
        let mut matches = true;
        for at in &position {
            match rest.first() {
                Some(Selector::Index(wanted)) if wanted == at => {
                    rest.remove(0);
                }
                Some(Selector::Index(_)) => {
                    matches = false;
                    break;
                }
                _ => break,
            }
        }
        if matches {
            chosen.push((target, rest));
        }
    }
    chosen
}

/// The arguments of a call that pass it data: positional ones and data keywords, without
/// literals and sizes.
fn data_arguments<'s>(context: &Context<'s>, call: &Call<'s>) -> Vec<Node<'s>> {
    let mut found: Vec<Node<'s>> = call
        .positional()
        .into_iter()
        .filter(|argument| !is_literal(*argument))
        .filter(|argument| argument.kind_name() != "list_splat")
        .collect();
    if let Some(arguments) = call.arguments {
        let mut cursor = arguments.walk();
        for keyword in arguments
            .named_children(&mut cursor)
            .filter(|child| child.kind_name() == "keyword_argument")
        {
            let is_configuration = keyword
                .field("name")
                .is_some_and(|name| CONFIGURATION_KEYWORDS.contains(&context.node_text(name)));
            if let Some(value) = keyword.field("value")
                && !is_configuration
                && !is_literal(value)
            {
                found.push(value);
            }
        }
    }
    found
}

/// The name an expression's data comes from: `x` in `x.float()`, `scaler.transform(x)`,
/// `x[idx]`, `(x - m) / s`.
fn root_name(context: &Context<'_>, node: Node<'_>) -> Option<String> {
    let node = unparenthesized(node);
    match node.kind_name() {
        "identifier" | "attribute" => name_text(context, node).or_else(|| {
            node.field("object")
                .and_then(|object| root_name(context, object))
        }),
        "subscript" => node
            .field("value")
            .and_then(|value| root_name(context, value)),
        "call" => {
            let call = Call::new(node)?;
            if is_source_call(context, &call) {
                // `torch.rand(n, 2)` makes the data; `n` is only its size.
                return Some(call.callee_name(context).to_owned());
            }
            let method = call.method_name(context);
            match call.receiver() {
                Some(receiver)
                    if !is_module_like(context, receiver)
                        && !matches!(context.node_text(receiver), "self" | "cls")
                        && !method.is_some_and(|method| ARGUMENT_METHODS.contains(&method)) =>
                {
                    root_name(context, receiver)
                }
                _ => call
                    .positional()
                    .into_iter()
                    .find(|argument| !is_literal(*argument))
                    .and_then(|argument| root_name(context, argument)),
            }
        }
        "binary_operator" | "comparison_operator" | "boolean_operator" => {
            let mut cursor = node.walk();
            let operands: Vec<Node<'_>> = node
                .named_children(&mut cursor)
                .filter(|operand| {
                    node.field("operator")
                        .is_none_or(|op| op.id() != operand.id())
                })
                .collect();
            operands
                .iter()
                .filter(|operand| !is_constant(context, **operand))
                .find_map(|operand| root_name(context, *operand))
        }
        "unary_operator" | "not_operator" => node
            .field("argument")
            .and_then(|argument| root_name(context, argument)),
        _ => None,
    }
}

fn root_name_or_text(context: &Context<'_>, node: Node<'_>) -> String {
    root_name(context, node).unwrap_or_else(|| short_text(context, node))
}
