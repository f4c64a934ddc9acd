mod event;
mod hparams;
pub(crate) mod live;
mod pieces;
pub(crate) mod record;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use fmr_core::{Point, Run, Series, TextEvent, TextEventKind};

use crate::fast_hash::FastMap;
use crate::protowire::WireError;
use crate::source::{ReadOutcome, Source};
use crate::sources::text::classify_text;
use crate::text_util::{clip, file_name, group_thousands};
use event::{Event, Histogram, Tensor, Value};
use record::{Damage, HEADER_LEN, RecordReader, masked_crc32c};

/// TensorBoard event files (`events.out.tfevents.*`), from TensorFlow,
/// PyTorch's `SummaryWriter`, tensorboardX, Keras, JAX/Flax, SB3 and others.
///
/// ## What it reads
/// The records of the file (each one checked against both of its CRC-32C
/// checksums) and the `Event` protobuf in each:
/// - scalars, written as `simple_value` (tensorboardX, PyTorch, TF 1.x) or as
///   a one-element tensor with the `scalars` plugin (TF 2 `tf.summary`,
///   TensorBoard's own writer): float, double, half, bfloat16 and integer
///   tensors, in the typed fields or in `tensor_content`;
/// - histograms (`HistogramProto`, or the TF 2 `histograms` plugin tensor of
///   `[left, right, count]` rows), kept as summary statistics;
/// - text summaries (`text` plugin) and TF 1.x log messages, as events;
/// - hparams plugin data: the session's hyperparameters and its end status;
/// - the file version and the writer, and the wall time of every point.
///
/// Images, audio, graphs and other plugins' data are passed over.
///
/// ## How it is recognised
/// A file whose name contains `tfevents` (TensorBoard's own rule), or whose
/// first 12 bytes are a record header: a length and its masked CRC-32C.
///
/// ## Steps and series
/// A scalar tag is a series of that name, with the event's step (0 when the
/// event leaves it out, as proto3 does) and wall time. A histogram tag `w`
/// gives the series `w/hist_min`, `w/hist_max`, `w/hist_num` (the count),
/// `w/hist_mean` (`sum / num`) and `w/hist_std` (from `sum_squares`); for
/// TF 2 histogram tensors these come from the buckets (min and max are the
/// outer edges of the non-empty buckets, mean and std use bucket centres).
/// A tag is classified by the plugin named in its first metadata in the
/// file; a tag without metadata by its value (`simple_value`, `histo`, a
/// one-number tensor). Points keep file order, as TensorBoard's loader does.
///
/// Text summaries become events (`line` is the record's 1-based number in
/// the file, `text` is `<tag> (step N): <text>`), of the kind the console-log
/// rules give their text (an out-of-memory traceback logged as text is an
/// `out_of_memory` event) and `note` for any other text. Session
/// hyperparameters go to `Run::config` under their own names (`lr`); the
/// session's end status to `tensorboard.hparams.status`; the file version and
/// writer to `tensorboard.event_file_version` and `tensorboard.writer`.
///
/// Several event files in one folder (a run restarted into new files) are
/// joined in the order of their first wall time. Where a file's steps go
/// back to steps an earlier file (or the same file) already logged, a
/// resumed run or two writers in one folder, every point is kept, as
/// TensorBoard keeps them, and a `warning` event says where and how many
/// points repeat steps.
///
/// ## Problems reported
/// - `the file ends inside a record at byte B (still being written?); read
///   the N records before it`, once;
/// - `skipped N records whose checksum failed (first at byte B)` and
///   `skipped B bytes of damaged data in N places (first at byte B)`: the
///   records after the damage are read;
/// - `N records are not valid Event protobufs (first: record R); skipped`;
/// - `N scalar values are tensors of more than one number (first: tag T); skipped`;
/// - `no intact record: not a TensorBoard event file, or damaged from the start`.
pub(crate) struct TfEvents;

/// Text summaries are cut to this many bytes in events.
const MAX_TEXT: usize = 1000;

impl Source for TfEvents {
    fn name(&self) -> &'static str {
        "tfevents"
    }

    fn wants(&self, path: &Path) -> bool {
        file_name(path).contains("tfevents")
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        self.wants(path) || starts_with_record_header(head)
    }

    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        read_events(path, bytes, bytes.len() as u64, run)
    }

    fn read_path(&self, path: &Path, run: &mut Run) -> Result<ReadOutcome, String> {
        let file = File::open(path).map_err(|error| format!("cannot read: {error}"))?;
        let size = file.metadata().map_or(u64::MAX, |meta| meta.len());
        if size != u64::MAX
            && size >= pieces::PARALLEL_MIN_BYTES
            && rayon::current_num_threads() >= pieces::PARALLEL_MIN_THREADS
            && let Some(result) = pieces::read_in_pieces(path, size, pieces::PIECE_BYTES, run)
        {
            return result;
        }
        read_events(path, file, size, run)
    }

    fn join(&self, parts: Vec<(PathBuf, Run)>) -> Vec<(PathBuf, Run)> {
        join_restarts(parts)
    }
}

/// A record header: a length whose masked CRC-32C follows it. Random bytes
/// pass this check once in four billion files.
fn starts_with_record_header(head: &[u8]) -> bool {
    head.len() >= HEADER_LEN
        && masked_crc32c(&head[..8]) == u32::from_le_bytes([head[8], head[9], head[10], head[11]])
}

fn read_events(
    path: &Path,
    input: impl Read,
    size: u64,
    run: &mut Run,
) -> Result<ReadOutcome, String> {
    let mut reader = RecordReader::new(input, size);
    let mut file = FileReading::new(path);
    let mut io_error = None;
    loop {
        match reader.next_record() {
            Ok(Some(record)) => file.add_record(record.number, record.payload),
            Ok(None) => break,
            Err(error) => {
                io_error = Some(error);
                break;
            }
        }
    }
    let records = reader.records_read();
    let damage = reader.damage().clone();
    conclude(file, records, &damage, io_error, run)
}

/// The outcome of reading a file: its problems, and what it held in `run`.
fn conclude(
    file: FileReading,
    records: usize,
    damage: &Damage,
    io_error: Option<std::io::Error>,
    run: &mut Run,
) -> Result<ReadOutcome, String> {
    if records == 0 {
        if let Some(error) = io_error {
            return Err(format!("cannot read: {error}"));
        }
        return Err(no_intact_record(damage));
    }
    let mut outcome = ReadOutcome {
        problems: damage_problems(damage, records),
        ..ReadOutcome::default()
    };
    if let Some(error) = io_error {
        outcome.problems.push(format!(
            "cannot read past record {}: {error}",
            group_thousands(records)
        ));
    }
    file.finish_into(run, &mut outcome.problems);
    Ok(outcome)
}

/// Why a file gave no record at all.
fn no_intact_record(damage: &Damage) -> String {
    match damage.truncated_at {
        Some(_) if damage.resyncs == 0 && damage.bad_payloads == 0 => {
            "the file ends inside its first record (still being written?); nothing to read yet"
                .to_string()
        }
        _ => {
            "no intact record: not a TensorBoard event file, or damaged from the start".to_string()
        }
    }
}

fn damage_problems(damage: &Damage, records: usize) -> Vec<String> {
    let mut problems = Vec::new();
    let at = |offset: Option<u64>| group_thousands(offset.unwrap_or(0) as usize);
    if damage.bad_payloads > 0 {
        problems.push(format!(
            "skipped {} whose checksum failed (first at byte {}); read the records after it",
            plural(damage.bad_payloads, "record", "records"),
            at(damage.first_bad_payload_at),
        ));
    }
    if damage.resyncs > 0 {
        problems.push(format!(
            "skipped {} bytes of damaged data in {} (first at byte {}); read the records after it",
            group_thousands(damage.bytes_skipped as usize),
            plural(damage.resyncs, "place", "places"),
            at(damage.first_resync_at),
        ));
    }
    if let Some(truncated_at) = damage.truncated_at {
        problems.push(format!(
            "the file ends inside a record at byte {} (still being written?); read the {} before it",
            group_thousands(truncated_at as usize),
            plural(records, "record", "records"),
        ));
    }
    problems
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", group_thousands(count))
    }
}

/// What a tag's values are, fixed by its first value in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    /// The slot of its series.
    Scalar(usize),
    /// The slots of min, max, num, mean, std.
    Histogram([usize; 5]),
    Text,
    Hparams,
    Ignored,
}

const HISTOGRAM_SUFFIXES: [&str; 5] = ["hist_min", "hist_max", "hist_num", "hist_mean", "hist_std"];

/// The state of reading one event file.
struct FileReading {
    file: String,
    kinds: FastMap<Box<[u8]>, TagKind>,
    /// Slots by series name, so that two tags naming one series share it.
    slots: FastMap<String, usize>,
    series: Vec<Series>,
    events: Vec<TextEvent>,
    config: BTreeMap<String, serde_json::Value>,
    invalid_records: usize,
    first_invalid_record: usize,
    wide_scalars: usize,
    first_wide_scalar: String,
    /// The record of each series' first point, to order step-backs found
    /// where pieces of a file read in parallel meet.
    first_records: Vec<usize>,
    /// How often a series' step went back, and the first time it did
    /// (record, tag, from, to).
    step_backs: usize,
    first_step_back: Option<(usize, String, i64, i64)>,
    session_starts: usize,
}

impl FileReading {
    fn new(path: &Path) -> Self {
        Self {
            file: path.display().to_string(),
            kinds: FastMap::default(),
            slots: FastMap::default(),
            series: Vec::new(),
            events: Vec::new(),
            config: BTreeMap::new(),
            invalid_records: 0,
            first_invalid_record: 0,
            wide_scalars: 0,
            first_wide_scalar: String::new(),
            first_records: Vec::new(),
            step_backs: 0,
            first_step_back: None,
            session_starts: 0,
        }
    }

    fn add_record(&mut self, number: usize, payload: &[u8]) {
        if let Some((wall_time, step, tag, value)) = event::simple_scalar(payload)
            && let Some(&TagKind::Scalar(slot)) = self.kinds.get(tag)
        {
            self.push_point(number, slot, step, wall_time, f64::from(value));
            return;
        }
        if self.add_event(number, payload).is_err() {
            self.invalid_records += 1;
            if self.first_invalid_record == 0 {
                self.first_invalid_record = number;
            }
        }
    }

    fn add_event(&mut self, number: usize, payload: &[u8]) -> Result<(), WireError> {
        let event = Event::decode(payload)?;
        if let Some(version) = event.file_version {
            self.set_config("tensorboard.event_file_version", text_value(version));
        }
        if let Some(metadata) = event.source_metadata {
            let writer = event::source_writer(metadata)?;
            if !writer.is_empty() {
                self.set_config("tensorboard.writer", text_value(writer));
            }
        }
        if let Some(session_log) = event.session_log
            && event::is_session_start(session_log)?
        {
            self.session_starts += 1;
            if self.session_starts > 1 {
                self.note(
                    number,
                    format!(
                        "the TensorFlow session restarted at step {} (a crash and resume?); points at later steps are logged again after this",
                        event.step
                    ),
                );
            }
        }
        if let Some(message) = event.log_message {
            self.add_log_message(number, message)?;
        }
        event.for_each_value(|bytes| self.add_value(number, &event, bytes))
    }

    fn add_value(
        &mut self,
        number: usize,
        event: &Event<'_>,
        bytes: &[u8],
    ) -> Result<(), WireError> {
        let value = Value::decode(bytes)?;
        let tag = value.name();
        let kind = match self.kinds.get(tag) {
            Some(&kind) => kind,
            None => {
                let kind = self.classify(tag, &value)?;
                self.kinds.insert(tag.into(), kind);
                kind
            }
        };
        match kind {
            TagKind::Scalar(slot) => {
                let reading = match (value.simple_value, value.tensor) {
                    (Some(simple), _) => Some(f64::from(simple)),
                    (None, Some(tensor)) => Tensor::decode(tensor)?.single_number()?,
                    (None, None) => None,
                };
                match reading {
                    Some(value) => self.push(number, slot, event, value),
                    None if value.tensor.is_some() => {
                        self.wide_scalars += 1;
                        if self.wide_scalars == 1 {
                            self.first_wide_scalar = String::from_utf8_lossy(tag).into_owned();
                        }
                    }
                    None => {}
                }
            }
            TagKind::Histogram(slots) => {
                let stats = match (value.histo, value.tensor) {
                    (Some(histo), _) => {
                        Some(HistogramStats::from_proto(&Histogram::decode(histo)?))
                    }
                    (None, Some(tensor)) => {
                        HistogramStats::from_buckets(&Tensor::decode(tensor)?.numbers()?)
                    }
                    (None, None) => None,
                };
                if let Some(stats) = stats {
                    for (slot, value) in slots.into_iter().zip(stats.values()) {
                        if let Some(value) = value {
                            self.push(number, slot, event, value);
                        }
                    }
                }
            }
            TagKind::Text => {
                if let Some(tensor) = value.tensor {
                    let tensor = Tensor::decode(tensor)?;
                    let pieces: Vec<_> = tensor
                        .strings()?
                        .into_iter()
                        .map(String::from_utf8_lossy)
                        .collect();
                    if !pieces.is_empty() {
                        let text = pieces.join("\n");
                        let kind = classify_text(&text).unwrap_or(TextEventKind::Note);
                        let tag = String::from_utf8_lossy(tag);
                        let shown = format!("{tag} (step {}): {}", event.step, text.trim());
                        self.events.push(TextEvent {
                            kind,
                            file: self.file.clone(),
                            line: number,
                            text: clip(&shown, MAX_TEXT).into_owned(),
                        });
                    }
                }
            }
            TagKind::Hparams => {
                if let Some(metadata) = value.metadata {
                    let (_, content) = event::plugin_data(metadata)?;
                    self.add_hparams(content);
                }
            }
            TagKind::Ignored => {}
        }
        Ok(())
    }

    /// The kind of a tag met for the first time, with its series created.
    fn classify(&mut self, tag: &[u8], value: &Value<'_>) -> Result<TagKind, WireError> {
        let plugin = match value.metadata {
            Some(metadata) => event::plugin_data(metadata)?.0,
            None => &[],
        };
        let name = String::from_utf8_lossy(tag).into_owned();
        Ok(match plugin {
            b"scalars" => TagKind::Scalar(self.slot(&name)),
            b"histograms" => self.histogram(&name),
            b"text" => TagKind::Text,
            b"hparams" => TagKind::Hparams,
            b"" if value.simple_value.is_some() || value.tensor.is_some() => {
                // A tensor without a plugin: a scalar if it holds one number,
                // which `add_value` checks for each point.
                TagKind::Scalar(self.slot(&name))
            }
            b"" if value.histo.is_some() => self.histogram(&name),
            _ => TagKind::Ignored,
        })
    }

    fn histogram(&mut self, tag: &str) -> TagKind {
        TagKind::Histogram(HISTOGRAM_SUFFIXES.map(|suffix| self.slot(&format!("{tag}/{suffix}"))))
    }

    fn slot(&mut self, name: &str) -> usize {
        if let Some(&slot) = self.slots.get(name) {
            return slot;
        }
        self.series.push(Series::new(name));
        self.first_records.push(0);
        self.slots.insert(name.to_string(), self.series.len() - 1);
        self.series.len() - 1
    }

    fn push(&mut self, record: usize, slot: usize, event: &Event<'_>, value: f64) {
        self.push_point(record, slot, event.step, event.wall_time, value);
    }

    #[inline]
    fn push_point(&mut self, record: usize, slot: usize, step: i64, wall_time: f64, value: f64) {
        let Some(series) = self.series.get_mut(slot) else {
            return;
        };
        match series.points.last() {
            None => {
                if let Some(first) = self.first_records.get_mut(slot) {
                    *first = record;
                }
            }
            Some(last) if step < last.step => {
                self.step_backs += 1;
                if self.first_step_back.is_none() {
                    self.first_step_back = Some((record, series.tag.clone(), last.step, step));
                }
            }
            Some(_) => {}
        }
        series.points.push(Point {
            step,
            wall_time: Some(wall_time),
            value,
        });
    }

    fn add_log_message(&mut self, number: usize, message: &[u8]) -> Result<(), WireError> {
        let (level, text) = event::log_message(message)?;
        let text = String::from_utf8_lossy(text);
        // LogMessage.Level: WARN = 30, ERROR = 40, FATAL = 50.
        let by_level = match level {
            30 => Some(TextEventKind::Warning),
            40 | 50 => Some(TextEventKind::Error),
            _ => None,
        };
        if let Some(kind) = classify_text(&text).or(by_level) {
            self.events.push(TextEvent {
                kind,
                file: self.file.clone(),
                line: number,
                text: clip(text.trim(), MAX_TEXT).into_owned(),
            });
        }
        Ok(())
    }

    fn add_hparams(&mut self, content: &[u8]) {
        let Some(data) = hparams::decode(content) else {
            return;
        };
        if let Some(start) = data.session_start_info {
            let mut prefix = String::new();
            for (key, value) in &start.hparams {
                crate::sources::config::flatten_into(
                    &mut self.config,
                    &mut prefix,
                    key,
                    value.to_serde(),
                );
            }
            if !start.group_name.is_empty() {
                self.set_config("tensorboard.hparams.group", start.group_name.into());
            }
        }
        if let Some(end) = data.session_end_info {
            self.config.insert(
                "tensorboard.hparams.status".into(),
                hparams::status_name(end.status).into(),
            );
        }
    }

    fn set_config(&mut self, key: &str, value: serde_json::Value) {
        self.config.entry(key.to_string()).or_insert(value);
    }

    fn note(&mut self, line: usize, text: String) {
        self.events.push(TextEvent {
            kind: TextEventKind::Warning,
            file: self.file.clone(),
            line,
            text,
        });
    }

    fn finish_into(mut self, run: &mut Run, problems: &mut Vec<String>) {
        let (found, step_back_note) = self.closing_notes();
        problems.extend(found);
        self.events.extend(step_back_note);
        run.series
            .extend(self.series.into_iter().filter(|s| !s.points.is_empty()));
        run.events.extend(self.events);
        for (key, value) in self.config {
            run.config.entry(key).or_insert(value);
        }
    }

    /// The problems of the whole file, and the note on steps going back,
    /// that a finished reading adds.
    fn closing_notes(&self) -> (Vec<String>, Option<TextEvent>) {
        let mut problems = Vec::new();
        if self.invalid_records > 0 {
            problems.push(format!(
                "{} not valid Event protobufs (first: record {}); skipped",
                plural(self.invalid_records, "record is", "records are"),
                group_thousands(self.first_invalid_record)
            ));
        }
        if self.wide_scalars > 0 {
            problems.push(format!(
                "{} tensors of more than one number (first: tag {}); skipped",
                plural(self.wide_scalars, "scalar value is", "scalar values are"),
                self.first_wide_scalar
            ));
        }
        let step_back_note = self.first_step_back.as_ref().map(|(_, tag, from, to)| {
            let times = plural(self.step_backs, "time", "times");
            TextEvent {
                kind: TextEventKind::Warning,
                file: self.file.clone(),
                line: 1,
                text: format!(
                    "steps go back within this file {times} (first: {tag} from step {from} to {to}): a resumed run, or several writers in one file"
                ),
            }
        });
        (problems, step_back_note)
    }
}

fn text_value(bytes: &[u8]) -> serde_json::Value {
    serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// The five statistics of a histogram, as series values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HistogramStats {
    min: f64,
    max: f64,
    num: f64,
    sum: f64,
    sum_squares: f64,
}

impl HistogramStats {
    fn from_proto(histogram: &Histogram) -> Self {
        Self {
            min: histogram.min,
            max: histogram.max,
            num: histogram.num,
            sum: histogram.sum,
            sum_squares: histogram.sum_squares,
        }
    }

    /// From TF 2 histogram rows `[left, right, count]`, with each bucket's
    /// values taken at its centre.
    fn from_buckets(numbers: &[f64]) -> Option<Self> {
        let rows = numbers.chunks_exact(3);
        if !rows.remainder().is_empty() || numbers.is_empty() {
            return None;
        }
        let mut stats = Self {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            num: 0.0,
            sum: 0.0,
            sum_squares: 0.0,
        };
        for row in rows {
            let (left, right, count) = (row[0], row[1], row[2]);
            if count <= 0.0 {
                continue;
            }
            let centre = (left + right) / 2.0;
            stats.min = stats.min.min(left);
            stats.max = stats.max.max(right);
            stats.num += count;
            stats.sum += count * centre;
            stats.sum_squares += count * centre * centre;
        }
        if stats.num == 0.0 {
            stats.min = 0.0;
            stats.max = 0.0;
        }
        Some(stats)
    }

    /// min, max, num, mean, std; mean and std only when there are values.
    fn values(&self) -> [Option<f64>; 5] {
        let (mean, std) = histogram_moments(self.num, self.sum, self.sum_squares);
        [Some(self.min), Some(self.max), Some(self.num), mean, std]
    }
}

/// Mean and standard deviation from a count, a sum and a sum of squares;
/// the variance is clamped at 0 against rounding.
pub(crate) fn histogram_moments(
    num: f64,
    sum: f64,
    sum_squares: f64,
) -> (Option<f64>, Option<f64>) {
    if num <= 0.0 {
        return (None, None);
    }
    let mean = sum / num;
    let variance = (sum_squares / num - mean * mean).max(0.0);
    (Some(mean), Some(variance.sqrt()))
}

/// Joins the event files of one folder in the order of their first wall
/// time, with a note for each file whose steps repeat steps already logged.
fn join_restarts(parts: Vec<(PathBuf, Run)>) -> Vec<(PathBuf, Run)> {
    if parts.len() < 2 {
        return parts;
    }
    let mut ordered: Vec<(f64, PathBuf, Run)> = parts
        .into_iter()
        .map(|(path, run)| (first_wall_time(&run), path, run))
        .collect();
    ordered.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));

    let mut joined = Run::default();
    let mut slots: FastMap<String, usize> = FastMap::default();
    let mut path_of_first = PathBuf::new();
    for (index, (_, path, part)) in ordered.into_iter().enumerate() {
        if index == 0 {
            path_of_first = path.clone();
        }
        let mut repeated_points = 0_usize;
        let mut repeated_tags = 0_usize;
        let mut resumed_at = i64::MAX;
        let mut reached = i64::MIN;
        for series in part.series {
            match slots.get(&series.tag) {
                Some(&slot) => {
                    let kept = &mut joined.series[slot];
                    let last_max = kept.points.iter().map(|p| p.step).max().unwrap_or(i64::MIN);
                    let repeats = series.points.iter().filter(|p| p.step <= last_max).count();
                    if repeats > 0 {
                        repeated_points += repeats;
                        repeated_tags += 1;
                        let first = series
                            .points
                            .iter()
                            .map(|p| p.step)
                            .min()
                            .unwrap_or(last_max);
                        resumed_at = resumed_at.min(first);
                        reached = reached.max(last_max);
                    }
                    kept.points.extend(series.points);
                }
                None => {
                    slots.insert(series.tag.clone(), joined.series.len());
                    joined.series.push(series);
                }
            }
        }
        joined.events.extend(part.events);
        if repeated_points > 0 {
            joined.events.push(TextEvent {
                kind: TextEventKind::Warning,
                file: path.display().to_string(),
                line: 1,
                text: format!(
                    "steps restart: this event file goes back to step {resumed_at} after earlier files reached step {reached}; {} of {} repeat logged steps (a resumed run, or two writers in one folder)",
                    plural(repeated_points, "point", "points"),
                    plural(repeated_tags, "tag", "tags"),
                ),
            });
        }
        for (key, value) in part.config {
            joined.config.entry(key).or_insert(value);
        }
    }
    vec![(path_of_first, joined)]
}

/// The earliest wall time of a file's points; files with none sort last.
fn first_wall_time(run: &Run) -> f64 {
    run.series
        .iter()
        .filter_map(|s| s.points.first().and_then(|p| p.wall_time))
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests;
