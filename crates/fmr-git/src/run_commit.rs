//! Which commit a run was started from: recorded in its metadata where a tracker saved it,
//! else inferred from when it started.

use std::path::Path;

use fmr_core::Run;
use serde::{Deserialize, Serialize};

use crate::git::{GitError, Repository};
use crate::summary::utc;

/// How a run's commit was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommitSource {
    /// Named in the run's metadata: `key` is the config key (MLflow's
    /// `mlflow.tags.mlflow.source.git.commit`) or the file it was read from.
    Recorded {
        key: String,
        /// The tracker marked the work tree as having uncommitted changes (`<hash>-dirty`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dirty: bool,
    },
    /// Not recorded: the last commit on `HEAD` at or before the run started. `started` is in
    /// seconds since the Unix epoch; `from` says where that time came from.
    Inferred { started: f64, from: String },
}

/// Config keys where trackers record the commit, most specific first. Other keys that name a
/// commit (`git_commit`, `git.sha`...) are tried after these.
const COMMIT_KEYS: &[&str] = &[
    "mlflow.tags.mlflow.source.git.commit",
    "wandb.metadata.git.commit",
    "wandb.git.commit",
];

/// Endings of other config keys that hold a commit hash (`meta.git_commit`, `git.sha`).
const COMMIT_KEY_ENDINGS: &[&str] = &[
    "git.commit",
    "git_commit",
    "gitcommit",
    "git.sha",
    "git_sha",
    "git.hash",
    "git_hash",
    "git_revision",
    "commit_hash",
    "commit_sha",
    "commit_id",
];

/// Recorded start times, in seconds since the Unix epoch.
const START_KEYS: &[&str] = &["wandb.start_time", "mlflow.start_time"];

/// The W&B metadata file, whose `git.commit` the ingester does not keep in the config.
const WANDB_METADATA: &str = "wandb-metadata.json";

/// The commit `run` records, as (where it was found, hash as recorded): a config key that
/// names one (see [`COMMIT_KEYS`]) with a hexadecimal value, or `git.commit` in the
/// `wandb-metadata.json` beside the run.
///
/// ```
/// let mut run = fmr_core::Run::default();
/// run.config.insert("mlflow.tags.mlflow.source.git.commit".into(), "1a2b3c4d".into());
/// assert_eq!(
///     fmr_git::recorded_commit(&run),
///     Some(("mlflow.tags.mlflow.source.git.commit".to_owned(), "1a2b3c4d".to_owned()))
/// );
/// ```
pub fn recorded_commit(run: &Run) -> Option<(String, String)> {
    let hash_at = |key: &str| -> Option<(String, String)> {
        let value = run.config.get(key)?.as_str()?.trim();
        looks_like_hash(value).then(|| (key.to_owned(), value.to_owned()))
    };
    if let Some(found) = COMMIT_KEYS.iter().find_map(|key| hash_at(key)) {
        return Some(found);
    }
    let by_ending = run.config.keys().find_map(|key| {
        let lower = key.to_ascii_lowercase();
        let named = lower == "commit"
            || lower.ends_with(".commit") && !lower.ends_with("summary.commit")
            || COMMIT_KEY_ENDINGS.iter().any(|ending| {
                lower == *ending
                    || lower
                        .strip_suffix(ending)
                        .is_some_and(|rest| rest.ends_with(['.', '/', '_']))
            });
        if named { hash_at(key) } else { None }
    });
    by_ending.or_else(|| wandb_metadata_commit(Path::new(&run.path)))
}

/// `git.commit` from a `wandb-metadata.json` in or beside the run's folder (`files/` holds it).
fn wandb_metadata_commit(path: &Path) -> Option<(String, String)> {
    if path.as_os_str().is_empty() {
        return None;
    }
    let folder = if path.is_dir() { path } else { path.parent()? };
    let candidates = [
        folder.join("files").join(WANDB_METADATA),
        folder.join(WANDB_METADATA),
    ];
    candidates.iter().find_map(|file| {
        let text = std::fs::read_to_string(file).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let commit = value.get("git")?.get("commit")?.as_str()?.trim().to_owned();
        looks_like_hash(&commit).then(|| (format!("{WANDB_METADATA} git.commit"), commit))
    })
}

/// A full or abbreviated hash (SHA-1 or SHA-256), possibly marked `-dirty`.
fn looks_like_hash(value: &str) -> bool {
    let hash = strip_dirty(value).0;
    (7..=64).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_hexdigit())
}

/// The hash without a `-dirty` (or `+dirty`) mark, and whether it had one.
fn strip_dirty(value: &str) -> (&str, bool) {
    match value
        .strip_suffix("-dirty")
        .or_else(|| value.strip_suffix("+dirty"))
    {
        Some(hash) => (hash, true),
        None => (value, false),
    }
}

/// When `run` started, in seconds since the Unix epoch, and where that came from: the
/// tracker's recorded start time, else the earliest wall time of a logged point.
pub fn start_time(run: &Run) -> Option<(f64, String)> {
    let plausible = |t: &f64| t.is_finite() && *t > 1e9;
    let recorded = START_KEYS.iter().find_map(|key| {
        let seconds = run.config.get(*key)?.as_f64().filter(plausible)?;
        Some((seconds, (*key).to_owned()))
    });
    recorded.or_else(|| {
        run.series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.wall_time))
            .filter(plausible)
            .min_by(f64::total_cmp)
            .map(|t| (t, "its first logged point".to_owned()))
    })
}

/// The commit `run` was started from, with notes on how it was decided or why it was not.
pub(crate) fn decide(
    repo: &Repository,
    run: &Run,
    notes: &mut Vec<String>,
) -> Result<Option<crate::RunCommit>, GitError> {
    let name = &run.name;
    if let Some((key, recorded)) = recorded_commit(run) {
        let (hash, dirty) = strip_dirty(&recorded);
        let Some(full) = repo.resolve(hash)? else {
            notes.push(format!(
                "run {name} records commit {hash} ({key}), which is not in {} (another repository, or not fetched?)",
                repo.root().display()
            ));
            return Ok(None);
        };
        if dirty {
            notes.push(format!(
                "run {name} was started from {hash} with uncommitted changes, which git cannot show"
            ));
        }
        return Ok(Some(crate::RunCommit {
            run: name.clone(),
            commit: repo.commit(&full)?,
            source: CommitSource::Recorded { key, dirty },
        }));
    }
    let Some((started, from)) = start_time(run) else {
        notes.push(format!(
            "run {name} records no commit and no wall time to infer one from"
        ));
        return Ok(None);
    };
    let Some(hash) = repo.last_commit_at_or_before(started.floor() as i64)? else {
        notes.push(format!(
            "run {name} records no commit, and HEAD has no commit at or before its start ({})",
            utc(started)
        ));
        return Ok(None);
    };
    Ok(Some(crate::RunCommit {
        run: name.clone(),
        commit: repo.commit(&hash)?,
        source: CommitSource::Inferred { started, from },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fmr_core::Point;

    fn run_with(config: &[(&str, serde_json::Value)]) -> Run {
        let mut run = Run::default();
        for (key, value) in config {
            run.config.insert((*key).to_owned(), value.clone());
        }
        run
    }

    #[test]
    fn commits_recorded_under_known_and_generic_keys() {
        let hash = "0123456789abcdef0123456789abcdef01234567";
        let run = run_with(&[
            ("git_commit", "fedcba9".into()),
            ("mlflow.tags.mlflow.source.git.commit", hash.into()),
        ]);
        assert_eq!(
            recorded_commit(&run).map(|(k, _)| k).as_deref(),
            Some("mlflow.tags.mlflow.source.git.commit")
        );
        let run = run_with(&[("meta.git_commit", "fedcba9-dirty".into())]);
        assert_eq!(
            recorded_commit(&run),
            Some(("meta.git_commit".into(), "fedcba9-dirty".into()))
        );
        for (key, value) in [
            ("commit", serde_json::json!("not a hash")),
            ("git_commit", serde_json::json!(1234567)),
            ("recommit", serde_json::json!("abcdef0")),
            ("lr", serde_json::json!("abcdef0")),
        ] {
            assert_eq!(recorded_commit(&run_with(&[(key, value)])), None, "{key}");
        }
    }

    #[test]
    fn wandb_metadata_beside_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).expect("mkdir");
        std::fs::write(
            files.join(WANDB_METADATA),
            r#"{"program": "train.py", "git": {"remote": "x", "commit": "abcdef0123"}}"#,
        )
        .expect("write");
        let run = Run {
            path: dir.path().display().to_string(),
            ..Run::default()
        };
        assert_eq!(
            recorded_commit(&run),
            Some(("wandb-metadata.json git.commit".into(), "abcdef0123".into()))
        );
    }

    #[test]
    fn start_from_the_tracker_else_the_first_point() {
        let mut run = run_with(&[("mlflow.start_time", serde_json::json!(1_700_000_000.5))]);
        assert_eq!(
            start_time(&run),
            Some((1_700_000_000.5, "mlflow.start_time".into()))
        );
        run.config.clear();
        run.series_mut("loss").points = vec![
            Point {
                step: 1,
                wall_time: Some(1_700_000_100.0),
                value: 1.0,
            },
            Point {
                step: 0,
                wall_time: Some(1_700_000_050.0),
                value: 1.0,
            },
            Point {
                step: 2,
                wall_time: Some(12.0),
                value: 1.0,
            },
        ];
        assert_eq!(start_time(&run).map(|s| s.0), Some(1_700_000_050.0));
        assert_eq!(start_time(&Run::default()), None);
    }
}
