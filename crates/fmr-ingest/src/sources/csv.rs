use std::fs::File;
use std::io::Read;
use std::path::Path;

use fmr_core::{Point, Run, Series};

use crate::json;
use crate::source::{ReadOutcome, Source};
use crate::sources::jsonl::{STEP_KEYS, WALL_TIME_KEYS};
use crate::stream::{Chunking, Utf8Check, Window, cut_line_problem, stream_lines, without_bom};
use crate::text_util::{
    as_step, as_wall_time, extension, file_name, looks_like_text, parse_float, parse_number,
};

/// Comma-separated metric tables.
///
/// ## What it reads
/// - PyTorch Lightning `CSVLogger` `metrics.csv`: sparse rows, where an empty
///   cell means "not logged in this row" and the text `nan` is a NaN;
/// - Keras `CSVLogger` (`training.log` in Keras' docs): one row per epoch;
/// - Stable-Baselines3 `progress.csv` and `monitor.csv` (a `#{json}` first line,
///   then `r,l,t` per episode);
/// - TensorBoard's "download CSV" export (`Wall time,Step,Value`);
/// - W&B's chart export (`Step,<run> - <tag>,<run> - <tag>__MIN,...`);
/// - any other CSV with a header row.
///
/// ## How it is recognised
/// A `.csv` file that is text; or, whatever the extension, a first line (after
/// SB3's `#` comment) of two or more column names (starting with a letter or
/// `_`, not numbers, no `: ` or `=`), then a row with as many fields, one of
/// them a number.
///
/// ## Steps and series
/// The step column is the first (case-insensitive) of `step`, `global_step`,
/// `_step`, `time/total_timesteps` (SB3), `timesteps_total`, `iteration`, `iter`,
/// `training_iteration`, `epoch` (Keras); without one, the row index. Lightning's
/// `epoch` column is a series because `step` is the step. `_timestamp`,
/// `timestamp`, `wall_time` / `Wall time` give the wall time. Every other
/// column with at least one number is a series; columns of text are not.
/// Empty cells are skipped; `nan`, `inf`, `-inf`, `Infinity` are values.
/// SB3 `monitor.csv`: step = episode index (0-based, as SB3's `load_results`
/// numbers rows), series `episode/reward` (`r`) and `episode/length` (`l`),
/// wall time = the header's `t_start` + `t`. A TensorBoard export's `Value`
/// column is named after the tag in the file name (`run-x-tag-loss.csv` gives
/// `loss`). A W&B export's columns are named by tag (the `<run> - ` prefix
/// dropped when there is one run) and its `__MIN`/`__MAX` band columns are
/// skipped. A pandas index column (empty header) is skipped; repeated column
/// names get `.1`, `.2` as pandas does.
///
/// ## Problems reported
/// - `line N: expected F fields, found G` (the row is skipped), with
///   `(truncated?)` for a last line cut short;
/// - `column "x": N cells are not numbers (first at line L: "abc")`;
/// - `N rows have no whole-number "step"; each took the step of the row before`;
/// - `line N: not valid UTF-8 at byte B (read with the invalid bytes replaced)`
///   (cells with invalid bytes are then not numbers);
/// - `line N: longer than 64 MiB; only its first 64 MiB were read`.
///
/// The file is read as a stream, a chunk at a time: memory follows the
/// series kept, not the file's size.
/// Quoting follows RFC 4180 as the `csv` crate reads it (a quoted field may
/// hold commas, `""` and line ends).
pub(crate) struct CsvTable;

impl Source for CsvTable {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn wants(&self, path: &Path) -> bool {
        extension(path) == "csv"
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        looks_like_text(head) && (extension(path) == "csv" || looks_like_csv(head))
    }

    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        read_table(path, bytes, Chunking::DEFAULT, run)
    }

    fn read_path(&self, path: &Path, run: &mut Run) -> Result<ReadOutcome, String> {
        let file = File::open(path).map_err(|error| format!("cannot read: {error}"))?;
        read_table(path, file, Chunking::DEFAULT, run)
    }
}

/// Reads a CSV table from `input`, a chunk at a time (see the memory note on
/// [`Reading`]).
///
/// One thread per file: a second thread that stored each chunk's points
/// while the next was parsed (to overlap the kernel's zeroing of the
/// series' new memory, a third of the work) cost more in copying than it
/// saved on two cores. Files are read in parallel by [`crate::ingest`].
pub(crate) fn read_table(
    path: &Path,
    input: impl Read,
    chunking: Chunking,
    run: &mut Run,
) -> Result<ReadOutcome, String> {
    let mut reading = Reading::new(path, chunking);
    stream_lines(input, chunking, |window| reading.take(window))
        .map_err(|error| format!("cannot read: {error}"))?;
    reading.finish(run)
}

/// The state of reading one CSV file.
///
/// Memory: the stream's buffer (one chunk plus a carried-over line), one
/// record's field bounds, and the points kept: a row's cells become points
/// as the row is read and the row's text is not kept.
struct Reading<'a> {
    path: &'a Path,
    chunking: Chunking,
    /// Line number of the first line of the next window.
    next_line: usize,
    utf8: Utf8Check,
    /// The first line has been looked at (for SB3's `#` line).
    started: bool,
    /// `Some` after a `#{...}` first line: the header's `t_start`, if any.
    monitor: Option<Option<f64>>,
    /// Set once the header row has been read.
    header: Option<Header>,
    /// Bounds of one record's fields, and the text of a quoted record.
    scratch: Record,
}

struct Header {
    names: Vec<String>,
    layout: Layout,
    table: Table,
}

impl<'a> Reading<'a> {
    fn new(path: &'a Path, chunking: Chunking) -> Self {
        Self {
            path,
            chunking,
            next_line: 1,
            utf8: Utf8Check::default(),
            started: false,
            monitor: None,
            header: None,
            scratch: Record::default(),
        }
    }

    /// Reads the records of `window`; returns the bytes used (a quoted
    /// field still open at the window's end waits for the next one).
    fn take(&mut self, window: Window<'_>) -> usize {
        let (bytes, offset) = without_bom(window.bytes, window.offset);
        let skipped = window.bytes.len() - bytes.len();
        let text = self.utf8.check(bytes, self.next_line, offset, window.cut);
        let mut pos = 0;
        if !self.started {
            self.started = true;
            if let Some(rest) = bytes.strip_prefix(b"#") {
                // SB3's monitor.csv starts with `#{"t_start": ..., "env_id": ...}`.
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let line = String::from_utf8_lossy(&rest[..end]);
                let t_start = json::parse(line.trim())
                    .ok()
                    .as_ref()
                    .and_then(|h| h.get("t_start"))
                    .and_then(json::Json::as_f64);
                self.monitor = Some(t_start);
                pos = (1 + end + 1).min(bytes.len());
                self.next_line += 1;
            }
        }
        while self.header.is_none() && pos < bytes.len() {
            match split_record(bytes, pos, window.must_take_all(), &mut self.scratch) {
                Split::Record { end, lines } => {
                    let names: Vec<String> = (0..self.scratch.len())
                        .map(|i| {
                            let field = self.scratch.field(bytes, i);
                            String::from_utf8_lossy(field).trim().to_string()
                        })
                        .collect();
                    let layout = Layout::detect(&names, self.path, self.monitor);
                    let table = Table::new(names.len());
                    self.header = Some(Header {
                        names,
                        layout,
                        table,
                    });
                    pos = end;
                    self.next_line += lines;
                }
                Split::Blank { end, lines } => {
                    pos = end;
                    self.next_line += lines;
                }
                Split::Unfinished => return skipped + pos,
            }
        }
        let Some(header) = self.header.as_mut() else {
            return window.bytes.len();
        };
        let body = &bytes[pos..];
        let body_text = text.and_then(|t| t.get(pos..));
        let ends_file = window.at_end && !body.ends_with(b"\n");
        let rows = Rows {
            bytes: body,
            text: body_text,
            first_line: self.next_line,
            ends_file,
            take_all: window.must_take_all(),
        };
        let used = header.table.read(&header.layout, &rows, &mut self.scratch);
        let lines = memchr::memchr_iter(b'\n', &body[..used]).count();
        if window.cut {
            let last_line = self.next_line + lines - usize::from(body[..used].ends_with(b"\n"));
            header
                .table
                .row_problems
                .push(cut_line_problem(last_line, self.chunking));
        }
        self.next_line += lines;
        skipped + pos + used
    }

    fn finish(self, run: &mut Run) -> Result<ReadOutcome, String> {
        let Some(Header {
            names,
            layout,
            table,
        }) = self.header
        else {
            return Err("no header row".into());
        };
        let mut outcome = ReadOutcome {
            flavor: layout.flavor,
            ..ReadOutcome::default()
        };
        outcome.problems.extend(self.utf8.problem());
        outcome.problems.extend(table.row_problems);
        if table.stepless_rows > 0 {
            let name = layout.step_column.map_or("step", |c| names[c].as_str());
            outcome.problems.push(format!(
                "{} rows have no whole-number \"{name}\"; each took the step of the row before",
                table.stepless_rows
            ));
        }
        for (column, tag) in table.columns.into_iter().zip(layout.tags) {
            let Some(tag) = tag else { continue };
            if column.points.is_empty() {
                continue; // a text column, or one never logged: not a series
            }
            if let Some((first_line, first_text)) = column.first_bad {
                outcome.problems.push(format!(
                    "column \"{tag}\": {} cells are not numbers (first at line {first_line}: \"{first_text}\")",
                    column.bad_cells
                ));
            }
            run.series.push(Series {
                tag,
                points: column.points,
            });
        }
        Ok(outcome)
    }
}

/// Rows to read: whole records of a window, after the header.
struct Rows<'a> {
    bytes: &'a [u8],
    /// `bytes` as text, when it is valid UTF-8 (cells are then parsed without
    /// checking each again).
    text: Option<&'a str>,
    first_line: usize,
    /// `bytes` ends the file without a line end: a short last row is
    /// reported as truncated.
    ends_file: bool,
    /// No more bytes follow (`Window::must_take_all`).
    take_all: bool,
}

/// The columns read so far, and what went wrong in rows.
struct Table {
    columns: Vec<Column>,
    width: usize,
    /// Rows with the header's number of fields.
    rows: i64,
    last_step: Option<i64>,
    stepless_rows: usize,
    /// `line N: expected F fields, found G`, in file order.
    row_problems: Vec<String>,
}

impl Table {
    fn new(width: usize) -> Self {
        Self {
            columns: (0..width).map(|_| Column::default()).collect(),
            width,
            rows: 0,
            last_step: None,
            stepless_rows: 0,
            row_problems: Vec::new(),
        }
    }

    /// Reads the records of `rows`; returns the bytes used.
    fn read(&mut self, layout: &Layout, rows: &Rows<'_>, record: &mut Record) -> usize {
        let bytes = rows.bytes;
        let mut pos = 0;
        let mut line = rows.first_line;
        while pos < bytes.len() {
            let start_line = line;
            let (end, lines) = match split_record(bytes, pos, rows.take_all, record) {
                Split::Record { end, lines } => (end, lines),
                Split::Blank { end, lines } => {
                    pos = end;
                    line += lines;
                    continue;
                }
                Split::Unfinished => return pos,
            };
            let text = if record.quoted {
                std::str::from_utf8(&record.text).ok()
            } else {
                rows.text
            };
            let cells = Cells {
                bytes: if record.quoted { &record.text } else { bytes },
                text,
                record,
            };
            let last_row = rows.ends_file && end == bytes.len();
            self.row(layout, start_line, &cells, last_row);
            pos = end;
            line += lines;
        }
        pos
    }

    fn row(&mut self, layout: &Layout, line: usize, cells: &Cells<'_>, last_row: bool) {
        let found = cells.record.len();
        if found != self.width {
            let cut = found < self.width && last_row;
            self.row_problems.push(format!(
                "line {line}: expected {} fields, found {found}{}",
                self.width,
                if cut { " (truncated?)" } else { "" }
            ));
            return;
        }
        let step = match layout.step_column {
            Some(column) => match cells.number(column).ok().flatten().and_then(as_step) {
                Some(step) => {
                    self.last_step = Some(step);
                    step
                }
                None => {
                    self.stepless_rows += 1;
                    self.last_step.unwrap_or(self.rows)
                }
            },
            None => self.rows,
        };
        let wall_time = layout.wall_time(cells);
        for (index, tag) in layout.tags.iter().enumerate() {
            if tag.is_none() {
                continue;
            }
            let column = &mut self.columns[index];
            match cells.number(index) {
                Ok(Some(value)) => column.points.push(Point {
                    step,
                    wall_time,
                    value,
                }),
                Ok(None) => {} // an empty cell: not logged in this row
                Err(()) => column.note_bad_cell(line, cells.field(index)),
            }
        }
        self.rows += 1;
    }
}

/// The fields of one record, as bounds into the window (or, for a record
/// with quotes, into the record's own unquoted text).
#[derive(Default)]
struct Record {
    bounds: Vec<(usize, usize)>,
    /// The fields were unquoted into `text`.
    quoted: bool,
    text: Vec<u8>,
}

impl Record {
    fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Field `index`; `window` is the bytes the record was split from.
    fn field<'b>(&'b self, window: &'b [u8], index: usize) -> &'b [u8] {
        let (start, end) = self.bounds[index];
        if self.quoted {
            &self.text[start..end]
        } else {
            &window[start..end]
        }
    }
}

/// A record's cells, for reading numbers.
struct Cells<'b> {
    /// What `record.bounds` index: the window, or the record's unquoted text.
    bytes: &'b [u8],
    text: Option<&'b str>,
    record: &'b Record,
}

impl Cells<'_> {
    fn field(&self, index: usize) -> &[u8] {
        let (start, end) = self.record.bounds[index];
        &self.bytes[start..end]
    }

    /// `Ok(None)` for an empty cell, `Err` for one that is not a number.
    fn number(&self, index: usize) -> Result<Option<f64>, ()> {
        let (start, end) = self.record.bounds[index];
        let cell = match self.text.and_then(|text| text.get(start..end)) {
            Some(cell) => cell,
            None => std::str::from_utf8(&self.bytes[start..end]).map_err(|_| ())?,
        };
        let cell = cell.trim_ascii();
        if cell.is_empty() {
            return Ok(None);
        }
        parse_float(cell).map(Some).ok_or(())
    }
}

/// What [`split_record`] found at a position.
#[derive(Debug, PartialEq, Eq)]
enum Split {
    /// A record ends at `end` (after its line end), `lines` line ends on.
    Record { end: usize, lines: usize },
    /// An empty line, which is not a record.
    Blank { end: usize, lines: usize },
    /// A quoted field is still open where the bytes end, and more may come.
    Unfinished,
}

/// Splits the record starting at `start` into `record`, as the `csv` crate
/// does: fields split at `,`; `"` opens a quoted field only at a field's
/// start, `""` inside one is a quote, and text after the closing quote is
/// kept; `\n`, `\r\n` and a lone `\r` end a record; empty lines are not
/// records. A field may not close before the end of `bytes`: with
/// `take_all` the record ends there, else it is [`Split::Unfinished`].
fn split_record(bytes: &[u8], start: usize, take_all: bool, record: &mut Record) -> Split {
    record.bounds.clear();
    record.quoted = false;
    let rest = &bytes[start..];
    let line_len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let line = &rest[..line_len];
    let content = line.strip_suffix(b"\r").unwrap_or(line);
    let has_newline = line_len < rest.len();
    let end = start + line_len + usize::from(has_newline);
    if memchr::memchr2(b'"', b'\r', content).is_none() {
        // The fast, common case: one line, no quotes.
        if content.is_empty() {
            return Split::Blank {
                end,
                lines: usize::from(has_newline),
            };
        }
        let mut field_start = start;
        for comma in memchr::memchr_iter(b',', content) {
            record.bounds.push((field_start, start + comma));
            field_start = start + comma + 1;
        }
        record.bounds.push((field_start, start + content.len()));
        return Split::Record {
            end,
            lines: usize::from(has_newline),
        };
    }
    split_quoted(bytes, start, take_all, record)
}

/// [`split_record`] for a record with quotes or a lone `\r`: byte by byte,
/// unquoting into `record.text`.
fn split_quoted(bytes: &[u8], start: usize, take_all: bool, record: &mut Record) -> Split {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// A `"` inside a quoted field: a quote if another follows, else the end of the quotes.
        QuoteInQuoted,
    }
    record.quoted = true;
    record.text.clear();
    let mut state = State::FieldStart;
    let mut field_start = 0;
    let mut lines = 0;
    let mut pos = start;
    let mut any = false;
    while pos < bytes.len() {
        let byte = bytes[pos];
        pos += 1;
        let ends_record = matches!(byte, b'\n' | b'\r') && state != State::Quoted;
        if ends_record {
            if byte == b'\r' && bytes.get(pos) == Some(&b'\n') {
                pos += 1;
            }
            if bytes[pos - 1] == b'\n' {
                lines += 1;
            }
            if !any && state == State::FieldStart {
                return Split::Blank { end: pos, lines };
            }
            record.bounds.push((field_start, record.text.len()));
            return Split::Record { end: pos, lines };
        }
        any = true;
        match (state, byte) {
            (State::FieldStart, b'"') => state = State::Quoted,
            (State::Quoted, b'"') => state = State::QuoteInQuoted,
            (State::QuoteInQuoted, b'"') => {
                record.text.push(b'"');
                state = State::Quoted;
            }
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',') => {
                record.bounds.push((field_start, record.text.len()));
                field_start = record.text.len();
                state = State::FieldStart;
            }
            (State::Quoted, _) => {
                if byte == b'\n' {
                    lines += 1;
                }
                record.text.push(byte);
            }
            (_, _) => {
                record.text.push(byte);
                state = State::Unquoted;
            }
        }
    }
    if state == State::Quoted && !take_all {
        return Split::Unfinished;
    }
    if !any {
        return Split::Blank { end: pos, lines };
    }
    record.bounds.push((field_start, record.text.len()));
    Split::Record { end: pos, lines }
}

#[derive(Default)]
struct Column {
    points: Vec<Point>,
    bad_cells: usize,
    first_bad: Option<(usize, String)>,
}

impl Column {
    fn note_bad_cell(&mut self, line: usize, cell: &[u8]) {
        self.bad_cells += 1;
        if self.first_bad.is_none() {
            let text = String::from_utf8_lossy(cell.trim_ascii());
            self.first_bad = Some((line, crate::text_util::clip(&text, 40).into_owned()));
        }
    }
}

/// Which column plays which part, decided from the header.
struct Layout {
    step_column: Option<usize>,
    wall_column: Option<usize>,
    /// SB3 monitor: wall time is `t_start + t`, where the header gives `t_start`.
    wall_offset: Option<f64>,
    /// The series tag of each column; `None` for step, wall-time and index columns.
    tags: Vec<Option<String>>,
    flavor: Option<&'static str>,
}

impl Layout {
    /// `monitor` is `Some` for a file that began with SB3's `#` header line,
    /// holding the header's `t_start` when it had one.
    fn detect(names: &[String], path: &Path, monitor: Option<Option<f64>>) -> Self {
        let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let position = |wanted: &str| lower.iter().position(|n| n == wanted);

        if let Some(t_start) = monitor {
            let wall_column = position("t");
            let tags = lower
                .iter()
                .enumerate()
                .map(|(i, name)| match name.as_str() {
                    "t" => None,
                    "r" => Some("episode/reward".to_string()),
                    "l" => Some("episode/length".to_string()),
                    _ => Some(format!("episode/{}", names[i])),
                })
                .collect();
            return Self {
                step_column: None,
                wall_column: t_start.and(wall_column),
                wall_offset: t_start,
                tags,
                flavor: Some("sb3_monitor"),
            };
        }

        if lower == ["wall time", "step", "value"] {
            return Self {
                step_column: Some(1),
                wall_column: Some(0),
                wall_offset: None,
                tags: vec![None, None, Some(tensorboard_export_tag(path))],
                flavor: Some("tensorboard_export"),
            };
        }

        if let Some(tags) = wandb_export_tags(names) {
            return Self {
                step_column: Some(0),
                wall_column: None,
                wall_offset: None,
                tags,
                flavor: Some("wandb_export"),
            };
        }

        let step_column = STEP_KEYS.iter().find_map(|key| position(key));
        let wall_column = WALL_TIME_KEYS
            .iter()
            .chain(&["wall time"])
            .find_map(|key| position(key));
        let mut seen: Vec<&str> = Vec::with_capacity(names.len());
        let tags = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if Some(i) == step_column || Some(i) == wall_column || (i == 0 && name.is_empty()) {
                    return None;
                }
                let base = if name.is_empty() {
                    format!("column_{}", i + 1)
                } else {
                    name.clone()
                };
                let repeats = seen.iter().filter(|&&s| s == name).count();
                seen.push(name);
                Some(if repeats == 0 {
                    base
                } else {
                    format!("{base}.{repeats}")
                })
            })
            .collect();

        let flavor = if position("time/total_timesteps").is_some() {
            Some("sb3_progress")
        } else if file_name(path) == "metrics.csv"
            && position("step").is_some()
            && position("epoch").is_some()
        {
            Some("lightning")
        } else if step_column == Some(0) && lower[0] == "epoch" && extension(path) == "log" {
            Some("keras")
        } else {
            None
        };
        Self {
            step_column,
            wall_column,
            wall_offset: None,
            tags,
            flavor,
        }
    }

    fn wall_time(&self, cells: &Cells<'_>) -> Option<f64> {
        let value = cells.number(self.wall_column?).ok()??;
        match self.wall_offset {
            Some(start) => Some(start + value),
            None => as_wall_time(value),
        }
    }
}

/// W&B's "Export CSV" of a chart: `Step,<run> - <tag>,<run> - <tag>__MIN,...`.
/// The `__MIN`/`__MAX` columns bound the smoothing band and are not series;
/// the run prefix is dropped when every column has the same one.
fn wandb_export_tags(names: &[String]) -> Option<Vec<Option<String>>> {
    let (first, rest) = names.split_first()?;
    if first != "Step" || rest.is_empty() || !rest.iter().all(|n| n.contains(" - ")) {
        return None;
    }
    let run_of = |name: &str| {
        name.split_once(" - ")
            .map_or("", |(run, _)| run)
            .to_string()
    };
    let one_run = rest.iter().all(|n| run_of(n) == run_of(&rest[0]));
    let tags = rest.iter().map(|name| {
        if name.ends_with("__MIN") || name.ends_with("__MAX") {
            None
        } else if one_run {
            name.split_once(" - ").map(|(_, tag)| tag.to_string())
        } else {
            Some(name.clone())
        }
    });
    Some(std::iter::once(None).chain(tags).collect())
}

/// TensorBoard names exports `run-<run>-tag-<tag>.csv` (with `/` in the tag
/// replaced by `_`); otherwise the file stem is the best name there is.
fn tensorboard_export_tag(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("value");
    match stem.split_once("-tag-") {
        Some((_, tag)) if !tag.is_empty() => tag.to_string(),
        _ => stem.to_string(),
    }
}

/// Content test for CSV under any name (Keras writes `training.log`).
fn looks_like_csv(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default(),
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut header = lines.next().unwrap_or_default();
    if header.starts_with("#{") {
        header = lines.next().unwrap_or_default();
    }
    let names = split_fields(header);
    let header_ok = names.len() >= 2
        && names
            .iter()
            .enumerate()
            .all(|(i, name)| is_column_name(name) || (i == 0 && name.is_empty()));
    if !header_ok {
        return false;
    }
    let Some(row) = lines.next().filter(|row| !row.trim().is_empty()) else {
        return false;
    };
    let cells = split_fields(row);
    cells.len() == names.len() && cells.iter().any(|cell| parse_number(cell).is_some())
}

fn is_column_name(name: &str) -> bool {
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && name.len() <= 200
        && parse_number(name).is_none()
        && !name.contains(": ")
        && !name.contains("  ")
        && !name.contains('=')
        && !name.contains('{')
}

/// Splits one CSV line into trimmed, unquoted fields (enough for sniffing).
fn split_fields(line: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, byte) in line.bytes().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                fields.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(&line[start..]);
    fields
        .into_iter()
        .map(|f| f.trim().trim_matches('"'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> (Run, ReadOutcome) {
        let mut run = Run::default();
        let outcome = CsvTable
            .read(Path::new(name), text.as_bytes(), &mut run)
            .expect("readable");
        (run, outcome)
    }

    fn values(run: &Run, tag: &str) -> Vec<(i64, f64)> {
        run.series(tag)
            .map(|s| s.points.iter().map(|p| (p.step, p.value)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn lightning_sparse_rows_keep_epoch_as_a_series() {
        let (run, outcome) = read(
            "metrics.csv",
            "epoch,lr,step,train_loss,val_loss\r\n0,0.05,3,0.69,\r\n0,,3,,0.52\r\n1,0.05,7,nan,\r\n",
        );
        assert_eq!(outcome.flavor, Some("lightning"));
        assert!(outcome.problems.is_empty());
        assert_eq!(values(&run, "epoch"), [(3, 0.0), (3, 0.0), (7, 1.0)]);
        assert_eq!(values(&run, "val_loss"), [(3, 0.52)]);
        assert!(values(&run, "train_loss")[1].1.is_nan());
        assert!(run.series("step").is_none());
    }

    #[test]
    fn keras_epoch_column_is_the_step() {
        let (run, outcome) = read(
            "training.log",
            "epoch,loss,lr\r\n0,1.27,0.05\r\n1,nan,0.15\r\n",
        );
        assert_eq!(outcome.flavor, Some("keras"));
        assert_eq!(values(&run, "lr"), [(0, 0.05), (1, 0.15)]);
        assert!(run.series("epoch").is_none());
    }

    #[test]
    fn monitor_rows_are_episodes_with_wall_time() {
        let (run, outcome) = read(
            "monitor.csv",
            "#{\"t_start\": 1000.5, \"env_id\": \"CartPole-v1\"}\nr,l,t\r\n25.0,25,1.5\r\n55.0,55,2.0\r\n",
        );
        assert_eq!(outcome.flavor, Some("sb3_monitor"));
        assert_eq!(values(&run, "episode/reward"), [(0, 25.0), (1, 55.0)]);
        let length = run.series("episode/length").expect("length");
        assert_eq!(length.points[1].wall_time, Some(1002.5));
        assert_eq!(run.series.len(), 2);
    }

    #[test]
    fn tensorboard_exports_take_the_tag_from_the_file_name() {
        let (run, outcome) = read(
            "run-exp1-tag-train_loss.csv",
            "Wall time,Step,Value\n1700000000.5,10,0.5\n1700000001.5,20,0.25\n",
        );
        assert_eq!(outcome.flavor, Some("tensorboard_export"));
        assert_eq!(values(&run, "train_loss"), [(10, 0.5), (20, 0.25)]);
        assert_eq!(
            run.series("train_loss").and_then(|s| s.points[0].wall_time),
            Some(1_700_000_000.5)
        );
    }

    #[test]
    fn wandb_exports_drop_the_run_prefix_and_the_band_columns() {
        let (run, outcome) = read(
            "wandb_export.csv",
            "Step,exp1 - train/loss,exp1 - train/loss__MIN,exp1 - train/loss__MAX\n10,0.5,0.4,0.6\n20,0.25,0.2,0.3\n",
        );
        assert_eq!(outcome.flavor, Some("wandb_export"));
        assert_eq!(values(&run, "train/loss"), [(10, 0.5), (20, 0.25)]);
        assert_eq!(run.series.len(), 1);
        let (run, _) = read("x.csv", "Step,a - loss,b - loss\n1,0.5,0.7\n");
        assert_eq!(values(&run, "b - loss"), [(1, 0.7)]);
    }

    #[test]
    fn without_a_step_column_the_row_index_is_the_step() {
        let (run, _) = read("x.csv", ",loss,name,loss\n7,0.5,a,1\n8,0.25,b,2\n");
        assert_eq!(values(&run, "loss"), [(0, 0.5), (1, 0.25)]);
        assert_eq!(values(&run, "loss.1"), [(0, 1.0), (1, 2.0)]);
        assert!(run.series("name").is_none());
        assert_eq!(run.series.len(), 2);
    }

    #[test]
    fn reports_bad_rows_and_cells_and_keeps_the_rest() {
        let (run, outcome) = read(
            "x.csv",
            "step,loss,acc\n1,0.5,0.1\n2,oops,0.2\n3,0.3\n,0.2,0.3\n5,0.1,0.",
        );
        assert_eq!(values(&run, "loss"), [(1, 0.5), (2, 0.2), (5, 0.1)]);
        assert_eq!(
            values(&run, "acc"),
            [(1, 0.1), (2, 0.2), (2, 0.3), (5, 0.0)]
        );
        assert_eq!(
            outcome.problems,
            [
                "line 4: expected 3 fields, found 2",
                "1 rows have no whole-number \"step\"; each took the step of the row before",
                "column \"loss\": 1 cells are not numbers (first at line 3: \"oops\")",
            ]
        );
        let (_, outcome) = read("x.csv", "step,loss,acc\n1,0.5,0.1\n2,0.");
        assert_eq!(
            outcome.problems,
            ["line 3: expected 3 fields, found 2 (truncated?)"]
        );
    }

    #[test]
    fn blank_lines_are_not_rows() {
        let (run, outcome) = read("x.csv", "step,loss\n1,0.5\n\n2,0.4\n\n");
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        assert_eq!(values(&run, "loss"), [(1, 0.5), (2, 0.4)]);
    }

    #[test]
    fn sniffs_csv_content_but_not_log_lines() {
        let log = Path::new("train.log");
        assert!(CsvTable.sniff(log, b"epoch,loss,lr\r\n0,1.2,0.05\r\n"));
        assert!(CsvTable.sniff(log, b"#{\"t_start\": 1}\nr,l,t\n1.0,1,0.5\n"));
        assert!(!CsvTable.sniff(
            log,
            b"2024-01-01 12:00:00,123 - INFO - start\n2024-01-01 12:00:01,456 - INFO - x\n"
        ));
        assert!(!CsvTable.sniff(log, b"INFO:root:step 1, loss 2\nINFO:root:step 2, loss 1\n"));
        assert!(!CsvTable.sniff(log, b"Using device: cuda, dtype: bf16\nstep 1, loss 2.0\n"));
        assert!(!CsvTable.sniff(log, b"{'loss': 0.5, 'epoch': 1}\n"));
        assert!(!CsvTable.sniff(log, b"Epoch 1/10\n"));
        assert!(CsvTable.sniff(Path::new("anything.csv"), b"just text"));
        assert!(!CsvTable.sniff(Path::new("blob.csv"), b"\0\x01\x02"));
    }

    /// Reads `bytes` with `chunk_bytes` chunks; the run as its `Debug`
    /// text, so that NaN points compare equal.
    fn read_chunked(
        name: &str,
        bytes: &[u8],
        chunk_bytes: usize,
    ) -> (String, Result<ReadOutcome, String>) {
        let mut run = Run::default();
        let chunking = Chunking {
            chunk_bytes,
            ..Chunking::DEFAULT
        };
        let result = read_table(Path::new(name), bytes, chunking, &mut run);
        (format!("{run:?}"), result)
    }

    /// Every chunk size gives what one read of the whole buffer gives.
    fn assert_chunking_changes_nothing(name: &str, bytes: &[u8]) -> Result<ReadOutcome, String> {
        let whole = read_chunked(name, bytes, Chunking::DEFAULT.chunk_bytes);
        for chunk_bytes in [1, 2, 3, 5, 8, 13, 64, 1000] {
            assert_eq!(
                read_chunked(name, bytes, chunk_bytes),
                whole,
                "{name} read in {chunk_bytes}-byte chunks"
            );
        }
        whole.1
    }

    #[test]
    fn quoted_fields_commas_quotes_and_line_ends() {
        let text = "step,\"loss, train\",note\r\n1,0.5,\"a \"\"quoted\"\" word\"\r\n2,\"0.25\",\"two\nlines\"\r\n3,oops,x\r\n";
        let (run, outcome) = read("x.csv", text);
        assert_eq!(values(&run, "loss, train"), [(1, 0.5), (2, 0.25)]);
        assert!(run.series("note").is_none());
        // The record of two lines moves the line count on by two.
        assert_eq!(
            outcome.problems,
            ["column \"loss, train\": 1 cells are not numbers (first at line 5: \"oops\")"]
        );
        assert_chunking_changes_nothing("x.csv", text.as_bytes()).expect("readable");
    }

    #[test]
    fn a_file_many_chunks_long_reads_as_one_buffer() {
        // ~40 KB with lines of varied lengths: read in 4 KiB chunks, many
        // lines straddle a chunk edge.
        let mut text = String::from("step,loss,acc,name\n");
        for step in 0..1500 {
            let pad = "x".repeat(step % 17);
            text.push_str(&format!(
                "{step},{},{},\"run {pad}\"\n",
                step as f64 / 7.0,
                1.0 / (step as f64 + 1.0)
            ));
        }
        let outcome =
            assert_chunking_changes_nothing("metrics.csv", text.as_bytes()).expect("readable");
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        let (run, _) = read("metrics.csv", &text);
        let whole = read_chunked("metrics.csv", text.as_bytes(), 4096);
        assert_eq!(whole.0, format!("{run:?}"));
        let loss = run.series("loss").expect("loss");
        assert_eq!(loss.points.len(), 1500);
        assert_eq!(loss.points[1499].value, 1499.0 / 7.0);
        assert_eq!(loss.points[1499].step, 1499);
    }

    #[test]
    fn damage_is_reported_by_line_whatever_the_chunks() {
        let mut bytes =
            b"\xEF\xBB\xBFstep,loss\n1,0.5\n2,0.4,9\n3,0.3\n4,0.\xff2\n5,0.1\n6".to_vec();
        let outcome = assert_chunking_changes_nothing("x.csv", &bytes).expect("readable");
        // Byte offsets count from the file's start, the byte-order mark included.
        assert_eq!(
            outcome.problems,
            [
                "line 5: not valid UTF-8 at byte 37 (read with the invalid bytes replaced)",
                "line 3: expected 2 fields, found 3",
                "line 7: expected 2 fields, found 1 (truncated?)",
                "column \"loss\": 1 cells are not numbers (first at line 5: \"0.\u{fffd}2\")",
            ]
        );
        bytes.push(b'\n');
        let outcome = assert_chunking_changes_nothing("x.csv", &bytes).expect("readable");
        assert_eq!(outcome.problems[2], "line 7: expected 2 fields, found 1");
    }

    #[test]
    fn lines_past_the_limit_are_cut_and_reported() {
        let long = "9".repeat(100);
        let text = format!("step,loss\n1,0.5\n2,{long}\n3,0.3\n");
        let mut run = Run::default();
        let chunking = Chunking {
            chunk_bytes: 16,
            max_line_bytes: 40,
        };
        let outcome =
            read_table(Path::new("x.csv"), text.as_bytes(), chunking, &mut run).expect("readable");
        assert_eq!(
            outcome.problems,
            ["line 3: longer than 40 bytes; only its first 40 bytes were read"]
        );
        assert_eq!(values(&run, "loss")[0], (1, 0.5));
        assert_eq!(
            values(&run, "loss")[2],
            (3, 0.3),
            "the line after it is read"
        );
        assert_eq!(run.series("loss").map(|s| s.points.len()), Some(3));
    }

    #[test]
    fn only_a_header_or_nothing() {
        let (run, outcome) = read("x.csv", "step,loss\n");
        assert!(run.series.is_empty() && outcome.problems.is_empty());
        let mut run = Run::default();
        assert_eq!(
            CsvTable.read(Path::new("x.csv"), b"\n\n", &mut run),
            Err("no header row".into())
        );
    }

    /// Splits all of `text` into records with their line numbers.
    fn records(text: &[u8]) -> Vec<(usize, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        let (mut pos, mut line) = (0, 1);
        let mut record = Record::default();
        while pos < text.len() {
            match split_record(text, pos, true, &mut record) {
                Split::Record { end, lines } => {
                    let fields = (0..record.len())
                        .map(|i| record.field(text, i).to_vec())
                        .collect();
                    out.push((line, fields));
                    pos = end;
                    line += lines;
                }
                Split::Blank { end, lines } => {
                    pos = end;
                    line += lines;
                }
                Split::Unfinished => unreachable!("take_all ends every record"),
            }
        }
        out
    }

    proptest::proptest! {
        /// Fields and quoting agree with the `csv` crate; line numbers are
        /// an editor's, of the record's first byte (the crate's position is
        /// before the blank lines it skipped, so its line count misses them).
        #[test]
        fn records_split_as_the_csv_crate_splits_them(text in "[a1 ,\"\r\n]{0,40}") {
            let mut reader = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut expected = Vec::new();
            let mut record = ::csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).expect("in memory") {
                let bytes = text.as_bytes();
                let crate_position = record.position().map_or(0, |p| p.byte() as usize);
                let start = crate_position
                    + bytes[crate_position..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                let line = 1 + bytes[..start].iter().filter(|&&b| b == b'\n').count();
                expected.push((line, record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>()));
            }
            proptest::prop_assert_eq!(records(text.as_bytes()), expected);
        }
    }
}
