use std::path::Path;

use fmr_core::{Point, Run};

use crate::json::{self, Json, for_each_number};
use crate::series_builder::SeriesBuilder;
use crate::source::{ReadOutcome, Source};
use crate::sources::config::merge_json_config;
use crate::text_util::{as_step, as_wall_time, decode_utf8, extension, file_name, numbered_lines};

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
/// - `line N: expected a JSON object, found an array`.
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
        let (text, utf8_problem) = decode_utf8(bytes);
        let mut outcome = ReadOutcome::default();
        outcome.problems.extend(utf8_problem);
        let cut_off_possible = !text.ends_with('\n');
        let line_count = numbered_lines(&text).count();

        let mut series = SeriesBuilder::default();
        let mut records = 0_i64;
        let mut last_step = None;
        let mut config_taken = false;
        let mut prefix = String::new();
        for (number, line) in numbered_lines(&text) {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let members = match json::parse(trimmed) {
                Ok(Json::Object(members)) => members,
                Ok(other) => {
                    outcome.problems.push(format!(
                        "line {number}: expected a JSON object, found {}",
                        other.kind()
                    ));
                    continue;
                }
                Err(error) if error.at_end && cut_off_possible && number == line_count => {
                    outcome
                        .problems
                        .push(format!("line {number}: JSON object cut off (truncated?)"));
                    continue;
                }
                Err(error) => {
                    let indent = line.len() - line.trim_start().len();
                    let column =
                        trimmed[..error.offset.min(trimmed.len())].chars().count() + indent + 1;
                    outcome.problems.push(format!(
                        "line {number}: not valid JSON ({error} at column {column})"
                    ));
                    continue;
                }
            };
            if records == 0 {
                outcome.flavor = flavor(&members);
            }

            let found_step = STEP_KEYS.iter().find_map(|&key| {
                let step = lookup(&members, key)
                    .and_then(Json::as_f64)
                    .and_then(as_step)?;
                Some((key, step))
            });
            let (step_key, step) = match found_step {
                Some((key, step)) => {
                    last_step = Some(step);
                    (Some(key), step)
                }
                None => (None, last_step.unwrap_or(records)),
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
            records += 1;

            for (key, value) in &members {
                if Some(key.as_str()) == step_key || Some(key.as_str()) == wall_key {
                    continue;
                }
                match value {
                    Json::Object(_) if key == "config" => {
                        if !config_taken {
                            merge_json_config(&mut run.config, value);
                            config_taken = true;
                        }
                    }
                    Json::Object(_) => {
                        prefix.clear();
                        prefix.push_str(key);
                        for_each_number(value, '/', &mut prefix, &mut |tag, number| {
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
        if records == 0 && outcome.problems.is_empty() {
            return Err("no JSON objects found".into());
        }
        series.finish_into(run);
        Ok(outcome)
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
}
