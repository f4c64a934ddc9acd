mod log;
mod proto;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use fmr_core::{Point, Run};
use prost::Message;

use crate::json::{self, Json};
use crate::series_builder::SeriesBuilder;
use crate::source::{ReadOutcome, Source, read_whole};
use crate::sources::config::flatten_into;
use crate::sources::text::TextLog;
use crate::sources::tfevents::histogram_moments;
use crate::text_util::{
    as_step, as_wall_time, decode_utf8, extension, file_name, group_thousands, looks_like_text,
};
use log::{FILE_HEADER, LogError, read_records};
use proto::{Item, Record, RecordKind};

/// Weights & Biases run folders (`wandb/run-*`, `wandb/offline-run-*`).
///
/// ## What it reads
/// - The binary `run-<id>.wandb` log, the only complete record of an offline
///   run: its framing (W&B's header, then LevelDB's log format of 32 KiB
///   blocks and CRC-32-checked chunks) and the records in it: history rows,
///   system-monitor samples, summary updates, config, the run's identity,
///   its exit code, the environment (wandb 0.19+) and the console output;
/// - `files/wandb-summary.json` and `files/wandb-metadata.json` beside it.
///   (`files/config.yaml` is read as a config file, `files/output.log` as a
///   console log.)
///
/// ## How it is recognised
/// A file that starts with W&B's `:W&B` header, whatever its name; the two
/// JSON files by name.
///
/// ## Steps and series
/// Each numeric history item is a point of the series named by its key (a
/// nested key joined with `.`, as wandb 0.31 splits `{"eval": {"loss": x}}`;
/// wandb 0.17's single `eval` item holding `{"loss": x}` gives the same
/// `eval.loss`). The step is the row's `_step` (else the record's step, else
/// one past the previous row), the wall time its `_timestamp`. `NaN` and
/// `Infinity` tokens are values. Keys starting with `_` (W&B's own
/// bookkeeping), strings, booleans and media objects (`{"_type": ...}`:
/// images, tables, audio, ...) are not series, except histograms
/// (`wandb.Histogram`): a histogram `w` gives `w/hist_min`, `w/hist_max`,
/// `w/hist_num`, `w/hist_mean` and `w/hist_std`, as TensorBoard histograms
/// do (from the bins: outer edges of the non-empty bins, centres for mean
/// and std).
///
/// System-monitor samples (`stats` records: GPU, CPU, memory, disk,
/// network) are series named `system/` and W&B's own key
/// (`system/gpu.0.memoryAllocated`, `system/proc.memory.rssMB`), with the
/// sample's time as wall time and, as step, the step of the last history
/// row logged before it (0 before the first), so that they line up with
/// the training metrics.
///
/// `Run::config` gets:
/// - the run config, flattened with `.` (`model.layers`), `_wandb` left out;
/// - `wandb.summary`: the final summary (every update applied in order, or
///   `wandb-summary.json`), one object so that end-of-run values are not
///   taken for settings;
/// - `wandb.metadata.<key>`: the environment's scalar fields (`os`,
///   `python`, `program`, `host`, `gpu`, `gpu_count`, `cuda`, `cpu_count`);
/// - `wandb.run_id`, `wandb.project`, `wandb.display_name`, `wandb.group`,
///   `wandb.job_type`, `wandb.start_time` (epoch seconds), `wandb.resumed`,
///   `wandb.exit_code`, `wandb.runtime`, `wandb.producer`.
///
/// The run is named by its display name (`tiny-offline`), else by its folder.
///
/// The console output is read like a console log for its events (OOM,
/// tracebacks, NaN messages; `line` counts console lines), unless
/// `files/output.log` holds the same text.
///
/// ## Problems reported
/// - `no :W&B header: not a W&B run log`;
/// - `the file ends inside a record (still being written?); read the N records before it`;
/// - `skipped N damaged chunks (checksum failed; first at byte B), losing the rest of their blocks`;
/// - `N records are not valid W&B records (first: record R); skipped`;
/// - `not valid JSON (...)` for the JSON files.
pub(crate) struct WandbRun;

const SUMMARY_FILE: &str = "wandb-summary.json";
const METADATA_FILE: &str = "wandb-metadata.json";

/// Console text kept for event detection; beyond it, a problem says so.
const MAX_CONSOLE_BYTES: usize = 32 * 1024 * 1024;

/// The metadata fields kept, as `wandb-metadata.json` names them.
const METADATA_KEYS: &[&str] = &[
    "os",
    "python",
    "program",
    "host",
    "gpu",
    "gpu_count",
    "cuda",
    "cpu_count",
    "cpu_count_logical",
];

impl Source for WandbRun {
    fn name(&self) -> &'static str {
        "wandb"
    }

    fn wants(&self, path: &Path) -> bool {
        extension(path) == "wandb" || [SUMMARY_FILE, METADATA_FILE].contains(&file_name(path))
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        head.starts_with(&FILE_HEADER[..4])
            || ([SUMMARY_FILE, METADATA_FILE].contains(&file_name(path)) && looks_like_text(head))
    }

    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        match file_name(path) {
            SUMMARY_FILE | METADATA_FILE if !bytes.starts_with(&FILE_HEADER[..4]) => {
                read_json_file(path, bytes, run)
            }
            _ => read_log(path, bytes, run),
        }
    }

    fn read_path(&self, path: &Path, run: &mut Run) -> Result<ReadOutcome, String> {
        if [SUMMARY_FILE, METADATA_FILE].contains(&file_name(path)) {
            let bytes = read_whole(path, self.name())?;
            return self.read(path, &bytes, run);
        }
        let file = File::open(path).map_err(|error| format!("cannot read: {error}"))?;
        read_log(path, std::io::BufReader::new(file), run)
    }

    /// The log's summary and environment are the complete ones: offline,
    /// `wandb-summary.json` holds only `{"_wandb": {"runtime": 0}}`. Merging
    /// keeps the first value of a key, so the log goes first.
    fn join(&self, mut parts: Vec<(PathBuf, Run)>) -> Vec<(PathBuf, Run)> {
        parts.sort_by_key(|(path, _)| extension(path) != "wandb");
        parts
    }
}

fn read_json_file(path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
    let (text, utf8_problem) = decode_utf8(bytes);
    let value = json::parse(&text).map_err(|error| {
        if error.at_end {
            "not valid JSON: the file ends mid-document (truncated?)".to_string()
        } else {
            let (line, column) = error.line_column(&text);
            format!("not valid JSON ({error} at line {line}, column {column})")
        }
    })?;
    let Json::Object(members) = &value else {
        return Err(format!("expected a JSON object, found {}", value.kind()));
    };
    if file_name(path) == SUMMARY_FILE {
        run.config.insert("wandb.summary".into(), value.to_serde());
    } else {
        for (key, value) in members {
            let scalar = matches!(
                value,
                Json::Int(_) | Json::Float(_) | Json::Str(_) | Json::Bool(_)
            );
            if scalar && METADATA_KEYS.contains(&key.as_str()) {
                run.config
                    .insert(format!("wandb.metadata.{key}"), value.to_serde());
            }
        }
    }
    let mut outcome = ReadOutcome::default();
    outcome.problems.extend(utf8_problem);
    Ok(outcome)
}

fn read_log(path: &Path, input: impl Read, run: &mut Run) -> Result<ReadOutcome, String> {
    let mut reading = LogReading::default();
    let damage = read_records(input, |bytes| reading.add(bytes)).map_err(|error| match error {
        LogError::NotWandb => "no :W&B header: not a W&B run log".to_string(),
        LogError::Io(error) => format!("cannot read: {error}"),
    })?;

    let mut outcome = ReadOutcome::default();
    if damage.bad_chunks > 0 {
        outcome.problems.push(format!(
            "skipped {} (checksum failed; first at byte {}), losing the rest of their blocks",
            count(damage.bad_chunks, "damaged chunk", "damaged chunks"),
            group_thousands(damage.first_at.unwrap_or(0) as usize),
        ));
    }
    if damage.broken_records > 0 {
        outcome.problems.push(format!(
            "{} split across blocks lost a piece; skipped",
            count(damage.broken_records, "record", "records"),
        ));
    }
    if damage.truncated {
        outcome.problems.push(format!(
            "the file ends inside a record (still being written?); read the {} before it",
            count(reading.records, "record", "records"),
        ));
    }
    if reading.invalid > 0 {
        outcome.problems.push(format!(
            "{} not valid W&B records (first: record {}); skipped",
            count(reading.invalid, "record is", "records are"),
            group_thousands(reading.first_invalid),
        ));
    }
    if reading.console_cut {
        outcome.problems.push(format!(
            "console output beyond {} MiB not scanned for errors",
            MAX_CONSOLE_BYTES / (1024 * 1024)
        ));
    }
    outcome.run_name = reading.display_name();
    reading.finish_into(path, run, &mut outcome);
    Ok(outcome)
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", group_thousands(n))
    }
}

/// The state of reading one `.wandb` log.
#[derive(Default)]
struct LogReading {
    records: usize,
    invalid: usize,
    first_invalid: usize,
    series: SeriesBuilder,
    last_step: Option<i64>,
    /// Top-level config keys in the order set, the last value winning.
    config: BTreeMap<String, Json>,
    summary: BTreeMap<String, serde_json::Value>,
    facts: BTreeMap<String, serde_json::Value>,
    console: String,
    console_cut: bool,
}

impl LogReading {
    fn add(&mut self, bytes: &[u8]) {
        self.records += 1;
        let record = match Record::decode(bytes) {
            Ok(record) => record,
            Err(_) => {
                self.invalid += 1;
                if self.first_invalid == 0 {
                    self.first_invalid = self.records;
                }
                return;
            }
        };
        match record.kind {
            Some(RecordKind::History(history)) => self.add_history(history),
            Some(RecordKind::Summary(summary)) => {
                for item in &summary.update {
                    self.summary
                        .insert(item_key(item), parse_json(&item.value_json).to_serde());
                }
                for item in &summary.remove {
                    self.summary.remove(&item_key(item));
                }
            }
            Some(RecordKind::Config(config)) => self.add_config(&config),
            Some(RecordKind::Stats(stats)) => self.add_stats(&stats),
            Some(RecordKind::Output(output) | RecordKind::OutputRaw(output)) => {
                if self.console.len() + output.line.len() <= MAX_CONSOLE_BYTES {
                    self.console.push_str(&output.line);
                } else {
                    self.console_cut = true;
                }
            }
            Some(RecordKind::Run(run)) => {
                if let Some(config) = &run.config {
                    self.add_config(config);
                }
                for (key, value) in [
                    ("wandb.run_id", run.run_id),
                    ("wandb.entity", run.entity),
                    ("wandb.project", run.project),
                    ("wandb.display_name", run.display_name),
                    ("wandb.group", run.run_group),
                    ("wandb.job_type", run.job_type),
                    ("wandb.host", run.host),
                ] {
                    if !value.is_empty() {
                        self.facts.insert(key.into(), value.into());
                    }
                }
                if let Some(start) = run.start_time {
                    let seconds = start.seconds as f64 + f64::from(start.nanos) * 1e-9;
                    self.facts
                        .insert("wandb.start_time".into(), json::float_to_serde(seconds));
                }
                if run.resumed {
                    self.facts.insert("wandb.resumed".into(), true.into());
                }
            }
            Some(RecordKind::Exit(exit)) => {
                self.facts
                    .insert("wandb.exit_code".into(), exit.exit_code.into());
                self.facts
                    .insert("wandb.runtime".into(), exit.runtime.into());
            }
            Some(RecordKind::Header(header)) => {
                if let Some(version) = header.version_info.filter(|v| !v.producer.is_empty()) {
                    self.facts
                        .insert("wandb.producer".into(), version.producer.into());
                }
            }
            Some(RecordKind::Environment(env)) => {
                let gpu = if env.gpu_type.is_empty() {
                    env.gpu_nvidia
                        .first()
                        .map(|g| g.name.clone())
                        .unwrap_or_default()
                } else {
                    env.gpu_type
                };
                for (key, value) in [
                    ("os", env.os),
                    ("python", env.python),
                    ("program", env.program),
                    ("host", env.host),
                    ("gpu", gpu),
                    ("cuda", env.cuda_version),
                ] {
                    if !value.is_empty() {
                        self.facts
                            .insert(format!("wandb.metadata.{key}"), value.into());
                    }
                }
                for (key, value) in [
                    ("gpu_count", env.gpu_count),
                    ("cpu_count", env.cpu_count),
                    ("cpu_count_logical", env.cpu_count_logical),
                ] {
                    if value > 0 {
                        self.facts
                            .insert(format!("wandb.metadata.{key}"), value.into());
                    }
                }
            }
            None => {}
        }
    }

    fn add_history(&mut self, history: proto::HistoryRecord) {
        let mut values: Vec<(String, Json)> = Vec::with_capacity(history.item.len());
        let mut step = history.step.map(|s| s.num);
        let mut wall_time = None;
        for item in history.item {
            let key = history_key(&item.key, &item.nested_key);
            let value = if let Some(number) = item.number {
                Json::Float(number)
            } else if let Some(integer) = item.integer {
                Json::Int(integer)
            } else if let Some(flag) = item.boolean {
                Json::Bool(flag)
            } else if let Some(text) = item.text {
                Json::Str(text)
            } else if let Some(json) = item.json {
                parse_json(&json)
            } else {
                parse_json(&item.value_json)
            };
            match key.as_str() {
                "_step" => {
                    if let Some(number) = value.as_f64().and_then(as_step) {
                        step = Some(number);
                    }
                }
                "_timestamp" => wall_time = value.as_f64().and_then(as_wall_time),
                _ => values.push((key, value)),
            }
        }
        let step = step.unwrap_or_else(|| self.last_step.map_or(0, |s| s + 1));
        self.last_step = Some(step);
        for (key, value) in values {
            self.push_value(&key, &value, step, wall_time);
        }
    }

    /// Numbers become points; objects (a nested dict logged by wandb 0.17)
    /// are walked; a histogram (`"_type": "histogram"`) becomes its summary
    /// statistics; other media objects (images, tables, ...) and everything
    /// else are skipped.
    fn push_value(&mut self, key: &str, value: &Json, step: i64, wall_time: Option<f64>) {
        if key.starts_with('_') {
            return;
        }
        let point = |value| Point {
            step,
            wall_time,
            value,
        };
        match value {
            Json::Int(_) | Json::Float(_) => {
                if let Some(number) = value.as_f64() {
                    self.series.push(key, point(number));
                }
            }
            Json::Object(members) => match value.get("_type") {
                None => {
                    for (child, inner) in members {
                        self.push_value(&format!("{key}.{child}"), inner, step, wall_time);
                    }
                }
                Some(Json::Str(kind)) if kind == "histogram" => {
                    if let Some(stats) = histogram_stats(value) {
                        for (suffix, number) in HISTOGRAM_SUFFIXES.iter().zip(stats) {
                            if let Some(number) = number {
                                self.series.push(&format!("{key}/{suffix}"), point(number));
                            }
                        }
                    }
                }
                Some(_) => {}
            },
            _ => {}
        }
    }

    /// A system-monitor sample: each number is a point of `system/<key>` at
    /// the sample's time, on the step of the last history row before it.
    fn add_stats(&mut self, stats: &proto::StatsRecord) {
        let wall_time = stats
            .timestamp
            .as_ref()
            .map(|t| t.seconds as f64 + f64::from(t.nanos) * 1e-9)
            .and_then(as_wall_time);
        let step = self.last_step.unwrap_or(0);
        for item in &stats.item {
            let key = item_key(item);
            if key.is_empty() {
                continue;
            }
            if let Some(value) = parse_json(&item.value_json).as_f64() {
                self.series.push(
                    &format!("system/{key}"),
                    Point {
                        step,
                        wall_time,
                        value,
                    },
                );
            }
        }
    }

    fn add_config(&mut self, config: &proto::ConfigRecord) {
        for item in &config.update {
            let key = item_key(item);
            if key != "_wandb" {
                self.config.insert(key, parse_json(&item.value_json));
            }
        }
        for item in &config.remove {
            self.config.remove(&item_key(item));
        }
    }

    /// The name the W&B UI shows for the run.
    fn display_name(&self) -> Option<String> {
        match self.facts.get("wandb.display_name") {
            Some(serde_json::Value::String(name)) if !name.trim().is_empty() => Some(name.clone()),
            _ => None,
        }
    }

    fn finish_into(self, path: &Path, run: &mut Run, outcome: &mut ReadOutcome) {
        self.series.finish_into(run);
        let mut prefix = String::new();
        for (key, value) in self.config {
            flatten_into(&mut run.config, &mut prefix, &key, value.to_serde());
        }
        if !self.summary.is_empty() {
            let summary = self.summary.into_iter().collect();
            run.config
                .insert("wandb.summary".into(), serde_json::Value::Object(summary));
        }
        run.config.extend(self.facts);

        let beside = path.parent().map(|dir| dir.join("files/output.log"));
        let has_output_log = beside.is_some_and(|file| file.is_file());
        if !self.console.is_empty() && !has_output_log {
            let mut console = Run::default();
            // The console is read for its events only: metrics printed there
            // are copies of the history rows.
            if let Ok(read) = TextLog.read(path, self.console.as_bytes(), &mut console) {
                outcome.problems.extend(read.problems);
                run.events.extend(console.events);
            }
        }
    }
}

/// The series a W&B histogram gives, after `<key>/`, as for TensorBoard.
const HISTOGRAM_SUFFIXES: [&str; 5] = ["hist_min", "hist_max", "hist_num", "hist_mean", "hist_std"];

/// min, max, count, mean and standard deviation of a `wandb.Histogram` as
/// logged: `{"_type": "histogram", "values": [counts], "bins": [edges]}` (one
/// more edge than counts), or with `"packedBins": {"min", "size", "count"}`
/// for equal-width bins. As for TensorBoard's bucketed histograms, min and
/// max are the outer edges of the non-empty bins and each bin's values are
/// taken at its centre. `None` when the shape is not one of these.
fn histogram_stats(histogram: &Json) -> Option<[Option<f64>; 5]> {
    let numbers = |value: Option<&Json>| -> Option<Vec<f64>> {
        match value? {
            Json::Array(items) => items.iter().map(Json::as_f64).collect(),
            _ => None,
        }
    };
    let counts = numbers(histogram.get("values"))?;
    let edges = match numbers(histogram.get("bins")) {
        Some(edges) => edges,
        None => {
            let packed = histogram.get("packedBins")?;
            let min = packed.get("min")?.as_f64()?;
            let size = packed.get("size")?.as_f64()?;
            let count = packed.get("count")?.as_f64()? as usize;
            (0..=count).map(|i| min + size * i as f64).collect()
        }
    };
    if counts.is_empty() || edges.len() != counts.len() + 1 {
        return None;
    }
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut num, mut sum, mut sum_squares) = (0.0, 0.0, 0.0);
    for (i, &count) in counts.iter().enumerate() {
        if count.is_nan() || count <= 0.0 {
            continue;
        }
        let (left, right) = (edges[i], edges[i + 1]);
        let centre = (left + right) / 2.0;
        min = min.min(left);
        max = max.max(right);
        num += count;
        sum += count * centre;
        sum_squares += count * centre * centre;
    }
    if num == 0.0 {
        return Some([None, None, Some(0.0), None, None]);
    }
    let (mean, std) = histogram_moments(num, sum, sum_squares);
    Some([Some(min), Some(max), Some(num), mean, std])
}

/// `key`, or the nested key joined with `.`.
fn history_key(key: &str, nested: &[String]) -> String {
    if key.is_empty() {
        nested.join(".")
    } else {
        key.to_string()
    }
}

fn item_key(item: &Item) -> String {
    history_key(&item.key, &item.nested_key)
}

/// `value_json` as written (with bare `NaN`/`Infinity`); text that is not
/// JSON is kept as a string.
fn parse_json(text: &str) -> Json {
    json::parse(text).unwrap_or_else(|_| Json::Str(text.to_string()))
}

#[cfg(test)]
mod tests;
