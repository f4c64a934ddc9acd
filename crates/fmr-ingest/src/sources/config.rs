use std::collections::BTreeMap;
use std::path::Path;

use fmr_core::Run;

use crate::json::{self, Json};
use crate::source::{ReadOutcome, Source};
use crate::text_util::{decode_utf8, extension, file_name, looks_like_text};

/// Hyperparameters and settings saved beside the logs.
///
/// ## What it reads
/// - Lightning's `hparams.yaml` (`save_hyperparameters()`);
/// - `config.yaml` / `config.yml` (Hydra's `.hydra/config.yaml`, W&B's
///   `files/config.yaml`, hand-written configs), `args.yaml`;
/// - `config.json`, `args.json`, `params.json` (Ray Tune / RLlib),
///   `training_args.json`.
///
/// ## How it is recognised
/// By file name only: these names are conventions, and their content (a plain
/// mapping) says nothing a metrics log would not also say.
///
/// ## Steps and series
/// None. Settings go to `Run::config` with nested keys flattened by `.`
/// (`optimizer.lr`). W&B's `{value: 0.1, desc: ...}` wrappers are unwrapped.
/// Lists stay lists. When two files set the same key, the first read wins.
/// YAML tags (`!!python/tuple`) are dropped and the tagged value kept.
///
/// ## Problems reported
/// - `not valid YAML: <reason at line, column>` / `not valid JSON (...)`;
/// - `expected a mapping of settings at the top level, found ...`;
/// - `larger than 256 MiB; config files are read whole, so one this large
///   is refused`.
pub(crate) struct ConfigFile;

const NAMES: &[&str] = &[
    "args.json",
    "args.yaml",
    "args.yml",
    "config.json",
    "config.yaml",
    "config.yml",
    "hparams.yaml",
    "hparams.yml",
    "params.json",
    "training_args.json",
];

impl Source for ConfigFile {
    fn name(&self) -> &'static str {
        "config"
    }

    fn wants(&self, path: &Path) -> bool {
        NAMES.contains(&file_name(path))
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        self.wants(path) && looks_like_text(head)
    }

    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        let (text, utf8_problem) = decode_utf8(bytes);
        let settings = if extension(path) == "json" {
            json::parse(&text).map(|v| v.to_serde()).map_err(|error| {
                let (line, column) = error.line_column(&text);
                if error.at_end {
                    "not valid JSON: the file ends mid-document (truncated?)".to_string()
                } else {
                    format!("not valid JSON ({error} at line {line}, column {column})")
                }
            })?
        } else {
            let yaml: yaml_serde::Value =
                yaml_serde::from_str(&text).map_err(|e| format!("not valid YAML: {e}"))?;
            yaml_to_json(&yaml)
        };
        match settings {
            serde_json::Value::Object(map) => {
                let mut prefix = String::new();
                for (key, value) in map {
                    flatten_into(&mut run.config, &mut prefix, &key, value);
                }
            }
            // A file of comments only: nothing set, nothing wrong.
            serde_json::Value::Null => {}
            other => {
                return Err(format!(
                    "expected a mapping of settings at the top level, found {}",
                    json_kind(&other)
                ));
            }
        }
        let mut outcome = ReadOutcome::default();
        outcome.problems.extend(utf8_problem);
        Ok(outcome)
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// Adds `value` under `prefix.key`, descending into mappings. Existing keys win.
pub(crate) fn flatten_into(
    config: &mut BTreeMap<String, serde_json::Value>,
    prefix: &mut String,
    key: &str,
    value: serde_json::Value,
) {
    let restore = prefix.len();
    if !prefix.is_empty() {
        prefix.push('.');
    }
    prefix.push_str(key);
    match unwrap_wandb_value(value) {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (child, value) in map {
                flatten_into(config, prefix, &child, value);
            }
        }
        leaf => {
            config.entry(prefix.clone()).or_insert(leaf);
        }
    }
    prefix.truncate(restore);
}

/// W&B stores each setting as `{desc: ..., value: ...}`; the value is the setting.
fn unwrap_wandb_value(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(mut map)
            if map.contains_key("value") && map.keys().all(|k| k == "value" || k == "desc") =>
        {
            map.remove("value").unwrap_or(serde_json::Value::Null)
        }
        other => other,
    }
}

fn yaml_to_json(value: &yaml_serde::Value) -> serde_json::Value {
    use yaml_serde::Value as Yaml;
    match value {
        Yaml::Null => serde_json::Value::Null,
        Yaml::Bool(b) => serde_json::Value::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                serde_json::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                serde_json::Value::from(u)
            } else {
                json::float_to_serde(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Yaml::String(s) => serde_json::Value::String(s.clone()),
        Yaml::Sequence(items) => serde_json::Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => yaml_to_json(&tagged.value),
    }
}

/// YAML keys may be numbers or booleans; config keys are text.
fn yaml_key(key: &yaml_serde::Value) -> String {
    match yaml_to_json(key) {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A JSON document's settings, for readers that find config inside a log
/// (RLlib's `config` member of each `result.json` line).
pub(crate) fn merge_json_config(config: &mut BTreeMap<String, serde_json::Value>, value: &Json) {
    if let serde_json::Value::Object(map) = value.to_serde() {
        let mut prefix = String::new();
        for (key, value) in map {
            flatten_into(config, &mut prefix, &key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> (Run, Result<ReadOutcome, String>) {
        let mut run = Run::default();
        let result = ConfigFile.read(Path::new(name), text.as_bytes(), &mut run);
        (run, result)
    }

    #[test]
    fn flattens_yaml_and_drops_python_tags() {
        let (run, result) = read(
            "hparams.yaml",
            "lr: 0.05\noptimizer:\n  name: adamw\n  betas: !!python/tuple [0.9, 0.999]\n1: one\n",
        );
        assert!(result.is_ok());
        assert_eq!(run.config["lr"], serde_json::json!(0.05));
        assert_eq!(run.config["optimizer.name"], serde_json::json!("adamw"));
        assert_eq!(
            run.config["optimizer.betas"],
            serde_json::json!([0.9, 0.999])
        );
        assert_eq!(run.config["1"], serde_json::json!("one"));
    }

    #[test]
    fn unwraps_wandb_values() {
        let (run, _) = read(
            "config.yaml",
            "wandb_version: 1\nlr:\n  desc: null\n  value: 0.001\nmodel:\n  value:\n    depth: 12\n",
        );
        assert_eq!(run.config["lr"], serde_json::json!(0.001));
        assert_eq!(run.config["model.depth"], serde_json::json!(12));
    }

    #[test]
    fn reads_json_with_python_tokens() {
        let (run, result) = read(
            "args.json",
            r#"{"lr": 3e-4, "clip": Infinity, "nested": {"a": true}}"#,
        );
        assert!(result.is_ok());
        assert_eq!(run.config["lr"], serde_json::json!(0.0003));
        assert_eq!(run.config["clip"], serde_json::json!("Infinity"));
        assert_eq!(run.config["nested.a"], serde_json::json!(true));
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(
            read("config.yaml", "- a\n- b\n").1,
            Err("expected a mapping of settings at the top level, found a list".to_string())
        );
        assert_eq!(
            read("config.json", "{\"lr\": 0.1,").1,
            Err("not valid JSON: the file ends mid-document (truncated?)".to_string())
        );
        let yaml_error = read("config.yaml", "a: [1, 2\n").1.expect_err("bad YAML");
        assert!(yaml_error.starts_with("not valid YAML: "), "{yaml_error}");
        assert!(read("config.yaml", "# nothing set yet\n").1.is_ok());
    }
}
