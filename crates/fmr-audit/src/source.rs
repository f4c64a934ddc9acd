use std::cell::RefCell;

use fmr_core::AuditFinding;
use tree_sitter::{Node, Parser, Tree};

use crate::rule::AuditRule;

thread_local! {
    /// One parser per thread, reused from file to file (audits parse files in parallel).
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

/// One parsed Python file: the text, its tree-sitter tree and a line index.
///
/// Rules only read it. Positions are reported 1-based, with columns counted in characters (as
/// editors and ruff do), not in bytes.
pub struct SourceFile {
    display_path: String,
    text: String,
    tree: Tree,
    /// Byte offset at which each line starts; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

/// Why a text could not be turned into a [`SourceFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The linked Python grammar is not compatible with the tree-sitter runtime.
    Grammar(String),
    /// tree-sitter returned no tree.
    NoTree,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Grammar(reason) => write!(f, "the Python grammar could not be loaded: {reason}"),
            Self::NoTree => f.write_str("tree-sitter produced no syntax tree"),
        }
    }
}

impl std::error::Error for ParseError {}

impl SourceFile {
    /// Parses `text`. Syntax errors do not fail: tree-sitter recovers and the rules see every
    /// well-formed part of the file.
    pub fn parse(
        display_path: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<Self, ParseError> {
        let text = text.into();
        let tree = PARSER.with(|parser| {
            let mut parser = parser.borrow_mut();
            if parser.language().is_none() {
                parser
                    .set_language(&tree_sitter_python::LANGUAGE.into())
                    .map_err(|error| ParseError::Grammar(error.to_string()))?;
            }
            parser.parse(&text, None).ok_or(ParseError::NoTree)
        })?;
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Ok(Self {
            display_path: display_path.into(),
            text,
            tree,
            line_starts,
        })
    }

    /// The path shown in findings.
    pub fn display_path(&self) -> &str {
        &self.display_path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The module node.
    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// The source text of `node` (empty if the node does not fall on character boundaries,
    /// which tree-sitter never produces for UTF-8 input).
    pub fn node_text(&self, node: Node<'_>) -> &str {
        self.text.get(node.byte_range()).unwrap_or("")
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_column(&self, byte: usize) -> (usize, usize) {
        let line_index = self
            .line_starts
            .partition_point(|&start| start <= byte)
            .saturating_sub(1);
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..byte)
            .map_or(0, |prefix| prefix.chars().count());
        (line_index + 1, column + 1)
    }

    /// 1-based line and column where `node` starts.
    pub fn position(&self, node: Node<'_>) -> (usize, usize) {
        self.line_column(node.start_byte())
    }

    /// The text of a 1-based line, without its line ending; empty past the end of the file.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = line
            .checked_sub(1)
            .and_then(|index| self.line_starts.get(index))
        else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next.saturating_sub(1));
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// A finding of `rule` at `node`, with the node's first line as the snippet.
    pub fn finding(
        &self,
        rule: &dyn AuditRule,
        node: Node<'_>,
        message: String,
        confidence: f64,
    ) -> AuditFinding {
        let (line, column) = self.position(node);
        AuditFinding {
            rule: rule.code().to_owned(),
            name: rule.name().to_owned(),
            auditor: rule.auditor().as_str().to_owned(),
            file: self.display_path.clone(),
            line,
            column,
            snippet: self.line_text(line).trim().to_owned(),
            message,
            confidence: confidence.clamp(0.0, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let file = SourceFile::parse("t.py", "x = 1\r\né = f(y)\n").expect("parses");
        assert_eq!(file.line_column(0), (1, 1));
        let call_at = file.text().find("f(").expect("call present");
        assert_eq!(file.line_column(call_at), (2, 5));
        assert_eq!(file.line_text(1), "x = 1");
        assert_eq!(file.line_text(2), "é = f(y)");
        assert_eq!(file.line_text(3), "");
        assert_eq!(file.line_text(0), "");
        assert_eq!(file.line_text(99), "");
    }

    #[test]
    fn last_line_without_newline_is_readable() {
        let file = SourceFile::parse("t.py", "a\nb").expect("parses");
        assert_eq!(file.line_text(2), "b");
        assert_eq!(file.line_column(2), (2, 1));
    }
}
