//! The Paper Alignment Auditor: compares what a paper says it trained with (a TOML or YAML
//! spec, or a pasted table of hyperparameters) with what a project's configs and code set, and
//! lists every mismatch and every technique the code lacks, each with `file:line`.
//!
//! - [`PaperSpec`] reads the paper's side: `[hyperparameters]` and `components = [...]` from
//!   TOML/YAML, or markdown, LaTeX, `name: value` and PDF-copied tables through
//!   [`PaperSpec::from_text`].
//! - [`names`] maps the many spellings (`lr`, `base_lr`, `Peak learning rate`,
//!   `per_device_train_batch_size`, `β1`) to canonical hyperparameters, with context: `eps` in
//!   `AdamW(...)` is Adam's epsilon, in `LayerNorm(...)` it is not.
//! - [`scan_project`] reads the code's side: YAML/JSON/TOML configs (Hydra trees included), gin
//!   bindings, argparse/absl/click defaults, dataclass fields, constants, optimizer, scheduler,
//!   loss, clipping and EMA arguments, and the library defaults of arguments left out.
//! - [`align`] compares the two and [`Alignment::to_text`] / [`Alignment::findings`] report it.
//!
//! ```no_run
//! use fmr_audit::paper::{PaperSpec, align};
//! let spec = PaperSpec::from_path(std::path::Path::new("paper.toml"))?;
//! let alignment = align(&spec, std::path::Path::new("."));
//! print!("{}", alignment.to_text());
//! # Ok::<(), fmr_audit::paper::SpecError>(())
//! ```

mod align;
pub(crate) mod collect;
pub mod components;
mod configs;
pub mod names;
mod pasted;
mod python;
mod render;
mod spec;
pub mod value;

pub use align::{
    Alignment, ComponentFound, Mismatch, MissingComponent, NotFound, ParamMatch, align, align_scan,
};
pub use collect::{CodeScan, CodeValue, Location, Origin, scan_project, scan_python_source};
pub use components::{COMPONENTS, ComponentInfo, Evidence};
pub use render::{MISMATCH_RULE, MISSING_COMPONENT_RULE};
pub use spec::{PaperComponent, PaperParam, PaperSpec, SpecError, SpecFormat, SpecProblem};
pub use value::ParamValue;
