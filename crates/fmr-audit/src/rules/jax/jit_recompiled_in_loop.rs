use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::jax::Transform;
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, contains, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for `jax.jit` (or `pmap`) applied inside a loop to a function object that is new on
/// every iteration: a `lambda`, a `functools.partial(...)`, or a function defined in the loop
/// body.
///
/// Jitting a module-level function inside a loop is not reported: JAX caches compilations by
/// function identity, so it compiles once.
///
/// ## Why is this bad?
/// JAX's compilation cache is keyed on the function object. A fresh lambda or `partial` each
/// iteration is a new key: every iteration traces and compiles from scratch, so a step that
/// should take milliseconds takes seconds, and the cache grows until memory runs out.
///
/// ## Example
/// ```python
/// for batch in batches:
///     step = jax.jit(lambda p, b: update(p, b, learning_rate))
///     params = step(params, batch)
/// ```
///
/// Use instead:
/// ```python
/// step = jax.jit(lambda p, b: update(p, b, learning_rate))
/// for batch in batches:
///     params = step(params, batch)
/// ```
///
/// ## References
/// - [JAX: JIT mechanics, caching](https://docs.jax.dev/en/latest/jit-compilation.html#caching)
///
/// ## Confirms
/// - FM0100: XLA recompilation slows training
pub struct JitRecompiledInLoop;

impl AuditRule for JitRecompiledInLoop {
    fn code(&self) -> &'static str {
        "JX015"
    }

    fn name(&self) -> &'static str {
        "jit-recompiled-in-loop"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        for compiled in &file.jit_functions().compiled {
            if !matches!(compiled.transform, Transform::Jit | Transform::Pmap) {
                continue;
            }
            let Some(call) = Call::new(compiled.site) else {
                continue;
            };
            let Some(repeated) = file.enclosing_loops(call.node).next() else {
                continue;
            };
            let Some(wrapped) = call.argument(file, 0, "fun").map(unparenthesized) else {
                continue;
            };
            if !is_new_each_iteration(file, wrapped, compiled.function, repeated) {
                continue;
            }
            let (line, _) = file.position(repeated);
            let message = format!(
                "`{}` compiles a function object created anew on every iteration of the loop at line {line}: JAX \
                 caches compilations by function identity, so each iteration traces and compiles again; build the \
                 jitted function once, before the loop",
                short_text(file, call.node)
            );
            findings.push(file.finding(self, call.node, message, 0.8));
        }
        for call in file.calls().iter().filter(|call| {
            matches!(call.callee_name(file), "jit" | "pmap")
                && call
                    .positional()
                    .first()
                    .and_then(|argument| Call::new(unparenthesized(*argument)))
                    .is_some_and(|inner| inner.callee_name(file) == "partial")
        }) {
            let Some(repeated) = file.enclosing_loops(call.node).next() else {
                continue;
            };
            let (line, _) = file.position(repeated);
            let message = format!(
                "`{}` wraps a new `functools.partial` object on every iteration of the loop at line {line}: each one \
                 is a new cache key, so JAX traces and compiles on every iteration; create the jitted function once, \
                 before the loop (pass the changing values as arguments)",
                short_text(file, call.node)
            );
            findings.push(file.finding(self, call.node, message, 0.8));
        }
        findings
    }
}

/// A lambda written at the call, or a function defined inside the loop body.
fn is_new_each_iteration(
    file: &Context<'_>,
    wrapped: Node<'_>,
    function: Option<Node<'_>>,
    repeated: Node<'_>,
) -> bool {
    match wrapped.kind_name() {
        "lambda" => true,
        "identifier" => function.is_some_and(|function| {
            contains(repeated, function)
                && file.enclosing_function(function) == file.enclosing_function(repeated)
        }),
        _ => false,
    }
}
