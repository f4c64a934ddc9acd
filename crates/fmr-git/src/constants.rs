//! Constants whose value changed between two commits: the literal bindings (see [`crate::lines`])
//! on the removed and added lines of each hunk of `git diff -U0`, paired by qualified name.

use serde::{Deserialize, Serialize};

use crate::lines::{Language, bindings, enclosing_name, same_value};

/// A named literal whose value differs between the good run's commit and the bad run's.
///
/// `train.py:42 opt.lr 3e-4 → 1e-3`: `file` and `line` point into the bad run's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstantChange {
    /// The file in the bad run's commit.
    pub file: String,
    /// 1-based line in that file.
    pub line: u32,
    /// The file in the good run's commit, when it was renamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_file: Option<String>,
    /// 1-based line in the good run's version.
    pub old_line: u32,
    /// Qualified by what encloses it: `optimizer.lr`, `train.warmup_steps`, `Config.batch_size`.
    pub name: String,
    /// The value at the good run's commit, as written.
    pub old: String,
    /// The value at the bad run's commit, as written.
    pub new: String,
}

/// One file's hunks in a `git diff -U0`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileHunks {
    /// `None` for a file the diff creates.
    pub(crate) old_path: Option<String>,
    /// `None` for a file the diff deletes.
    pub(crate) new_path: Option<String>,
    pub(crate) hunks: Vec<Hunk>,
}

/// Removed lines (numbered in the old version) and added lines (numbered in the new one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hunk {
    pub(crate) removed: Vec<(u32, String)>,
    pub(crate) added: Vec<(u32, String)>,
}

/// The files and hunks of a `git diff -U0` run with `a/` and `b/` prefixes.
pub(crate) fn parse_diff(text: &str) -> Vec<FileHunks> {
    let mut files: Vec<FileHunks> = Vec::new();
    // Lines still to come in the current hunk, old side and new side.
    let (mut old_left, mut new_left) = (0u32, 0u32);
    let (mut old_line, mut new_line) = (0u32, 0u32);
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if old_left > 0 || new_left > 0 {
            let Some(file) = files.last_mut() else {
                break;
            };
            let Some(hunk) = file.hunks.last_mut() else {
                break;
            };
            if let Some(removed) = line.strip_prefix('-').filter(|_| old_left > 0) {
                hunk.removed.push((old_line, removed.to_owned()));
                old_line += 1;
                old_left -= 1;
                continue;
            }
            if let Some(added) = line.strip_prefix('+').filter(|_| new_left > 0) {
                hunk.added.push((new_line, added.to_owned()));
                new_line += 1;
                new_left -= 1;
                continue;
            }
            if line.starts_with('\\') {
                continue;
            }
            // A malformed hunk: read on as headers.
            (old_left, new_left) = (0, 0);
        }
        if line.starts_with("diff --git ") {
            files.push(FileHunks::default());
        } else if let Some(path) = line.strip_prefix("--- ") {
            if let Some(file) = files.last_mut() {
                file.old_path = diff_path(path, "a/");
            }
        } else if let Some(path) = line.strip_prefix("+++ ") {
            if let Some(file) = files.last_mut() {
                file.new_path = diff_path(path, "b/");
            }
        } else if line.starts_with("\\ ") {
            // "\ No newline at end of file" after a hunk's last line.
        } else if let Some((old, new)) = hunk_header(line)
            && let Some(file) = files.last_mut()
        {
            file.hunks.push(Hunk::default());
            (old_line, old_left) = old;
            (new_line, new_left) = new;
        }
    }
    files
}

/// `@@ -12,3 +12,4 @@ ...`: (start, count) on each side; a missing count is 1.
fn hunk_header(line: &str) -> Option<((u32, u32), (u32, u32))> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |text: &str| -> Option<(u32, u32)> {
        match text.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((text.parse().ok()?, 1)),
        }
    };
    Some((range(old)?, range(new)?))
}

/// The path on a `---`/`+++` line: `None` for `/dev/null`, C-style quoting undone.
fn diff_path(text: &str, prefix: &str) -> Option<String> {
    let text = text.trim_end_matches('\t');
    if text == "/dev/null" {
        return None;
    }
    let path = if text.starts_with('"') {
        unquote_c(text)
    } else {
        text.to_owned()
    };
    Some(path.strip_prefix(prefix).unwrap_or(&path).to_owned())
}

/// Git's C-style quoted path: `"a\tb\303\251"` → `a<TAB>bé`.
fn unquote_c(text: &str) -> String {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let bytes = inner.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = bytes[i + 1];
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 4;
            continue;
        }
        out.push(match next {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            other => other,
        });
        i += 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A binding found on a changed line, with its fully qualified name.
struct Found {
    line: u32,
    name: String,
    value: String,
}

/// The constant changes in one file's hunks. `old_text` and `new_text` are the whole file at
/// each commit, for the names that enclose a changed line.
pub(crate) fn file_constant_changes(
    file: &FileHunks,
    old_text: Option<&str>,
    new_text: Option<&str>,
) -> Vec<ConstantChange> {
    let Some(path) = file.new_path.as_deref() else {
        return Vec::new();
    };
    let Some(language) = Language::of(path) else {
        return Vec::new();
    };
    let old_lines: Vec<&str> = old_text.map(|t| t.lines().collect()).unwrap_or_default();
    let new_lines: Vec<&str> = new_text.map(|t| t.lines().collect()).unwrap_or_default();
    let found = |changed: &[(u32, String)], lines: &[&str]| -> Vec<Found> {
        changed
            .iter()
            .flat_map(|(number, text)| {
                let index = (*number as usize).saturating_sub(1);
                let enclosing = enclosing_name(language, lines, index);
                bindings(language, text).into_iter().map(move |b| Found {
                    line: *number,
                    name: if enclosing.is_empty() {
                        b.name
                    } else {
                        format!("{enclosing}.{}", b.name)
                    },
                    value: b.value,
                })
            })
            .collect()
    };
    let old_file = file
        .old_path
        .as_ref()
        .filter(|old| old.as_str() != path)
        .cloned();
    let change = |old: &Found, new: &Found| ConstantChange {
        file: path.to_owned(),
        line: new.line,
        old_file: old_file.clone(),
        old_line: old.line,
        name: new.name.clone(),
        old: old.value.clone(),
        new: new.value.clone(),
    };
    let mut changes = Vec::new();
    let mut unpaired_old: Vec<Found> = Vec::new();
    let mut unpaired_new: Vec<Found> = Vec::new();
    for hunk in &file.hunks {
        let mut olds: Vec<Option<Found>> = found(&hunk.removed, &old_lines)
            .into_iter()
            .map(Some)
            .collect();
        for new in found(&hunk.added, &new_lines) {
            let partner = olds
                .iter_mut()
                .find(|o| o.as_ref().is_some_and(|o| o.name == new.name))
                .and_then(Option::take);
            match partner {
                Some(old) if !same_value(&old.value, &new.value) => {
                    changes.push(change(&old, &new));
                }
                Some(_) => {}
                None => unpaired_new.push(new),
            }
        }
        unpaired_old.extend(olds.into_iter().flatten());
    }
    // A line that moved to another hunk: paired when its name is unique on both sides.
    for new in &unpaired_new {
        let count_new = unpaired_new.iter().filter(|n| n.name == new.name).count();
        let olds: Vec<&Found> = unpaired_old.iter().filter(|o| o.name == new.name).collect();
        if let ([old], 1) = (olds.as_slice(), count_new)
            && !same_value(&old.value, &new.value)
        {
            changes.push(change(old, new));
        }
    }
    changes.sort_by_key(|c| c.line);
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "diff --git a/train.py b/train.py
index 1111111..2222222 100644
--- a/train.py
+++ b/train.py
@@ -3 +3 @@ import torch
-lr = 3e-4
+lr = 1e-3
@@ -10,2 +10,2 @@ def main():
-    loader = DataLoader(ds, batch_size=64, shuffle=True)
--- a comment that looks like a header
+    loader = DataLoader(ds, batch_size=32, shuffle=True)
+++ another
diff --git a/conf/old.yaml b/conf/new.yaml
similarity index 90%
rename from conf/old.yaml
rename to conf/new.yaml
--- a/conf/old.yaml
+++ b/conf/new.yaml
@@ -2 +2 @@ optim:
-  lr: 0.001
+  lr: 0.01
\\ No newline at end of file
diff --git a/notes.json b/notes.json
new file mode 100644
--- /dev/null
+++ b/notes.json
@@ -0,0 +1 @@
+{\"a\": 1}
";

    #[test]
    fn zero_context_diffs_are_parsed() {
        let files = parse_diff(DIFF);
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].hunks.len(), 2);
        assert_eq!(files[0].hunks[1].removed.len(), 2);
        assert_eq!(
            files[0].hunks[1].removed[1].1,
            "-- a comment that looks like a header"
        );
        assert_eq!(files[0].hunks[1].added[1], (11, "++ another".to_owned()));
        assert_eq!(files[1].old_path.as_deref(), Some("conf/old.yaml"));
        assert_eq!(files[1].new_path.as_deref(), Some("conf/new.yaml"));
        assert_eq!(files[1].hunks[0].added, vec![(2, "  lr: 0.01".to_owned())]);
        assert_eq!(files[2].old_path, None);
        assert_eq!(files[2].hunks[0].added[0].0, 1);
    }

    #[test]
    fn paired_changes_with_enclosing_names() {
        let files = parse_diff(DIFF);
        let python = file_constant_changes(&files[0], None, None);
        let summary: Vec<(u32, &str, &str, &str)> = python
            .iter()
            .map(|c| (c.line, c.name.as_str(), c.old.as_str(), c.new.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "lr", "3e-4", "1e-3"),
                (10, "loader.batch_size", "64", "32")
            ]
        );
        let yaml = file_constant_changes(
            &files[1],
            Some("optim:\n  lr: 0.001"),
            Some("optim:\n  lr: 0.01"),
        );
        assert_eq!(yaml.len(), 1);
        assert_eq!(yaml[0].name, "optim.lr");
        assert_eq!(yaml[0].old_file.as_deref(), Some("conf/old.yaml"));
        assert!(file_constant_changes(&files[2], None, None).is_empty());
    }

    #[test]
    fn a_moved_line_pairs_across_hunks_and_reformatting_is_no_change() {
        let file = FileHunks {
            old_path: Some("c.toml".into()),
            new_path: Some("c.toml".into()),
            hunks: vec![
                Hunk {
                    removed: vec![(2, "lr = 0.1".into()), (3, "betas = [0.9,0.99]".into())],
                    added: vec![(2, "betas = [0.9, 0.99]".into())],
                },
                Hunk {
                    removed: vec![],
                    added: vec![(9, "lr = 0.2".into())],
                },
            ],
        };
        let changes = file_constant_changes(&file, None, None);
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].line, changes[0].old_line), (9, 2));
        assert_eq!(
            (changes[0].old.as_str(), changes[0].new.as_str()),
            ("0.1", "0.2")
        );
    }

    #[test]
    fn quoted_paths() {
        assert_eq!(unquote_c("\"a\\tb\\303\\251.py\""), "a\tbé.py");
        assert_eq!(
            diff_path("\"b/sp ace\\\"q.py\"", "b/"),
            Some("sp ace\"q.py".into())
        );
        assert_eq!(diff_path("/dev/null", "a/"), None);
    }
}
