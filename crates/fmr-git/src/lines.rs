//! Named literal values on one line of a Python, YAML, JSON, TOML or INI file: assignments
//! (`lr = 3e-4`), keyword arguments (`batch_size=64`), dict entries (`"warmup_steps": 0`) and
//! config keys (`lr: 0.001`). A name is qualified by what encloses it: the assignment a
//! bracket belongs to on the same line (`opt = AdamW(p, lr=3e-4)` names `opt.lr`), and, from
//! the whole file, the keys, sections and brackets the line is indented under.

/// The kinds of file whose constants are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    Python,
    Yaml,
    Json,
    Toml,
    Ini,
}

/// Pathspecs for `git diff` that select the files [`Language::of`] knows.
pub(crate) const PATHSPECS: &[&str] = &[
    "*.py", "*.pyi", "*.yaml", "*.yml", "*.json", "*.toml", "*.cfg", "*.ini",
];

impl Language {
    /// The language of `path`, by its extension.
    pub(crate) fn of(path: &str) -> Option<Self> {
        let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match extension.as_str() {
            "py" | "pyi" => Self::Python,
            "yaml" | "yml" => Self::Yaml,
            "json" => Self::Json,
            "toml" => Self::Toml,
            "cfg" | "ini" => Self::Ini,
            _ => return None,
        })
    }
}

/// A name bound to a literal value on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    /// Qualified within the line only (see [`enclosing_name`] for the rest).
    pub(crate) name: String,
    /// The value's text as written (`3e-4`, `(0.9, 0.999)`, `"adamw"`).
    pub(crate) value: String,
}

/// The literal bindings on `line`.
pub(crate) fn bindings(language: Language, line: &str) -> Vec<Binding> {
    match language {
        Language::Python => python_bindings(line).0,
        Language::Yaml => yaml_binding(line).into_iter().collect(),
        Language::Json => json_binding(line).into_iter().collect(),
        Language::Toml => toml_binding(line).into_iter().collect(),
        Language::Ini => ini_binding(line).into_iter().collect(),
    }
}

/// The names that enclose line `index` (0-based) of `lines`, outermost first, joined by `.`:
/// the YAML or JSON keys it is indented under, its TOML or INI section, or the Python
/// brackets and classes it sits in (`optimizer = dict(` ... `lr=0.02` gives `optimizer`).
pub(crate) fn enclosing_name(language: Language, lines: &[&str], index: usize) -> String {
    let above = &lines[..index.min(lines.len())];
    match language {
        Language::Toml | Language::Ini => above
            .iter()
            .rev()
            .find_map(|line| section_header(line))
            .unwrap_or_default(),
        Language::Python | Language::Yaml | Language::Json => {
            let Some(line) = lines.get(index) else {
                return String::new();
            };
            let mut current = indentation(line);
            let mut names: Vec<String> = Vec::new();
            for line in above.iter().rev() {
                if current == 0 {
                    break;
                }
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
                    continue;
                }
                let indent = indentation(line);
                if indent >= current {
                    continue;
                }
                current = indent;
                let name = match language {
                    Language::Yaml => yaml_parent_key(line),
                    Language::Json => json_parent_key(line),
                    _ => python_parent_name(line),
                };
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    names.push(name);
                }
            }
            names.reverse();
            names.join(".")
        }
    }
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

// ------------------------------------------------------------------------------------ Python

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Number,
    /// A string literal; `false` for an f-string with a replacement field.
    Str(bool),
    Operator,
    Open,
    Close,
    Comma,
    Colon,
    Semicolon,
    Dot,
    Assign,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Python tokens of one line, up to a comment or an unterminated string.
fn tokenize(line: &str) -> Vec<Token> {
    let bytes = line.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at];
        let start = at;
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\x0c' => {
                at += 1;
                continue;
            }
            b'#' | b'\\' => break,
            b'\'' | b'"' => match scan_string(bytes, at) {
                Some(end) => {
                    at = end;
                    Kind::Str(true)
                }
                None => break,
            },
            b'0'..=b'9' => {
                at = scan_number(bytes, at);
                Kind::Number
            }
            b'.' if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) => {
                at = scan_number(bytes, at);
                Kind::Number
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                while at < bytes.len()
                    && (bytes[at] == b'_' || bytes[at].is_ascii_alphanumeric() || bytes[at] >= 0x80)
                {
                    at += 1;
                }
                let word = line[start..at].to_ascii_lowercase();
                let prefix = matches!(
                    word.as_str(),
                    "r" | "b" | "u" | "f" | "rb" | "br" | "fr" | "rf"
                );
                if prefix && matches!(bytes.get(at), Some(b'\'' | b'"')) {
                    let formatted = word.contains('f');
                    match scan_string(bytes, at) {
                        Some(end) => {
                            at = end;
                            Kind::Str(!(formatted && line[start..at].contains('{')))
                        }
                        None => break,
                    }
                } else {
                    Kind::Name
                }
            }
            b'(' | b'[' | b'{' => {
                at += 1;
                Kind::Open
            }
            b')' | b']' | b'}' => {
                at += 1;
                Kind::Close
            }
            b',' => {
                at += 1;
                Kind::Comma
            }
            b';' => {
                at += 1;
                Kind::Semicolon
            }
            b'.' => {
                at += 1;
                Kind::Dot
            }
            b':' if bytes.get(at + 1) == Some(&b'=') => {
                at += 2;
                Kind::Operator
            }
            b':' => {
                at += 1;
                Kind::Colon
            }
            b'=' if bytes.get(at + 1) == Some(&b'=') => {
                at += 2;
                Kind::Operator
            }
            b'=' => {
                at += 1;
                Kind::Assign
            }
            _ => {
                // Operators: a run of operator characters, an augmented `+=` included.
                at += 1;
                while at < bytes.len() && b"+-*/%<>!&|^~@=".contains(&bytes[at]) {
                    at += 1;
                }
                Kind::Operator
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: at,
        });
    }
    tokens
}

/// The end of the string literal whose opening quote is at `at`, or `None` when it does not
/// end on this line. A backslash escapes the next byte, in raw strings too (a raw string cannot
/// end in an odd backslash either).
fn scan_string(bytes: &[u8], at: usize) -> Option<usize> {
    let quote = bytes[at];
    let triple = bytes.get(at + 1) == Some(&quote) && bytes.get(at + 2) == Some(&quote);
    let mut i = at + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == quote => {
                if !triple {
                    return Some(i + 1);
                }
                if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                    return Some(i + 3);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn scan_number(bytes: &[u8], mut at: usize) -> usize {
    let hex = bytes[at] == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X'));
    while at < bytes.len() {
        let c = bytes[at];
        let exponent_sign =
            (c == b'+' || c == b'-') && !hex && at > 0 && matches!(bytes[at - 1], b'e' | b'E');
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign {
            at += 1;
        } else {
            break;
        }
    }
    at
}

fn text(line: &str, token: &Token) -> String {
    line[token.start..token.end].to_owned()
}

/// The literal bindings on a Python line, and the names of the brackets left open at its end
/// (what a continuation line below is inside).
fn python_bindings(line: &str) -> (Vec<Binding>, Vec<String>) {
    let tokens = tokenize(line);
    let mut found = Vec::new();
    // The name each open bracket belongs to, if any.
    let mut brackets: Vec<Option<String>> = Vec::new();
    // The name whose value is being read, until its first bracket opens or it ends.
    let mut pending: Option<String> = None;
    let mut statement_start = 0;
    // A line that starts with `name=` continues a call's keyword arguments (`    lr=1e-3,`):
    // its later `name=` are keywords too, not a tuple assignment.
    let keyword_line = matches!(
        (tokens.first(), tokens.get(1)),
        (Some(a), Some(b)) if a.kind == Kind::Name && b.kind == Kind::Assign
    );
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Assign => {
                let target = if brackets.is_empty() {
                    statement_target(line, &tokens[statement_start..i])
                } else {
                    None
                }
                .or_else(|| {
                    (keyword_line || !brackets.is_empty())
                        .then(|| keyword_name(line, &tokens, i))
                        .flatten()
                });
                pending = None;
                if let Some(name) = target {
                    let name = qualify(&brackets, &name);
                    if let Some(value) = literal_value(line, &tokens[i + 1..]) {
                        found.push(Binding {
                            name: name.clone(),
                            value,
                        });
                    }
                    pending = Some(name);
                }
            }
            Kind::Colon => {
                let key = (i > 0 && brackets.last().is_some())
                    .then(|| &tokens[i - 1])
                    .filter(|t| matches!(t.kind, Kind::Str(true)))
                    .filter(|_| i < 2 || matches!(tokens[i - 2].kind, Kind::Open | Kind::Comma))
                    .map(|t| unquote(&text(line, t)));
                pending = None;
                if let Some(key) = key {
                    let name = qualify(&brackets, &key);
                    if let Some(value) = literal_value(line, &tokens[i + 1..]) {
                        found.push(Binding {
                            name: name.clone(),
                            value,
                        });
                    }
                    pending = Some(name);
                }
            }
            Kind::Open => brackets.push(pending.take()),
            Kind::Close => {
                brackets.pop();
                pending = None;
            }
            Kind::Semicolon => {
                pending = None;
                if brackets.is_empty() {
                    statement_start = i + 1;
                }
            }
            Kind::Name if i > 0 && &line[tokens[i - 1].start..tokens[i - 1].end] == "def" => {
                pending = Some(text(line, token));
            }
            Kind::Name | Kind::Dot => {}
            _ => pending = None,
        }
    }
    let open = brackets.into_iter().flatten().collect();
    (found, open)
}

/// `lr`, `self.lr`, `cfg["lr"]` or `LR: float` before a statement's `=`.
fn statement_target(line: &str, tokens: &[Token]) -> Option<String> {
    let end = tokens
        .iter()
        .position(|t| t.kind == Kind::Colon)
        .unwrap_or(tokens.len());
    let target = &tokens[..end];
    let first = target.first()?;
    let last = target.last()?;
    let simple = first.kind == Kind::Name
        && target.iter().all(|t| {
            matches!(
                t.kind,
                Kind::Name | Kind::Dot | Kind::Number | Kind::Str(true)
            ) || (matches!(t.kind, Kind::Open | Kind::Close)
                && matches!(&line[t.start..t.end], "[" | "]"))
        });
    let name: String = line[first.start..last.end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (simple && !matches!(name.as_str(), "lambda" | "return" | "yield")).then_some(name)
}

/// The keyword of `name=` at `tokens[assign]`, when it follows `(` or `,` or starts the line.
fn keyword_name(line: &str, tokens: &[Token], assign: usize) -> Option<String> {
    let name = tokens.get(assign.checked_sub(1)?)?;
    if name.kind != Kind::Name {
        return None;
    }
    let after_separator = assign < 2
        || matches!(
            (
                tokens[assign - 2].kind,
                &line[tokens[assign - 2].start..tokens[assign - 2].end]
            ),
            (Kind::Comma, _) | (Kind::Open, "(")
        );
    after_separator.then(|| text(line, name))
}

fn qualify(brackets: &[Option<String>], name: &str) -> String {
    brackets
        .iter()
        .flatten()
        .map(String::as_str)
        .chain([name])
        .collect::<Vec<_>>()
        .join(".")
}

/// The text of the value at the start of `tokens` (up to a `,`, `;` or closing bracket at its
/// own depth), when it is a literal: numbers, strings, `True`/`False`/`None`, arithmetic on
/// them, and tuples, lists and sets of them. Dicts are left to their entries.
fn literal_value(line: &str, tokens: &[Token]) -> Option<String> {
    let mut depth = 0usize;
    let mut end = tokens.len();
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close if depth == 0 => {
                end = i;
                break;
            }
            Kind::Close => depth -= 1,
            Kind::Comma | Kind::Semicolon | Kind::Assign | Kind::Colon if depth == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let value = &tokens[..end];
    if depth != 0 || value.is_empty() {
        return None;
    }
    let mut constants = 0;
    for token in value {
        let word = &line[token.start..token.end];
        let allowed = match token.kind {
            Kind::Number | Kind::Str(true) => {
                constants += 1;
                true
            }
            Kind::Name if matches!(word, "True" | "False" | "None") => {
                constants += 1;
                true
            }
            Kind::Operator => word.chars().all(|c| "+-*/%".contains(c)),
            Kind::Open | Kind::Close | Kind::Comma => true,
            _ => false,
        };
        if !allowed {
            return None;
        }
    }
    let (first, last) = (value.first()?, value.last()?);
    (constants > 0).then(|| line[first.start..last.end].trim().to_owned())
}

/// The name a Python line gives to what is indented under it: the brackets it leaves open
/// (`optimizer = dict(` gives `optimizer`), or the class it starts (`class Config:`).
fn python_parent_name(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if let Some(rest) = trimmed.strip_prefix("class ") {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        return Some(name);
    }
    let (_, open) = python_bindings(line);
    Some(open.join("."))
}

// ------------------------------------------------------------------------- config formats

/// The text of `line` before a comment that starts with one of `markers` preceded by
/// whitespace (or at the start), outside quotes.
fn strip_comment<'a>(line: &'a str, markers: &[char]) -> &'a str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if markers.contains(&c) && previous.is_whitespace() => return &line[..i],
            None => {}
        }
        previous = c;
    }
    line
}

/// A key at the start of `text`: quoted (`"a b"`, `'x'`) or bare up to one of `separators`.
/// Returns the key and the text after the separator.
fn leading_key<'a>(text: &'a str, separators: &[char]) -> Option<(String, &'a str)> {
    let text = text.trim_start();
    let (key, rest) = if text.starts_with(['"', '\'']) {
        let end = scan_string(text.as_bytes(), 0)?;
        if end > text.len() || !text.is_char_boundary(end) {
            return None;
        }
        (unquote(&text[..end]), text[end..].trim_start())
    } else {
        let end = text.find(|c: char| separators.contains(&c))?;
        (text[..end].trim().to_owned(), &text[end..])
    };
    let rest = rest.strip_prefix(|c: char| separators.contains(&c))?;
    if key.is_empty() {
        return None;
    }
    let plain = !key.starts_with(['[', '{', '!', '&', '*', '?', '|', '>', '%', '@', '`']);
    plain.then_some((key, rest))
}

fn unquote(text: &str) -> String {
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    for quote in ["\"\"\"", "'''", "\"", "'"] {
        if let Some(inner) = trimmed
            .strip_prefix(quote)
            .and_then(|t| t.strip_suffix(quote))
        {
            return inner.to_owned();
        }
    }
    text.to_owned()
}

/// Whether every bracket in `value` is closed again (outside quotes).
fn balanced(value: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in value.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{' | '(') => depth += 1,
            (None, ']' | '}' | ')') => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0 && quote.is_none()
}

/// `key: value`, `- key: value`, `"key": value` in YAML. A key with no value (a parent) or a
/// block scalar (`|`, `>`) is not a binding.
fn yaml_binding(line: &str) -> Option<Binding> {
    let content = strip_comment(line, &['#']).trim();
    if content.starts_with("---") || content.starts_with("...") {
        return None;
    }
    let content = content.trim_start_matches(['-', ' ']).trim_start();
    let (key, rest) = yaml_key(content)?;
    let mut value = rest.trim();
    // An anchor or a tag before the value does not change it.
    while value.starts_with('&') || value.starts_with('!') {
        value = value.split_once(' ').map_or("", |(_, v)| v.trim_start());
    }
    if value.is_empty() || value.starts_with(['|', '>']) || !balanced(value) {
        return None;
    }
    Some(Binding {
        name: key,
        value: value.to_owned(),
    })
}

/// A YAML key: its separator is a `:` followed by a space or the end of the line.
fn yaml_key(content: &str) -> Option<(String, &str)> {
    if content.starts_with(['"', '\'']) {
        return leading_key(content, &[':']);
    }
    let colon = content
        .match_indices(':')
        .map(|(i, _)| i)
        .find(|&i| content[i + 1..].is_empty() || content[i + 1..].starts_with([' ', '\t']))?;
    let key = content[..colon].trim();
    if key.is_empty() || key.starts_with(['[', '{', '!', '&', '*', '?', '|', '>', '%', '@', '`']) {
        return None;
    }
    Some((key.to_owned(), &content[colon + 1..]))
}

fn yaml_parent_key(line: &str) -> Option<String> {
    let content = strip_comment(line, &['#']).trim();
    let content = content.trim_start_matches(['-', ' ']).trim_start();
    let (key, rest) = yaml_key(content)?;
    let rest = rest.trim();
    let anchors_only = rest
        .split_whitespace()
        .all(|w| w.starts_with('&') || w.starts_with('!'));
    anchors_only.then_some(key)
}

/// `"key": value,` in JSON; a key opening an object or array is a parent, not a binding.
fn json_binding(line: &str) -> Option<Binding> {
    let content = line.trim().trim_end_matches(',').trim_end();
    if !content.starts_with('"') {
        return None;
    }
    let (key, rest) = leading_key(content, &[':'])?;
    let value = rest.trim();
    if value.is_empty() || !balanced(value) {
        return None;
    }
    Some(Binding {
        name: key,
        value: value.to_owned(),
    })
}

fn json_parent_key(line: &str) -> Option<String> {
    let content = line.trim();
    if !content.starts_with('"') {
        return None;
    }
    let (key, rest) = leading_key(content, &[':'])?;
    matches!(rest.trim(), "{" | "[").then_some(key)
}

/// `key = value` in TOML, with a `#` comment after it.
fn toml_binding(line: &str) -> Option<Binding> {
    key_value(strip_comment(line, &['#']).trim(), &['='])
}

/// `key = value` or `key: value` in an INI file (`setup.cfg`, `tox.ini`). Indented lines
/// continue the value above, and comments take whole lines.
fn ini_binding(line: &str) -> Option<Binding> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    key_value(line.trim(), &['=', ':'])
}

/// `key <separator> value`, the first separator ending the key.
fn key_value(content: &str, separators: &[char]) -> Option<Binding> {
    if content.is_empty() || content.starts_with(['#', ';', '[']) {
        return None;
    }
    let (key, rest) = leading_key(content, separators)?;
    let value = rest.trim();
    if value.is_empty() || value.starts_with("\"\"\"") || value.starts_with("'''") {
        return None;
    }
    if value.starts_with(['[', '{']) && !balanced(value) {
        return None;
    }
    Some(Binding {
        name: key,
        value: value.to_owned(),
    })
}

/// `[section]` or `[[table]]`: the section's name.
fn section_header(line: &str) -> Option<String> {
    let trimmed = line.trim();
    let inner = trimmed.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(inner);
    let inner = inner.trim();
    (!inner.is_empty() && !inner.contains(['[', ']', '=', ','])).then(|| inner.to_owned())
}

/// Whether two value texts say the same thing: equal outside whitespace and quote style, or
/// the same number written differently (`1e-3`, `0.001`).
pub(crate) fn same_value(a: &str, b: &str) -> bool {
    let (a, b) = (canonical(a), canonical(b));
    if a == b {
        return true;
    }
    match (number(&a), number(&b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn canonical(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut quote: Option<char> = None;
    for c in value.trim().chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push('"');
            }
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push('"');
            }
            None if c.is_whitespace() => {}
            None => out.push(c),
        }
    }
    out
}

fn number(value: &str) -> Option<f64> {
    let cleaned = value.replace('_', "");
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(language: Language, line: &str) -> Vec<(String, String)> {
        bindings(language, line)
            .into_iter()
            .map(|b| (b.name, b.value))
            .collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn python_assignments_and_keywords() {
        use Language::Python;
        assert_eq!(pairs(Python, "lr = 3e-4"), owned(&[("lr", "3e-4")]));
        assert_eq!(
            pairs(Python, "    LR: float = 1e-3  # tuned"),
            owned(&[("LR", "1e-3")])
        );
        assert_eq!(
            pairs(
                Python,
                "loader = DataLoader(ds, batch_size=64, shuffle=True)"
            ),
            owned(&[("loader.batch_size", "64"), ("loader.shuffle", "True")])
        );
        assert_eq!(
            pairs(
                Python,
                "opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999))"
            ),
            owned(&[("opt.lr", "3e-4"), ("opt.betas", "(0.9, 0.999)")])
        );
        assert_eq!(pairs(Python, "    lr=1e-3,"), owned(&[("lr", "1e-3")]));
        assert_eq!(
            pairs(Python, "def train(epochs=10, lr=1 / 255, name='run'):"),
            owned(&[
                ("train.epochs", "10"),
                ("train.lr", "1 / 255"),
                ("train.name", "'run'")
            ])
        );
        assert_eq!(
            pairs(Python, "self.warmup = -100_000"),
            owned(&[("self.warmup", "-100_000")])
        );
        assert_eq!(
            pairs(Python, "config = {\"lr\": 3e-4, 'batch_size': 32}"),
            owned(&[("config.lr", "3e-4"), ("config.batch_size", "32")])
        );
        assert_eq!(
            pairs(Python, "cfg['lr'] = 0.1"),
            owned(&[("cfg['lr']", "0.1")])
        );
    }

    #[test]
    fn python_non_literals_are_left_out() {
        use Language::Python;
        for line in [
            "lr = args.lr",
            "lr = base_lr * world_size",
            "x = f(3)",
            "if lr == 3e-4:",
            "lr += 1e-4",
            "a, b = 1, 2",
            "name = f\"run-{seed}\"",
            "# lr = 3e-4",
            "text = \"\"\"lr = 3",
            "opt = AdamW(",
            "return x",
            "f(x)[0] = 1",
            "a = b = 1",
        ] {
            assert_eq!(pairs(Python, line), vec![], "{line}");
        }
        assert_eq!(
            pairs(Python, "    weight_decay=0.1, lr=1e-3)"),
            owned(&[("weight_decay", "0.1"), ("lr", "1e-3")])
        );
    }

    #[test]
    fn config_lines() {
        assert_eq!(
            pairs(Language::Yaml, "  lr: 0.001  # was 3e-4"),
            owned(&[("lr", "0.001")])
        );
        assert_eq!(
            pairs(Language::Yaml, "- name: adamw"),
            owned(&[("name", "adamw")])
        );
        assert_eq!(pairs(Language::Yaml, "optimizer:"), vec![]);
        assert_eq!(pairs(Language::Yaml, "script: |"), vec![]);
        assert_eq!(
            pairs(Language::Yaml, "url: http://x:80/a"),
            owned(&[("url", "http://x:80/a")])
        );
        assert_eq!(
            pairs(Language::Json, "    \"warmup_steps\": 0,"),
            owned(&[("warmup_steps", "0")])
        );
        assert_eq!(pairs(Language::Json, "  \"optimizer\": {"), vec![]);
        assert_eq!(
            pairs(Language::Json, "  \"betas\": [0.9, 0.99]"),
            owned(&[("betas", "[0.9, 0.99]")])
        );
        assert_eq!(
            pairs(Language::Toml, "lr = 1e-3 # comment"),
            owned(&[("lr", "1e-3")])
        );
        assert_eq!(pairs(Language::Toml, "[training]"), vec![]);
        assert_eq!(pairs(Language::Toml, "layers = ["), vec![]);
        assert_eq!(
            pairs(Language::Ini, "batch_size: 32"),
            owned(&[("batch_size", "32")])
        );
        assert_eq!(pairs(Language::Ini, "install_requires ="), vec![]);
    }

    #[test]
    fn enclosing_names_from_the_file() {
        let yaml = "model:\n  layers: 4\noptim:\n  # comment\n  adam:\n    lr: 0.001\n";
        let lines: Vec<&str> = yaml.lines().collect();
        assert_eq!(enclosing_name(Language::Yaml, &lines, 5), "optim.adam");
        assert_eq!(enclosing_name(Language::Yaml, &lines, 1), "model");
        let json = "{\n  \"train\": {\n    \"warmup_steps\": 0\n  }\n}\n";
        let lines: Vec<&str> = json.lines().collect();
        assert_eq!(enclosing_name(Language::Json, &lines, 2), "train");
        let toml = "[optim]\nlr = 1\n[data]\nbatch = 2\n";
        let lines: Vec<&str> = toml.lines().collect();
        assert_eq!(enclosing_name(Language::Toml, &lines, 3), "data");
        assert_eq!(enclosing_name(Language::Toml, &lines, 1), "optim");
        let python = "class Config:\n    lr = 1\n\ndef main():\n    optimizer = dict(\n        type='SGD',\n        lr=0.02,\n    )\n";
        let lines: Vec<&str> = python.lines().collect();
        assert_eq!(enclosing_name(Language::Python, &lines, 1), "Config");
        assert_eq!(enclosing_name(Language::Python, &lines, 6), "optimizer");
    }

    #[test]
    fn values_compared_by_meaning() {
        assert!(same_value("1e-3", "0.001"));
        assert!(same_value("(0.9,0.99)", "(0.9, 0.99)"));
        assert!(same_value("'adam'", "\"adam\""));
        assert!(!same_value("\"a b\"", "\"ab\""));
        assert!(!same_value("64", "32"));
    }

    #[test]
    fn languages_by_extension() {
        assert_eq!(Language::of("src/train.py"), Some(Language::Python));
        assert_eq!(Language::of("conf/base.YAML"), Some(Language::Yaml));
        assert_eq!(Language::of("setup.cfg"), Some(Language::Ini));
        assert_eq!(Language::of("README.md"), None);
        assert_eq!(Language::of("Makefile"), None);
    }
}
