//! JAX: which `jax.random` calls consume a key, and which functions JAX traces (`jit`, `pmap`,
//! `vmap`, `lax` control-flow bodies) with their static and donated arguments.

use std::collections::HashSet;

use tree_sitter::Node;

use super::imports::Imports;
use crate::syntax::{Call, NodeExt, dotted_name, string_value, unparenthesized};
use crate::{Context, SourceFile};

/// How a `jax.random` call uses its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// `jax.random.split(key)`: derives new keys; the key itself must not be used again.
    Split,
    /// `jax.random.normal(key, ...)` and every other sampler.
    Sample,
}

/// `jax.random` functions that make, inspect or deterministically derive keys rather than
/// consume them: `fold_in(key, i)` is meant to be called on one base key many times.
const NON_CONSUMING: &[&str] = &[
    "PRNGKey",
    "key",
    "fold_in",
    "key_data",
    "wrap_key_data",
    "key_impl",
    "clone",
    "default_prng_impl",
];

/// A `jax.random` call, its function name, and its key argument.
pub fn key_use<'t>(
    file: &SourceFile,
    imports: &Imports,
    call: &Call<'t>,
) -> Option<(KeyUse, String, Node<'t>)> {
    let full = imports.resolve(&call.dotted_name(file)?);
    let function = full.strip_prefix("jax.random.")?;
    if function.contains('.') || NON_CONSUMING.contains(&function) {
        return None;
    }
    let kind = if function == "split" {
        KeyUse::Split
    } else {
        KeyUse::Sample
    };
    let key = call.argument(file, 0, "key")?;
    Some((kind, format!("jax.random.{function}"), key))
}

/// What traces a function: its Python body runs once, on abstract values, when the transform
/// first sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// `jax.jit`, `pjit`, `nnx.jit`, `equinox.filter_jit`.
    Jit,
    /// `jax.pmap`.
    Pmap,
    /// `jax.vmap`.
    Vmap,
    /// A body given to `lax.scan`, `fori_loop`, `while_loop`, `cond`, `switch` or `lax.map`.
    ControlFlowBody,
}

impl Transform {
    /// How messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Jit => "`jax.jit`",
            Self::Pmap => "`jax.pmap`",
            Self::Vmap => "`jax.vmap`",
            Self::ControlFlowBody => "a `jax.lax` control-flow primitive",
        }
    }
}

/// A function of the file transformed by JAX.
#[derive(Debug, Clone)]
pub struct Compiled<'t> {
    /// The function definition (or lambda) when it is in this file; `None` when the transform
    /// wraps a parameter or an imported function (`jax.jit(train_step)` inside `train(...)`).
    pub function: Option<Node<'t>>,
    /// The decorator or the wrapping call.
    pub site: Node<'t>,
    pub transform: Transform,
    /// Parameters marked static (`static_argnums`, `static_argnames`), by name when known.
    pub static_params: Vec<String>,
    /// Positions given in `static_argnums`.
    pub static_positions: Vec<usize>,
    /// Positions of donated arguments (`donate_argnums`, `donate_argnames`).
    pub donated: Vec<usize>,
    /// The `axis_name` given to `pmap`/`vmap`, when a literal.
    pub axis_name: Option<String>,
    /// The name the transformed function is called by: the function's own name when decorated,
    /// the assigned name for `step = jax.jit(train_step)`.
    pub callable_name: Option<String>,
}

/// The functions of a file that JAX traces.
#[derive(Debug, Default)]
pub struct JitFunctions<'t> {
    pub compiled: Vec<Compiled<'t>>,
    /// Ids of every function whose body JAX traces: the transformed ones, functions nested in
    /// them, and functions of the file they reference by name (transitively).
    traced: HashSet<usize>,
}

impl<'t> JitFunctions<'t> {
    pub fn collect(file: &Context<'t>) -> Self {
        if !file.mentions("jax") && !file.mentions("jit") {
            return Self::default();
        }
        let mut compiled = Vec::new();
        for decorated in file.nodes_of_kind("decorated_definition") {
            let Some(function) = decorated
                .field("definition")
                .filter(|definition| definition.kind_name() == "function_definition")
            else {
                continue;
            };
            let mut cursor = decorated.walk();
            for decorator in decorated
                .named_children(&mut cursor)
                .filter(|child| child.kind_name() == "decorator")
            {
                let Some(expression) = decorator.named_child(0) else {
                    continue;
                };
                if let Some((transform, options)) = transform_of(file, expression) {
                    let callable_name = function
                        .field("name")
                        .map(|name| file.node_text(name).to_owned());
                    compiled.push(compiled_function(
                        file,
                        Some(function),
                        decorator,
                        transform,
                        options,
                        callable_name,
                    ));
                }
            }
        }
        for call in file.calls() {
            let Some((transform, options)) = transform_of(file, call.node) else {
                continue;
            };
            for body in wrapped_functions(file, call, transform) {
                let function = local_function(file, body).or_else(|| method_of_self(file, body));
                let callable_name = crate::syntax::assigned_to(call.node)
                    .filter(|target| matches!(target.kind_name(), "identifier" | "attribute"))
                    .map(|target| file.node_text(target).to_owned());
                compiled.push(compiled_function(
                    file,
                    function,
                    call.node,
                    transform,
                    options,
                    callable_name,
                ));
            }
        }
        let traced = traced_functions(file, &compiled);
        Self { compiled, traced }
    }

    /// Whether `function` (a `function_definition` or `lambda`) is traced by JAX.
    pub fn is_traced(&self, function: Node<'_>) -> bool {
        self.traced.contains(&function.id())
    }

    /// The transformed function `node` is in (the innermost function that JAX traces), if any.
    pub fn traced_function_around<'c>(
        &self,
        file: &'c Context<'t>,
        node: Node<'_>,
    ) -> Option<Node<'t>> {
        file.ancestors(node)
            .filter(|ancestor| matches!(ancestor.kind_name(), "function_definition" | "lambda"))
            .find(|function| self.is_traced(*function))
    }

    /// The compiled (jit or pmap) entry whose function directly contains `node`.
    pub fn compiled_around(&self, file: &Context<'t>, node: Node<'_>) -> Option<&Compiled<'t>> {
        let function = file.enclosing_function(node)?;
        self.compiled.iter().find(|compiled| {
            compiled
                .function
                .is_some_and(|found| found.id() == function.id())
        })
    }
}

/// The options call of a transform: `jax.jit(f, static_argnums=...)`, or the `partial` /
/// decorator-factory call that carries them.
type Options<'t> = Option<Call<'t>>;

/// Whether `expression` names or builds a JAX transform: `jax.jit`, `jit`, `partial(jax.jit,
/// static_argnums=0)`, `jax.jit(static_argnames="n")`, `jax.lax.scan`, ...
fn transform_of<'t>(file: &Context<'t>, expression: Node<'t>) -> Option<(Transform, Options<'t>)> {
    if let Some(call) = Call::new(expression) {
        let callee = file.imports().resolve(&call.dotted_name(file)?);
        if callee == "functools.partial" || callee == "partial" {
            let inner = call.positional().first().copied()?;
            let (transform, _) = transform_of(file, inner)?;
            return Some((transform, Some(call)));
        }
        if let Some(transform) = transform_named(file, &callee) {
            return Some((transform, Some(call)));
        }
        return None;
    }
    let dotted = dotted_name(file, expression)?;
    let callee = file.imports().resolve(&dotted);
    transform_named(file, &callee).map(|transform| (transform, None))
}

fn transform_named(file: &Context<'_>, path: &str) -> Option<Transform> {
    let from_jax = ["jax.", "flax.", "equinox.", "eqx."]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    // A bare `jit` with no import in sight: JAX's, when the file mentions JAX at all (numba's
    // `jit` resolves to `numba.jit` through its import).
    let bare = !path.contains('.') && file.mentions("jax");
    if !from_jax && !bare {
        return None;
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    match last {
        "jit" | "pjit" | "filter_jit" => Some(Transform::Jit),
        "pmap" | "filter_pmap" => Some(Transform::Pmap),
        "vmap" | "filter_vmap" => Some(Transform::Vmap),
        "scan" | "fori_loop" | "while_loop" | "cond" | "switch" | "map" if path.contains("lax") => {
            Some(Transform::ControlFlowBody)
        }
        _ => None,
    }
}

/// The function arguments a transform call wraps: `f` of `jax.jit(f)`, the body of
/// `lax.fori_loop(0, n, body, init)`, both branches of `lax.cond`.
fn wrapped_functions<'t>(
    file: &Context<'t>,
    call: &Call<'t>,
    transform: Transform,
) -> Vec<Node<'t>> {
    let positional = call.positional();
    if transform != Transform::ControlFlowBody {
        // A factory call (`jax.jit(static_argnames=...)`) wraps nothing itself.
        return call.argument(file, 0, "fun").into_iter().collect();
    }
    let name = call.callee_name(file);
    let positions: &[usize] = match name {
        "scan" | "map" => &[0],
        "fori_loop" => &[2],
        "while_loop" => &[0, 1],
        "cond" => &[1, 2],
        "switch" => &[1],
        _ => &[],
    };
    let mut functions: Vec<Node<'t>> = positions
        .iter()
        .filter_map(|position| positional.get(*position).copied())
        .collect();
    // `lax.switch(index, [f, g])`
    if name == "switch" {
        functions = functions
            .into_iter()
            .flat_map(|branches| {
                let mut cursor = branches.walk();
                branches.named_children(&mut cursor).collect::<Vec<_>>()
            })
            .collect();
    }
    functions
}

/// The definition `node` refers to: a lambda itself, or the function of the file with that
/// name (the last definition, as Python binds it).
fn local_function<'t>(file: &Context<'t>, node: Node<'t>) -> Option<Node<'t>> {
    let node = unparenthesized(node);
    match node.kind_name() {
        "lambda" => Some(node),
        "identifier" => {
            let name = file.node_text(node);
            file.nodes_of_kind("function_definition")
                .filter(|function| {
                    function
                        .field("name")
                        .is_some_and(|found| file.node_text(found) == name)
                })
                .last()
        }
        _ => None,
    }
}

/// `self.update` inside a class: the method `update` of that class.
fn method_of_self<'t>(file: &Context<'t>, node: Node<'t>) -> Option<Node<'t>> {
    let node = unparenthesized(node);
    if node.kind_name() != "attribute"
        || node.field("object").map(|object| file.node_text(object)) != Some("self")
    {
        return None;
    }
    let name = file.node_text(node.field("attribute")?);
    let class = file.enclosing_class(node)?;
    file.descendants(class)
        .filter(|function| function.kind_name() == "function_definition")
        .find(|function| {
            file.enclosing_class(*function).map(|found| found.id()) == Some(class.id())
                && function
                    .field("name")
                    .is_some_and(|found| file.node_text(found) == name)
        })
}

fn compiled_function<'t>(
    file: &Context<'t>,
    function: Option<Node<'t>>,
    site: Node<'t>,
    transform: Transform,
    options: Options<'t>,
    callable_name: Option<String>,
) -> Compiled<'t> {
    let parameters = function
        .map(|function| parameter_names(file, function))
        .unwrap_or_default();
    let mut static_params = Vec::new();
    let mut static_positions = Vec::new();
    let mut donated = Vec::new();
    let mut axis_name = None;
    if let Some(options) = options {
        let keyword = |name: &str| options.keyword(file, name);
        static_positions = keyword("static_argnums")
            .map(|value| integers(file, value))
            .unwrap_or_default();
        for position in &static_positions {
            if let Some(name) = parameters.get(*position) {
                static_params.push(name.clone());
            }
        }
        static_params.extend(
            keyword("static_argnames")
                .map(|value| strings(file, value))
                .unwrap_or_default(),
        );
        // NNX transforms write the new arrays back into the module objects they receive, so a
        // donated NNX model stays usable after the call.
        let nnx = file.node_text(site).contains("nnx");
        if !nnx {
            donated.extend(
                keyword("donate_argnums")
                    .map(|value| integers(file, value))
                    .unwrap_or_default(),
            );
            for name in keyword("donate_argnames")
                .map(|value| strings(file, value))
                .unwrap_or_default()
            {
                if let Some(position) = parameters.iter().position(|parameter| *parameter == name) {
                    donated.push(position);
                }
            }
        }
        axis_name = keyword("axis_name")
            .and_then(|value| string_value(file.source(), value))
            .map(str::to_owned);
    }
    Compiled {
        function,
        site,
        transform,
        static_params,
        static_positions,
        donated,
        axis_name,
        callable_name,
    }
}

/// The names of a function's (or lambda's) positional parameters, in order; `*args` and
/// keyword-only parameters end the list.
pub fn parameter_names(file: &Context<'_>, function: Node<'_>) -> Vec<String> {
    let Some(parameters) = function.field("parameters") else {
        return Vec::new();
    };
    let mut cursor = parameters.walk();
    let mut names = Vec::new();
    for parameter in parameters.named_children(&mut cursor) {
        let name = match parameter.kind_name() {
            "identifier" => Some(parameter),
            "typed_parameter" => parameter
                .named_child(0)
                .filter(|name| name.kind_name() == "identifier"),
            "default_parameter" | "typed_default_parameter" => parameter.field("name"),
            _ => break,
        };
        if let Some(name) = name {
            names.push(file.node_text(name).to_owned());
        }
    }
    names
}

/// `0`, `(0, 2)`, `[1]` → the integers.
fn integers(file: &Context<'_>, value: Node<'_>) -> Vec<usize> {
    let value = unparenthesized(value);
    if value.kind_name() == "integer" {
        return file.node_text(value).parse().ok().into_iter().collect();
    }
    let mut cursor = value.walk();
    value
        .named_children(&mut cursor)
        .filter(|item| item.kind_name() == "integer")
        .filter_map(|item| file.node_text(item).parse().ok())
        .collect()
}

/// `"n"`, `("n", "m")` → the strings.
fn strings(file: &Context<'_>, value: Node<'_>) -> Vec<String> {
    let value = unparenthesized(value);
    if let Some(single) = string_value(file.source(), value) {
        return vec![single.to_owned()];
    }
    let mut cursor = value.walk();
    value
        .named_children(&mut cursor)
        .filter_map(|item| string_value(file.source(), item))
        .map(str::to_owned)
        .collect()
}

/// The transformed functions, what is nested in them, and the file's functions they reference
/// by name, to a fixed point.
fn traced_functions(file: &Context<'_>, compiled: &[Compiled<'_>]) -> HashSet<usize> {
    let mut traced = HashSet::new();
    let mut pending: Vec<Node<'_>> = compiled.iter().filter_map(|entry| entry.function).collect();
    while let Some(function) = pending.pop() {
        if !traced.insert(function.id()) {
            continue;
        }
        for node in file.descendants(function).skip(1) {
            match node.kind_name() {
                "function_definition" | "lambda" => pending.push(node),
                "identifier" => {
                    let name = file.node_text(node);
                    if file.locals().is_defined(name)
                        && let Some(local) = local_function(file, node)
                    {
                        pending.push(local);
                    }
                }
                _ => {}
            }
        }
    }
    traced
}
