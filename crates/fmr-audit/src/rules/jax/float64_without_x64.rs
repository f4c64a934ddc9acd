use fmr_core::AuditFinding;

use crate::semantic::training::short_text;
use crate::syntax::{dotted_name, string_value};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for 64-bit JAX dtypes requested (`jnp.float64`, `jnp.int64`, `jnp.complex128`, or
/// `dtype="float64"` in a `jax.numpy` call) in a file that never enables 64-bit mode
/// (`jax.config.update("jax_enable_x64", True)` or `JAX_ENABLE_X64`).
///
/// ## Why is this bad?
/// JAX runs in 32-bit mode unless x64 is enabled at startup: a request for `float64` silently
/// gives `float32` (with at most a warning). Code written for double precision (a stable
/// log-sum-exp, a finite-difference gradient check, a large sum) then loses the precision it
/// relies on, and results differ from the NumPy prototype.
///
/// ## Example
/// ```python
/// x = jnp.zeros(1000, dtype=jnp.float64)
/// ```
///
/// Use instead:
/// ```python
/// jax.config.update("jax_enable_x64", True)  # at startup, before any array is created
/// x = jnp.zeros(1000, dtype=jnp.float64)
/// ```
///
/// ## References
/// - [JAX: double (64-bit) precision](https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#double-64bit-precision)
///
/// ## Confirms
/// - FM0142: precision lower than the computation needs
/// - FM0139: catastrophic cancellation in low precision
pub struct Float64WithoutX64;

const WIDE_DTYPES: &[&str] = &["float64", "int64", "uint64", "complex128"];

impl AuditRule for Float64WithoutX64 {
    fn code(&self) -> &'static str {
        "JX008"
    }

    fn name(&self) -> &'static str {
        "float64-without-x64"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("64")
            || !file.mentions("jax")
            || file.mentions("enable_x64")
            || file.mentions("ENABLE_X64")
        {
            return Vec::new();
        }
        let imports = file.imports();
        let mut findings = Vec::new();
        for attribute in file.nodes_of_kind("attribute") {
            let Some(dotted) = dotted_name(file, attribute) else {
                continue;
            };
            let resolved = imports.resolve(&dotted);
            let Some(dtype) = resolved.strip_prefix("jax.numpy.") else {
                continue;
            };
            if !WIDE_DTYPES.contains(&dtype) {
                continue;
            }
            findings.push(self.finding(file, attribute, dtype));
        }
        for call in file.calls() {
            let Some(dtype) = call.keyword(file, "dtype") else {
                continue;
            };
            let Some(value) = string_value(file, dtype).filter(|value| WIDE_DTYPES.contains(value))
            else {
                continue;
            };
            let in_jax = call
                .dotted_name(file)
                .is_some_and(|callee| imports.resolve(&callee).starts_with("jax."));
            if in_jax {
                findings.push(self.finding(file, dtype, value));
            }
        }
        findings
    }
}

impl Float64WithoutX64 {
    fn finding(
        &self,
        file: &Context<'_>,
        node: tree_sitter::Node<'_>,
        dtype: &str,
    ) -> AuditFinding {
        let narrow = if dtype.starts_with("complex") {
            "complex64"
        } else if dtype.starts_with('u') {
            "uint32"
        } else if dtype.starts_with("int") {
            "int32"
        } else {
            "float32"
        };
        let message = format!(
            "`{}` asks JAX for `{dtype}`, but this file never enables 64-bit mode: JAX silently uses `{narrow}`, \
             so the extra precision the code relies on is not there; call `jax.config.update(\"jax_enable_x64\", \
             True)` at startup (or use 32-bit types deliberately)",
            short_text(file, node)
        );
        file.finding(self, node, message, 0.75)
    }
}
