//! JAX rules (`JX`).

mod prng_key_reuse;

pub use prng_key_reuse::PrngKeyReuse;
