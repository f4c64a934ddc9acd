//! Reading training logs into [`fmr_core::Run`]s.
//!
//! [`ingest`] takes the paths a user gave, walks directories, and groups files
//! into runs by folder. Each file is matched to a format by content: every
//! format is a [`Source`] in [`registry::SOURCES`] (one file each under
//! `src/sources/`), tried in order on the file's first bytes, and asked to read
//! the whole file into an empty run. Merging files into a run, dropping
//! console copies of metrics a structured file already holds, naming runs and
//! reporting bad input are done once, here, so adding a format means adding
//! a `Source` and one registry line. Files are sniffed and read in parallel
//! (rayon); formats whose files grow large (TensorBoard event files, the
//! W&B log, CSV, JSON lines, console logs) are read as streams, so memory
//! follows the series kept, and formats read whole (JSON and YAML
//! documents) refuse files over 256 MiB.
//!
//! Bad input never panics and is never silently dropped: each unusable file
//! or line becomes an [`fmr_core::InputProblem`] with the reason, and what
//! could be read is kept.

mod export;
mod fast_hash;
pub mod follow;
mod ingest;
mod json;
mod protowire;
pub mod registry;
mod series_builder;
mod source;
mod sources;
mod stream;
mod text_util;
mod walk;

pub use export::write_metrics_csv;
pub use ingest::{Ingested, ingest};
pub use registry::SOURCES;
pub use source::{ReadOutcome, SNIFF_BYTES, Source};
