//! A small JSON reader that also takes the bare `NaN`, `Infinity` and
//! `-Infinity` tokens Python's `json.dumps` writes for non-finite floats.
//!
//! Strict parsers (serde_json included) refuse those tokens, and a diverged
//! run's `trainer_state.json` or `result.json` is exactly where they occur.
//! Rewriting the tokens before a strict parse would have to track string
//! boundaries anyway, and could still not represent NaN in a
//! `serde_json::Value`, so the readers use this tree instead. Numbers are parsed
//! with Rust's correctly rounded float parser, so `repr(float)` text round-trips.

use std::fmt;

/// A parsed JSON value. Object members keep file order (and duplicates).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// An integer literal that fits in i64.
    Int(i64),
    /// Any other number, including NaN and ±infinity.
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The value as a float, for numbers only.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match *self {
            Json::Int(i) => Some(i as f64),
            Json::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The first member named `key`, for objects.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of value this is, for messages ("an array").
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Int(_) | Json::Float(_) => "a number",
            Json::Str(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// The value as `serde_json`, for `Run::config`. Non-finite floats, which
    /// `serde_json` cannot hold, become the strings Python would print.
    pub(crate) fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::from(*i),
            Json::Float(f) => float_to_serde(*f),
            Json::Str(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_serde).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_serde()))
                    .collect(),
            ),
        }
    }
}

/// A float as `serde_json`, with NaN and infinities spelled as Python spells them.
pub(crate) fn float_to_serde(value: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(value) {
        Some(number) => serde_json::Value::Number(number),
        None if value.is_nan() => serde_json::Value::String("NaN".into()),
        None if value > 0.0 => serde_json::Value::String("Infinity".into()),
        None => serde_json::Value::String("-Infinity".into()),
    }
}

/// Why a document is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// Byte offset of the problem in the parsed text.
    pub offset: usize,
    pub reason: &'static str,
    /// True when the text ended in the middle of a value: the mark of a file
    /// cut off while it was being written.
    pub at_end: bool,
}

impl JsonError {
    /// 1-based line and column (in characters) of the error in `text`.
    pub(crate) fn line_column(&self, text: &str) -> (usize, usize) {
        let before = &text[..floor_char_boundary(text, self.offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Parses one complete JSON document (surrounding whitespace allowed).
pub(crate) fn parse(text: &str) -> Result<Json, JsonError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
    };
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            reason,
            at_end: self.pos >= self.bytes.len(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat_literal(&mut self, literal: &str) -> bool {
        if self.bytes[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') if self.eat_literal("true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat_literal("false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat_literal("null") => Ok(Json::Null),
            Some(b'N') if self.eat_literal("NaN") => Ok(Json::Float(f64::NAN)),
            Some(b'I') if self.eat_literal("Infinity") => Ok(Json::Float(f64::INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.error("unexpected end of input")),
                Some(_) => return Err(self.error("expected a quoted key")),
            }
            let key = self.string()?;
            self.skip_whitespace();
            match self.peek() {
                Some(b':') => self.pos += 1,
                None => return Err(self.error("unexpected end of input")),
                Some(_) => return Err(self.error("expected ':' after a key")),
            }
            self.skip_whitespace();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                None => return Err(self.error("unexpected end of input")),
                Some(_) => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                None => return Err(self.error("unexpected end of input")),
                Some(_) => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            if self.eat_literal("Infinity") {
                return Ok(Json::Float(f64::NEG_INFINITY));
            }
        }
        let digits_start = self.pos;
        self.skip_digits();
        if self.pos == digits_start {
            return Err(self.error("expected a digit"));
        }
        let mut integral = true;
        if self.peek() == Some(b'.') {
            integral = false;
            self.pos += 1;
            let fraction_start = self.pos;
            self.skip_digits();
            if self.pos == fraction_start {
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integral = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            let exponent_start = self.pos;
            self.skip_digits();
            if self.pos == exponent_start {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        let literal = &self.text[start..self.pos];
        if integral && let Ok(int) = literal.parse::<i64>() {
            return Ok(Json::Int(int));
        }
        literal
            .parse::<f64>()
            .map(Json::Float)
            .map_err(|_| JsonError {
                offset: start,
                reason: "malformed number",
                at_end: false,
            })
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters up to the next quote or escape.
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.error("unexpected end of input inside a string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(_) => {
                    self.pos += 1; // backslash
                    self.escape(&mut out)?;
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let Some(code) = self.peek() else {
            return Err(self.error("unexpected end of input inside a string"));
        };
        self.pos += 1;
        let ch = match code {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => {
                self.pos -= 1;
                return Err(self.error("unknown escape in a string"));
            }
        };
        out.push(ch);
        Ok(())
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return Ok(char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        // A high surrogate should be followed by `\uDC00`..`\uDFFF`; a lone one
        // becomes U+FFFD, as Python's decoder would leave it unusable anyway.
        if self.bytes[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            self.pos = save;
        }
        Ok(char::REPLACEMENT_CHARACTER)
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            self.pos = self.bytes.len();
            return Err(self.error("unexpected end of input inside a string"));
        };
        let mut value = 0;
        for &digit in digits {
            let Some(nibble) = (digit as char).to_digit(16) else {
                return Err(self.error("bad \\u escape"));
            };
            value = value * 16 + nibble;
        }
        self.pos += 4;
        Ok(value)
    }
}

/// Calls `emit(key, value)` for every number in an object, nested objects
/// flattened with `separator` (`{"info": {"kl": 0.1}}` gives `info/kl`).
/// Strings, booleans, nulls and arrays are not numbers and are skipped.
pub(crate) fn for_each_number(
    value: &Json,
    separator: char,
    prefix: &mut String,
    emit: &mut dyn FnMut(&str, f64),
) {
    let Json::Object(members) = value else { return };
    for (key, member) in members {
        let restore = prefix.len();
        if !prefix.is_empty() {
            prefix.push(separator);
        }
        prefix.push_str(key);
        match member {
            Json::Object(_) => for_each_number(member, separator, prefix, emit),
            other => {
                if let Some(number) = other.as_f64() {
                    emit(prefix, number);
                }
            }
        }
        prefix.truncate(restore);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_python_non_finite_tokens() {
        let value = parse(r#"{"a": NaN, "b": Infinity, "c": -Infinity, "d": [1, -2.5e3]}"#)
            .expect("valid with Python's extensions");
        assert!(
            value
                .get("a")
                .and_then(Json::as_f64)
                .is_some_and(f64::is_nan)
        );
        assert_eq!(value.get("b"), Some(&Json::Float(f64::INFINITY)));
        assert_eq!(value.get("c"), Some(&Json::Float(f64::NEG_INFINITY)));
        assert_eq!(
            value.get("d"),
            Some(&Json::Array(vec![Json::Int(1), Json::Float(-2500.0)]))
        );
    }

    #[test]
    fn tokens_inside_strings_stay_text() {
        let value =
            parse(r#"{"note": "loss went NaN, \"Infinity\" \u00e9\ud83d\ude00"}"#).expect("valid");
        assert_eq!(
            value.get("note"),
            Some(&Json::Str("loss went NaN, \"Infinity\" é😀".into()))
        );
    }

    #[test]
    fn keeps_full_float_precision() {
        let value = parse("[0.38461538461538464, 1795528681.1120598, 12345678901234567890]")
            .expect("valid");
        assert_eq!(
            value,
            Json::Array(vec![
                Json::Float(0.38461538461538464),
                Json::Float(1795528681.1120598),
                Json::Float(12345678901234567890.0),
            ])
        );
    }

    #[test]
    fn reports_where_and_whether_the_text_was_cut() {
        let text = "{\n  \"a\": 1,\n  \"b\": [1, 2";
        let error = parse(text).expect_err("truncated");
        assert!(error.at_end);
        assert_eq!(error.line_column(text), (3, 13));

        let error = parse(r#"{"a" 1}"#).expect_err("missing colon");
        assert!(!error.at_end);
        assert_eq!(error.reason, "expected ':' after a key");
        assert_eq!(
            parse("{} x").expect_err("trailing").reason,
            "unexpected text after the JSON value"
        );
        assert_eq!(
            parse("nul").expect_err("bad literal").reason,
            "expected a value"
        );
    }

    #[test]
    fn refuses_absurd_nesting_without_overflowing() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse(&deep).expect_err("too deep").reason,
            "nested too deeply"
        );
    }

    #[test]
    fn flattens_nested_numbers() {
        let value =
            parse(r#"{"info": {"kl": 0.1, "name": "x", "deep": {"v": 2}}, "r": NaN, "l": [1]}"#)
                .expect("valid");
        let mut seen = Vec::new();
        for_each_number(&value, '/', &mut String::new(), &mut |k, v| {
            seen.push((k.to_string(), v))
        });
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], ("info/kl".to_string(), 0.1));
        assert_eq!(seen[1], ("info/deep/v".to_string(), 2.0));
        assert_eq!(seen[2].0, "r");
        assert!(seen[2].1.is_nan());
    }

    #[test]
    fn converts_to_serde_with_non_finite_as_text() {
        let value = parse(r#"{"lr": 0.1, "n": 3, "bad": NaN, "tags": ["a"]}"#).expect("valid");
        assert_eq!(
            value.to_serde(),
            serde_json::json!({"lr": 0.1, "n": 3, "bad": "NaN", "tags": ["a"]})
        );
    }
}
