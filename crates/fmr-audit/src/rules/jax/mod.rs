//! JAX rules (`JX`).

mod collective_axis_name_mismatch;
mod donated_buffer_reused;
mod float64_without_x64;
mod global_mutated_after_jit;
mod grad_of_non_scalar;
mod jax_array_item_assignment;
mod jit_recompiled_in_loop;
mod missing_stop_gradient;
mod numpy_random_in_jit;
mod optimizer_state_not_threaded;
mod print_in_jit;
mod prng_key_created_in_loop;
mod prng_key_reuse;
mod python_control_flow_on_tracer;
mod side_effect_in_jit;
mod static_argument_changes_every_call;
mod vmap_in_axes_mismatch;

pub use collective_axis_name_mismatch::CollectiveAxisNameMismatch;
pub use donated_buffer_reused::DonatedBufferReused;
pub use float64_without_x64::Float64WithoutX64;
pub use global_mutated_after_jit::GlobalMutatedAfterJit;
pub use grad_of_non_scalar::GradOfNonScalar;
pub use jax_array_item_assignment::JaxArrayItemAssignment;
pub use jit_recompiled_in_loop::JitRecompiledInLoop;
pub use missing_stop_gradient::MissingStopGradient;
pub use numpy_random_in_jit::NumpyRandomInJit;
pub use optimizer_state_not_threaded::OptimizerStateNotThreaded;
pub use print_in_jit::PrintInJit;
pub use prng_key_created_in_loop::PrngKeyCreatedInLoop;
pub use prng_key_reuse::PrngKeyReuse;
pub use python_control_flow_on_tracer::PythonControlFlowOnTracer;
pub use side_effect_in_jit::SideEffectInJit;
pub use static_argument_changes_every_call::StaticArgumentChangesEveryCall;
pub use vmap_in_axes_mismatch::VmapInAxesMismatch;
