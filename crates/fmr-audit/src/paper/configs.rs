//! Hyperparameters in config files: YAML (Hydra `conf/` trees, Lightning `hparams.yaml`),
//! JSON (`training_args.json`, `config.json`), TOML and gin, each value with its line.
//!
//! Values come from the format's own parser; lines come from a light scan of the text for the
//! key's path (`optimizer.lr` is the `lr:` indented under `optimizer:`), since the parsers keep
//! no positions (TOML's does, and is used). Lists of scalars are values (`betas: [0.9, 0.95]`);
//! lists of mappings are data (`log_history`) and are not read.

use std::collections::HashMap;

use super::collect::{Origin, RawItem};
use super::names::Contexts;
use super::spec::{line_of, yaml_key};
use super::value::{ParamValue, format_number, read_value};

/// A leaf of a config: its key path, value and text.
struct Leaf {
    path: Vec<String>,
    value: ParamValue,
    text: String,
}

/// Turns leaves into raw items whose contexts come from the keys above them.
fn items_from_leaves(
    leaves: Vec<Leaf>,
    lines: &HashMap<String, usize>,
    text: &str,
) -> Vec<RawItem> {
    let mut items: Vec<RawItem> = leaves
        .into_iter()
        .filter_map(|leaf| {
            let key = leaf.path.last()?.clone();
            let dotted = leaf.path.join(".");
            let contexts = leaf.path[..leaf.path.len() - 1]
                .iter()
                .fold(Contexts::NONE, |contexts, part| {
                    contexts.union(Contexts::from_name(part))
                });
            let line = lines
                .get(&dotted)
                .copied()
                .or_else(|| find_key_line(text, &key))
                .unwrap_or(1);
            let written = written_value(text, line).unwrap_or(leaf.text);
            Some(RawItem {
                key,
                display: dotted,
                contexts,
                value: leaf.value,
                text: written,
                line,
                origin: Origin::Config,
                note: None,
                canonical: None,
            })
        })
        .collect();
    items.sort_by_key(|item| item.line);
    items
}

/// The value as written after `key:` on a line (`3.0e-4` rather than the parser's `0.0003`),
/// without quotes, a trailing comma or a comment.
pub(crate) fn written_value(text: &str, line: usize) -> Option<String> {
    let source = text.lines().nth(line.checked_sub(1)?)?;
    let (_, rest) = source.split_once([':', '='])?;
    let rest = rest.split(" #").next().unwrap_or(rest);
    let value = rest.trim().trim_end_matches(',').trim();
    let value = value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value);
    (!value.is_empty() && !value.starts_with('{')).then(|| value.to_owned())
}

/// The first line where `key` appears as a key (`key:`, `"key":`, `key =`).
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let trimmed = line.trim_start().trim_start_matches("- ");
            let unquoted = trimmed.trim_start_matches(['"', '\'']);
            unquoted.starts_with(key)
                && unquoted[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .trim_start()
                    .starts_with([':', '='])
        })
        .map(|index| index + 1)
}

// ---------------------------------------------------------------- YAML

pub(crate) fn yaml_items(text: &str) -> Result<Vec<RawItem>, String> {
    use serde::Deserialize;
    let mut leaves = Vec::new();
    for document in yaml_serde::Deserializer::from_str(text) {
        let value = yaml_serde::Value::deserialize(document)
            .map_err(|error| format!("not valid YAML: {error}"))?;
        if let yaml_serde::Value::Mapping(mapping) = value {
            yaml_leaves(&mapping, &mut Vec::new(), &mut leaves);
        }
    }
    Ok(items_from_leaves(leaves, &yaml_key_lines(text), text))
}

fn yaml_leaves(mapping: &yaml_serde::Mapping, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
    for (key, value) in mapping {
        path.push(yaml_key(key));
        match unwrap_wandb(value) {
            yaml_serde::Value::Mapping(inner) => yaml_leaves(inner, path, out),
            leaf => {
                if let Some((value, text)) = yaml_scalar(leaf) {
                    out.push(Leaf {
                        path: path.clone(),
                        value,
                        text,
                    });
                }
            }
        }
        path.pop();
    }
}

/// W&B's `config.yaml` wraps each value as `{desc: ..., value: ...}`.
fn unwrap_wandb(value: &yaml_serde::Value) -> &yaml_serde::Value {
    if let yaml_serde::Value::Mapping(mapping) = value
        && mapping.contains_key("value")
        && mapping
            .keys()
            .all(|key| matches!(key.as_str(), Some("value" | "desc")))
        && let Some(inner) = mapping.get("value")
    {
        return inner;
    }
    value
}

fn yaml_scalar(value: &yaml_serde::Value) -> Option<(ParamValue, String)> {
    use yaml_serde::Value as Yaml;
    match value {
        Yaml::Bool(flag) => Some((ParamValue::Bool(*flag), flag.to_string())),
        Yaml::Number(number) => {
            let float = number.as_f64()?;
            Some((ParamValue::Number(float), number.to_string()))
        }
        Yaml::String(text) => Some((ParamValue::Text(text.clone()), text.clone())),
        Yaml::Sequence(items) => {
            let scalars: Option<Vec<(ParamValue, String)>> =
                items.iter().map(yaml_scalar_item).collect();
            let scalars = scalars?;
            let text = format!(
                "[{}]",
                scalars
                    .iter()
                    .map(|(_, text)| text.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Some((
                ParamValue::List(scalars.into_iter().map(|(value, _)| value).collect()),
                text,
            ))
        }
        Yaml::Tagged(tagged) => yaml_scalar(&tagged.value),
        Yaml::Null | Yaml::Mapping(_) => None,
    }
}

/// An item of a list: numbers (or numeric strings) only.
fn yaml_scalar_item(value: &yaml_serde::Value) -> Option<(ParamValue, String)> {
    match value {
        yaml_serde::Value::Number(number) => {
            Some((ParamValue::Number(number.as_f64()?), number.to_string()))
        }
        yaml_serde::Value::String(text) => {
            let number = read_value(text).ok()?.value.as_number()?;
            Some((ParamValue::Number(number), text.clone()))
        }
        _ => None,
    }
}

/// The line of each key path of a block-style YAML document (`optimizer.lr` → 4). Flow
/// mappings (`{lr: 1}`) and keys inside lists are not indexed; the first occurrence of a path
/// wins.
pub(crate) fn yaml_key_lines(text: &str) -> HashMap<String, usize> {
    let mut lines = HashMap::new();
    // (indent, key) of the mappings the current line is inside.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut in_block_scalar: Option<usize> = None;
    for (index, raw) in text.lines().enumerate() {
        let indent = raw.len() - raw.trim_start().len();
        let trimmed = raw.trim();
        if let Some(block_indent) = in_block_scalar {
            if trimmed.is_empty() || indent > block_indent {
                continue;
            }
            in_block_scalar = None;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with("---") || trimmed.starts_with("...") {
            stack.clear();
            continue;
        }
        if trimmed.starts_with('-') {
            // A list item: keys under it belong to a list, which is not read.
            while stack.last().is_some_and(|(open, _)| *open >= indent) {
                stack.pop();
            }
            stack.push((indent, "[]".to_owned()));
            continue;
        }
        let Some((key, rest)) = yaml_key_of(trimmed) else {
            continue;
        };
        while stack.last().is_some_and(|(open, _)| *open >= indent) {
            stack.pop();
        }
        let inside_list = stack.iter().any(|(_, key)| key == "[]");
        let mut path: Vec<&str> = stack.iter().map(|(_, key)| key.as_str()).collect();
        path.push(&key);
        if !inside_list {
            lines.entry(path.join(".")).or_insert(index + 1);
        }
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            in_block_scalar = Some(indent);
        }
        stack.push((indent, key));
    }
    lines
}

/// `key: rest` of a YAML line, with quotes around the key removed.
fn yaml_key_of(line: &str) -> Option<(String, &str)> {
    let (key, rest) = if let Some(quote @ ('"' | '\'')) = line.chars().next() {
        let end = line[1..].find(quote)? + 1;
        let rest = line[end + 1..].trim_start().strip_prefix(':')?;
        (line[1..end].to_owned(), rest)
    } else {
        let at = line
            .find(": ")
            .or_else(|| line.ends_with(':').then(|| line.len() - 1))?;
        (line[..at].trim().to_owned(), &line[at + 1..])
    };
    (!key.is_empty() && !key.contains(['{', '[', '#'])).then_some((key, rest))
}

// ---------------------------------------------------------------- JSON

pub(crate) fn json_items(text: &str) -> Result<Vec<RawItem>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        format!(
            "not valid JSON ({} at line {}, column {})",
            strip_position(&error.to_string()),
            error.line(),
            error.column()
        )
    })?;
    let mut leaves = Vec::new();
    if let serde_json::Value::Object(map) = &value {
        json_leaves(map, &mut Vec::new(), &mut leaves);
    }
    Ok(items_from_leaves(leaves, &json_key_lines(text), text))
}

/// serde_json's message without its own ` at line X column Y` suffix.
fn strip_position(message: &str) -> &str {
    message
        .find(" at line ")
        .map_or(message, |at| &message[..at])
}

fn json_leaves(
    map: &serde_json::Map<String, serde_json::Value>,
    path: &mut Vec<String>,
    out: &mut Vec<Leaf>,
) {
    for (key, value) in map {
        path.push(key.clone());
        match value {
            serde_json::Value::Object(inner) => {
                let wandb = inner.contains_key("value")
                    && inner.keys().all(|key| key == "value" || key == "desc");
                match (wandb, inner.get("value")) {
                    (true, Some(wrapped)) => push_json_leaf(wrapped, path, out),
                    _ => json_leaves(inner, path, out),
                }
            }
            other => push_json_leaf(other, path, out),
        }
        path.pop();
    }
}

fn push_json_leaf(value: &serde_json::Value, path: &[String], out: &mut Vec<Leaf>) {
    if let Some((value, text)) = json_scalar(value) {
        out.push(Leaf {
            path: path.to_vec(),
            value,
            text,
        });
    }
}

fn json_scalar(value: &serde_json::Value) -> Option<(ParamValue, String)> {
    match value {
        serde_json::Value::Bool(flag) => Some((ParamValue::Bool(*flag), flag.to_string())),
        serde_json::Value::Number(number) => {
            Some((ParamValue::Number(number.as_f64()?), number.to_string()))
        }
        serde_json::Value::String(text) => Some((ParamValue::Text(text.clone()), text.clone())),
        serde_json::Value::Array(items) => {
            let numbers: Option<Vec<f64>> = items.iter().map(serde_json::Value::as_f64).collect();
            let numbers = numbers?;
            let text = format!(
                "[{}]",
                numbers
                    .iter()
                    .map(|number| format_number(*number))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Some((
                ParamValue::List(numbers.into_iter().map(ParamValue::Number).collect()),
                text,
            ))
        }
        _ => None,
    }
}

/// The line of each key path of a JSON document, found by a small scanner that tracks object
/// nesting (keys inside arrays are not indexed).
fn json_key_lines(text: &str) -> HashMap<String, usize> {
    enum Frame {
        Object(Option<String>),
        Array,
    }
    let mut lines = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut last_string: Option<(String, usize)> = None;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '"' => {
                let start_line = line;
                let mut content = String::new();
                while let Some(inner) = chars.next() {
                    match inner {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                content.push(escaped);
                            }
                        }
                        '"' => break,
                        '\n' => {
                            line += 1;
                            content.push(inner);
                        }
                        other => content.push(other),
                    }
                }
                last_string = Some((content, start_line));
            }
            ':' => {
                if let (Some((key, key_line)), Some(Frame::Object(current))) =
                    (last_string.take(), stack.last_mut())
                {
                    *current = Some(key);
                    let in_array = stack.iter().any(|frame| matches!(frame, Frame::Array));
                    if !in_array {
                        let path: Vec<&str> = stack
                            .iter()
                            .filter_map(|frame| match frame {
                                Frame::Object(Some(key)) => Some(key.as_str()),
                                _ => None,
                            })
                            .collect();
                        lines.entry(path.join(".")).or_insert(key_line);
                    }
                }
            }
            '{' => stack.push(Frame::Object(None)),
            '[' => stack.push(Frame::Array),
            '}' | ']' => {
                stack.pop();
            }
            ',' => {
                if let Some(Frame::Object(current)) = stack.last_mut() {
                    *current = None;
                }
                last_string = None;
            }
            _ => {}
        }
    }
    lines
}

// ---------------------------------------------------------------- TOML

pub(crate) fn toml_items(text: &str) -> Result<Vec<RawItem>, String> {
    let table = toml::de::DeTable::parse(text).map_err(|error| {
        let line = error.span().map_or(String::new(), |span| {
            format!(" at line {}", line_of(text, span.start))
        });
        format!("not valid TOML: {}{line}", error.message().trim())
    })?;
    let mut items = Vec::new();
    toml_table_items(text, table.get_ref(), &mut Vec::new(), &mut items);
    items.sort_by_key(|item| item.line);
    Ok(items)
}

fn toml_table_items(
    text: &str,
    table: &toml::de::DeTable<'_>,
    path: &mut Vec<String>,
    out: &mut Vec<RawItem>,
) {
    use toml::de::DeValue;
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        let line = line_of(text, key.span().start);
        let scalar = match value.get_ref() {
            DeValue::Table(inner) => {
                toml_table_items(text, inner, path, out);
                None
            }
            DeValue::String(content) => Some(ParamValue::Text(content.to_string())),
            DeValue::Integer(integer) => {
                i64::from_str_radix(&integer.as_str().replace('_', ""), integer.radix())
                    .ok()
                    .map(|number| ParamValue::Number(number as f64))
            }
            DeValue::Float(float) => float
                .as_str()
                .replace('_', "")
                .parse()
                .ok()
                .map(ParamValue::Number),
            DeValue::Boolean(flag) => Some(ParamValue::Bool(*flag)),
            DeValue::Array(items) => items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::Integer(integer) => integer
                        .as_str()
                        .replace('_', "")
                        .parse::<f64>()
                        .ok()
                        .map(ParamValue::Number),
                    DeValue::Float(float) => float
                        .as_str()
                        .replace('_', "")
                        .parse()
                        .ok()
                        .map(ParamValue::Number),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(ParamValue::List),
            DeValue::Datetime(_) => None,
        };
        if let Some(value) = scalar {
            let span = value_span_text(text, value_text_range(text, key.span().end));
            out.push(RawItem {
                key: key.get_ref().to_string(),
                display: path.join("."),
                contexts: path[..path.len() - 1]
                    .iter()
                    .fold(Contexts::NONE, |contexts, part| {
                        contexts.union(Contexts::from_name(part))
                    }),
                text: span.unwrap_or_else(|| value.to_string()),
                value,
                line,
                origin: Origin::Config,
                note: None,
                canonical: None,
            });
        }
        path.pop();
    }
}

/// The rest of the line after `key =`, as written.
fn value_text_range(text: &str, key_end: usize) -> Option<(usize, usize)> {
    let rest = text.get(key_end..)?;
    let equals = rest.find('=')?;
    let start = key_end + equals + 1;
    let end = text[start..].find('\n').map_or(text.len(), |at| start + at);
    Some((start, end))
}

fn value_span_text(text: &str, range: Option<(usize, usize)>) -> Option<String> {
    let (start, end) = range?;
    let value = text.get(start..end)?;
    let value = value.split(" #").next().unwrap_or(value).trim();
    (!value.is_empty()).then(|| value.to_owned())
}

// ---------------------------------------------------------------- gin

/// Gin bindings: `train.learning_rate = 3e-4`, `AdamW.weight_decay = 0.1`,
/// `scope/Trainer.batch_size = 256`, macros (`LR = 0.1`, used as `%LR`), values over several
/// lines inside brackets. References (`@torch.optim.AdamW`) are read as names.
pub(crate) fn gin_items(text: &str) -> Vec<RawItem> {
    let mut macros: HashMap<String, ParamValue> = HashMap::new();
    let mut items = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, raw)) = lines.next() {
        let line = strip_gin_comment(raw).trim().to_owned();
        if line.is_empty()
            || line.starts_with("import ")
            || line.starts_with("include ")
            || line.starts_with("from ")
        {
            continue;
        }
        let Some((target, value)) = line.split_once('=') else {
            continue;
        };
        let mut value = value.trim().to_owned();
        // A bracketed value may continue on the next lines.
        while bracket_depth(&value) > 0 {
            let Some((_, next)) = lines.next() else {
                break;
            };
            value.push(' ');
            value.push_str(strip_gin_comment(next).trim());
        }
        let target = target.trim();
        let parsed = gin_value(&value, &macros);
        let Some(parsed) = parsed else {
            continue;
        };
        let (configurable, key) = match target.rsplit_once('.') {
            Some((configurable, key)) => (configurable, key),
            None => {
                macros.insert(target.to_owned(), parsed.clone());
                ("", target)
            }
        };
        let configurable = configurable.rsplit('/').next().unwrap_or(configurable);
        items.push(RawItem {
            key: key.to_owned(),
            display: target.to_owned(),
            contexts: Contexts::from_name(configurable),
            value: parsed,
            text: value.clone(),
            line: index + 1,
            origin: Origin::GinBinding,
            note: None,
            canonical: None,
        });
    }
    items
}

fn strip_gin_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return &line[..at],
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            _ => {}
        }
    }
    line
}

fn bracket_depth(text: &str) -> i32 {
    text.chars().fold(0, |depth, c| match c {
        '(' | '[' | '{' => depth + 1,
        ')' | ']' | '}' => depth - 1,
        _ => depth,
    })
}

fn gin_value(text: &str, macros: &HashMap<String, ParamValue>) -> Option<ParamValue> {
    let text = text.trim();
    if let Some(name) = text.strip_prefix('%') {
        return macros.get(name).cloned();
    }
    if let Some(reference) = text.strip_prefix('@') {
        return Some(ParamValue::Text(
            reference.trim_end_matches("()").to_owned(),
        ));
    }
    if text == "None" {
        return None;
    }
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return Some(ParamValue::Text(text[1..text.len() - 1].to_owned()));
        }
    }
    match text {
        "True" => return Some(ParamValue::Bool(true)),
        "False" => return Some(ParamValue::Bool(false)),
        _ => {}
    }
    let read = read_value(text).ok()?;
    match read.value {
        ParamValue::Bool(_) => None,
        value => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_lines_follow_indentation() {
        let text = "model:\n  dropout: 0.1\noptimizer:\n  # peak\n  lr: 3e-4\n  betas: [0.9, 0.95]\nlr: 1\nlist:\n  - lr: 5\n";
        let lines = yaml_key_lines(text);
        assert_eq!(lines.get("model.dropout"), Some(&2));
        assert_eq!(lines.get("optimizer.lr"), Some(&5));
        assert_eq!(lines.get("optimizer.betas"), Some(&6));
        assert_eq!(lines.get("lr"), Some(&7));
        assert_eq!(lines.get("list.lr"), None);
    }

    #[test]
    fn json_lines_follow_nesting() {
        let text = "{\n  \"model\": {\"lr\": 2},\n  \"lr\": 1,\n  \"log\": [{\"lr\": 9}]\n}\n";
        let lines = json_key_lines(text);
        assert_eq!(lines.get("model.lr"), Some(&2));
        assert_eq!(lines.get("lr"), Some(&3));
        assert_eq!(lines.get("log.lr"), None);
        let items = json_items(text).expect("valid");
        let read: Vec<(String, usize)> = items
            .iter()
            .map(|item| (item.display.clone(), item.line))
            .collect();
        assert_eq!(read, [("model.lr".to_owned(), 2), ("lr".to_owned(), 3)]);
    }

    #[test]
    fn toml_items_keep_lines_and_text() {
        let items = toml_items("[optim]\nlr = 3e-4  # peak\nbetas = [0.9, 0.95]\n").expect("valid");
        let read: Vec<(String, usize, String)> = items
            .iter()
            .map(|item| (item.display.clone(), item.line, item.text.clone()))
            .collect();
        assert_eq!(
            read,
            [
                ("optim.lr".to_owned(), 2, "3e-4".to_owned()),
                ("optim.betas".to_owned(), 3, "[0.9, 0.95]".to_owned()),
            ]
        );
        assert!(toml_items("lr = = 3").is_err());
    }

    #[test]
    fn gin_bindings_macros_and_references() {
        let items = gin_items(
            "import foo\nLR = 0.1\ntrain.learning_rate = %LR  # peak\nAdamW.betas = (0.9,\n    0.95)\ntrain.optimizer = @torch.optim.AdamW\n",
        );
        let read: Vec<(String, ParamValue, usize)> = items
            .iter()
            .map(|item| (item.display.clone(), item.value.clone(), item.line))
            .collect();
        assert_eq!(
            read,
            [
                ("LR".to_owned(), ParamValue::Number(0.1), 2),
                ("train.learning_rate".to_owned(), ParamValue::Number(0.1), 3),
                (
                    "AdamW.betas".to_owned(),
                    ParamValue::List(vec![ParamValue::Number(0.9), ParamValue::Number(0.95)]),
                    4
                ),
                (
                    "train.optimizer".to_owned(),
                    ParamValue::Text("torch.optim.AdamW".to_owned()),
                    6
                ),
            ]
        );
    }
}
