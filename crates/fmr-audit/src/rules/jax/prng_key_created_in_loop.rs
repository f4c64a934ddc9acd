use fmr_core::AuditFinding;

use crate::semantic::names::varies_per_iteration;
use crate::semantic::training::short_text;
use crate::syntax::NodeExt;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a JAX PRNG key created from a fixed seed where it runs again and again:
/// `jax.random.PRNGKey(seed)` / `jax.random.key(seed)` inside a loop with a seed that does not
/// change between iterations, or with a literal seed inside a jitted function (a training step
/// runs on every batch).
///
/// A key built from the loop variable (`PRNGKey(step)`) or folded in (`fold_in(key, step)`) is
/// not reported.
///
/// ## Why is this bad?
/// The same seed gives the same key, and the same key gives the same random bits. Every
/// iteration then draws identical dropout masks, noise or exploration actions: regularization
/// stops working and stochastic methods behave deterministically, with no error.
///
/// ## Example
/// ```python
/// for step in range(num_steps):
///     key = jax.random.PRNGKey(0)
///     params, loss = train_step(params, batch, key)
/// ```
///
/// Use instead:
/// ```python
/// key = jax.random.PRNGKey(0)
/// for step in range(num_steps):
///     key, step_key = jax.random.split(key)
///     params, loss = train_step(params, batch, step_key)
/// ```
///
/// ## References
/// - [JAX: pseudorandom numbers](https://docs.jax.dev/en/latest/random-numbers.html)
/// - [JAX: `jax.random.fold_in`](https://docs.jax.dev/en/latest/_autosummary/jax.random.fold_in.html)
///
/// ## Confirms
/// - none yet (proposed entry: "JAX PRNG key reused or recreated: randomness repeats")
pub struct PrngKeyCreatedInLoop;

impl AuditRule for PrngKeyCreatedInLoop {
    fn code(&self) -> &'static str {
        "JX002"
    }

    fn name(&self) -> &'static str {
        "prng-key-created-in-loop"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("PRNGKey") && !file.mentions("key(") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for name in ["PRNGKey", "key"] {
            for call in file.calls_named(name) {
                let Some(dotted) = call.dotted_name(file) else {
                    continue;
                };
                if file.imports().resolve(&dotted) != format!("jax.random.{name}") {
                    continue;
                }
                let Some(seed) = call.argument(file, 0, "seed") else {
                    continue;
                };
                let message = if let Some(repeated) = file.enclosing_loops(call.node).next() {
                    if varies_per_iteration(file, seed, call.node) {
                        continue;
                    }
                    let (line, _) = file.position(repeated);
                    format!(
                        "`{}` recreates the same key on every iteration of the loop at line {line}: each iteration \
                         draws identical random numbers; create the key once before the loop and `split` it each \
                         iteration",
                        short_text(file, call.node)
                    )
                } else if seed.kind_name() == "integer"
                    && let Some(step) = file.jit_functions().compiled_around(file, call.node)
                {
                    let step_name = step
                        .function
                        .and_then(|function| function.field("name"))
                        .map_or("this function", |name| file.node_text(name));
                    format!(
                        "`{}` builds a fixed key inside `{step_name}`, which is compiled with {} and runs on every \
                         call: each step draws the same random numbers; pass a fresh key in as an argument",
                        short_text(file, call.node),
                        step.transform.describe()
                    )
                } else {
                    continue;
                };
                findings.push(file.finding(self, call.node, message, 0.8));
            }
        }
        findings
    }
}
