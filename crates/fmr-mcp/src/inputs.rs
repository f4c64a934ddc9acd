//! The investigation inputs as an agent sends them, checked and turned into
//! [`fmr_engine::Inputs`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

/// What the user has: logs, code, and their own words. Every field may be left
/// out, but at least one of `paths`, `code`, `code_snippets` or `symptom` must
/// be given.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInputs {
    /// Log files or run directories, searched recursively: CSV, JSON lines,
    /// trainer_state.json, plain-text logs, and the config files beside them.
    /// Relative paths resolve against the server's working directory.
    #[serde(default)]
    pub paths: Vec<String>,
    /// The training code to audit: a Python file or a project directory.
    pub code: Option<String>,
    /// Code held in memory rather than on disk, e.g. the training loop the
    /// user pasted. Audited like files.
    #[serde(default)]
    pub code_snippets: Vec<CodeSnippet>,
    /// What goes wrong, in the user's words, with any numbers they gave, e.g.
    /// "loss becomes NaN after about 2k steps with fp16, lr 3e-4".
    pub symptom: Option<String>,
    /// What the user expected instead, e.g. "loss keeps falling below 1.0".
    pub expected: Option<String>,
    /// Fixes already tried, one per item, each with how it went, e.g.
    /// "lowered lr to 1e-4, still NaN".
    #[serde(default)]
    pub tried: Vec<String>,
    /// What changed since the last good run or commit, one per item.
    #[serde(default)]
    pub changed: Vec<String>,
    /// Environment facts and hyperparameters, e.g. {"learning_rate": 3e-4,
    /// "precision": "fp16", "framework": "pytorch", "batch_size": 64}.
    #[serde(default)]
    pub env: BTreeMap<String, EnvValue>,
}

/// Source code given inline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeSnippet {
    /// A file name to show in findings, e.g. "train.py".
    pub name: String,
    /// The Python source.
    pub text: String,
}

/// An environment value: text, a number or a flag.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl EnvValue {
    fn to_text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(number) => number.to_string(),
            Self::Flag(flag) => flag.to_string(),
        }
    }
}

impl RunInputs {
    /// Checks the inputs and converts them. Paths that do not exist are an
    /// error (an agent's typo is better reported than investigated around);
    /// files that exist but cannot be read end up in the report's `problems`,
    /// as they do on the command line.
    pub fn to_engine_inputs(&self) -> Result<fmr_engine::Inputs, String> {
        let has_symptom = self
            .symptom
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        if self.paths.is_empty()
            && self.code.is_none()
            && self.code_snippets.is_empty()
            && !has_symptom
        {
            return Err(
                "nothing to investigate: give log `paths`, `code`, `code_snippets` or a `symptom`"
                    .to_string(),
            );
        }
        let mut paths = Vec::with_capacity(self.paths.len());
        let mut missing = Vec::new();
        for path in &self.paths {
            match existing_path(path) {
                Ok(path) => paths.push(path),
                Err(problem) => missing.push(problem),
            }
        }
        let code = match &self.code {
            Some(code) => match existing_path(code) {
                Ok(path) => Some(path),
                Err(problem) => {
                    missing.push(problem);
                    None
                }
            },
            None => None,
        };
        if !missing.is_empty() {
            return Err(missing_paths_message(&missing));
        }
        let mut env = Vec::with_capacity(self.env.len());
        for (key, value) in &self.env {
            if key.trim().is_empty() {
                return Err("`env` has an empty key".to_string());
            }
            env.push((key.trim().to_string(), value.to_text()));
        }
        Ok(fmr_engine::Inputs {
            paths,
            code,
            code_snippets: self
                .code_snippets
                .iter()
                .map(|s| (s.name.clone(), s.text.clone()))
                .collect(),
            symptom: self.symptom.clone().filter(|s| !s.trim().is_empty()),
            expected: self.expected.clone().filter(|s| !s.trim().is_empty()),
            tried: self.tried.clone(),
            changes: self.changed.clone(),
            env,
            ..Default::default()
        })
    }
}

/// The path, if something exists there; otherwise a one-line reason.
pub(crate) fn existing_path(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("an empty path".to_string());
    }
    let path = Path::new(text);
    match std::fs::metadata(path) {
        Ok(_) => Ok(path.to_path_buf()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{text}: no such file or directory"))
        }
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(format!("{text}: permission denied"))
        }
        Err(error) => Err(format!("{text}: {error}")),
    }
}

/// Names every bad path at once, and where relative paths were looked for.
pub(crate) fn missing_paths_message(problems: &[String]) -> String {
    let cwd = std::env::current_dir()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    format!(
        "cannot use {}: {}. Relative paths resolve against the server's working directory ({cwd}); pass absolute paths if unsure",
        if problems.len() == 1 {
            "a path"
        } else {
            "these paths"
        },
        problems.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_of_any_json_scalar_become_text() {
        let inputs: RunInputs = serde_json::from_value(serde_json::json!({
            "symptom": "loss is NaN",
            "env": {"learning_rate": 3e-4, "precision": "fp16", "amp": true, "batch_size": 64}
        }))
        .unwrap();
        let engine_inputs = inputs.to_engine_inputs().unwrap();
        assert_eq!(
            engine_inputs.env,
            vec![
                ("amp".to_string(), "true".to_string()),
                ("batch_size".to_string(), "64".to_string()),
                ("learning_rate".to_string(), "0.0003".to_string()),
                ("precision".to_string(), "fp16".to_string()),
            ]
        );
    }

    #[test]
    fn nothing_given_is_an_error() {
        let message = RunInputs::default().to_engine_inputs().unwrap_err();
        assert!(message.starts_with("nothing to investigate"), "{message}");
        let blank = RunInputs {
            symptom: Some("  ".into()),
            ..RunInputs::default()
        };
        assert!(blank.to_engine_inputs().is_err());
    }

    #[test]
    fn every_missing_path_is_named() {
        let inputs = RunInputs {
            paths: vec!["no/such/logs".into(), String::new()],
            code: Some("no/such/code.py".into()),
            ..RunInputs::default()
        };
        let message = inputs.to_engine_inputs().unwrap_err();
        assert!(
            message.contains("no/such/logs: no such file or directory"),
            "{message}"
        );
        assert!(message.contains("an empty path"), "{message}");
        assert!(message.contains("no/such/code.py"), "{message}");
        assert!(message.contains("working directory"), "{message}");
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let error = serde_json::from_value::<RunInputs>(serde_json::json!({"log_paths": ["x"]}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `log_paths`"), "{error}");
    }
}
