//! JAX's explicit random-number keys: which `jax.random` calls consume a key.

use tree_sitter::Node;

use super::imports::Imports;
use crate::SourceFile;
use crate::syntax::Call;

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
