use std::path::Path;

use fmr_core::{Point, Run};

use crate::json::{self, Json};
use crate::series_builder::SeriesBuilder;
use crate::source::{ReadOutcome, Source};
use crate::text_util::{as_step, decode_utf8, file_name};

/// Hugging Face Trainer's `trainer_state.json`.
///
/// ## What it reads
/// The `log_history` list that `Trainer.save_state()` and every checkpoint
/// write: one object per logging event, each with `step` and `epoch`, plus
/// training keys (`loss`, `grad_norm`, `learning_rate`), evaluation keys
/// (`eval_loss`, `eval_*`) or the final summary (`train_runtime`, ...).
///
/// ## How it is recognised
/// Named `trainer_state.json`, or a JSON object whose first bytes contain a
/// `"log_history"` key.
///
/// ## Steps and series
/// Each numeric key of an entry becomes a point of the series of that name at
/// the entry's `step`; `epoch` is a series too, `step` is not. Bare `NaN` and
/// `Infinity` tokens (written for a diverged run) are read as such, so a NaN
/// `grad_norm` stays NaN. Note the Trainer logs `loss: 0.0` on steps whose
/// loss was NaN (`logging_nan_inf_filter`); that is what the file says, and
/// what the series holds. Top-level scalars (`max_steps`,
/// `train_batch_size`, `logging_steps`, ...) go to `Run::config`. No wall time
/// is recorded.
///
/// ## Problems reported
/// - `not valid JSON (<reason> at line L, column C)`, or
///   `... the file ends mid-document (truncated?)`: nothing is read;
/// - `no "log_history" list: not a Hugging Face trainer_state.json`;
/// - `log_history entry N has no whole-number "step"; skipped`;
/// - `larger than 256 MiB; hf_trainer_state files are read whole, so one
///   this large is refused` (the document is parsed whole).
pub(crate) struct HfTrainerState;

const FILE_NAME: &str = "trainer_state.json";

impl Source for HfTrainerState {
    fn name(&self) -> &'static str {
        "hf_trainer_state"
    }

    fn wants(&self, path: &Path) -> bool {
        file_name(path) == FILE_NAME
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        if self.wants(path) {
            return true;
        }
        let trimmed = head.trim_ascii_start();
        trimmed.starts_with(b"{") && contains(trimmed, b"\"log_history\"")
    }

    fn read(&self, _path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        let (text, utf8_problem) = decode_utf8(bytes);
        let state = json::parse(&text).map_err(|error| {
            if error.at_end {
                "not valid JSON: the file ends mid-document (truncated?)".to_string()
            } else {
                let (line, column) = error.line_column(&text);
                format!("not valid JSON ({error} at line {line}, column {column})")
            }
        })?;
        let Some(Json::Array(history)) = state.get("log_history") else {
            return Err("no \"log_history\" list: not a Hugging Face trainer_state.json".into());
        };

        let mut outcome = ReadOutcome::default();
        outcome.problems.extend(utf8_problem);
        let mut series = SeriesBuilder::default();
        for (index, entry) in history.iter().enumerate() {
            let Some(step) = entry.get("step").and_then(Json::as_f64).and_then(as_step) else {
                outcome.problems.push(format!(
                    "log_history entry {index} has no whole-number \"step\"; skipped"
                ));
                continue;
            };
            let Json::Object(members) = entry else {
                continue;
            };
            for (key, value) in members {
                if key == "step" {
                    continue;
                }
                if let Some(number) = value.as_f64() {
                    series.push(
                        key,
                        Point {
                            step,
                            wall_time: None,
                            value: number,
                        },
                    );
                }
            }
        }
        series.finish_into(run);

        if let Json::Object(members) = &state {
            for (key, value) in members {
                let scalar = matches!(
                    value,
                    Json::Bool(_) | Json::Int(_) | Json::Float(_) | Json::Str(_)
                );
                if scalar {
                    run.config
                        .entry(key.clone())
                        .or_insert_with(|| value.to_serde());
                }
            }
        }
        Ok(outcome)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIVERGED: &str = r#"{
  "global_step": 10,
  "log_history": [
    {"epoch": 0.38461538461538464, "learning_rate": 1000.0, "loss": 4370.2602, "step": 5},
    {"epoch": 0.77, "eval_loss": NaN, "step": 10},
    {"epoch": 0.8, "loss": 0.0}
  ],
  "max_steps": 52,
  "stateful_callbacks": {"TrainerControl": {"args": {}}},
  "best_metric": null
}"#;

    #[test]
    fn reads_log_history_with_nan_tokens() {
        let mut run = Run::default();
        let outcome = HfTrainerState
            .read(
                Path::new("trainer_state.json"),
                DIVERGED.as_bytes(),
                &mut run,
            )
            .expect("readable");
        let tags: Vec<_> = run.series.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(tags, ["epoch", "learning_rate", "loss", "eval_loss"]);
        let eval = run.series("eval_loss").expect("eval_loss series");
        assert_eq!(eval.points.len(), 1);
        assert_eq!(eval.points[0].step, 10);
        assert!(eval.points[0].value.is_nan());
        assert_eq!(run.series("epoch").map(|s| s.points.len()), Some(2));
        assert_eq!(run.config["max_steps"], serde_json::json!(52));
        assert!(!run.config.contains_key("stateful_callbacks"));
        assert!(!run.config.contains_key("best_metric"));
        assert_eq!(
            outcome.problems,
            ["log_history entry 2 has no whole-number \"step\"; skipped"]
        );
    }

    #[test]
    fn sniffs_by_content_as_well_as_name() {
        assert!(HfTrainerState.sniff(
            Path::new("state_copy.json"),
            b"{\n  \"epoch\": 1,\n  \"log_history\": ["
        ));
        assert!(!HfTrainerState.sniff(Path::new("x.json"), b"{\"step\": 1}"));
    }

    #[test]
    fn refuses_other_json() {
        let mut run = Run::default();
        assert_eq!(
            HfTrainerState.read(Path::new("trainer_state.json"), b"{\"a\": 1}", &mut run),
            Err("no \"log_history\" list: not a Hugging Face trainer_state.json".to_string())
        );
        assert_eq!(
            HfTrainerState.read(
                Path::new("trainer_state.json"),
                b"{\"log_history\": [{\"step\"",
                &mut run
            ),
            Err("not valid JSON: the file ends mid-document (truncated?)".to_string())
        );
    }
}
