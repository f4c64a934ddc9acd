use std::collections::{HashMap, HashSet};

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::imports::Imports;
use crate::semantic::jax::{KeyUse, key_use, parameter_names};
use crate::syntax::{NodeExt, bound_names, contains, dotted_name};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for a JAX PRNG key used again after it was consumed, within one function:
/// - passed to two `jax.random` samplers (`normal`, `uniform`, `bernoulli`, ...) without being
///   reassigned in between;
/// - passed to a sampler, or split again, after `jax.random.split` already consumed it;
/// - used by a sampler inside a loop (or comprehension) that never reassigns it, so every
///   iteration draws the same numbers;
/// - passed, inside such a loop, to a function of the file that splits or samples from that
///   parameter (`params = train_step(params, key)` in a loop that never splits `key`).
///
/// Uses in different branches of one `if` (or after a branch that returns) are not reported,
/// and neither is `fold_in`, which is meant to derive many keys from one.
///
/// ## Why is this bad?
/// A JAX key is not a stateful generator: the same key gives the same bits. Reusing it makes
/// "independent" draws identical or correlated: every layer gets the same dropout mask, every
/// step the same noise, every environment the same exploration. Training runs without error
/// but with far less randomness than intended, which shows up as poor generalization or
/// collapsed exploration.
///
/// ## Example
/// ```python
/// key = jax.random.PRNGKey(0)
/// weights = jax.random.normal(key, (784, 512))
/// noise = jax.random.normal(key, (512,))
/// ```
///
/// Use instead:
/// ```python
/// key = jax.random.PRNGKey(0)
/// key, weights_key, noise_key = jax.random.split(key, 3)
/// weights = jax.random.normal(weights_key, (784, 512))
/// noise = jax.random.normal(noise_key, (512,))
/// ```
///
/// ## References
/// - [JAX: pseudorandom numbers](https://docs.jax.dev/en/latest/random-numbers.html)
/// - [JAX: `jax.random` module](https://docs.jax.dev/en/latest/jax.random.html)
///
/// ## Confirms
/// - none yet (proposed entry: "JAX PRNG key reused or recreated: randomness repeats")
pub struct PrngKeyReuse;

impl AuditRule for PrngKeyReuse {
    fn code(&self) -> &'static str {
        "JX001"
    }

    fn name(&self) -> &'static str {
        "prng-key-reuse"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        // Every consuming call goes through `jax.random` (or an alias importing it).
        if !file.mentions("random") {
            return Vec::new();
        }
        let imports = file.imports();
        let mut findings = Vec::new();
        let mut reported = HashSet::new();
        let scopes = std::iter::once(file.source().root()).chain(
            file.nodes_of_kind("function_definition")
                .filter_map(|function| function.field("body")),
        );
        for scope in scopes {
            let uses = key_uses(file, imports, scope);
            self.check_sequence(file, &uses, &mut reported, &mut findings);
            self.check_loops(file, scope, &uses, &mut reported, &mut findings);
        }
        self.check_loop_calls(file, imports, &mut reported, &mut findings);
        findings
    }
}

/// One consuming use of a key.
struct Use<'t> {
    kind: KeyUse,
    /// `jax.random.normal`, as written in messages.
    function: String,
    call: Node<'t>,
    /// The key expression's text: `key`, `self.rng`, `keys[0]`.
    key: String,
    /// The key as last consumed before this use, since its last assignment.
    previous: Option<(KeyUse, String, Node<'t>)>,
}

/// The consuming key uses of `scope` in source order, each with the previous consumption of the
/// same key since it was last assigned.
fn key_uses<'t>(file: &Context<'t>, imports: &Imports, scope: Node<'t>) -> Vec<Use<'t>> {
    let mut last_use: HashMap<String, (KeyUse, String, Node<'t>)> = HashMap::new();
    // Assignments take effect once their right-hand side (often the `split` itself) has run.
    let mut pending: Vec<(usize, Vec<String>)> = Vec::new();
    let mut uses = Vec::new();
    for node in file.scope_descendants(scope) {
        while pending
            .last()
            .is_some_and(|(end, _)| node.start_byte() >= *end)
        {
            if let Some((_, names)) = pending.pop() {
                forget(&mut last_use, &names);
            }
        }
        match node.kind_name() {
            "assignment" | "augmented_assignment" | "named_expression" => {
                let target = node.field("left").or_else(|| node.field("name"));
                let names = target
                    .map(|target| bound_texts(file, target))
                    .unwrap_or_default();
                pending.push((node.end_byte(), names));
            }
            "for_statement" | "for_in_clause" => {
                let names = node
                    .field("left")
                    .map(|left| bound_texts(file, left))
                    .unwrap_or_default();
                forget(&mut last_use, &names);
            }
            "call" => {
                let Some(call) = file.call_at(node) else {
                    continue;
                };
                let Some((kind, function, key)) = key_use(file, imports, &call) else {
                    continue;
                };
                let Some(key) = key_text(file, key) else {
                    continue;
                };
                let previous = last_use.get(&key).cloned();
                // A split after a sampler is the documented idiom; what it yields is fresh.
                let record = !(kind == KeyUse::Split
                    && previous
                        .as_ref()
                        .is_some_and(|(kind, ..)| *kind == KeyUse::Sample));
                if record {
                    last_use.insert(key.clone(), (kind, function.clone(), node));
                }
                uses.push(Use {
                    kind,
                    function,
                    call: node,
                    key,
                    previous,
                });
            }
            _ => {}
        }
    }
    uses
}

impl PrngKeyReuse {
    /// A key consumed twice in a row, outside exclusive branches.
    fn check_sequence(
        &self,
        file: &Context<'_>,
        uses: &[Use<'_>],
        reported: &mut HashSet<usize>,
        findings: &mut Vec<AuditFinding>,
    ) {
        for current in uses {
            let Some((previous_kind, previous_function, previous_call)) = &current.previous else {
                continue;
            };
            let reuse = match (previous_kind, current.kind) {
                (KeyUse::Sample, KeyUse::Sample) | (KeyUse::Split, _) => true,
                (KeyUse::Sample, KeyUse::Split) => false,
            };
            if !reuse
                || exclusive_branches(file, *previous_call, current.call)
                || !reported.insert(current.call.id())
            {
                continue;
            }
            let (previous_line, _) = file.position(*previous_call);
            let key = &current.key;
            let message = if *previous_kind == KeyUse::Split {
                format!(
                    "`{key}` was already split by `{previous_function}` (line {previous_line}) and is passed to \
                     `{}` again: the result repeats or correlates with the keys that split produced; use one of the \
                     new subkeys",
                    current.function
                )
            } else {
                format!(
                    "`{key}` was already used by `{previous_function}` (line {previous_line}) and is passed to `{}` again \
                     without a new `jax.random.split`: both draws come from the same random bits; split the key \
                     and give each call its own subkey",
                    current.function
                )
            };
            findings.push(file.finding(self, current.call, message, 0.9));
        }
    }

    /// A key consumed inside a loop or comprehension that never reassigns it.
    fn check_loops<'t>(
        &self,
        file: &Context<'t>,
        scope: Node<'t>,
        uses: &[Use<'t>],
        reported: &mut HashSet<usize>,
        findings: &mut Vec<AuditFinding>,
    ) {
        for current in uses {
            let root = key_root(&current.key);
            let Some(repeated) = repeating_iteration(file, scope, current.call, root) else {
                continue;
            };
            if !reported.insert(current.call.id()) {
                continue;
            }
            let (loop_line, _) = file.position(repeated);
            let construct = if repeated.kind_name().ends_with("_statement") {
                "loop"
            } else {
                "comprehension"
            };
            let message = format!(
                "`{}` is passed to `{}` inside the {construct} at line {loop_line}, which never reassigns it: \
                 every iteration draws the same numbers; split the key each iteration (`{root}, subkey = \
                 jax.random.split({root})`) and use the subkey",
                current.key, current.function
            );
            findings.push(file.finding(self, current.call, message, 0.8));
        }
    }
}

/// The innermost loop or comprehension around `call` (inside `scope`) that runs it again and
/// again without rebinding `root`. The iterable of a `for` (or of a comprehension) is evaluated
/// once, so a call there does not repeat.
impl PrngKeyReuse {
    /// A key handed, inside a loop that never reassigns it, to a local function that consumes
    /// the matching parameter: each call splits or samples from the same key.
    fn check_loop_calls(
        &self,
        file: &Context<'_>,
        imports: &Imports,
        reported: &mut HashSet<usize>,
        findings: &mut Vec<AuditFinding>,
    ) {
        for call in file.calls() {
            let [function] = file.locals().callees(file.source(), call) else {
                continue;
            };
            let scope = file
                .enclosing_function(call.node)
                .and_then(|enclosing| enclosing.field("body"))
                .unwrap_or_else(|| file.source().root());
            let parameters = parameter_names(file, *function);
            for (position, argument) in call.positional().into_iter().enumerate() {
                let Some(key) = key_text(file, argument) else {
                    continue;
                };
                let Some(parameter) = parameters.get(position) else {
                    continue;
                };
                let Some(consumer) = consumer_of(file, imports, *function, parameter) else {
                    continue;
                };
                let Some(repeated) = repeating_iteration(file, scope, call.node, key_root(&key))
                else {
                    continue;
                };
                if !reported.insert(call.node.id()) {
                    continue;
                }
                let (loop_line, _) = file.position(repeated);
                let (consumer_line, _) = file.position(consumer.1);
                let message = format!(
                    "`{key}` is passed to `{}` inside the loop at line {loop_line}, which never reassigns it, and \
                     `{}` consumes it with `{}` (line {consumer_line}): every iteration gets the same random \
                     numbers; split the key each iteration (`{root}, subkey = \
                     jax.random.split({root})`) and pass the subkey",
                    call.callee_name(file),
                    call.callee_name(file),
                    consumer.0,
                    root = key_root(&key),
                );
                findings.push(file.finding(self, call.node, message, 0.8));
            }
        }
    }
}

/// The first `jax.random` call in `function`'s own body that splits or samples from its
/// parameter `parameter`, as the function's name and call node.
fn consumer_of<'t>(
    file: &Context<'t>,
    imports: &Imports,
    function: Node<'t>,
    parameter: &str,
) -> Option<(String, Node<'t>)> {
    let body = function.field("body")?;
    file.scope_descendants(body).find_map(|node| {
        let call = file.call_at(node)?;
        let (_, name, key) = key_use(file, imports, &call)?;
        (file.node_text(key) == parameter).then_some((name, node))
    })
}

fn repeating_iteration<'t>(
    file: &Context<'t>,
    scope: Node<'_>,
    call: Node<'_>,
    root: &str,
) -> Option<Node<'t>> {
    let mut child = call;
    let mut in_iterable = false;
    for ancestor in file.ancestors(call) {
        if ancestor.id() == scope.id() {
            break;
        }
        let is_iterable_of = matches!(ancestor.kind_name(), "for_statement" | "for_in_clause")
            && ancestor
                .field("right")
                .is_some_and(|right| right.id() == child.id());
        in_iterable |= is_iterable_of;
        if is_iteration(ancestor) {
            if !in_iterable && !rebinds(file, ancestor, root) {
                return Some(ancestor);
            }
            in_iterable = false;
        }
        child = ancestor;
    }
    None
}

fn is_iteration(node: Node<'_>) -> bool {
    matches!(
        node.kind_name(),
        "for_statement"
            | "while_statement"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression"
    )
}

/// Whether `root` is (re)bound anywhere inside `iteration`, including as its loop variable.
fn rebinds(file: &Context<'_>, iteration: Node<'_>, root: &str) -> bool {
    file.scope_descendants(iteration).any(|node| {
        let target = match node.kind_name() {
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                node.field("left")
            }
            "named_expression" => node.field("name"),
            "as_pattern_target" => Some(node),
            _ => None,
        };
        target.is_some_and(|target| {
            bound_texts(file, target)
                .iter()
                .any(|name| key_root(name) == root)
        })
    })
}

/// The texts of the names a target binds.
fn bound_texts(file: &SourceFile, target: Node<'_>) -> Vec<String> {
    bound_names(target)
        .into_iter()
        .map(|name| file.node_text(name).to_owned())
        .collect()
}

/// Forgets every key derived from a reassigned name: `keys` also covers `keys[0]`.
fn forget(last_use: &mut HashMap<String, (KeyUse, String, Node<'_>)>, names: &[String]) {
    last_use.retain(|key, _| !names.iter().any(|name| key_root(key) == key_root(name)));
}

/// `keys` for `keys[0]`, `self.rng` for `self.rng`.
fn key_root(key: &str) -> &str {
    key.split('[').next().unwrap_or(key)
}

/// A key expression this rule can follow: a name, an attribute, or a name indexed by a
/// constant.
fn key_text(file: &SourceFile, key: Node<'_>) -> Option<String> {
    if let Some(name) = dotted_name(file, key) {
        return Some(name);
    }
    if key.kind_name() != "subscript" {
        return None;
    }
    let value = dotted_name(file, key.field("value")?)?;
    let index = key.field("subscript")?;
    (index.kind_name() == "integer").then(|| format!("{value}[{}]", file.node_text(index)))
}

/// Whether `earlier` and `later` cannot both run: they sit in different arms of one
/// `if`/`elif`/`else` or conditional expression, or `earlier` is in a block that returns (or
/// raises) before control can reach `later`.
fn exclusive_branches(file: &Context<'_>, earlier: Node<'_>, later: Node<'_>) -> bool {
    let arms = branch_arms(file, earlier);
    let different_arms = branch_arms(file, later).iter().any(|(conditional, arm)| {
        arms.iter().any(|(other_conditional, other_arm)| {
            other_conditional == conditional && other_arm != arm
        })
    });
    different_arms || leaves_before(file, earlier, later)
}

/// Whether a block around `earlier`, not around `later`, ends by returning or raising after it.
fn leaves_before(file: &Context<'_>, earlier: Node<'_>, later: Node<'_>) -> bool {
    file.ancestors(earlier)
        .filter(|ancestor| ancestor.kind_name() == "block")
        .any(|block| {
            let last_statement = (0..block.named_child_count())
                .rev()
                .filter_map(|index| {
                    u32::try_from(index)
                        .ok()
                        .and_then(|index| block.named_child(index))
                })
                .find(|statement| statement.kind_name() != "comment");
            !contains(block, later)
                && last_statement.is_some_and(|statement| {
                    matches!(
                        statement.kind_name(),
                        "return_statement" | "raise_statement"
                    ) && statement.end_byte() >= earlier.end_byte()
                })
        })
}

/// For each conditional around `node`: (the conditional's id, the id of the arm holding `node`).
fn branch_arms(file: &Context<'_>, node: Node<'_>) -> Vec<(usize, usize)> {
    let mut arms = Vec::new();
    let mut child = node;
    for parent in file.ancestors(node) {
        let is_condition = parent
            .field("condition")
            .is_some_and(|condition| condition.id() == child.id());
        let conditional = match parent.kind_name() {
            "if_statement" => true,
            // `a if condition else b`: the condition is the middle named child.
            "conditional_expression" => parent
                .named_child(1)
                .is_none_or(|condition| condition.id() != child.id()),
            _ => false,
        };
        if conditional && !is_condition {
            arms.push((parent.id(), child.id()));
        }
        child = parent;
    }
    arms
}
