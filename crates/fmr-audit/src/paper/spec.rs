//! [`PaperSpec`]: what a paper says it trained with, read from a TOML or YAML spec file or from
//! a pasted table (see [`super::pasted`]).
//!
//! ```toml
//! title = "Language Models are Few-Shot Learners"
//! source = "arXiv:2005.14165, Table 2.1"
//! components = ["gradient clipping", "cosine decay", "warmup"]
//!
//! [hyperparameters]
//! learning_rate = 6e-4
//! batch_size = "0.5M tokens"
//! betas = [0.9, 0.95]
//! weight_decay = 0.1
//! warmup = "375M tokens"
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::components::resolve_component;
use super::names::{Kind, Transform, param_info, resolve_paper_name};
use super::value::{ParamValue, ReadValue, read_value};

/// One hyperparameter as the paper states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperParam {
    /// The name as the paper writes it, e.g. `Peak learning rate`.
    pub name: String,
    /// The canonical name, e.g. `learning_rate` (the name in snake_case when fmr does not know
    /// it).
    pub param: String,
    pub value: ParamValue,
    /// The value as written, e.g. `6 × 10^-4`.
    pub text: String,
    /// Words after the number (`tokens`, `steps`, `epochs`), when given.
    pub unit: Option<String>,
    /// 1-based line in the spec, when known.
    pub line: Option<usize>,
    /// How far a code value may be from `value` and still agree, when the paper rounds
    /// (`0.5M` tokens: 50k).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
}

/// A technique the paper says it uses (gradient clipping, EMA of weights, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperComponent {
    /// As the paper writes it, e.g. `Gradient clipping (max norm 1.0)`.
    pub name: String,
    /// The component fmr knows it as (`gradient_clipping`), or `None` when fmr cannot check it.
    pub component: Option<String>,
    /// Text in parentheses or after a colon, e.g. `max norm 1.0`.
    pub detail: Option<String>,
    pub line: Option<usize>,
}

/// What a paper says the training used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaperSpec {
    pub title: Option<String>,
    /// Where the numbers come from (a citation, a table number, a URL).
    pub source: Option<String>,
    /// In the order the spec gives them.
    pub hyperparameters: Vec<PaperParam>,
    pub components: Vec<PaperComponent>,
    /// Remarks from reading the spec (e.g. which column of a multi-column table was used).
    pub notes: Vec<String>,
}

/// One thing in a spec that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecProblem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

/// Why a spec could not be read: every problem found, each with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec's file name, or `pasted text`.
    pub origin: String,
    pub problems: Vec<SpecProblem>,
}

impl SpecError {
    pub(crate) fn single(origin: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            origin: origin.to_owned(),
            problems: vec![SpecProblem {
                line,
                message: message.into(),
            }],
        }
    }
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            match problem.line {
                Some(line) => write!(f, "{}:{line}: {}", self.origin, problem.message)?,
                None => write!(f, "{}: {}", self.origin, problem.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// Which reader a spec needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    Toml,
    Yaml,
    /// A pasted table: markdown, LaTeX, `name: value` lines, or columns copied from a PDF.
    Text,
}

impl PaperSpec {
    /// Reads a spec file: `.toml`, `.yaml`/`.yml`, anything else as pasted text.
    pub fn from_path(path: &Path) -> Result<Self, SpecError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| {
            let reason = match error.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_owned(),
                std::io::ErrorKind::InvalidData => "not valid UTF-8 text".to_owned(),
                _ => format!("could not be read: {error}"),
            };
            SpecError::single(&origin, None, reason)
        })?;
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => SpecFormat::Toml,
            Some("yaml" | "yml") => SpecFormat::Yaml,
            _ => SpecFormat::Text,
        };
        Self::parse(&text, format, &origin)
    }

    /// Reads `text` in `format`; `origin` names it in errors.
    pub fn parse(text: &str, format: SpecFormat, origin: &str) -> Result<Self, SpecError> {
        match format {
            SpecFormat::Toml => Self::from_toml(text, origin),
            SpecFormat::Yaml => Self::from_yaml(text, origin),
            SpecFormat::Text => super::pasted::parse_pasted(text, origin),
        }
    }

    /// A TOML spec: `title`, `source`, `components = [...]` and a `[hyperparameters]` table
    /// (top-level values and other tables count as hyperparameters too).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, SpecError> {
        let table = toml::de::DeTable::parse(text).map_err(|error| {
            let line = error.span().map(|span| line_of(text, span.start));
            let message = error.message().trim().to_owned();
            SpecError::single(origin, line, format!("not valid TOML: {message}"))
        })?;
        let mut tree = Vec::new();
        toml_entries(text, table.get_ref(), &mut tree);
        build_spec(tree, origin)
    }

    /// A YAML spec with the same keys as [`PaperSpec::from_toml`].
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, SpecError> {
        let document: yaml_serde::Value = yaml_serde::from_str(text).map_err(|error| {
            let line = error.location().map(|location| location.line());
            SpecError::single(origin, line, format!("not valid YAML: {error}"))
        })?;
        let lines = super::configs::yaml_key_lines(text);
        let yaml_serde::Value::Mapping(mapping) = document else {
            return Err(SpecError::single(
                origin,
                None,
                "expected a mapping with `hyperparameters` and `components` at the top level",
            ));
        };
        let mut tree = Vec::new();
        yaml_entries(&mapping, &mut Vec::new(), &lines, &mut tree);
        for entry in &mut tree {
            // Numbers as written (`1.0`, `3e-4`), not as the parser prints them.
            if matches!(entry.value, EntryValue::Number(_) | EntryValue::List(_)) {
                entry.written = entry
                    .line
                    .and_then(|line| super::configs::written_value(text, line));
            }
        }
        build_spec(tree, origin)
    }

    /// A pasted table of hyperparameters; see [`super::pasted`] for the forms it reads.
    pub fn from_text(text: &str) -> Result<Self, SpecError> {
        super::pasted::parse_pasted(text, "pasted text")
    }

    /// The paper's value for a canonical hyperparameter.
    pub fn get(&self, param: &str) -> Option<&PaperParam> {
        self.hyperparameters
            .iter()
            .find(|hyperparameter| hyperparameter.param == param)
    }
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map_or(1, |prefix| prefix.matches('\n').count() + 1)
}

/// A spec entry before interpretation: its key path, value and line.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub path: Vec<String>,
    pub value: EntryValue,
    /// The value as written in the file, when known.
    pub written: Option<String>,
    pub line: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum EntryValue {
    Number(f64),
    Bool(bool),
    Text(String),
    List(Vec<EntryValue>),
    /// A table inside a list (`[[hyperparameters]]`), kept as key/value pairs.
    Table(Vec<(String, EntryValue)>),
    Missing,
}

fn toml_entries(text: &str, table: &toml::de::DeTable<'_>, out: &mut Vec<Entry>) {
    let mut stack = Vec::new();
    toml_table_entries(text, table, &mut stack, out);
    out.sort_by_key(|entry| entry.line);
}

fn toml_table_entries(
    text: &str,
    table: &toml::de::DeTable<'_>,
    path: &mut Vec<String>,
    out: &mut Vec<Entry>,
) {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        let line = Some(line_of(text, key.span().start));
        match value.get_ref() {
            toml::de::DeValue::Table(inner) => toml_table_entries(text, inner, path, out),
            other => out.push(Entry {
                path: path.clone(),
                value: toml_value(other),
                written: text
                    .get(value.span())
                    .filter(|_| !matches!(other, toml::de::DeValue::String(_)))
                    .map(|written| written.trim().to_owned()),
                line,
            }),
        }
        path.pop();
    }
}

fn toml_value(value: &toml::de::DeValue<'_>) -> EntryValue {
    use toml::de::DeValue;
    match value {
        DeValue::String(text) => EntryValue::Text(text.to_string()),
        DeValue::Integer(integer) => {
            let digits = integer.as_str().replace('_', "");
            i64::from_str_radix(&digits, integer.radix())
                .map_or(EntryValue::Text(digits), |number| {
                    EntryValue::Number(number as f64)
                })
        }
        DeValue::Float(float) => {
            let digits = float.as_str().replace('_', "");
            digits
                .parse()
                .map_or(EntryValue::Text(digits), EntryValue::Number)
        }
        DeValue::Boolean(flag) => EntryValue::Bool(*flag),
        DeValue::Datetime(datetime) => EntryValue::Text(datetime.to_string()),
        DeValue::Array(items) => EntryValue::List(
            items
                .iter()
                .map(|item| toml_value(item.get_ref()))
                .collect(),
        ),
        DeValue::Table(table) => EntryValue::Table(
            table
                .iter()
                .map(|(key, value)| (key.get_ref().to_string(), toml_value(value.get_ref())))
                .collect(),
        ),
    }
}

fn yaml_entries(
    mapping: &yaml_serde::Mapping,
    path: &mut Vec<String>,
    lines: &HashMap<String, usize>,
    out: &mut Vec<Entry>,
) {
    for (key, value) in mapping {
        path.push(yaml_key(key));
        match value {
            yaml_serde::Value::Mapping(inner) => yaml_entries(inner, path, lines, out),
            other => out.push(Entry {
                path: path.clone(),
                value: yaml_value(other),
                written: None,
                line: lines.get(&path.join(".")).copied(),
            }),
        }
        path.pop();
    }
}

pub(crate) fn yaml_key(key: &yaml_serde::Value) -> String {
    match key {
        yaml_serde::Value::String(text) => text.clone(),
        yaml_serde::Value::Number(number) => number.to_string(),
        yaml_serde::Value::Bool(flag) => flag.to_string(),
        other => format!("{other:?}"),
    }
}

fn yaml_value(value: &yaml_serde::Value) -> EntryValue {
    use yaml_serde::Value as Yaml;
    match value {
        Yaml::Null => EntryValue::Missing,
        Yaml::Bool(flag) => EntryValue::Bool(*flag),
        Yaml::Number(number) => number
            .as_f64()
            .map_or(EntryValue::Text(number.to_string()), EntryValue::Number),
        Yaml::String(text) => EntryValue::Text(text.clone()),
        Yaml::Sequence(items) => EntryValue::List(items.iter().map(yaml_value).collect()),
        Yaml::Mapping(mapping) => EntryValue::Table(
            mapping
                .iter()
                .map(|(key, value)| (yaml_key(key), yaml_value(value)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => yaml_value(&tagged.value),
    }
}

/// Keys of a spec that are not hyperparameters.
const SPEC_KEYS: &[&str] = &["title", "source", "paper", "url", "notes", "components"];

/// Turns the entries of a TOML or YAML spec into a [`PaperSpec`].
fn build_spec(entries: Vec<Entry>, origin: &str) -> Result<PaperSpec, SpecError> {
    let mut spec = PaperSpec::default();
    let mut builder = SpecBuilder::new(origin);
    for entry in entries {
        let first = entry.path.first().map(String::as_str).unwrap_or_default();
        let single = entry.path.len() == 1;
        match (first, &entry.value) {
            ("title", EntryValue::Text(text)) if single => spec.title = Some(text.clone()),
            ("source" | "paper" | "url", EntryValue::Text(text)) if single => {
                spec.source = Some(text.clone());
            }
            ("notes", _) if single => {}
            ("components", value) if single => {
                builder.add_components(value, entry.line);
            }
            (key, _) if single && SPEC_KEYS.contains(&key) => builder.problem(
                entry.line,
                format!("`{key}` should be text (or a list of names for `components`)"),
            ),
            _ => {
                // `[hyperparameters]` (or `hparams`) is only a grouping; other tables are part
                // of the name (`[optimizer] lr = ...` is `optimizer lr`).
                let mut path: &[String] = &entry.path;
                if path.len() > 1
                    && matches!(
                        path[0].as_str(),
                        "hyperparameters" | "hparams" | "params" | "parameters"
                    )
                {
                    path = &path[1..];
                }
                if let EntryValue::List(rows) = &entry.value
                    && path.len() == 1
                    && matches!(
                        path[0].as_str(),
                        "hyperparameters" | "hparams" | "params" | "parameters"
                    )
                {
                    builder.add_rows(rows, entry.line);
                    continue;
                }
                let name = path.join(" ");
                builder.add_entry(&name, &entry.value, entry.written.as_deref(), entry.line);
            }
        }
    }
    builder.finish(spec)
}

/// Collects parameters, components and problems while a spec is read.
pub(crate) struct SpecBuilder {
    origin: String,
    params: Vec<PaperParam>,
    components: Vec<PaperComponent>,
    problems: Vec<SpecProblem>,
    notes: Vec<String>,
}

impl SpecBuilder {
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            params: Vec::new(),
            components: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn problem(&mut self, line: Option<usize>, message: impl Into<String>) {
        self.problems.push(SpecProblem {
            line,
            message: message.into(),
        });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    pub fn has_content(&self) -> bool {
        !self.params.is_empty() || !self.components.is_empty()
    }

    /// `components = ["gradient clipping", "EMA (0.9999)"]`, or a single comma-separated text.
    fn add_components(&mut self, value: &EntryValue, line: Option<usize>) {
        match value {
            EntryValue::List(items) => {
                for item in items {
                    match item {
                        EntryValue::Text(name) => self.add_component(name, line),
                        EntryValue::Table(pairs) => {
                            let name = pairs.iter().find_map(|(key, value)| match value {
                                EntryValue::Text(text) if key == "name" => Some(text.clone()),
                                _ => None,
                            });
                            match name {
                                Some(name) => self.add_component(&name, line),
                                None => self.problem(line, "a component needs a `name`"),
                            }
                        }
                        _ => self.problem(line, "each component should be a name (text)"),
                    }
                }
            }
            EntryValue::Text(text) => {
                for name in text.split([',', ';']) {
                    self.add_component(name, line);
                }
            }
            _ => self.problem(line, "`components` should be a list of names"),
        }
    }

    /// `[[hyperparameters]]` rows with `name` and `value`.
    fn add_rows(&mut self, rows: &[EntryValue], line: Option<usize>) {
        for row in rows {
            let EntryValue::Table(pairs) = row else {
                self.problem(line, "each hyperparameter row needs a `name` and a `value`");
                continue;
            };
            let field = |wanted: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key == wanted)
                    .map(|(_, value)| value.clone())
            };
            match (field("name"), field("value")) {
                (Some(EntryValue::Text(name)), Some(value)) => {
                    self.add_entry(&name, &value, None, line);
                }
                _ => self.problem(line, "each hyperparameter row needs a `name` and a `value`"),
            }
        }
    }

    /// A component named in free text; the detail in parentheses is kept.
    pub fn add_component(&mut self, written: &str, line: Option<usize>) {
        let written = written.trim();
        if written.is_empty() {
            return;
        }
        let (name, detail) = match written.find(['(', ':']) {
            Some(at) if at > 0 => (
                written[..at].trim(),
                Some(
                    written[at + 1..]
                        .trim()
                        .trim_end_matches(')')
                        .trim()
                        .to_owned(),
                )
                .filter(|detail| !detail.is_empty()),
            ),
            _ => (written, None),
        };
        self.components.push(PaperComponent {
            name: name.to_owned(),
            component: resolve_component(name).map(|info| info.id.to_owned()),
            detail,
            line,
        });
    }

    /// A typed value from TOML or YAML.
    fn add_entry(
        &mut self,
        name: &str,
        value: &EntryValue,
        written: Option<&str>,
        line: Option<usize>,
    ) {
        let read = match value {
            EntryValue::Number(number) => Ok(ReadValue {
                value: ParamValue::Number(*number),
                unit: None,
                percent: false,
                tolerance: None,
            }),
            EntryValue::Bool(flag) => Ok(ReadValue {
                value: ParamValue::Bool(*flag),
                unit: None,
                percent: false,
                tolerance: None,
            }),
            EntryValue::Text(text) => read_value(text),
            EntryValue::List(items) => list_value(items).map(|value| ReadValue {
                value,
                unit: None,
                percent: false,
                tolerance: None,
            }),
            EntryValue::Table(_) => Err("a table is not a value".to_owned()),
            EntryValue::Missing => Err("has no value".to_owned()),
        };
        let text = written.map_or_else(|| entry_text(value), str::to_owned);
        match read {
            Ok(read) => self.add_param(name, read, &text, line),
            Err(reason) => self.problem(line, format!("`{name}`: {reason}")),
        }
    }

    /// Adds a hyperparameter, turning it into canonical form: a pair of betas splits in two, a
    /// batch size in tokens becomes `tokens_per_batch`, a warmup of `10%` becomes
    /// `warmup_ratio`, and `Label smoothing: yes` becomes a component.
    pub fn add_param(&mut self, name: &str, read: ReadValue, text: &str, line: Option<usize>) {
        let resolved = resolve_paper_name(name);
        let mut param = resolved.param.clone();
        let ReadValue {
            mut value,
            unit,
            percent,
            tolerance,
        } = read;
        let unit = unit.or(resolved.qualifier.clone().filter(|qualifier| {
            qualifier
                .chars()
                .all(|c| c.is_alphabetic() || c == ' ' || c == '-')
        }));
        // `Gradient clipping: yes` names a technique rather than a number.
        let is_flag = matches!(resolved.transform, Transform::FlagMeans(_));
        if let ParamValue::Bool(true) = value
            && !is_flag
            && let Some(component) = resolve_component(name)
        {
            self.components.push(PaperComponent {
                name: name.trim().to_owned(),
                component: Some(component.id.to_owned()),
                detail: None,
                line,
            });
            return;
        }
        match resolved.transform {
            Transform::FlagMeans(label) => match value {
                ParamValue::Bool(true) => value = ParamValue::Text(label.to_owned()),
                ParamValue::Bool(false) => return,
                _ => {}
            },
            Transform::ByValue => self.note(format!(
                "`{name}` clips gradients by value; it is compared with the code's clipping threshold"
            )),
            Transform::Same | Transform::PerDevice => {}
        }
        let unit_is = |words: &[&str]| {
            unit.as_deref()
                .is_some_and(|unit| words.iter().any(|word| unit.contains(word)))
        };
        match param.as_str() {
            "batch_size" if unit_is(&["token"]) => param = "tokens_per_batch".to_owned(),
            "max_steps" if unit_is(&["epoch"]) => param = "epochs".to_owned(),
            "epochs" if unit_is(&["step", "iteration", "update"]) => {
                param = "max_steps".to_owned();
            }
            "warmup_steps" if unit_is(&["epoch"]) => param = "warmup_epochs".to_owned(),
            "warmup_steps" if unit_is(&["token"]) => param = "warmup_tokens".to_owned(),
            "warmup_steps" if percent || value.as_number().is_some_and(|n| n > 0.0 && n < 1.0) => {
                param = "warmup_ratio".to_owned();
            }
            _ => {}
        }
        let info = param_info(&param);
        match info.map(|info| info.kind) {
            Some(Kind::Pair(first, second)) => {
                let Some(numbers) = value.as_numbers().filter(|numbers| numbers.len() == 2) else {
                    self.problem(
                        line,
                        format!("`{name}` should be two numbers like (0.9, 0.999), found `{text}`"),
                    );
                    return;
                };
                for (part, number) in [(first, numbers[0]), (second, numbers[1])] {
                    let part_text = super::value::format_number(number);
                    self.push_param(
                        name,
                        part,
                        ParamValue::Number(number),
                        &part_text,
                        (None, None),
                        line,
                    );
                }
                return;
            }
            Some(Kind::Number) => {
                let numeric = matches!(value, ParamValue::Number(_) | ParamValue::Bool(false));
                if !numeric {
                    self.problem(
                        line,
                        format!(
                            "`{name}` ({}) should be a number, found `{text}`",
                            info.map_or("", |info| info.label)
                        ),
                    );
                    return;
                }
            }
            Some(Kind::Text) => {
                let label = super::value::text_label(&param, &value);
                if label.is_none() && !matches!(value, ParamValue::Text(_)) {
                    self.problem(
                        line,
                        format!("`{name}` should be a name such as AdamW, cosine or bf16, found `{text}`"),
                    );
                    return;
                }
            }
            None => {}
        }
        self.push_param(name, &param, value, text, (unit, tolerance), line);
    }

    fn push_param(
        &mut self,
        name: &str,
        param: &str,
        value: ParamValue,
        text: &str,
        (unit, tolerance): (Option<String>, Option<f64>),
        line: Option<usize>,
    ) {
        if let Some(existing) = self.params.iter().find(|existing| existing.param == param) {
            let where_ = existing
                .line
                .map_or(String::new(), |line| format!(" (line {line})"));
            self.note(format!(
                "`{name}` repeats {param}, already given as `{}`{where_}; both are compared",
                existing.text
            ));
        }
        self.params.push(PaperParam {
            name: name.trim().to_owned(),
            param: param.to_owned(),
            value,
            text: text.trim().to_owned(),
            unit,
            line,
            tolerance,
        });
    }

    pub fn finish(self, mut spec: PaperSpec) -> Result<PaperSpec, SpecError> {
        if !self.problems.is_empty() {
            return Err(SpecError {
                origin: self.origin,
                problems: self.problems,
            });
        }
        if self.params.is_empty() && self.components.is_empty() {
            return Err(SpecError::single(
                &self.origin,
                None,
                "no hyperparameters or components found; expected a [hyperparameters] table, \
                 `components = [...]`, or a table of `name | value` rows",
            ));
        }
        spec.hyperparameters = self.params;
        spec.components = self.components;
        spec.notes.extend(self.notes);
        Ok(spec)
    }
}

/// A list of numbers or of numeric texts.
fn list_value(items: &[EntryValue]) -> Result<ParamValue, String> {
    items
        .iter()
        .map(|item| match item {
            EntryValue::Number(number) => Ok(ParamValue::Number(*number)),
            EntryValue::Bool(flag) => Ok(ParamValue::Bool(*flag)),
            EntryValue::Text(text) => read_value(text).map(|read| read.value),
            _ => Err("a list may hold numbers or text only".to_owned()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ParamValue::List)
}

/// An entry's value as a person would write it.
fn entry_text(value: &EntryValue) -> String {
    match value {
        EntryValue::Number(number) => super::value::format_number(*number),
        EntryValue::Bool(flag) => flag.to_string(),
        EntryValue::Text(text) => text.clone(),
        EntryValue::List(items) => format!(
            "({})",
            items.iter().map(entry_text).collect::<Vec<_>>().join(", ")
        ),
        EntryValue::Table(_) => "{...}".to_owned(),
        EntryValue::Missing => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(spec: &PaperSpec) -> Vec<(&str, &ParamValue, Option<usize>)> {
        spec.hyperparameters
            .iter()
            .map(|param| (param.param.as_str(), &param.value, param.line))
            .collect()
    }

    #[test]
    fn toml_tables_rows_and_flat_keys() {
        let spec = PaperSpec::from_toml(
            "title = \"T\"\nlr = 1e-3\n\n[optimizer]\nname = \"AdamW\"\neps = 1e-8\n\n\
             [[hyperparameters]]\nname = \"Batch size\"\nvalue = \"4k\"\n",
            "spec.toml",
        )
        .expect("reads");
        assert_eq!(spec.title.as_deref(), Some("T"));
        assert_eq!(
            params(&spec),
            [
                ("learning_rate", &ParamValue::Number(1e-3), Some(2)),
                ("optimizer", &ParamValue::Text("AdamW".into()), Some(5)),
                ("adam_epsilon", &ParamValue::Number(1e-8), Some(6)),
                ("batch_size", &ParamValue::Number(4000.0), Some(8)),
            ]
        );
        assert_eq!(spec.hyperparameters[3].tolerance, Some(500.0));
    }

    #[test]
    fn units_and_percentages_pick_the_parameter() {
        let spec = PaperSpec::from_toml(
            "[hyperparameters]\nbatch_size = \"2M tokens\"\nwarmup = \"5%\"\n\
             training_steps = \"300 epochs\"\nfp16 = true\n",
            "spec.toml",
        )
        .expect("reads");
        let names: Vec<&str> = spec
            .hyperparameters
            .iter()
            .map(|p| p.param.as_str())
            .collect();
        assert_eq!(
            names,
            ["tokens_per_batch", "warmup_ratio", "epochs", "precision"]
        );
        assert_eq!(
            spec.get("precision").map(|p| &p.value),
            Some(&ParamValue::Text("fp16".into()))
        );
    }

    #[test]
    fn repeated_parameters_are_kept_with_a_note() {
        let spec = PaperSpec::from_text("lr: 3e-4\nPeak learning rate: 6e-4\n").expect("reads");
        assert_eq!(spec.hyperparameters.len(), 2);
        assert_eq!(
            spec.notes,
            [
                "`Peak learning rate` repeats learning_rate, already given as `3e-4` (line 1); both are compared"
            ]
        );
    }
}
