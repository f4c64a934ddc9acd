//! The seam every log format plugs into.

use std::path::{Path, PathBuf};

use fmr_core::Run;

/// One log format: how to recognise a file of it and how to read one.
///
/// Implementations are unit structs listed in [`crate::registry::SOURCES`]. A
/// reader fills a fresh, empty [`Run`] for one file; merging files into runs,
/// naming runs and reporting unreadable files is done once, by
/// [`crate::ingest`], so a new format only has to parse.
pub trait Source: Sync {
    /// A short stable name (`csv`), the prefix of what lands in [`Run::formats`].
    fn name(&self) -> &'static str;

    /// Whether a file met while walking a directory is worth opening, judged by
    /// its name alone. Files no source wants (images, checkpoints, code) are
    /// skipped without a word.
    fn wants(&self, path: &Path) -> bool;

    /// Whether this source reads the file, from its name and its first bytes
    /// (up to [`SNIFF_BYTES`]). Content decides where it can: a Keras
    /// `training.log` is CSV whatever its extension says.
    fn sniff(&self, path: &Path, head: &[u8]) -> bool;

    /// Reads the whole file into `run`, which starts empty.
    ///
    /// `Err` means nothing usable could be read and carries the reason.
    /// Damage that still leaves data (a cut-off last row, one broken line) is
    /// an `Ok` whose [`ReadOutcome::problems`] say what was skipped.
    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String>;

    /// Reads the file at `path` into `run`, as [`Source::read`] does.
    ///
    /// The default loads the whole file and calls [`Source::read`]. Formats
    /// whose files grow large (event files, the W&B log) read them as a
    /// stream instead, so that memory is bounded by the series kept rather
    /// than by the file.
    fn read_path(&self, path: &Path, run: &mut Run) -> Result<ReadOutcome, String> {
        let bytes = std::fs::read(path).map_err(|error| format!("cannot read: {error}"))?;
        self.read(path, &bytes, run)
    }

    /// Combines the runs read from several files of this format in one run
    /// folder, given in path order. The default keeps them apart: each is
    /// merged into the run like a file of another format. A format whose
    /// files are pieces of one log (TensorBoard starts a new event file at
    /// every restart) joins them here.
    fn join(&self, parts: Vec<(PathBuf, Run)>) -> Vec<(PathBuf, Run)> {
        parts
    }
}

/// How many leading bytes of a file [`Source::sniff`] sees.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// What a successful read reports besides the data it put in the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The writer, when the reader recognised it (`lightning`, `sb3_progress`),
    /// recorded in [`Run::formats`] as `csv:lightning`.
    pub flavor: Option<&'static str>,
    /// Problems that did not stop the read; each names the line where it can.
    pub problems: Vec<String>,
    /// The run's own name, when the file records one (an MLflow run name);
    /// otherwise the run is named by its folder.
    pub run_name: Option<String>,
}
