use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use fmr_core::{Point, Run};

use crate::json::{self, Json, for_each_number};
use crate::series_builder::SeriesBuilder;
use crate::source::{ReadOutcome, Source};
use crate::sources::config::merge_json_config;
use crate::stream::{
    Chunking, Utf8Check, Window, cut_line_problem, lines_of, stream_lines, without_bom,
};
use crate::text_util::{as_step, as_wall_time, extension, file_name};

/// JSON lines: one JSON object per line, one line per logging event.
///
/// ## What it reads
/// Metric logs written one `json.dumps(dict)` per line: Stable-Baselines3's
/// `progress.json`, Ray Tune / RLlib's `result.json`, and the many hand-rolled
/// `metrics.jsonl` files.
///
/// ## How it is recognised
/// A `.jsonl` / `.ndjson` file starting with `{`; or any file whose first line
/// starts with `{"` and which either has a step key (below) near the start,
/// holds two or more such lines, or is named `result.json`, `progress.json`
/// or `metrics.json`. A pretty-printed JSON document (first line `{`) is not
/// JSON lines.
///
/// ## Steps and series
/// The step is the first whole-number key of `step`, `global_step`, `_step`,
/// `time/total_timesteps` (SB3), `timesteps_total`, `iteration`, `iter`,
/// `training_iteration`, `epoch`. A line without one takes the step of the line
/// before (or its own index when no line has had one). `_timestamp`,
/// `timestamp`, `wall_time` or `walltime` give the wall time (milliseconds
/// are detected). Every other number is a point of the series of that key;
/// nested objects are flattened with `/` (`info/learner/kl`). Strings,
/// booleans, nulls and lists are not series. A member named `config` holding
/// an object (RLlib repeats the whole config on every line) goes to
/// `Run::config` instead. Bare `NaN` and `Infinity` tokens are read as such.
///
/// ## Problems reported
/// - `line N: not valid JSON (<reason> at column C)`: that line is skipped;
/// - `line N: JSON object cut off (truncated?)` for a last line cut mid-object;
/// - `line N: expected a JSON object, found an array`;
/// - `line N: not valid UTF-8 at byte B (read with the invalid bytes replaced)`;
/// - `line N: longer than 64 MiB; only its first 64 MiB were read` (the
///   line is skipped).
///
/// The file is read as a stream, a chunk at a time: memory follows the
/// series kept, not the file's size.
pub(crate) struct JsonLines;

/// Keys that hold the step, most specific first.
pub(crate) const STEP_KEYS: &[&str] = &[
    "step",
    "global_step",
    "_step",
    "time/total_timesteps",
    "timesteps_total",
    "iteration",
    "iter",
    "training_iteration",
    "epoch",
];

pub(crate) const WALL_TIME_KEYS: &[&str] = &["_timestamp", "timestamp", "wall_time", "walltime"];

/// Names that are JSON lines by convention even when the first line is long.
const KNOWN_NAMES: &[&str] = &["result.json", "progress.json", "metrics.json"];

impl Source for JsonLines {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    fn wants(&self, path: &Path) -> bool {
        matches!(extension(path).as_str(), "jsonl" | "ndjson" | "json")
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        let head = head.trim_ascii_start();
        if matches!(extension(path).as_str(), "jsonl" | "ndjson") {
            return head.starts_with(b"{");
        }
        if !(head.starts_with(b"{\"") || head.starts_with(b"{}")) {
            return false;
        }
        let object_lines = head
            .split(|&b| b == b'\n')
            .filter(|line| line.trim_ascii_start().starts_with(b"{\""))
            .count();
        object_lines >= 2
            || KNOWN_NAMES.contains(&file_name(path))
            || STEP_KEYS.iter().any(|key| has_key(head, key))
    }

    fn read(&self, _path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        read_json_lines(bytes, Chunking::DEFAULT, run)
    }

    fn read_path(&self, path: &Path, run: &mut Run) -> Result<ReadOutcome, String> {
        let file = File::open(path).map_err(|error| format!("cannot read: {error}"))?;
        read_json_lines(file, Chunking::DEFAULT, run)
    }
}

/// Reads JSON lines from `input` a chunk at a time: memory is the stream's
/// buffer, one parsed line and the series kept.
pub(crate) fn read_json_lines(
    input: impl Read,
    chunking: Chunking,
    run: &mut Run,
) -> Result<ReadOutcome, String> {
    let mut reading = Reading {
        run,
        chunking,
        next_line: 1,
        utf8: Utf8Check::default(),
        outcome: ReadOutcome::default(),
        series: SeriesBuilder::default(),
        records: 0,
        last_step: None,
        config_taken: false,
        prefix: String::new(),
    };
    stream_lines(input, chunking, |window| reading.take(window))
        .map_err(|error| format!("cannot read: {error}"))?;
    let Reading {
        run,
        utf8,
        mut outcome,
        series,
        records,
        ..
    } = reading;
    if let Some(problem) = utf8.problem() {
        outcome.problems.insert(0, problem);
    }
    if records == 0 && outcome.problems.is_empty() {
        return Err("no JSON objects found".into());
    }
    series.finish_into(run);
    Ok(outcome)
}

/// The state of reading one JSON-lines file.
struct Reading<'r> {
    run: &'r mut Run,
    chunking: Chunking,
    next_line: usize,
    utf8: Utf8Check,
    outcome: ReadOutcome,
    series: SeriesBuilder,
    records: i64,
    last_step: Option<i64>,
    config_taken: bool,
    prefix: String,
}

impl Reading<'_> {
    fn take(&mut self, window: Window<'_>) -> usize {
        let (bytes, offset) = without_bom(window.bytes, window.offset);
        let text = self.utf8.check(bytes, self.next_line, offset, window.cut);
        for line in lines_of(bytes) {
            let number = self.next_line;
            self.next_line += 1;
            let cut = window.cut && !line.terminated;
            if cut {
                self.outcome
                    .problems
                    .push(cut_line_problem(number, self.chunking));
                continue;
            }
            let content = match text.and_then(|t| t.get(line.start..line.start + line.bytes.len()))
            {
                Some(valid) => Cow::Borrowed(valid),
                None => String::from_utf8_lossy(line.bytes),
            };
            let content = content.strip_suffix('\r').unwrap_or(&content);
            let last_and_unterminated = window.at_end && !line.terminated;
            self.line(number, content, last_and_unterminated);
        }
        window.bytes.len()
    }

    fn line(&mut self, number: usize, line: &str, last_and_unterminated: bool) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return;
        }
        let problems = &mut self.outcome.problems;
        let members = match json::parse(trimmed) {
            Ok(Json::Object(members)) => members,
            Ok(other) => {
                problems.push(format!(
                    "line {number}: expected a JSON object, found {}",
                    other.kind()
                ));
                return;
            }
            Err(error) if error.at_end && last_and_unterminated => {
                problems.push(format!("line {number}: JSON object cut off (truncated?)"));
                return;
            }
            Err(error) => {
                let indent = line.len() - line.trim_start().len();
                let column =
                    trimmed[..error.offset.min(trimmed.len())].chars().count() + indent + 1;
                problems.push(format!(
                    "line {number}: not valid JSON ({error} at column {column})"
                ));
                return;
            }
        };
        if self.records == 0 {
            self.outcome.flavor = flavor(&members);
        }

        let found_step = STEP_KEYS.iter().find_map(|&key| {
            let step = lookup(&members, key)
                .and_then(Json::as_f64)
                .and_then(as_step)?;
            Some((key, step))
        });
        let (step_key, step) = match found_step {
            Some((key, step)) => {
                self.last_step = Some(step);
                (Some(key), step)
            }
            None => (None, self.last_step.unwrap_or(self.records)),
        };
        let found_wall = WALL_TIME_KEYS.iter().find_map(|&key| {
            let seconds = lookup(&members, key)
                .and_then(Json::as_f64)
                .and_then(as_wall_time)?;
            Some((key, seconds))
        });
        let (wall_key, wall_time) = match found_wall {
            Some((key, seconds)) => (Some(key), Some(seconds)),
            None => (None, None),
        };
        self.records += 1;

        let series = &mut self.series;
        for (key, value) in &members {
            if Some(key.as_str()) == step_key || Some(key.as_str()) == wall_key {
                continue;
            }
            match value {
                Json::Object(_) if key == "config" => {
                    if !self.config_taken {
                        merge_json_config(&mut self.run.config, value);
                        self.config_taken = true;
                    }
                }
                Json::Object(_) => {
                    self.prefix.clear();
                    self.prefix.push_str(key);
                    for_each_number(value, '/', &mut self.prefix, &mut |tag, number| {
                        series.push(
                            tag,
                            Point {
                                step,
                                wall_time,
                                value: number,
                            },
                        );
                    });
                }
                other => {
                    if let Some(number) = other.as_f64() {
                        series.push(
                            key,
                            Point {
                                step,
                                wall_time,
                                value: number,
                            },
                        );
                    }
                }
            }
        }
    }
}

fn lookup<'a>(members: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn flavor(members: &[(String, Json)]) -> Option<&'static str> {
    if lookup(members, "time/total_timesteps").is_some() {
        Some("sb3_progress")
    } else if lookup(members, "training_iteration").is_some() {
        Some("rllib")
    } else {
        None
    }
}

/// Whether `"key"` followed by optional spaces and `:` occurs in `head`.
fn has_key(head: &[u8], key: &str) -> bool {
    let quoted = format!("\"{key}\"");
    let needle = quoted.as_bytes();
    let mut rest = head;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        let after = rest[at + needle.len()..].trim_ascii_start();
        if after.starts_with(b":") {
            return true;
        }
        rest = &rest[at + 1..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Run, Result<ReadOutcome, String>) {
        let mut run = Run::default();
        let result = JsonLines.read(Path::new("m.jsonl"), text.as_bytes(), &mut run);
        (run, result)
    }

    #[test]
    fn reads_steps_nested_keys_and_python_tokens() {
        let (run, result) = read(concat!(
            "{\"step\": 1, \"loss\": 2.5, \"info\": {\"kl\": 0.1}, \"name\": \"a\", \"_timestamp\": 1700000000.5}\n",
            "{\"step\": 2, \"loss\": NaN, \"info\": {\"kl\": Infinity}}\n",
            "{\"eval_loss\": 3.0}\n",
        ));
        assert_eq!(result.map(|o| o.problems), Ok(vec![]));
        let loss = run.series("loss").expect("loss");
        assert_eq!(loss.steps().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(loss.points[0].wall_time, Some(1_700_000_000.5));
        assert!(loss.points[1].value.is_nan());
        assert_eq!(
            run.series("info/kl").map(|s| s.points[1].value),
            Some(f64::INFINITY)
        );
        // A line without a step belongs to the step before it.
        assert_eq!(run.series("eval_loss").map(|s| s.points[0].step), Some(2));
        assert!(run.series("step").is_none() && run.series("name").is_none());
        assert!(run.series("_timestamp").is_none());
    }

    #[test]
    fn without_any_step_key_the_line_index_is_the_step() {
        let (run, _) = read("{\"a\": 1}\n{\"a\": 2}\n");
        assert_eq!(
            run.series("a").map(|s| s.steps().collect::<Vec<_>>()),
            Some(vec![0, 1])
        );
    }

    #[test]
    fn rllib_config_goes_to_run_config_once() {
        let (run, result) = read(concat!(
            "{\"training_iteration\": 1, \"episode_reward_mean\": 9.5, \"config\": {\"lr\": 0.001, \"model\": {\"fcnet\": [64]}}}\n",
            "{\"training_iteration\": 2, \"episode_reward_mean\": 12.0, \"config\": {\"lr\": 0.5}}\n",
        ));
        assert_eq!(result.map(|o| o.flavor), Ok(Some("rllib")));
        assert_eq!(run.config["lr"], serde_json::json!(0.001));
        assert_eq!(run.config["model.fcnet"], serde_json::json!([64]));
        assert!(run.series("config/lr").is_none());
        assert_eq!(
            run.series("episode_reward_mean").map(|s| s.points.len()),
            Some(2)
        );
    }

    #[test]
    fn reports_broken_and_cut_lines_and_keeps_the_rest() {
        let (run, result) = read(
            "{\"step\": 1, \"loss\": 1}\n{\"step\": 2, loss: 2}\n[1]\n{\"step\": 4, \"loss\": 4}\n{\"step\": 5, \"lo",
        );
        assert_eq!(
            result.map(|o| o.problems),
            Ok(vec![
                "line 2: not valid JSON (expected a quoted key at column 13)".to_string(),
                "line 3: expected a JSON object, found an array".to_string(),
                "line 5: JSON object cut off (truncated?)".to_string(),
            ])
        );
        assert_eq!(
            run.series("loss").map(|s| s.steps().collect::<Vec<_>>()),
            Some(vec![1, 4])
        );
    }

    #[test]
    fn sniffs_json_lines_but_not_json_documents() {
        let path = Path::new("log.json");
        assert!(JsonLines.sniff(path, b"{\"a\": 1}\n{\"a\": 2}\n"));
        assert!(JsonLines.sniff(path, b"{\"loss\": 1, \"step\" : 3}"));
        assert!(JsonLines.sniff(Path::new("result.json"), b"{\"custom_metrics\": {}"));
        assert!(!JsonLines.sniff(path, b"{\n  \"step\": 1\n}\n"));
        assert!(!JsonLines.sniff(path, b"{\"version\": \"1.0\", \"model\": {\"vocab\": {}}}"));
        assert!(!JsonLines.sniff(path, b"{'loss': 0.5}\n"));
        assert!(JsonLines.sniff(Path::new("x.jsonl"), b"{\"a\": 1}"));
    }

    /// Reads `bytes` in `chunk_bytes` chunks; the run as `Debug` text so
    /// that NaN points compare equal.
    fn read_chunked(bytes: &[u8], chunking: Chunking) -> (String, Result<ReadOutcome, String>) {
        let mut run = Run::default();
        let result = read_json_lines(bytes, chunking, &mut run);
        (format!("{run:?}"), result)
    }

    #[test]
    fn chunk_edges_change_nothing_and_damage_names_its_line() {
        let mut bytes = Vec::new();
        for step in 0..300 {
            bytes.extend_from_slice(
                format!(
                    "{{\"step\": {step}, \"loss\": {}, \"info\": {{\"kl\": NaN}}}}\r\n",
                    1.0 / (step as f64 + 1.0)
                )
                .as_bytes(),
            );
            if step == 150 {
                bytes.extend_from_slice(b"{\"step\": 150, \"note\": \"caf\xe9\"}\n");
            }
        }
        bytes.extend_from_slice(b"{\"step\": 300, \"lo");
        let whole = read_chunked(&bytes, Chunking::DEFAULT);
        for chunk_bytes in [1, 7, 64, 4096] {
            let chunking = Chunking {
                chunk_bytes,
                ..Chunking::DEFAULT
            };
            assert_eq!(
                read_chunked(&bytes, chunking),
                whole,
                "{chunk_bytes}-byte chunks"
            );
        }
        let outcome = whole.1.expect("readable");
        assert_eq!(
            outcome.problems,
            [
                format!(
                    "line 152: not valid UTF-8 at byte {} (read with the invalid bytes replaced)",
                    crate::text_util::group_thousands(
                        bytes.iter().position(|&b| b == 0xe9).expect("the bad byte")
                    )
                ),
                "line 302: JSON object cut off (truncated?)".to_string(),
            ]
        );
        let mut run = Run::default();
        JsonLines
            .read(Path::new("m.jsonl"), &bytes, &mut run)
            .expect("readable");
        assert_eq!(run.series("loss").map(|s| s.points.len()), Some(300));
        assert_eq!(run.series("info/kl").map(|s| s.points.len()), Some(300));
    }

    #[test]
    fn lines_past_the_limit_are_skipped_and_reported() {
        let text = format!(
            "{{\"a\": 1}}\n{{\"a\": \"{}\"}}\n{{\"a\": 3}}\n",
            "x".repeat(100)
        );
        let chunking = Chunking {
            chunk_bytes: 16,
            max_line_bytes: 50,
        };
        let mut run = Run::default();
        let outcome = read_json_lines(text.as_bytes(), chunking, &mut run).expect("readable");
        assert_eq!(
            outcome.problems,
            ["line 2: longer than 50 bytes; only its first 50 bytes were read"]
        );
        assert_eq!(
            run.series("a")
                .map(|s| s.points.iter().map(|p| p.value).collect::<Vec<_>>()),
            Some(vec![1.0, 3.0])
        );
    }
}
