//! Where a name gets its value inside one file: the bindings of a name in a scope
//! (assignments, tuple unpacking, loop targets, parameters, imports, in-place mutations), which
//! of them reach a given use, and where the name is read.
//!
//! This is a flow-sensitive approximation of reaching definitions over the syntax tree: the
//! bindings before the use, latest first, up to the first one that always runs before it (one
//! not inside an `if`, loop or `try` that the use is outside of).

use tree_sitter::Node;

use crate::Context;
use crate::syntax::{Call, NodeExt, contains, dotted_name, is_scope, unparenthesized};

/// How a binding gives the name its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BindingKind {
    /// `name = value`, `a, name = value`, `name: T = value`.
    Assign,
    /// `name += value`: the old value, changed.
    AugAssign,
    /// `for name in iterable`.
    For,
    /// `with value as name`.
    With,
    /// `(name := value)`.
    Walrus,
    /// A parameter of the enclosing function; `value` is its default.
    Param,
    /// `import name`, `from module import name`.
    Import,
    /// `def name` or `class name`.
    Definition,
    /// The value is changed in place: `np.random.shuffle(name)`, `name.add_(1)`,
    /// `name[mask] = 0`, `name.append(item)`. The old value lives on.
    Mutation,
}

impl BindingKind {
    /// Whether the binding replaces the old value (rather than changing it).
    pub(crate) fn replaces(self) -> bool {
        !matches!(self, Self::AugAssign | Self::Mutation)
    }
}

/// One place where a name receives or changes its value.
#[derive(Debug, Clone)]
pub(crate) struct Binding<'t> {
    pub kind: BindingKind,
    /// The statement (or parameter, or call) that binds.
    pub statement: Node<'t>,
    /// The bound name as written (for a mutation, the mutated name).
    pub target: Node<'t>,
    /// The right-hand side, iterable, context manager, default value or mutating call.
    pub value: Option<Node<'t>>,
    /// Position of the target inside a tuple pattern: `[1]` for `y` in `x, y = ...`.
    pub path: Vec<usize>,
    /// Byte offset from which code sees the binding.
    pub visible_from: usize,
}

/// Statements whose body may not run, or may run several times.
const CONDITIONAL_KINDS: &[&str] = &[
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "try_statement",
    "except_clause",
    "match_statement",
    "case_clause",
];

/// Methods that change their receiver in place (besides PyTorch's `name_` methods).
const MUTATING_METHODS: &[&str] = &[
    "append", "extend", "insert", "sort", "reverse", "shuffle", "fill", "resize", "update",
];

/// The dotted text of a name or attribute chain (`x`, `self.x`), ignoring spacing.
pub(crate) fn name_text(file: &Context<'_>, node: Node<'_>) -> Option<String> {
    dotted_name(file, unparenthesized(node))
}

/// The function or lambda whose body holds `node`, or the module.
pub(crate) fn scope_of<'t>(file: &Context<'t>, node: Node<'_>) -> Node<'t> {
    file.enclosing_scope(node)
}

/// Names bound by an assignment target, each with its position in the tuple pattern.
pub(crate) fn pattern_targets(target: Node<'_>) -> Vec<(Node<'_>, Vec<usize>)> {
    let mut found = Vec::new();
    collect_targets(target, &mut Vec::new(), &mut found);
    found
}

fn collect_targets<'t>(
    target: Node<'t>,
    path: &mut Vec<usize>,
    found: &mut Vec<(Node<'t>, Vec<usize>)>,
) {
    match target.kind_name() {
        "identifier" | "attribute" | "subscript" => found.push((target, path.clone())),
        "parenthesized_expression" | "list_splat_pattern" | "as_pattern_target" => {
            let mut cursor = target.walk();
            let children: Vec<Node<'t>> = target
                .named_children(&mut cursor)
                .filter(|child| child.kind_name() != "comment")
                .collect();
            for child in children {
                collect_targets(child, path, found);
            }
        }
        "pattern_list" | "tuple_pattern" | "list_pattern" | "expression_list" | "tuple"
        | "list" => {
            let mut cursor = target.walk();
            let children: Vec<Node<'t>> = target
                .named_children(&mut cursor)
                .filter(|child| child.kind_name() != "comment")
                .collect();
            for (index, child) in children.into_iter().enumerate() {
                path.push(index);
                collect_targets(child, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The parameters of a function or lambda, in order.
pub(crate) struct Parameter<'t> {
    pub name: Node<'t>,
    pub node: Node<'t>,
    pub default: Option<Node<'t>>,
    /// Position when passed positionally (`None` after `*` / `*args`, and for `*args` and
    /// `**kwargs` themselves).
    pub position: Option<usize>,
}

pub(crate) fn parameters<'t>(function: Node<'t>) -> Vec<Parameter<'t>> {
    let Some(list) = function.field("parameters") else {
        return Vec::new();
    };
    let mut cursor = list.walk();
    let mut found = Vec::new();
    let mut position = Some(0usize);
    for node in list.named_children(&mut cursor) {
        let (name, default) = match node.kind_name() {
            "identifier" => (Some(node), None),
            "typed_parameter" => {
                let mut inner = node.walk();
                let name = node
                    .named_children(&mut inner)
                    .find(|child| child.kind_name() == "identifier");
                (name, None)
            }
            "default_parameter" | "typed_default_parameter" => {
                (node.field("name"), node.field("value"))
            }
            "list_splat_pattern" | "dictionary_splat_pattern" => {
                let mut inner = node.walk();
                let name = node
                    .named_children(&mut inner)
                    .find(|child| child.kind_name() == "identifier");
                if let Some(name) = name {
                    found.push(Parameter {
                        name,
                        node,
                        default: None,
                        position: None,
                    });
                }
                position = None;
                continue;
            }
            "keyword_separator" => {
                position = None;
                continue;
            }
            _ => continue,
        };
        if let Some(name) = name {
            found.push(Parameter {
                name,
                node,
                default,
                position,
            });
            position = position.map(|at| at + 1);
        }
    }
    found
}

/// The part of `scope` that runs as its code: a function's body, or the module.
fn scope_body(scope: Node<'_>) -> Node<'_> {
    match scope.kind_name() {
        "function_definition" | "lambda" => scope.field("body").unwrap_or(scope),
        _ => scope,
    }
}

/// Every binding of `name` that runs as part of `scope` (not in nested functions), in source
/// order, parameters first.
pub(crate) fn bindings<'t>(file: &Context<'t>, scope: Node<'t>, name: &str) -> Vec<Binding<'t>> {
    let mut found = Vec::new();
    if matches!(scope.kind_name(), "function_definition" | "lambda") {
        let visible_from = scope
            .field("parameters")
            .map_or(scope.start_byte(), |list| list.end_byte());
        for parameter in parameters(scope) {
            if file.node_text(parameter.name) == name {
                found.push(Binding {
                    kind: BindingKind::Param,
                    statement: parameter.node,
                    target: parameter.name,
                    value: parameter.default,
                    path: Vec::new(),
                    visible_from,
                });
            }
        }
    }
    for node in file.scope_descendants(scope_body(scope)) {
        collect_bindings(file, node, name, &mut found);
    }
    found
}

fn collect_bindings<'t>(
    file: &Context<'t>,
    node: Node<'t>,
    name: &str,
    found: &mut Vec<Binding<'t>>,
) {
    let matches = |target: Node<'_>| name_text(file, target).is_some_and(|text| text == name);
    match node.kind_name() {
        "assignment" => {
            let (Some(left), Some(mut right)) = (node.field("left"), node.field("right")) else {
                return;
            };
            // `a = b = value`: every target gets the innermost value.
            while right.kind_name() == "assignment" {
                match right.field("right") {
                    Some(inner) => right = inner,
                    None => return,
                }
            }
            for (target, path) in pattern_targets(left) {
                if target.kind_name() == "subscript" {
                    // `x[mask] = value` changes `x`.
                    if let Some(stored) = target.field("value").filter(|value| matches(*value)) {
                        found.push(mutation(node, stored, Some(right)));
                    }
                } else if matches(target) {
                    found.push(Binding {
                        kind: BindingKind::Assign,
                        statement: node,
                        target,
                        value: Some(right),
                        path,
                        visible_from: node.end_byte(),
                    });
                }
            }
        }
        "augmented_assignment" => {
            let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
                return;
            };
            if matches(left) {
                found.push(Binding {
                    kind: BindingKind::AugAssign,
                    statement: node,
                    target: left,
                    value: Some(right),
                    path: Vec::new(),
                    visible_from: node.end_byte(),
                });
            } else if left.kind_name() == "subscript"
                && let Some(stored) = left.field("value").filter(|value| matches(*value))
            {
                found.push(mutation(node, stored, Some(right)));
            }
        }
        "for_statement" => {
            let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
                return;
            };
            for (target, path) in pattern_targets(left) {
                if matches(target) {
                    found.push(Binding {
                        kind: BindingKind::For,
                        statement: node,
                        target,
                        value: Some(right),
                        path,
                        visible_from: left.end_byte(),
                    });
                }
            }
        }
        "with_item" => {
            let Some(value) = node.field("value") else {
                return;
            };
            if value.kind_name() != "as_pattern" {
                return;
            }
            let Some(alias) = value.field("alias") else {
                return;
            };
            let mut cursor = value.walk();
            let manager = value
                .named_children(&mut cursor)
                .find(|child| child.id() != alias.id());
            for (target, path) in pattern_targets(alias) {
                if matches(target) {
                    found.push(Binding {
                        kind: BindingKind::With,
                        statement: node,
                        target,
                        value: manager,
                        path,
                        visible_from: node.end_byte(),
                    });
                }
            }
        }
        "named_expression" => {
            if let (Some(target), Some(value)) = (node.field("name"), node.field("value"))
                && matches(target)
            {
                found.push(Binding {
                    kind: BindingKind::Walrus,
                    statement: node,
                    target,
                    value: Some(value),
                    path: Vec::new(),
                    visible_from: node.end_byte(),
                });
            }
        }
        "import_statement" | "import_from_statement" => {
            let mut cursor = node.walk();
            for imported in node.children_by_field_name("name", &mut cursor) {
                let bound = match imported.kind_name() {
                    "aliased_import" => imported.field("alias"),
                    // `import a.b` binds `a`.
                    _ => Some(imported),
                };
                let Some(bound) = bound else { continue };
                let text = file.node_text(bound);
                let head = text.split('.').next().unwrap_or(text);
                let local = if imported.kind_name() == "aliased_import"
                    || node.kind_name() == "import_from_statement"
                {
                    text
                } else {
                    head
                };
                if local == name {
                    found.push(Binding {
                        kind: BindingKind::Import,
                        statement: node,
                        target: bound,
                        value: None,
                        path: Vec::new(),
                        visible_from: node.end_byte(),
                    });
                }
            }
        }
        "function_definition" | "class_definition" => {
            if let Some(defined) = node.field("name")
                && file.node_text(defined) == name
            {
                found.push(Binding {
                    kind: BindingKind::Definition,
                    statement: node,
                    target: defined,
                    value: None,
                    path: Vec::new(),
                    visible_from: node.end_byte(),
                });
            }
        }
        "expression_statement" => {
            let Some(call) = node.named_child(0).map(unparenthesized).and_then(Call::new) else {
                return;
            };
            if let Some(target) = mutated_name(file, &call)
                && matches(target)
            {
                found.push(mutation(node, target, Some(call.node)));
            }
        }
        _ => {}
    }
}

fn mutation<'t>(statement: Node<'t>, target: Node<'t>, value: Option<Node<'t>>) -> Binding<'t> {
    Binding {
        kind: BindingKind::Mutation,
        statement,
        target,
        value,
        path: Vec::new(),
        visible_from: statement.end_byte(),
    }
}

/// The name a statement-level call changes in place: the receiver of `x.add_(1)`,
/// `x.append(v)`, or the first argument of `np.random.shuffle(x)`, `nn.init.normal_(x)`.
pub(crate) fn mutated_name<'t>(file: &Context<'t>, call: &Call<'t>) -> Option<Node<'t>> {
    let callee = call.callee_name(file);
    let in_place =
        (callee.ends_with('_') && !callee.ends_with("__")) || MUTATING_METHODS.contains(&callee);
    if !in_place {
        return None;
    }
    let first_argument = call.positional().first().copied().map(unparenthesized);
    let receiver = call.receiver().map(unparenthesized);
    // `random.shuffle(x)`, `np.random.shuffle(x)`, `rng.shuffle(x)`, `nn.init.zeros_(w)`:
    // a module or generator changes its argument.
    let argument_is_changed = matches!(callee, "shuffle")
        || receiver.is_none()
        || receiver.is_some_and(|receiver| is_module_like(file, receiver));
    if argument_is_changed && callee != "append" && callee != "extend" {
        return first_argument.filter(|node| name_text(file, *node).is_some());
    }
    receiver.filter(|node| name_text(file, *node).is_some())
}

/// Whether `node` names a library module or a random generator rather than data: `np.random`,
/// `random`, `torch`, `nn.init`, `rng`.
pub(crate) fn is_module_like(file: &Context<'_>, node: Node<'_>) -> bool {
    let Some(text) = name_text(file, node) else {
        return false;
    };
    let head = text.split('.').next().unwrap_or(&text);
    let resolved = file.imports().resolve(&text);
    matches!(
        head,
        "np" | "numpy"
            | "torch"
            | "random"
            | "nn"
            | "F"
            | "jnp"
            | "jax"
            | "tf"
            | "pd"
            | "sklearn"
            | "rng"
            | "init"
    ) || resolved.starts_with("numpy")
        || resolved.starts_with("torch")
        || resolved.starts_with("jax")
        || resolved.starts_with("random")
        || resolved.starts_with("sklearn")
        || resolved.starts_with("pandas")
        || resolved.starts_with("tensorflow")
}

/// Whether the binding at `statement` always runs before byte `at` in its scope: no `if`,
/// loop or `try` holds it without also holding `at`.
pub(crate) fn always_runs_before(file: &Context<'_>, statement: Node<'_>, at: usize) -> bool {
    let holds = |node: Node<'_>| node.start_byte() <= at && at < node.end_byte();
    let own = [statement];
    for ancestor in own.into_iter().chain(file.ancestors(statement)) {
        if is_scope(ancestor) || ancestor.kind_name() == "module" {
            break;
        }
        if CONDITIONAL_KINDS.contains(&ancestor.kind_name()) && !holds(ancestor) {
            return false;
        }
    }
    true
}

/// The bindings of `name` that may give it its value at byte `at` of `scope`, latest first.
pub(crate) fn reaching_in_scope<'t>(
    file: &Context<'t>,
    scope: Node<'t>,
    name: &str,
    at: usize,
) -> Vec<Binding<'t>> {
    let all = bindings(file, scope, name);
    let mut reaching = Vec::new();
    for binding in all
        .iter()
        .rev()
        .filter(|binding| binding.visible_from <= at)
    {
        reaching.push(binding.clone());
        if binding.kind.replaces() && always_runs_before(file, binding.statement, at) {
            return reaching;
        }
    }
    // Nothing always runs before: a loop may carry a value from its previous iteration.
    if reaching.iter().all(|binding| !binding.kind.replaces()) {
        let loops = loops_around(file, scope, at);
        for binding in all.iter().rev().filter(|binding| binding.visible_from > at) {
            if loops
                .iter()
                .any(|outer| contains(*outer, binding.statement))
            {
                reaching.push(binding.clone());
            }
        }
    }
    reaching
}

/// The bindings that give `name` its value where `use_node` reads it: in its own scope, or, for
/// a name the scope never binds, in the enclosing functions and then the module (where every
/// binding has run by the time a function is called, so the last ones count).
pub(crate) fn reaching<'t>(file: &Context<'t>, use_node: Node<'_>, name: &str) -> Vec<Binding<'t>> {
    let scope = scope_of(file, use_node);
    let found = reaching_in_scope(file, scope, name, use_node.start_byte());
    // A name the function binds anywhere is local to it (Python decides when compiling).
    if scope.kind_name() == "module" || !bindings(file, scope, name).is_empty() {
        return found;
    }
    let mut inner = scope;
    loop {
        let outer = scope_of(file, inner);
        if outer.id() == inner.id() {
            return Vec::new();
        }
        let found = reaching_in_scope(file, outer, name, outer.end_byte());
        if !found.is_empty() || outer.kind_name() == "module" {
            return found;
        }
        inner = outer;
    }
}

/// The loops of `scope` (not nested functions) whose range holds byte `at`.
fn loops_around<'t>(file: &Context<'t>, scope: Node<'t>, at: usize) -> Vec<Node<'t>> {
    file.scope_descendants(scope_body(scope))
        .filter(|node| matches!(node.kind_name(), "for_statement" | "while_statement"))
        .filter(|node| node.start_byte() <= at && at < node.end_byte())
        .collect()
}

/// Whether `node` is (inside) a target that receives a value rather than a read: the left
/// side of an assignment, a loop target, a `with ... as` alias, a parameter, a keyword name.
pub(crate) fn is_target(file: &Context<'_>, node: Node<'_>) -> bool {
    let mut child = node;
    for ancestor in file.ancestors(node) {
        match ancestor.kind_name() {
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                return ancestor
                    .field("left")
                    .is_some_and(|left| contains(left, child) && !inside_subscript(left, node));
            }
            "as_pattern_target" | "parameters" | "lambda_parameters" => return true,
            "keyword_argument" => {
                return ancestor
                    .field("name")
                    .is_some_and(|name| name.id() == child.id());
            }
            "named_expression" => {
                return ancestor
                    .field("name")
                    .is_some_and(|name| name.id() == child.id());
            }
            kind if kind.ends_with("statement") || kind == "block" || is_scope(ancestor) => {
                return false;
            }
            _ => child = ancestor,
        }
    }
    false
}

/// Whether `node` lies in the value or index of a subscript inside `target` (`x` in
/// `x[i] = v` is written, but `i` is read).
fn inside_subscript(target: Node<'_>, node: Node<'_>) -> bool {
    let mut current = node;
    while current.id() != target.id() {
        let Some(parent) = current.parent() else {
            return false;
        };
        if parent.kind_name() == "subscript"
            && parent
                .field("value")
                .is_none_or(|value| value.id() != current.id())
        {
            return true;
        }
        current = parent;
    }
    false
}

/// The nodes of `scope` (not nested functions) that read `name`: identifiers for a plain
/// name, attribute chains for a dotted one; targets of assignments are left out.
pub(crate) fn reads<'t>(file: &Context<'t>, scope_root: Node<'t>, name: &str) -> Vec<Node<'t>> {
    let dotted = name.contains('.');
    let wanted_kind = if dotted { "attribute" } else { "identifier" };
    file.scope_descendants(scope_root)
        .filter(|node| {
            node.kind_name() == wanted_kind
                && if dotted {
                    name_text(file, *node).is_some_and(|text| text == name)
                } else {
                    file.node_text(*node) == name
                }
        })
        .filter(|node| !is_attribute_field(file, *node))
        .filter(|node| !is_target(file, *node))
        .filter(|node| !is_definition_name(file, *node))
        .collect()
}

/// `b` in `a.b`: part of another name, not a mention of `b`.
fn is_attribute_field(file: &Context<'_>, node: Node<'_>) -> bool {
    file.parent(node).is_some_and(|parent| {
        parent.kind_name() == "attribute"
            && parent
                .field("attribute")
                .is_some_and(|field| field.id() == node.id())
    })
}

fn is_definition_name(file: &Context<'_>, node: Node<'_>) -> bool {
    file.parent(node).is_some_and(|parent| {
        matches!(
            parent.kind_name(),
            "function_definition"
                | "class_definition"
                | "aliased_import"
                | "dotted_name"
                | "import_statement"
                | "import_from_statement"
                | "global_statement"
                | "nonlocal_statement"
        )
    })
}
