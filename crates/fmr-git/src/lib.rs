//! What changed in the code between a good training run and a bad one, from a git repository.
//!
//! [`code_diff`] decides each run's commit (recorded by MLflow or W&B, named in its config, or
//! else inferred as the last commit at or before the run started), then lists the commits
//! between the two, the files they changed with line counts, and the constants whose value
//! changed (`lr = 3e-4` → `lr = 1e-3`, `batch_size=64` → `32`, `lr: 0.001`,
//! `"warmup_steps": 0`). It drives the `git` command line and never changes the repository.
//! Whatever cannot be answered (no repository, git missing, an unknown commit) becomes a note
//! and the rest is still filled in.
//!
//! ```no_run
//! # let (good, bad) = (fmr_core::Run::default(), fmr_core::Run::default());
//! let diff = fmr_git::code_diff(std::path::Path::new("."), &good, &bad);
//! print!("{}", diff.summary());
//! ```

mod constants;
mod git;
mod lines;
mod run_commit;
mod summary;

use std::path::Path;

use fmr_core::Run;
use serde::{Deserialize, Serialize};

pub use constants::ConstantChange;
pub use git::{Commit, FileChange, GitError, Repository};
pub use run_commit::{CommitSource, recorded_commit, start_time};

/// At most this many constant changes are listed; a note counts the rest.
const MAX_CONSTANTS: usize = 500;

/// The code side of a run comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeDiff {
    /// The repository as given, or its work tree's top-level folder once opened.
    pub repository: String,
    pub good: Option<RunCommit>,
    pub bad: Option<RunCommit>,
    /// Commits in the bad run's history that are not in the good run's, newest first.
    pub commits: Vec<Commit>,
    /// Commits in the good run's history that are not in the bad run's: there when the bad
    /// run's commit is the older one, or the two lie on different branches.
    pub commits_only_in_good: Vec<Commit>,
    /// Files that differ from the good run's commit to the bad run's.
    pub files: Vec<FileChange>,
    /// Constants whose literal value differs, in Python, YAML, JSON, TOML and INI files.
    pub constants: Vec<ConstantChange>,
    /// What could not be compared, and how a commit was decided when it was inferred.
    pub notes: Vec<String>,
}

/// The commit a run was started from, and how fmr knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCommit {
    pub run: String,
    pub commit: Commit,
    pub source: CommitSource,
}

/// Compares the code of `good` and `bad` in the git work tree at `repository`.
pub fn code_diff(repository: &Path, good: &Run, bad: &Run) -> CodeDiff {
    let mut diff = CodeDiff {
        repository: repository.display().to_string(),
        ..CodeDiff::default()
    };
    let repo = match Repository::open(repository) {
        Ok(repo) => repo,
        Err(error) => {
            diff.notes.push(format!("no code comparison: {error}"));
            return diff;
        }
    };
    diff.repository = repo.root().display().to_string();
    if let Err(error) = fill(&repo, good, bad, &mut diff) {
        diff.notes
            .push(format!("the code comparison stopped: {error}"));
    }
    diff
}

fn fill(repo: &Repository, good: &Run, bad: &Run, diff: &mut CodeDiff) -> Result<(), GitError> {
    diff.good = run_commit::decide(repo, good, &mut diff.notes)?;
    diff.bad = run_commit::decide(repo, bad, &mut diff.notes)?;
    let (Some(good_commit), Some(bad_commit)) = (&diff.good, &diff.bad) else {
        diff.notes
            .push("without a commit for both runs, no commits or files are compared".to_owned());
        return Ok(());
    };
    let (from, to) = (
        good_commit.commit.hash.as_str(),
        bad_commit.commit.hash.as_str(),
    );
    if from == to {
        diff.notes.push(format!(
            "both runs are at commit {}: the code did not change between them",
            good_commit.commit.short
        ));
        return Ok(());
    }
    diff.commits = repo.commits_between(from, to)?;
    diff.commits_only_in_good = repo.commits_between(to, from)?;
    if diff.commits.is_empty() && !diff.commits_only_in_good.is_empty() {
        diff.notes.push(format!(
            "the bad run's commit {} is older than the good run's {}: old values below are the good run's",
            bad_commit.commit.short, good_commit.commit.short
        ));
    } else if !diff.commits_only_in_good.is_empty() {
        diff.notes.push(format!(
            "the runs' commits lie on different branches ({} commits only in the good run's history)",
            diff.commits_only_in_good.len()
        ));
    }
    diff.files = repo.file_changes(from, to)?;
    let text = repo.zero_context_diff(from, to, lines::PATHSPECS)?;
    for file in constants::parse_diff(&text) {
        let has_hunks = file.hunks.iter().any(|h| !h.added.is_empty());
        let Some(new_path) = file.new_path.as_deref().filter(|_| has_hunks) else {
            continue;
        };
        let new_text = repo.file_at(to, new_path)?;
        let old_text = match file.old_path.as_deref() {
            Some(old_path) => repo.file_at(from, old_path)?,
            None => None,
        };
        diff.constants.extend(constants::file_constant_changes(
            &file,
            old_text.as_deref(),
            new_text.as_deref(),
        ));
    }
    if diff.constants.len() > MAX_CONSTANTS {
        diff.notes.push(format!(
            "{} constant changes; the first {MAX_CONSTANTS} are listed",
            diff.constants.len()
        ));
        diff.constants.truncate(MAX_CONSTANTS);
    }
    Ok(())
}
