use std::path::{Path, PathBuf};

use fmr_core::{Point, Run, Series};

use crate::json::float_to_serde;
use crate::source::{ReadOutcome, Source};
use crate::text_util::{
    as_step, decode_utf8, file_name, looks_like_text, numbered_lines, parse_number,
};

/// MLflow's file store (`mlruns/<experiment>/<run>/`).
///
/// ## What it reads
/// One run folder: `metrics/<key>` (one line `<timestamp ms> <value> <step>`
/// per logged point), `params/<key>` and `tags/<key>` (the value as text),
/// and `meta.yaml` (run id and name, status, start and end times), plus the
/// experiment's name from the `meta.yaml` one folder up. Keys with `/` are
/// subfolders (`metrics/train/loss`).
///
/// ## How it is recognised
/// By place: files under `metrics/`, `params/` or `tags/` of a folder that
/// also holds a `meta.yaml`, and that `meta.yaml`. Such files have no
/// extension and nothing in their content to tell them by.
///
/// ## Steps and series
/// Each metric file is a series named by its key, with the logged step (a
/// line without one, from MLflow 1.x, has step 0, as MLflow reads it), the
/// value (`nan`, `inf`, `-inf` included) and the wall time `timestamp /
/// 1000`. Points keep file order, so a step logged twice is there twice,
/// as `get_metric_history` returns it.
///
/// Params go to `Run::config` under their own names (`lr`), as numbers or
/// booleans where the text is one (`0.0003`, `32`, `true`), else as text.
/// Tags go to `mlflow.tags.<key>`. From `meta.yaml`: `mlflow.run_id`,
/// `mlflow.run_name`, `mlflow.experiment_id`, `mlflow.experiment`,
/// `mlflow.status` (`RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED`, `KILLED`),
/// `mlflow.lifecycle_stage`, `mlflow.start_time` and `mlflow.end_time` (epoch
/// seconds). The run is named by its run name rather than its 32-digit id.
///
/// ## Problems reported
/// - `line N: expected "<timestamp> <value> <step>", found "..."` (the line
///   is skipped);
/// - `not valid YAML: <reason>` for `meta.yaml`;
/// - `line N: not valid UTF-8 at byte B (read with the invalid bytes replaced)`.
pub(crate) struct MlflowStore;

const PARTS: &[&str] = &["metrics", "params", "tags"];

/// How deep a metric key's subfolders may go (`metrics/a/b/c`).
const MAX_KEY_DEPTH: usize = 16;

/// Which file of a run folder a path is.
enum Place {
    Meta,
    Metric(String),
    Param(String),
    Tag(String),
}

fn place(path: &Path) -> Option<Place> {
    if file_name(path) == "meta.yaml" {
        let dir = path.parent()?;
        return PARTS
            .iter()
            .any(|part| dir.join(part).is_dir())
            .then_some(Place::Meta);
    }
    for ancestor in path.ancestors().skip(1).take(MAX_KEY_DEPTH) {
        let part = file_name(ancestor);
        if !PARTS.contains(&part) {
            continue;
        }
        let run_dir = ancestor.parent()?;
        if !run_dir.join("meta.yaml").is_file() {
            return None;
        }
        let key: Vec<String> = path
            .strip_prefix(ancestor)
            .ok()?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let key = key.join("/");
        return Some(match part {
            "metrics" => Place::Metric(key),
            "params" => Place::Param(key),
            _ => Place::Tag(key),
        });
    }
    None
}

impl Source for MlflowStore {
    fn name(&self) -> &'static str {
        "mlflow"
    }

    fn wants(&self, path: &Path) -> bool {
        place(path).is_some()
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        looks_like_text(head) && self.wants(path)
    }

    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        let (text, utf8_problem) = decode_utf8(bytes);
        let mut outcome = ReadOutcome::default();
        outcome.problems.extend(utf8_problem);
        match place(path) {
            Some(Place::Metric(key)) => read_metric(&key, &text, run, &mut outcome),
            Some(Place::Param(key)) => {
                run.config.insert(key, typed(&text));
            }
            Some(Place::Tag(key)) => {
                run.config.insert(
                    format!("mlflow.tags.{key}"),
                    serde_json::Value::String(text.into_owned()),
                );
            }
            Some(Place::Meta) => read_meta(path, &text, run, &mut outcome)?,
            None => return Err("not part of an MLflow run folder".into()),
        }
        Ok(outcome)
    }
}

fn read_metric(key: &str, text: &str, run: &mut Run, outcome: &mut ReadOutcome) {
    let mut series = Series::new(key);
    for (number, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split_ascii_whitespace();
        let point = (|| {
            let timestamp = parse_number(fields.next()?)?;
            let value = parse_number(fields.next()?)?;
            let step = match fields.next() {
                Some(step) => as_step(parse_number(step)?)?,
                None => 0,
            };
            fields.next().is_none().then_some(Point {
                step,
                wall_time: Some(timestamp / 1000.0),
                value,
            })
        })();
        match point {
            Some(point) => series.points.push(point),
            None => outcome.problems.push(format!(
                "line {number}: expected \"<timestamp> <value> <step>\", found \"{}\"",
                crate::text_util::clip(line, 80)
            )),
        }
    }
    run.series.push(series);
}

/// A param's text as the value it spells.
fn typed(text: &str) -> serde_json::Value {
    let trimmed = text.trim();
    if let Ok(integer) = trimmed.parse::<i64>() {
        return integer.into();
    }
    match trimmed {
        "true" | "True" => return true.into(),
        "false" | "False" => return false.into(),
        _ => {}
    }
    // Only plain decimal spellings: `nan` or `inf` as a param is a word.
    let numeric = trimmed
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    match trimmed.parse::<f64>() {
        Ok(number) if numeric && !trimmed.is_empty() => float_to_serde(number),
        _ => serde_json::Value::String(text.to_string()),
    }
}

fn read_meta(
    path: &Path,
    text: &str,
    run: &mut Run,
    outcome: &mut ReadOutcome,
) -> Result<(), String> {
    let meta: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let field = |name: &str| meta.get(name).filter(|v| !v.is_null());
    let as_text = |value: &yaml_serde::Value| match value {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    for (key, name) in [
        ("run_id", "mlflow.run_id"),
        ("run_name", "mlflow.run_name"),
        ("experiment_id", "mlflow.experiment_id"),
        ("lifecycle_stage", "mlflow.lifecycle_stage"),
    ] {
        if let Some(value) = field(key).and_then(as_text).filter(|v| !v.is_empty()) {
            run.config.insert(name.into(), value.into());
        }
    }
    if let Some(status) = field("status").and_then(yaml_serde::Value::as_i64) {
        run.config
            .insert("mlflow.status".into(), status_name(status).into());
    }
    for (key, name) in [
        ("start_time", "mlflow.start_time"),
        ("end_time", "mlflow.end_time"),
    ] {
        if let Some(ms) = field(key).and_then(yaml_serde::Value::as_f64) {
            run.config.insert(name.into(), float_to_serde(ms / 1000.0));
        }
    }
    if let Some(experiment) = experiment_name(path) {
        run.config
            .insert("mlflow.experiment".into(), experiment.into());
    }
    outcome.run_name = field("run_name")
        .and_then(as_text)
        .filter(|n| !n.trim().is_empty());
    Ok(())
}

/// The `name` in the experiment's `meta.yaml`, one folder above the run.
fn experiment_name(run_meta: &Path) -> Option<String> {
    let experiment_meta: PathBuf = run_meta.parent()?.parent()?.join("meta.yaml");
    let text = std::fs::read_to_string(experiment_meta).ok()?;
    let meta: yaml_serde::Value = yaml_serde::from_str(&text).ok()?;
    meta.get("name")?.as_str().map(str::to_string)
}

/// `RunStatus` in MLflow's protos.
fn status_name(status: i64) -> &'static str {
    match status {
        1 => "RUNNING",
        2 => "SCHEDULED",
        3 => "FINISHED",
        4 => "FAILED",
        5 => "KILLED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = dir.path().join("1/abc");
        for sub in ["metrics/train", "params", "tags"] {
            std::fs::create_dir_all(run.join(sub)).expect("mkdir");
        }
        std::fs::write(
            dir.path().join("1/meta.yaml"),
            "name: sweep\nexperiment_id: '1'\n",
        )
        .expect("write");
        std::fs::write(
            run.join("meta.yaml"),
            "run_id: abc\nrun_name: lr-0.5\nexperiment_id: '1'\nstatus: 4\nstart_time: 1700000000000\n",
        )
        .expect("write");
        std::fs::write(
            run.join("metrics/train/loss"),
            "1700000000000 0.5 0\n1700000001000 nan 1\nbad line\n1700000002000 inf\n",
        )
        .expect("write");
        std::fs::write(run.join("params/lr"), "0.5").expect("write");
        std::fs::write(run.join("params/optimizer"), "adamw").expect("write");
        std::fs::write(run.join("params/decay"), "nan").expect("write");
        std::fs::write(run.join("tags/mlflow.user"), "root").expect("write");
        dir
    }

    fn read(path: &Path) -> (Run, ReadOutcome) {
        let mut run = Run::default();
        let bytes = std::fs::read(path).expect("readable");
        assert!(MlflowStore.sniff(path, &bytes));
        let outcome = MlflowStore.read(path, &bytes, &mut run).expect("readable");
        (run, outcome)
    }

    #[test]
    fn reads_metrics_params_tags_and_meta() {
        let dir = run_folder();
        let run_dir = dir.path().join("1/abc");

        let (run, outcome) = read(&run_dir.join("metrics/train/loss"));
        let series = run.series("train/loss").expect("the nested key");
        let points: Vec<_> = series
            .points
            .iter()
            .map(|p| (p.step, p.value, p.wall_time))
            .collect();
        assert_eq!(points[0], (0, 0.5, Some(1_700_000_000.0)));
        assert!(points[1].1.is_nan());
        assert_eq!(points[2], (0, f64::INFINITY, Some(1_700_000_002.0)));
        assert_eq!(
            outcome.problems,
            ["line 3: expected \"<timestamp> <value> <step>\", found \"bad line\""]
        );

        assert_eq!(
            read(&run_dir.join("params/lr")).0.config["lr"],
            serde_json::json!(0.5)
        );
        assert_eq!(
            read(&run_dir.join("params/optimizer")).0.config["optimizer"],
            serde_json::json!("adamw")
        );
        assert_eq!(
            read(&run_dir.join("params/decay")).0.config["decay"],
            serde_json::json!("nan")
        );
        assert_eq!(
            read(&run_dir.join("tags/mlflow.user")).0.config["mlflow.tags.mlflow.user"],
            serde_json::json!("root")
        );

        let (run, outcome) = read(&run_dir.join("meta.yaml"));
        assert_eq!(outcome.run_name.as_deref(), Some("lr-0.5"));
        assert_eq!(run.config["mlflow.status"], serde_json::json!("FAILED"));
        assert_eq!(run.config["mlflow.experiment"], serde_json::json!("sweep"));
        assert_eq!(
            run.config["mlflow.start_time"],
            serde_json::json!(1_700_000_000.0)
        );
    }

    #[test]
    fn only_files_of_a_run_folder_are_wanted() {
        let dir = run_folder();
        assert!(MlflowStore.wants(&dir.path().join("1/abc/params/lr")));
        assert!(MlflowStore.wants(&dir.path().join("1/abc/meta.yaml")));
        // The experiment's own meta.yaml and files elsewhere are not.
        assert!(!MlflowStore.wants(&dir.path().join("1/meta.yaml")));
        assert!(!MlflowStore.wants(Path::new("logs/metrics/loss")));
        assert_eq!(typed("32"), serde_json::json!(32));
        assert_eq!(typed("True"), serde_json::json!(true));
        assert_eq!(typed("1e-4"), serde_json::json!(0.0001));
        assert_eq!(typed("inf"), serde_json::json!("inf"));
    }
}
