//! The seam every log format plugs into.

use std::io::Read;
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
    /// The default loads the whole file (see [`read_whole`]: at most
    /// [`MAX_WHOLE_FILE_BYTES`]) and calls [`Source::read`]; it suits
    /// documents (`trainer_state.json`, configs) that must be parsed whole
    /// and stay small. Formats whose files grow large (event files, the W&B
    /// log, CSV, JSON lines, console logs) read them as a stream instead, so
    /// that memory is bounded by the series kept rather than by the file.
    fn read_path(&self, path: &Path, run: &mut Run) -> Result<ReadOutcome, String> {
        let bytes = read_whole(path, self.name())?;
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

/// The largest file a format that reads files whole will load: 256 MiB.
/// A `trainer_state.json` of a million logged steps is about 150 MiB.
pub(crate) const MAX_WHOLE_FILE_BYTES: u64 = 256 << 20;

/// The bytes of a file that `format` reads whole, or why not: a file larger
/// than [`MAX_WHOLE_FILE_BYTES`] is refused (`larger than 256 MiB;
/// hf_trainer_state files are read whole, so one this large is refused`)
/// instead of taking that much memory.
pub(crate) fn read_whole(path: &Path, format: &str) -> Result<Vec<u8>, String> {
    read_at_most(path, format, MAX_WHOLE_FILE_BYTES)
}

/// [`read_whole`] with the limit given. At most `limit + 1` bytes are ever
/// read, so a file still growing, or a pipe, cannot push past it.
fn read_at_most(path: &Path, format: &str, limit: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|error| format!("cannot read: {error}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read: {error}"))?;
    if bytes.len() as u64 > limit {
        let size = if limit >= 1 << 20 {
            format!("{} MiB", limit >> 20)
        } else {
            format!("{limit} bytes")
        };
        return Err(format!(
            "larger than {size}; {format} files are read whole, so one this large is refused"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_file_reads_refuse_files_past_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trainer_state.json");
        std::fs::write(&path, b"0123456789").expect("write");
        assert_eq!(
            read_at_most(&path, "hf_trainer_state", 10).as_deref(),
            Ok(&b"0123456789"[..])
        );
        assert_eq!(
            read_at_most(&path, "hf_trainer_state", 9),
            Err("larger than 9 bytes; hf_trainer_state files are read whole, so one this large is refused".to_string())
        );
        assert_eq!(
            read_whole(&dir.path().join("missing"), "config")
                .map_err(|e| e.starts_with("cannot read: ")),
            Err(true)
        );
        assert_eq!(MAX_WHOLE_FILE_BYTES, 256 << 20);
    }
}
