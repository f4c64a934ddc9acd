//! Following a live run: the logs of a training job that is still writing
//! them, read a little at a time.
//!
//! A [`Follower`] is made on the paths [`crate::ingest`] would take (a run
//! folder, a parent of several, or one file). Each [`Follower::poll`] walks
//! them again, looks at every log file's size, modification time and inode,
//! and reads only what is new:
//!
//! - **TensorBoard event files** from the byte after the last complete
//!   record. A record the writer has only half written is left for the next
//!   poll, not reported as damage; a complete record whose checksum fails is
//!   skipped and counted as a full read counts it.
//! - **CSV, JSON lines and text logs** from the byte after the last complete
//!   line; a half-written last line waits for its newline. The new lines are
//!   parsed by the format's own [`Source::read`], given the CSV header line
//!   first, and text-event line numbers are shifted by the lines already
//!   read. Some readings depend on lines read long before (a CSV without a
//!   step column numbers its rows; Hugging Face console dicts are counted),
//!   so each batch of new lines is also parsed after the last few hundred old
//!   lines, and when the two readings of the new lines differ the file is
//!   read whole instead (and, after a few such polls, always read whole).
//!   Batches that bring a new metric are read whole too, so that series keep
//!   the order a full read gives them.
//! - **Everything else** (MLflow stores, W&B `.wandb` logs,
//!   `trainer_state.json`, config files) is read again whole when its size or
//!   modification time changes. These files are rewritten rather than
//!   appended to (`trainer_state.json`, configs), are small (MLflow keeps one
//!   file per metric), or are framed in blocks whose records span block
//!   boundaries and whose reader keeps no state between reads (`.wandb`).
//!
//! A file that shrank, or whose inode or last read bytes changed, was
//! replaced: it is read again from the start. New files are picked up;
//! vanished ones are dropped with a note. The runs are assembled from the
//! files exactly as [`crate::ingest`] assembles them (same merging of files,
//! same names), so after a poll that saw every line finished, the follower's
//! runs equal a fresh `ingest` of the same paths. A poll that only added
//! points to series one file owns appends them to the run in place; anything
//! else re-assembles that one run. The follower keeps each file's reading
//! beside the assembled runs, so it holds about twice the memory of one read.
//!
//! ```no_run
//! use fmr_ingest::follow::Follower;
//!
//! let mut follower = Follower::new(&["runs/exp42".into()]);
//! loop {
//!     let poll = follower.poll();
//!     for path in &poll.changed {
//!         let run = follower.run(path).expect("a changed run is there");
//!         println!("{}: {} points", run.name, run.point_count());
//!     }
//!     std::thread::sleep(std::time::Duration::from_secs(10));
//! }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

use fmr_core::{InputProblem, Point, Run, Series, TextEvent};
use rayon::prelude::*;
use regex::Regex;

use crate::ingest::{Draft, ReadFile, Sniffed, assemble_read, name_runs, sniff};
use crate::registry::SOURCES;
use crate::source::{ReadOutcome, SNIFF_BYTES, Source};
use crate::sources::tfevents::live::LiveEvents;
use crate::text_util::group_thousands;
use crate::walk::{self, Candidate, problem};

/// Old lines a batch of new lines is also read after, to check that reading
/// the batch alone gives the same points.
const CONTEXT_LINES: usize = 256;
/// At most this many bytes of old lines are read for that check.
const CONTEXT_BYTES: u64 = 64 * 1024;
/// After this many batches that read differently after old lines, a file is
/// always read whole.
const MAX_CONTEXT_MISMATCHES: u8 = 3;
/// Bytes before the read offset that must be unchanged for a file to count
/// as the same file grown, rather than one rewritten in place.
const TAIL_SAMPLE: usize = 32;

/// What one [`Follower::poll`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Poll {
    /// The [`Run::path`] of every run that is new or whose data changed.
    pub changed: Vec<String>,
    /// The [`Run::path`] of every run that is gone (all its files vanished).
    pub removed: Vec<String>,
    /// Inputs that could not be used, or damage met, said once each.
    pub problems: Vec<InputProblem>,
    /// Files dropped because they vanished, and files read again from the
    /// start because they shrank or were replaced.
    pub notes: Vec<InputProblem>,
    /// Bytes of log data read in this poll.
    pub bytes_read: u64,
}

impl Poll {
    /// Whether any run changed, appeared or went away.
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty() || !self.removed.is_empty()
    }
}

/// Follows the logs under some paths as they grow; see the module docs.
pub struct Follower {
    roots: Vec<PathBuf>,
    skipped: Vec<PathBuf>,
    files: BTreeMap<PathBuf, Followed>,
    runs: BTreeMap<PathBuf, LiveRun>,
    /// Problems of the last walk, so that each is reported once.
    walk_problems: Vec<InputProblem>,
    /// Runs assembled from their files so far (the rest of the updates
    /// appended points in place).
    assemblies: usize,
}

/// One assembled run, with where each file's series landed in it.
struct LiveRun {
    draft: Draft,
    /// For each file whose series went into the run unchanged: tag → index
    /// in `draft.run.series`. Points appended to these series are appended
    /// to the run in place.
    direct: HashMap<PathBuf, HashMap<String, usize>>,
}

/// A followed file.
struct Followed {
    candidate: Candidate,
    /// Size, time and inode when last looked at.
    identity: Option<Identity>,
    state: FileState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    len: u64,
    modified: Option<SystemTime>,
    /// Device and inode where the platform has them, else zero.
    inode: (u64, u64),
}

impl Identity {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let inode = (0, 0);
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

enum FileState {
    /// No format reads it (yet): sniffed again whenever it changes.
    Unread,
    Read(Box<Reading>),
}

/// A file some format reads, and what it gave so far.
struct Reading {
    rank: usize,
    /// The head length the format was sniffed on: below [`SNIFF_BYTES`] the
    /// verdict can change as the file grows, so it is checked again.
    head_len: usize,
    flavor: Option<&'static str>,
    run_name: Option<String>,
    how: How,
}

/// How a file is read as it grows.
enum How {
    Events(Box<LiveEvents>),
    Lines(Lines),
    Whole(Whole),
}

/// A line-based log read from the last complete line on.
struct Lines {
    /// What the complete lines gave; `None` before the first complete line.
    part: Option<Result<Run, String>>,
    /// Byte offset just past the last complete line read.
    offset: u64,
    /// Lines before `offset`.
    lines: usize,
    /// Lines every batch is parsed after: a CSV's header (with SB3's `#`
    /// line before it), nothing for other formats.
    prefix: Vec<u8>,
    prefix_lines: usize,
    /// The bytes just before `offset`, to tell a grown file from a rewritten one.
    tail: Vec<u8>,
    mismatches: u8,
    /// Read whole at every change (its reading depends on distant lines).
    always_whole: bool,
}

/// A file read whole at every change.
struct Whole {
    part: Option<Result<Run, String>>,
}

/// Points added to a file's series since the last poll, by tag.
type NewPoints = Vec<(String, Vec<Point>)>;

/// How one file changed in a poll.
enum Change {
    Nothing,
    /// Only new points of series the file already had, by tag.
    Appended(NewPoints),
    /// Anything else: the run is assembled again.
    Reshaped,
}

/// What updating one file produced.
struct Update {
    change: Change,
    problems: Vec<String>,
    notes: Vec<String>,
    bytes: u64,
}

impl Update {
    fn new(change: Change) -> Self {
        Self {
            change,
            problems: Vec::new(),
            notes: Vec::new(),
            bytes: 0,
        }
    }
}

impl Follower {
    /// A follower of the logs under `paths` (files, or directories walked
    /// recursively), with nothing read yet: the first [`Follower::poll`]
    /// reads everything there is.
    pub fn new(paths: &[PathBuf]) -> Self {
        Self {
            roots: paths.to_vec(),
            skipped: Vec::new(),
            files: BTreeMap::new(),
            runs: BTreeMap::new(),
            walk_problems: Vec::new(),
            assemblies: 0,
        }
    }

    /// Leaves files under `path` alone (where `fmr watch` writes its reports).
    pub fn skipping(mut self, path: impl Into<PathBuf>) -> Self {
        self.skipped.push(path.into());
        self
    }

    /// The runs read so far, sorted by path as [`crate::ingest`] sorts them.
    pub fn runs(&self) -> Vec<&Run> {
        let mut runs: Vec<&Run> = self.runs.values().map(|r| &r.draft.run).collect();
        runs.sort_by(|a, b| Path::new(&a.path).cmp(Path::new(&b.path)));
        runs
    }

    /// The run whose [`Run::path`] is `path`.
    pub fn run(&self, path: &str) -> Option<&Run> {
        self.runs
            .values()
            .map(|r| &r.draft.run)
            .find(|run| run.path == path)
    }

    /// The runs, given up by the follower.
    pub fn into_runs(self) -> Vec<Run> {
        let mut runs: Vec<Run> = self.runs.into_values().map(|r| r.draft.run).collect();
        runs.sort_by(|a, b| Path::new(&a.path).cmp(Path::new(&b.path)));
        runs
    }

    /// Looks at the files again and reads what changed since the last poll.
    pub fn poll(&mut self) -> Poll {
        let mut poll = Poll::default();
        let mut walk_problems = Vec::new();
        let candidates: Vec<Candidate> = walk::collect(&self.roots, &mut walk_problems)
            .into_iter()
            .filter(|c| !self.skipped.iter().any(|skip| c.path.starts_with(skip)))
            .collect();
        poll.problems.extend(
            walk_problems
                .iter()
                .filter(|p| !self.walk_problems.contains(p))
                .cloned(),
        );
        self.walk_problems = walk_problems;

        let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
        let wanted: BTreeSet<&PathBuf> = candidates.iter().map(|c| &c.path).collect();
        let gone: Vec<PathBuf> = (self.files.keys())
            .filter(|path| !wanted.contains(path))
            .cloned()
            .collect();
        for path in gone {
            if let Some(file) = self.files.remove(&path) {
                let why = if path.exists() {
                    "no longer read as part of the run (a newer checkpoint?); its data is dropped"
                } else {
                    "vanished; its data is dropped"
                };
                poll.notes.push(problem(&path, why));
                touched.insert(file.candidate.group);
            }
        }

        let mut due: HashMap<PathBuf, Identity> = HashMap::new();
        for candidate in candidates {
            let Ok(meta) = fs::metadata(&candidate.path) else {
                continue; // gone between the walk and now: next poll drops it
            };
            let identity = Identity::of(&meta);
            let known = self.files.get(&candidate.path);
            if known.is_some_and(|known| known.candidate != candidate) {
                // Now part of another run, or named by the user: start afresh.
                let old = self.files.remove(&candidate.path).expect("just found");
                touched.insert(old.candidate.group);
            }
            let file = (self.files.entry(candidate.path.clone())).or_insert_with(|| Followed {
                candidate,
                identity: None,
                state: FileState::Unread,
            });
            if file.identity != Some(identity) {
                due.insert(file.candidate.path.clone(), identity);
            }
        }
        let updates: Vec<(PathBuf, PathBuf, Update)> = (self.files.par_iter_mut())
            .filter_map(|(path, file)| {
                let identity = *due.get(path)?;
                let update = file.update(identity);
                Some((path.clone(), file.candidate.group.clone(), update))
            })
            .collect();

        let mut appended: BTreeMap<PathBuf, Vec<(PathBuf, NewPoints)>> = BTreeMap::new();
        for (path, group, update) in updates {
            poll.problems
                .extend(update.problems.into_iter().map(|p| problem(&path, p)));
            poll.notes
                .extend(update.notes.into_iter().map(|n| problem(&path, n)));
            poll.bytes_read += update.bytes;
            match update.change {
                Change::Nothing => {}
                Change::Reshaped => {
                    touched.insert(group);
                }
                Change::Appended(points) if points.is_empty() => {}
                Change::Appended(points) => appended.entry(group).or_default().push((path, points)),
            }
        }

        let mut changed_groups = BTreeSet::new();
        for (group, files) in appended {
            if touched.contains(&group) || !self.append_in_place(&group, files) {
                touched.insert(group.clone());
            }
            changed_groups.insert(group);
        }
        for group in &touched {
            let before = self.runs.remove(group).map(|r| r.draft.run.path);
            match self.assemble(group) {
                Some(live) => {
                    self.runs.insert(group.clone(), live);
                    changed_groups.insert(group.clone());
                }
                None => poll.removed.extend(before),
            }
        }
        if !touched.is_empty() {
            // An assembled run has no name yet, and names depend on each other.
            self.name_runs();
        }
        poll.changed = (changed_groups.iter())
            .filter_map(|group| self.runs.get(group))
            .map(|live| live.draft.run.path.clone())
            .collect();
        poll
    }

    /// Appends points to the series that files of `group` own in its run;
    /// `false` when some point has no such series (the run must be
    /// assembled again).
    fn append_in_place(&mut self, group: &Path, files: Vec<(PathBuf, NewPoints)>) -> bool {
        let Some(live) = self.runs.get_mut(group) else {
            return false;
        };
        let routable = files.iter().all(|(path, points)| {
            live.direct
                .get(path)
                .is_some_and(|tags| points.iter().all(|(tag, _)| tags.contains_key(tag)))
        });
        if !routable {
            return false;
        }
        for (path, points) in files {
            let tags = &live.direct[&path];
            for (tag, points) in points {
                live.draft.run.series[tags[&tag]].points.extend(points);
            }
        }
        true
    }

    /// Assembles the run of `group` from its files, as [`crate::ingest`] does.
    fn assemble(&mut self, group: &Path) -> Option<LiveRun> {
        self.assemblies += 1;
        let members: Vec<&mut Followed> = (self.files.values_mut())
            .filter(|f| f.candidate.group == group)
            .collect();
        let mut read: Vec<ReadFile> = Vec::new();
        let mut ranks: Vec<(PathBuf, usize)> = Vec::new();
        for file in members {
            let FileState::Read(reading) = &mut file.state else {
                continue;
            };
            let Some(result) = reading.for_assembly() else {
                continue;
            };
            ranks.push((file.candidate.path.clone(), reading.rank));
            read.push((reading.rank, file.candidate.clone(), result));
        }
        // Problems were reported when the files were read.
        let draft = assemble_read(group.to_path_buf(), read, &mut Vec::new())?;

        // Which files' series went into the run unchanged, for appending in place.
        let mut tag_owners: HashMap<&str, usize> = HashMap::new();
        let series_of = |path: &PathBuf| match &self.files[path].state {
            FileState::Read(reading) => reading.series(),
            FileState::Unread => &[],
        };
        for (path, _) in &ranks {
            for series in series_of(path) {
                *tag_owners.entry(series.tag.as_str()).or_default() += 1;
            }
        }
        let mut direct = HashMap::new();
        for (path, rank) in &ranks {
            let alone_in_format = ranks.iter().filter(|(_, r)| r == rank).count() == 1;
            if !alone_in_format {
                continue; // the format may join its files (event files of restarts)
            }
            let mut tags = HashMap::new();
            for series in series_of(path).iter().filter(|s| !s.points.is_empty()) {
                let index = draft.run.series.iter().position(|s| s.tag == series.tag);
                if let Some(index) = index
                    && tag_owners.get(series.tag.as_str()) == Some(&1)
                    && same_points(&draft.run.series[index].points, &series.points)
                {
                    tags.insert(series.tag.clone(), index);
                }
            }
            direct.insert(path.clone(), tags);
        }
        Some(LiveRun { draft, direct })
    }

    /// Names every run as [`crate::ingest`] does; names depend on the other runs.
    fn name_runs(&mut self) {
        let (groups, lives): (Vec<PathBuf>, Vec<LiveRun>) =
            std::mem::take(&mut self.runs).into_iter().unzip();
        let (mut drafts, directs): (Vec<Draft>, Vec<_>) =
            lives.into_iter().map(|l| (l.draft, l.direct)).unzip();
        name_runs(&mut drafts);
        self.runs = groups
            .into_iter()
            .zip(drafts.into_iter().zip(directs))
            .map(|(group, (draft, direct))| (group, LiveRun { draft, direct }))
            .collect();
    }
}

impl Followed {
    /// Reads what changed in the file, now of `identity`.
    fn update(&mut self, identity: Identity) -> Update {
        let previous = self.identity.replace(identity);
        let path = self.candidate.path.clone();
        let mut notes = Vec::new();
        let mut dropped_reading = false;
        if let FileState::Read(reading) = &mut self.state {
            let replaced = previous.is_some_and(|p| p.inode != identity.inode)
                || reading.read_up_to() > identity.len
                || !reading.tail_is_unchanged(&path);
            if replaced {
                notes.push("shrank or was replaced; read again from the start".to_string());
                dropped_reading = true;
            } else if reading.head_len < SNIFF_BYTES {
                // A short head may be sniffed otherwise now that it grew.
                match sniff(&self.candidate) {
                    (Sniffed::Format(rank), head_len) if rank == reading.rank => {
                        reading.head_len = head_len;
                    }
                    _ => dropped_reading = true,
                }
            }
        }
        if dropped_reading {
            self.state = FileState::Unread;
        }
        let mut update = match &mut self.state {
            FileState::Read(reading) => reading.read_more(&path, identity.len),
            FileState::Unread => {
                let mut update = self.start(identity.len);
                if dropped_reading {
                    update.change = Change::Reshaped; // its old data must go
                }
                update
            }
        };
        update.notes.extend(notes);
        update
    }

    /// Sniffs a file not read yet and, when a format takes it, reads it.
    fn start(&mut self, len: u64) -> Update {
        let (verdict, head_len) = sniff(&self.candidate);
        let rank = match verdict {
            Sniffed::Format(rank) => rank,
            Sniffed::Empty(_) | Sniffed::Passed => return Update::new(Change::Nothing),
            Sniffed::Problem(reason) => {
                let mut update = Update::new(Change::Nothing);
                update.problems.push(reason);
                return update;
            }
        };
        let source = SOURCES[rank];
        let how = match source.name() {
            "tfevents" => How::Events(Box::new(LiveEvents::new(&self.candidate.path))),
            "csv" | "jsonl" | "text" => How::Lines(Lines::new()),
            _ => How::Whole(Whole { part: None }),
        };
        let mut reading = Reading {
            rank,
            head_len,
            flavor: None,
            run_name: None,
            how,
        };
        let mut update = reading.read_more(&self.candidate.path, len);
        update.change = Change::Reshaped;
        self.state = FileState::Read(Box::new(reading));
        update
    }
}

impl Reading {
    fn source(&self) -> &'static dyn Source {
        SOURCES[self.rank]
    }

    /// Bytes of the file already read for good (all of it for whole files).
    fn read_up_to(&self) -> u64 {
        match &self.how {
            How::Events(live) => live.offset(),
            How::Lines(lines) => lines.offset,
            How::Whole(_) => 0,
        }
    }

    fn tail_is_unchanged(&self, path: &Path) -> bool {
        let (offset, tail) = match &self.how {
            How::Lines(lines) => (lines.offset, lines.tail.as_slice()),
            // Event records carry checksums: a rewritten file shows as damage.
            How::Events(_) | How::Whole(_) => return true,
        };
        if tail.is_empty() {
            return true;
        }
        let mut now = vec![0; tail.len()];
        let start = offset - tail.len() as u64;
        File::open(path)
            .and_then(|mut file| {
                file.seek(SeekFrom::Start(start))?;
                file.read_exact(&mut now)
            })
            .is_ok_and(|()| now == tail)
    }

    /// The series read so far (some possibly empty).
    fn series(&self) -> &[Series] {
        match &self.how {
            How::Events(live) => live.series(),
            How::Lines(Lines { part, .. }) | How::Whole(Whole { part }) => match part {
                Some(Ok(run)) => &run.series,
                _ => &[],
            },
        }
    }

    /// The file's reading as [`crate::ingest`] hands it to the assembly;
    /// `None` while no line of it is complete.
    fn for_assembly(&mut self) -> Option<Result<(Run, ReadOutcome), String>> {
        let outcome = ReadOutcome {
            flavor: self.flavor,
            problems: Vec::new(),
            run_name: self.run_name.clone(),
        };
        match &mut self.how {
            How::Events(live) => Some(live.snapshot().map(|(run, _)| (run, outcome))),
            How::Lines(Lines { part, .. }) | How::Whole(Whole { part }) => match part.as_ref()? {
                Ok(run) => Some(Ok((run.clone(), outcome))),
                Err(reason) => Some(Err(reason.clone())),
            },
        }
    }

    /// Reads what the file gained, now `len` bytes long.
    fn read_more(&mut self, path: &Path, len: u64) -> Update {
        let source = self.source();
        match &mut self.how {
            How::Events(live) => {
                let mut file = match File::open(path) {
                    Ok(file) => file,
                    Err(error) => {
                        let mut update = Update::new(Change::Nothing);
                        update.problems.push(format!("cannot read: {error}"));
                        return update;
                    }
                };
                let progress = live.read_more(&mut file, len);
                let change = match live.take_appended() {
                    Some(points) => Change::Appended(points),
                    None => Change::Reshaped,
                };
                let mut update = Update::new(change);
                update.problems = progress.problems;
                update.bytes = progress.bytes;
                update
            }
            How::Whole(whole) => {
                let mut update = Update::new(Change::Reshaped);
                let mut run = Run::default();
                update.bytes = len;
                match source.read_path(path, &mut run) {
                    Ok(outcome) => {
                        update.problems = outcome.problems;
                        self.flavor = outcome.flavor;
                        self.run_name = outcome.run_name;
                        whole.part = Some(Ok(run));
                    }
                    Err(reason) => {
                        update.problems.push(reason.clone());
                        // A file caught mid-rewrite keeps its last good reading.
                        if !matches!(whole.part, Some(Ok(_))) {
                            whole.part = Some(Err(reason));
                        } else {
                            update.change = Change::Nothing;
                        }
                    }
                }
                update
            }
            How::Lines(lines) => {
                let result = lines.read_more(source, path, len);
                match result {
                    Ok(LinesRead::Batch(update)) => update,
                    Ok(LinesRead::FromStart {
                        flavor,
                        run_name,
                        update,
                    }) => {
                        self.flavor = flavor;
                        self.run_name = run_name;
                        update
                    }
                    Err(error) => {
                        let mut update = Update::new(Change::Nothing);
                        update.problems.push(format!("cannot read: {error}"));
                        update
                    }
                }
            }
        }
    }
}

/// What reading a line-based file gave.
enum LinesRead {
    /// New lines, parsed on their own.
    Batch(Update),
    /// The file read from its start, with what the read said of it.
    FromStart {
        flavor: Option<&'static str>,
        run_name: Option<String>,
        update: Update,
    },
}

impl Lines {
    fn new() -> Self {
        Self {
            part: None,
            offset: 0,
            lines: 0,
            prefix: Vec::new(),
            prefix_lines: 0,
            tail: Vec::new(),
            mismatches: 0,
            always_whole: false,
        }
    }

    fn read_more(
        &mut self,
        source: &dyn Source,
        path: &Path,
        len: u64,
    ) -> std::io::Result<LinesRead> {
        if self.offset == 0 || self.always_whole {
            return self.read_from_start(source, path, len);
        }
        // Old lines for the context check, and the new bytes, in one read.
        let prefix_end = self.prefix.len() as u64;
        let context_start = prefix_end.max(self.offset.saturating_sub(CONTEXT_BYTES));
        let bytes = read_range(path, context_start, len)?;
        let split = (self.offset - context_start) as usize;
        let (old, new) = bytes.split_at(split.min(bytes.len()));
        let Some(last_newline) = new.iter().rposition(|&b| b == b'\n') else {
            return Ok(LinesRead::Batch(Update::new(Change::Nothing)));
        };
        let batch = &new[..=last_newline];
        let context = last_lines(old, context_start > prefix_end, CONTEXT_LINES);

        let buffer = [self.prefix.as_slice(), batch].concat();
        let Ok((alone, outcome)) = parse(source, path, &buffer) else {
            return self.read_from_start(source, path, len);
        };
        if !context.is_empty() {
            let in_context = parse(source, path, &[self.prefix.as_slice(), context].concat());
            let with_context = parse(
                source,
                path,
                &[self.prefix.as_slice(), context, batch].concat(),
            );
            let alike = match (&in_context, &with_context) {
                (Ok((in_context, _)), Ok((with_context, _))) => reads_alike(
                    &alone,
                    with_context,
                    in_context,
                    self.prefix_lines + count_lines(context),
                    count_lines(context),
                ),
                _ => false,
            };
            if !alike {
                self.mismatches += 1;
                self.always_whole = self.mismatches >= MAX_CONTEXT_MISMATCHES;
                return self.read_from_start(source, path, len);
            }
        }
        let Some(Ok(part)) = &mut self.part else {
            return self.read_from_start(source, path, len);
        };
        if alone.series.iter().any(|s| part.series(&s.tag).is_none()) {
            // A new metric: a full read places its series among the others.
            return self.read_from_start(source, path, len);
        }

        let line_shift = self.lines as i64 - self.prefix_lines as i64;
        let byte_shift = self.offset as i64 - self.prefix.len() as i64;
        let mut update = Update::new(Change::Nothing);
        update.bytes = batch.len() as u64;
        update.problems = (outcome.problems.iter())
            .map(|p| shift_positions(p, line_shift, byte_shift))
            .collect();
        let reshaped = !alone.events.is_empty()
            || alone
                .config
                .keys()
                .any(|key| !part.config.contains_key(key));
        for (key, value) in alone.config {
            part.config.entry(key).or_insert(value);
        }
        part.events
            .extend(alone.events.into_iter().map(|event| TextEvent {
                line: (event.line as i64 + line_shift).max(1) as usize,
                ..event
            }));
        let index: HashMap<&str, usize> = (part.series.iter().enumerate())
            .map(|(i, s)| (s.tag.as_str(), i))
            .collect();
        let slots: Vec<Option<usize>> = (alone.series.iter())
            .map(|s| index.get(s.tag.as_str()).copied())
            .collect();
        let mut appended = Vec::new();
        for (series, slot) in alone.series.into_iter().zip(slots) {
            if let Some(kept) = slot.and_then(|i| part.series.get_mut(i)) {
                kept.points.extend_from_slice(&series.points);
            }
            appended.push((series.tag, series.points));
        }
        update.change = if reshaped {
            Change::Reshaped
        } else {
            Change::Appended(appended)
        };
        self.advance(&bytes[..split + batch.len()], batch);
        Ok(LinesRead::Batch(update))
    }

    /// Reads the complete lines of the file from its start.
    fn read_from_start(
        &mut self,
        source: &dyn Source,
        path: &Path,
        len: u64,
    ) -> std::io::Result<LinesRead> {
        let bytes = read_range(path, 0, len)?;
        let complete = match bytes.iter().rposition(|&b| b == b'\n') {
            Some(last) => &bytes[..=last],
            None => &bytes[..0],
        };
        let mut update = Update::new(Change::Reshaped);
        update.bytes = complete.len() as u64;
        self.offset = 0;
        self.lines = 0;
        self.tail.clear();
        if complete.is_empty() {
            self.part = None;
            return Ok(LinesRead::FromStart {
                flavor: None,
                run_name: None,
                update,
            });
        }
        let (flavor, run_name) = match parse(source, path, complete) {
            Ok((run, outcome)) => {
                update.problems = outcome.problems;
                self.part = Some(Ok(run));
                (outcome.flavor, outcome.run_name)
            }
            Err(reason) => {
                update.problems.push(reason.clone());
                self.part = Some(Err(reason));
                // Read from the start again next time.
                return Ok(LinesRead::FromStart {
                    flavor: None,
                    run_name: None,
                    update,
                });
            }
        };
        self.prefix = if source.name() == "csv" {
            header_lines(complete).to_vec()
        } else {
            Vec::new()
        };
        self.prefix_lines = count_lines(&self.prefix);
        if self.prefix.len() < complete.len() || source.name() != "csv" {
            self.advance(complete, complete);
        }
        // Else only (part of) the header is complete: start over next time.
        Ok(LinesRead::FromStart {
            flavor,
            run_name,
            update,
        })
    }

    /// Moves past `batch`, the end of `read` (bytes that end at the new offset).
    fn advance(&mut self, read: &[u8], batch: &[u8]) {
        self.offset += batch.len() as u64;
        self.lines += count_lines(batch);
        self.tail = read[read.len().saturating_sub(TAIL_SAMPLE)..].to_vec();
    }
}

/// Bytes `[start, end)` of the file (fewer if it shrank meanwhile).
fn read_range(path: &Path, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(end.saturating_sub(start) as usize);
    file.take(end.saturating_sub(start))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn parse(source: &dyn Source, path: &Path, bytes: &[u8]) -> Result<(Run, ReadOutcome), String> {
    let mut run = Run::default();
    source
        .read(path, bytes, &mut run)
        .map(|outcome| (run, outcome))
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// The header of a CSV: its first line, and the one after when the first is
/// SB3's `#{json}` comment.
fn header_lines(bytes: &[u8]) -> &[u8] {
    let line_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| from + i + 1)
    };
    let first = line_end(0);
    let starts_with_comment = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .starts_with(b"#");
    if starts_with_comment {
        &bytes[..line_end(first)]
    } else {
        &bytes[..first]
    }
}

/// The last `count` whole lines of `bytes`, which end with a newline; when
/// `cut_first`, the first line may be cut and is left out.
fn last_lines(bytes: &[u8], cut_first: bool, count: usize) -> &[u8] {
    let bytes = if cut_first {
        match bytes.iter().position(|&b| b == b'\n') {
            Some(i) => &bytes[i + 1..],
            None => &bytes[..0],
        }
    } else {
        bytes
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let start = body
        .iter()
        .enumerate()
        .rev()
        .filter(|&(_, &b)| b == b'\n')
        .nth(count.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    &bytes[start..]
}

/// Whether a batch of new lines read alone (`alone`) gave what it gives
/// after old context lines (`with_context`, read from a buffer of the
/// context then the batch), given what the context gives on its own
/// (`in_context`). `boundary` is the last line of the context in those
/// buffers; `context_lines` how many lines the context has.
fn reads_alike(
    alone: &Run,
    with_context: &Run,
    in_context: &Run,
    boundary: usize,
    context_lines: usize,
) -> bool {
    let points = |run: &Run, tag: &str| -> Vec<Point> {
        run.series(tag)
            .map(|s| s.points.clone())
            .unwrap_or_default()
    };
    for series in &with_context.series {
        let old = points(in_context, &series.tag);
        let Some(new) = series.points.get(old.len()..) else {
            return false;
        };
        if !same_points(&series.points[..old.len()], &old)
            || !same_points(new, &points(alone, &series.tag))
        {
            return false;
        }
    }
    let has = |run: &Run, tag: &str| run.series(tag).is_some();
    if (alone.series.iter().chain(&in_context.series))
        .any(|s| !s.points.is_empty() && !has(with_context, &s.tag))
    {
        return false;
    }
    let (before, after): (Vec<&TextEvent>, Vec<&TextEvent>) = with_context
        .events
        .iter()
        .partition(|event| event.line <= boundary);
    let same_event = |a: &TextEvent, b: &TextEvent, shift: usize| {
        a.kind == b.kind && a.text == b.text && a.line == b.line + shift
    };
    before.len() == in_context.events.len()
        && after.len() == alone.events.len()
        && (before.iter().zip(&in_context.events)).all(|(a, b)| same_event(a, b, 0))
        && (after.iter().zip(&alone.events)).all(|(a, b)| same_event(a, b, context_lines))
}

/// Points equal bit for bit (NaN equals NaN).
fn same_points(a: &[Point], b: &[Point]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.step == b.step
                && a.value.to_bits() == b.value.to_bits()
                && a.wall_time.map(f64::to_bits) == b.wall_time.map(f64::to_bits)
        })
}

/// A problem found in a batch of new lines, with its `line N` and `byte B`
/// positions moved to where they are in the file.
fn shift_positions(problem: &str, line_shift: i64, byte_shift: i64) -> String {
    static POSITION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b(line|byte) (\d[\d,]*)").expect("valid regex"));
    POSITION
        .replace_all(problem, |captures: &regex::Captures<'_>| {
            let number: i64 = captures[2].replace(',', "").parse().unwrap_or(0);
            let (shift, grouped) = match &captures[1] {
                "line" => (line_shift, false),
                _ => (byte_shift, true),
            };
            let moved = (number + shift).max(0) as usize;
            let shown = if grouped {
                group_thousands(moved)
            } else {
                moved.to_string()
            };
            format!("{} {shown}", &captures[1])
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(path: &Path, text: &str) {
        use std::io::Write;
        fs::create_dir_all(path.parent().expect("folder")).expect("mkdir");
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .expect("append");
    }

    fn lines_state<'a>(follower: &'a Follower, path: &Path) -> &'a Lines {
        match &follower.files[path].state {
            FileState::Read(reading) => match &reading.how {
                How::Lines(lines) => lines,
                _ => panic!("not read by lines"),
            },
            FileState::Unread => panic!("not read"),
        }
    }

    #[test]
    fn rows_with_their_own_steps_are_read_a_batch_at_a_time_and_appended_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metrics.csv");
        append(&path, "step,loss\n0,1.0\n");
        let mut follower = Follower::new(&[dir.path().to_path_buf()]);
        follower.poll();
        assert_eq!(follower.assemblies, 1);
        for step in 1..20 {
            append(&path, &format!("{step},{}\n", 1.0 / f64::from(step)));
            let poll = follower.poll();
            assert_eq!(poll.changed.len(), 1);
            assert_eq!(
                poll.bytes_read as usize,
                format!("{step},{}\n", 1.0 / f64::from(step)).len()
            );
        }
        let lines = lines_state(&follower, &path);
        assert!(!lines.always_whole && lines.mismatches == 0);
        assert_eq!(lines.lines, 21, "the header and 20 rows");
        assert_eq!(follower.assemblies, 1, "every later poll appended in place");
        assert_eq!(
            follower.runs()[0].series("loss").map(|s| s.points.len()),
            Some(20)
        );
    }

    #[test]
    fn rows_numbered_by_position_are_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.csv");
        append(&path, "loss,accuracy\n1.0,0.1\n");
        let mut follower = Follower::new(&[dir.path().to_path_buf()]);
        follower.poll();
        for row in 0..6 {
            append(&path, &format!("0.{row},0.{row}\n"));
            follower.poll();
        }
        assert!(lines_state(&follower, &path).always_whole);
        let steps: Vec<i64> = (follower.runs()[0].series("loss").expect("loss").points)
            .iter()
            .map(|p| p.step)
            .collect();
        assert_eq!(steps, (0..7).collect::<Vec<i64>>());
    }

    #[test]
    fn positions_in_problems_move_to_the_file() {
        assert_eq!(
            shift_positions("line 3: expected 2 fields, found 1", 100, 0),
            "line 103: expected 2 fields, found 1"
        );
        assert_eq!(
            shift_positions(
                "column \"loss\": 2 cells are not numbers (first at line 2: \"x\")",
                10,
                0
            ),
            "column \"loss\": 2 cells are not numbers (first at line 12: \"x\")"
        );
        assert_eq!(
            shift_positions("not valid UTF-8 at byte 1,200 (read with ...)", 0, 5_000),
            "not valid UTF-8 at byte 6,200 (read with ...)"
        );
    }

    #[test]
    fn csv_headers_include_sb3s_comment_line() {
        assert_eq!(header_lines(b"step,loss\n1,2\n"), b"step,loss\n");
        assert_eq!(
            header_lines(b"#{\"t_start\": 1}\nr,l,t\n1,2,3\n"),
            b"#{\"t_start\": 1}\nr,l,t\n"
        );
        assert_eq!(header_lines(b"step,lo"), b"step,lo");
    }

    #[test]
    fn context_is_the_last_whole_lines() {
        assert_eq!(last_lines(b"a\nb\nc\n", false, 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc\n", false, 5), b"a\nb\nc\n");
        assert_eq!(last_lines(b"tail of a\nb\n", true, 5), b"b\n");
        assert_eq!(last_lines(b"cut", true, 5), b"");
    }

    #[test]
    fn nan_points_compare_equal_bit_for_bit() {
        let point = |value| Point {
            step: 1,
            wall_time: None,
            value,
        };
        assert!(same_points(&[point(f64::NAN)], &[point(f64::NAN)]));
        assert!(!same_points(&[point(1.0)], &[point(2.0)]));
    }
}
