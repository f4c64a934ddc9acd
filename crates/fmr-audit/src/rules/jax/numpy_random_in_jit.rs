use fmr_core::AuditFinding;

use crate::semantic::training::short_text;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for NumPy or Python random draws (`np.random.normal`, `np.random.rand`,
/// `random.random`, `random.uniform`, ...) inside a function that JAX traces (`jit`, `pmap`,
/// `vmap`, `lax` control-flow bodies, and functions they call).
///
/// ## Why is this bad?
/// The draw runs once, at trace time, and its value is baked into the compiled program as a
/// constant. Every later call reuses the same "random" noise, dropout mask or exploration
/// choice, so the randomness the algorithm relies on is gone. Nothing raises an error.
///
/// ## Example
/// ```python
/// @jax.jit
/// def add_noise(x):
///     return x + np.random.normal(size=x.shape)
/// ```
///
/// Use instead:
/// ```python
/// @jax.jit
/// def add_noise(x, key):
///     return x + jax.random.normal(key, x.shape)
/// ```
///
/// ## References
/// - [JAX: pseudorandom numbers](https://docs.jax.dev/en/latest/random-numbers.html)
/// - [JAX: the sharp bits, random numbers](https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#random-numbers)
///
/// ## Confirms
/// - none yet (proposed entry: "JAX PRNG key reused or recreated: randomness repeats")
pub struct NumpyRandomInJit;

impl AuditRule for NumpyRandomInJit {
    fn code(&self) -> &'static str {
        "JX017"
    }

    fn name(&self) -> &'static str {
        "numpy-random-in-jit"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("random") {
            return Vec::new();
        }
        let jit = file.jit_functions();
        let imports = file.imports();
        let mut findings = Vec::new();
        for call in file.calls() {
            let Some(dotted) = call.dotted_name(file) else {
                continue;
            };
            let resolved = imports.resolve(&dotted);
            let host_random = resolved.starts_with("numpy.random.")
                || resolved.starts_with("np.random.")
                || (resolved.starts_with("random.") && dotted.starts_with("random."));
            if !host_random || resolved.contains("default_rng") || resolved.ends_with(".seed") {
                continue;
            }
            let Some(traced) = jit.traced_function_around(file, call.node) else {
                continue;
            };
            let (line, _) = file.position(traced);
            let message = format!(
                "`{}` draws on the host inside a function JAX traces (line {line}): it runs once at trace time and \
                 its value is frozen into the compiled program, so every call reuses the same numbers; use \
                 `jax.random` with a key passed in",
                short_text(file, call.node)
            );
            findings.push(file.finding(self, call.node, message, 0.85));
        }
        findings
    }
}
