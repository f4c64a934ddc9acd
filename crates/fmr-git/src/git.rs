//! A thin, read-only driver of the `git` command line: every question fmr asks a repository is
//! one `git` process, its output parsed here. Nothing here changes the repository.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::{Deserialize, Serialize};

/// Why a question to git got no answer.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git is not installed (or not on PATH), so the code cannot be compared")]
    GitMissing,
    #[error("{path}: no such folder")]
    NoSuchFolder { path: String },
    #[error("{path} is a file: give the repository's folder")]
    NotAFolder { path: String },
    #[error("{path} is not inside a git work tree")]
    NotAWorkTree { path: String },
    #[error("`git {command}` failed: {message}")]
    Failed { command: String, message: String },
}

/// One commit, as `git log` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The full hash.
    pub hash: String,
    /// The abbreviated hash git would print (`1a2b3c4`).
    pub short: String,
    /// The author date, ISO 8601 with the author's offset (`2024-03-01T10:00:00+01:00`).
    pub date: String,
    pub author: String,
    /// The first line of the message.
    pub subject: String,
}

/// One file that differs between two commits, with `git diff --numstat`'s counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// The path in the newer commit (the old path for a deleted file).
    pub path: String,
    /// The path before, when git saw a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// Lines added and removed; `None` for a binary file.
    pub added: Option<u64>,
    pub removed: Option<u64>,
}

/// A work tree's repository, asked through `git -C <root> ...`.
#[derive(Debug, Clone)]
pub struct Repository {
    root: PathBuf,
}

/// Field and record separators for `git log --format` (unit and record separator characters,
/// which never occur in names and subjects).
const FIELD: char = '\u{1f}';
const RECORD: char = '\u{1e}';
const LOG_FORMAT: &str = "--format=%H%x1f%h%x1f%aI%x1f%an%x1f%s%x1e";

impl Repository {
    /// The work tree that `path` (a folder) lies in.
    ///
    /// ```no_run
    /// let repo = fmr_git::Repository::open(std::path::Path::new("."))?;
    /// println!("{}", repo.root().display());
    /// # Ok::<(), fmr_git::GitError>(())
    /// ```
    pub fn open(path: &Path) -> Result<Self, GitError> {
        let shown = path.display().to_string();
        if path.is_file() {
            return Err(GitError::NotAFolder { path: shown });
        }
        if !path.is_dir() {
            return Err(GitError::NoSuchFolder { path: shown });
        }
        let output = run_git(path, &["rev-parse", "--show-toplevel"])?;
        let top = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || top.is_empty() {
            return Err(GitError::NotAWorkTree { path: shown });
        }
        Ok(Self {
            root: PathBuf::from(top),
        })
    }

    /// The work tree's top-level folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The full hash of the commit `revision` names (a hash, a prefix of one, a branch), or
    /// `None` when the repository has no such commit.
    pub fn resolve(&self, revision: &str) -> Result<Option<String>, GitError> {
        if revision.starts_with('-') {
            return Ok(None);
        }
        let spec = format!("{revision}^{{commit}}");
        let output = run_git(&self.root, &["rev-parse", "--verify", "--quiet", &spec])?;
        let hash = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok((output.status.success() && !hash.is_empty()).then_some(hash))
    }

    /// The newest commit on `HEAD` committed at or before `epoch_seconds`.
    pub fn last_commit_at_or_before(&self, epoch_seconds: i64) -> Result<Option<String>, GitError> {
        let before = format!("--before=@{epoch_seconds}");
        let text = self.git(&["log", "-1", "--format=%H", &before, "HEAD", "--"])?;
        let hash = text.trim();
        Ok((!hash.is_empty()).then(|| hash.to_owned()))
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let args = ["merge-base", "--is-ancestor", ancestor, descendant];
        let output = run_git(&self.root, &args)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(failure(&args, &output)),
        }
    }

    /// The commit `hash` itself.
    pub fn commit(&self, hash: &str) -> Result<Commit, GitError> {
        let text = self.git(&["log", "-1", "--no-walk", LOG_FORMAT, hash, "--"])?;
        parse_log(&text)
            .into_iter()
            .next()
            .ok_or_else(|| GitError::Failed {
                command: format!("log -1 {hash}"),
                message: "no commit in the output".to_owned(),
            })
    }

    /// Commits reachable from `to` but not from `from`, newest first.
    pub fn commits_between(&self, from: &str, to: &str) -> Result<Vec<Commit>, GitError> {
        let range = format!("{from}..{to}");
        Ok(parse_log(&self.git(&["log", LOG_FORMAT, &range, "--"])?))
    }

    /// Files that differ from `from` to `to`, with lines added and removed (renames followed).
    pub fn file_changes(&self, from: &str, to: &str) -> Result<Vec<FileChange>, GitError> {
        let text = self.git(&[
            "diff",
            "--numstat",
            "-z",
            "-M",
            "--no-ext-diff",
            from,
            to,
            "--",
        ])?;
        Ok(parse_numstat(&text))
    }

    /// `git diff -U0` from `from` to `to`, limited to files matching `pathspecs`.
    pub fn zero_context_diff(
        &self,
        from: &str,
        to: &str,
        pathspecs: &[&str],
    ) -> Result<String, GitError> {
        let mut args = vec![
            "diff",
            "-U0",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            from,
            to,
            "--",
        ];
        args.extend_from_slice(pathspecs);
        self.git(&args)
    }

    /// The text of `path` at `revision`, or `None` when the file is not there.
    pub fn file_at(&self, revision: &str, path: &str) -> Result<Option<String>, GitError> {
        let object = format!("{revision}:{path}");
        let output = run_git(&self.root, &["show", "--no-textconv", &object])?;
        Ok(output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
    }

    /// Runs `git args...` in the work tree; its standard output, or an error with its message.
    fn git(&self, args: &[&str]) -> Result<String, GitError> {
        let output = run_git(&self.root, args)?;
        if !output.status.success() {
            return Err(failure(args, &output));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

fn failure(args: &[&str], output: &Output) -> GitError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_owned();
    GitError::Failed {
        command: args.join(" "),
        message,
    }
}

/// `git -C dir args...` with settings that keep its output plain and parseable whatever the
/// user's configuration, and without variables that would point it at another repository.
fn run_git(dir: &Path, args: &[&str]) -> Result<Output, GitError> {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "core.quotepath=off",
            "-c",
            "color.ui=never",
            "-c",
            "log.showSignature=false",
            "-c",
            "diff.noprefix=false",
        ])
        .args(args)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0");
    for variable in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_CEILING_DIRECTORIES",
        "GIT_EXTERNAL_DIFF",
        "GIT_PAGER",
    ] {
        command.env_remove(variable);
    }
    command.output().map_err(|error| match error.kind() {
        ErrorKind::NotFound => GitError::GitMissing,
        _ => GitError::Failed {
            command: args.join(" "),
            message: error.to_string(),
        },
    })
}

/// Commits from `git log` run with [`LOG_FORMAT`].
fn parse_log(text: &str) -> Vec<Commit> {
    text.split(RECORD)
        .map(|record| record.trim_start_matches('\n'))
        .filter(|record| !record.trim().is_empty())
        .filter_map(|record| {
            let mut fields = record.splitn(5, FIELD);
            Some(Commit {
                hash: fields.next()?.to_owned(),
                short: fields.next()?.to_owned(),
                date: fields.next()?.to_owned(),
                author: fields.next()?.to_owned(),
                subject: fields.next()?.trim_end().to_owned(),
            })
        })
        .collect()
}

/// `git diff --numstat -z`: `added TAB removed TAB path NUL`, or for a rename
/// `added TAB removed TAB NUL old NUL new NUL`; `-` counts mark a binary file.
fn parse_numstat(text: &str) -> Vec<FileChange> {
    let mut fields = text.split('\0');
    let mut changes = Vec::new();
    while let Some(head) = fields.next() {
        let head = head.trim_start_matches('\n');
        if head.is_empty() {
            continue;
        }
        let mut parts = head.splitn(3, '\t');
        let (Some(added), Some(removed), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (path, old_path) = if path.is_empty() {
            let old = fields.next().unwrap_or_default().to_owned();
            let new = fields.next().unwrap_or_default().to_owned();
            (new, Some(old))
        } else {
            (path.to_owned(), None)
        };
        changes.push(FileChange {
            path,
            old_path,
            added: added.parse().ok(),
            removed: removed.parse().ok(),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_split_into_fields() {
        let text = "aaaa\u{1f}aa\u{1f}2024-01-02T10:00:00Z\u{1f}Ada\u{1f}raise lr\u{1e}\n\
                    bbbb\u{1f}bb\u{1f}2024-01-01T10:00:00Z\u{1f}Bob\u{1f}first: a\u{1f}b\u{1e}\n";
        let commits = parse_log(text);
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].hash, "aaaa");
        assert_eq!(commits[0].subject, "raise lr");
        assert_eq!(commits[1].author, "Bob");
        assert_eq!(commits[1].subject, "first: a\u{1f}b");
        assert!(parse_log("").is_empty());
    }

    #[test]
    fn numstat_with_renames_and_binaries() {
        let text = "3\t1\ttrain.py\0-\t-\tlogo.png\0\
                    2\t0\t\0old/cfg.yaml\0new/cfg.yaml\0";
        let changes = parse_numstat(text);
        assert_eq!(
            changes,
            vec![
                FileChange {
                    path: "train.py".into(),
                    old_path: None,
                    added: Some(3),
                    removed: Some(1),
                },
                FileChange {
                    path: "logo.png".into(),
                    old_path: None,
                    added: None,
                    removed: None,
                },
                FileChange {
                    path: "new/cfg.yaml".into(),
                    old_path: Some("old/cfg.yaml".into()),
                    added: Some(2),
                    removed: Some(0),
                },
            ]
        );
    }
}
