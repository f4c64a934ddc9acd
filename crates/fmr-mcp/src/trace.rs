//! A lexical trace of one name through Python code: where it is defined,
//! assigned and used, outside comments and strings.
//!
//! This is best effort, not data-flow analysis: it sees the spelling of a name,
//! not scopes, aliases or values passed through calls. It is what an auditor
//! reads first; the audit rules do the semantic checks.

use rmcp::schemars::{self, JsonSchema};
use serde::Serialize;

/// How a line touches the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `def name`, `class name`, or an import that binds it.
    Definition,
    /// The name receives a value: `name = …`, `name += …`, `for name in`,
    /// `with … as name`, `name := …`.
    Assignment,
    /// Any other mention: read, called, passed, or an attribute of it.
    Use,
}

/// One mention of the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Occurrence {
    pub file: String,
    /// 1-based line and column (column counted in characters).
    pub line: usize,
    pub column: usize,
    pub role: Role,
    /// The source line, trimmed.
    pub text: String,
}

/// Where strings and comments are, carried from line to line.
#[derive(Debug, Clone, Copy, Default)]
struct ScanState {
    /// The open string's quote byte and whether it is triple-quoted.
    string: Option<(u8, bool)>,
    /// Bracket depth at the start of the next line.
    depth: usize,
}

/// Reads `text` line by line and pushes every mention of `name` (whole
/// identifiers or dotted paths only) to `out`, stopping once `out` holds
/// `limit` items. Returns false if it stopped early.
pub(crate) fn occurrences(
    file: &str,
    text: &str,
    name: &str,
    limit: usize,
    out: &mut Vec<Occurrence>,
) -> bool {
    let mut state = ScanState::default();
    for (index, line) in text.lines().enumerate() {
        let depth_at_start = state.depth;
        let code = mask_line(line, &mut state);
        for (start, _) in code.match_indices(name) {
            if !is_whole_word(&code, start, name.len()) {
                continue;
            }
            if out.len() >= limit {
                return false;
            }
            out.push(Occurrence {
                file: file.to_string(),
                line: index + 1,
                column: line[..start].chars().count() + 1,
                role: role(&code, start, name.len(), depth_at_start),
                text: line.trim().to_string(),
            });
        }
    }
    true
}

/// Whether `name` is a name or a dotted path: identifiers joined by single dots.
pub(crate) fn is_traceable_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Whether `haystack` mentions `name` as a whole word anywhere.
pub(crate) fn mentions(haystack: &str, name: &str) -> bool {
    haystack
        .match_indices(name)
        .any(|(start, _)| is_whole_word(haystack, start, name.len()))
}

fn is_identifier_byte(byte: u8) -> bool {
    // Bytes of non-ASCII characters count as identifier bytes: Python allows
    // Unicode identifiers, and a boundary never falls inside a character.
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

fn is_whole_word(text: &str, start: usize, len: usize) -> bool {
    let bytes = text.as_bytes();
    let before = start.checked_sub(1).and_then(|i| bytes.get(i));
    let after = bytes.get(start + len);
    !before.is_some_and(|&b| is_identifier_byte(b))
        && !after.is_some_and(|&b| is_identifier_byte(b))
}

/// The line with string contents, quotes and comments replaced by spaces, so
/// that byte offsets still match the original line. Updates the string state
/// and bracket depth for the next line.
fn mask_line(line: &str, state: &mut ScanState) -> String {
    let bytes = line.as_bytes();
    let mut masked = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        match state.string {
            Some((quote, triple)) => {
                if bytes[i] == b'\\' {
                    // The backslash and the whole character it escapes.
                    let escaped = line[i + 1..].chars().next().map_or(0, char::len_utf8);
                    let end = i + 1 + escaped;
                    masked[i..end].fill(b' ');
                    i = end;
                } else if triple && bytes[i..].starts_with(&[quote; 3]) {
                    masked[i..i + 3].fill(b' ');
                    state.string = None;
                    i += 3;
                } else {
                    if !triple && bytes[i] == quote {
                        state.string = None;
                    }
                    masked[i] = b' ';
                    i += 1;
                }
            }
            None => match bytes[i] {
                b'#' => {
                    masked[i..].fill(b' ');
                    break;
                }
                quote @ (b'\'' | b'"') => {
                    let triple = bytes[i..].starts_with(&[quote; 3]);
                    let width = if triple { 3 } else { 1 };
                    masked[i..i + width].fill(b' ');
                    state.string = Some((quote, triple));
                    i += width;
                }
                b'(' | b'[' | b'{' => {
                    state.depth += 1;
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    state.depth = state.depth.saturating_sub(1);
                    i += 1;
                }
                _ => i += 1,
            },
        }
    }
    // A single-quoted string cannot span lines unless the line ends in a backslash.
    if let Some((_, false)) = state.string
        && !line.ends_with('\\')
    {
        state.string = None;
    }
    // Every masked range covers whole characters, so this is valid UTF-8 with
    // the same byte offsets; the lossy branch is never taken.
    String::from_utf8(masked)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// How the mention at `start` touches the name, judged from the masked line.
fn role(code: &str, start: usize, len: usize, depth_at_start: usize) -> Role {
    let before = code[..start].trim_end();
    let after = code[start + len..].trim_start();
    let statement = code.trim_start();
    if ends_with_keyword(before, "def") || ends_with_keyword(before, "class") {
        return Role::Definition;
    }
    if starts_with_keyword(statement, "import") || starts_with_keyword(statement, "from") {
        return Role::Definition;
    }
    if ends_with_keyword(before, "as") || after.starts_with(":=") {
        return Role::Assignment;
    }
    let loop_header = starts_with_keyword(statement, "for")
        || statement
            .strip_prefix("async")
            .is_some_and(|rest| starts_with_keyword(rest.trim_start(), "for"));
    if loop_header && !contains_keyword(before, "in") && contains_keyword(after, "in") {
        return Role::Assignment;
    }
    if depth_at_start == 0
        && let Some(assign_at) = assignment_operator(code)
        && start < assign_at
    {
        return Role::Assignment;
    }
    Role::Use
}

fn ends_with_keyword(text: &str, keyword: &str) -> bool {
    text.strip_suffix(keyword).is_some_and(|rest| {
        !rest
            .as_bytes()
            .last()
            .is_some_and(|&b| is_identifier_byte(b) || b == b'.')
    })
}

fn starts_with_keyword(text: &str, keyword: &str) -> bool {
    text.strip_prefix(keyword).is_some_and(|rest| {
        !rest
            .as_bytes()
            .first()
            .is_some_and(|&b| is_identifier_byte(b))
    })
}

fn contains_keyword(text: &str, keyword: &str) -> bool {
    mentions(text, keyword)
}

/// The byte offset of the first assignment `=` at bracket depth 0 of the line
/// (plain, annotated or augmented), if any. Comparisons (`==`, `!=`, `<=`,
/// `>=`) and keyword arguments (inside brackets) are not assignments.
fn assignment_operator(code: &str) -> Option<usize> {
    let bytes = code.as_bytes();
    let mut depth = 0usize;
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'=' if depth == 0 => {
                let next = bytes.get(i + 1).copied();
                let previous = i.checked_sub(1).map(|j| bytes[j]);
                let shift = i >= 2 && matches!(&bytes[i - 2..i], b"<<" | b">>");
                let comparison = next == Some(b'=')
                    || previous == Some(b'=')
                    || (matches!(previous, Some(b'!' | b'<' | b'>')) && !shift);
                // `:=` is handled by the caller; here it is not a statement assignment.
                if !comparison && previous != Some(b':') {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(text: &str, name: &str) -> Vec<(usize, Role)> {
        let mut out = Vec::new();
        assert!(occurrences("t.py", text, name, 100, &mut out));
        out.iter().map(|o| (o.line, o.role)).collect()
    }

    #[test]
    fn classifies_definitions_assignments_and_uses() {
        let code = "\
import torch
from torch.cuda.amp import GradScaler as scaler_cls
def scale(x):
    return x
scaler = scaler_cls()
for step, batch in enumerate(loader):
    loss = model(batch)  # loss here is a comment
    loss += 0.1 * reg
    scaler.scale(loss).backward()
    log(\"loss\", loss == 0)
    total: float = loss.item()
    if (y := loss) > 3: pass
with ctx() as loss:
    pass
";
        assert_eq!(
            roles(code, "loss"),
            vec![
                (7, Role::Assignment),
                (8, Role::Assignment),
                (9, Role::Use),
                (10, Role::Use),
                (11, Role::Use),
                (12, Role::Use),
                (13, Role::Assignment),
            ]
        );
        // `scaler.scale(...)` mentions the attribute `scale` too.
        assert_eq!(
            roles(code, "scale"),
            vec![(3, Role::Definition), (9, Role::Use)]
        );
        assert_eq!(
            roles(code, "scaler_cls"),
            vec![(2, Role::Definition), (5, Role::Use)]
        );
        assert_eq!(roles(code, "step"), vec![(6, Role::Assignment)]);
        assert_eq!(roles(code, "y"), vec![(12, Role::Assignment)]);
    }

    #[test]
    fn skips_strings_comments_and_partial_words() {
        let code = "\
x = 1
'''a docstring
that mentions x twice: x
'''
xs = [x_1, max_x]  # x
print(f\"{x}\", \"x\")
";
        assert_eq!(roles(code, "x"), vec![(1, Role::Assignment)]);
    }

    #[test]
    fn keyword_arguments_on_continuation_lines_are_uses() {
        let code = "\
opt = AdamW(
    params,
    lr=lr,
)
";
        assert_eq!(roles(code, "lr"), vec![(3, Role::Use), (3, Role::Use)]);
    }

    #[test]
    fn dotted_names_match_as_a_whole() {
        let code = "self.scaler = GradScaler()\nmyself.scaler.step(opt)\nself.scaler.update()\n";
        assert_eq!(
            roles(code, "self.scaler"),
            vec![(1, Role::Assignment), (3, Role::Use)]
        );
        assert!(is_traceable_name("self.scaler"));
        assert!(!is_traceable_name("self..scaler"));
        assert!(!is_traceable_name("1x"));
        assert!(!is_traceable_name("a b"));
        assert!(!is_traceable_name(""));
    }

    #[test]
    fn columns_count_characters_and_the_limit_stops_the_scan() {
        let mut out = Vec::new();
        assert!(!occurrences("t.py", "é = x; x = x\n", "x", 2, &mut out));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].column, 5);
    }
}
