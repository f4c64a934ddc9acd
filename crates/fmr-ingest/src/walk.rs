//! Finding the files to read under the paths the user gave.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use fmr_core::InputProblem;

use crate::registry::SOURCES;

/// A file to read, and the folder whose run it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub path: PathBuf,
    /// The run folder: the file's parent, except for files in Hydra's `.hydra/`
    /// and in the Trainer's latest `checkpoint-N/`, which belong to the folder
    /// above.
    pub group: PathBuf,
    /// Named by the user rather than found by walking.
    pub explicit: bool,
}

/// Directory names never descended into: caches, environments, VCS data.
const SKIPPED_DIRS: &[&str] = &["__pycache__", "node_modules", "site-packages"];

pub(crate) fn problem(path: &Path, problem: impl Into<String>) -> InputProblem {
    InputProblem {
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

/// Every candidate file under `roots`, each once, in a deterministic order.
pub(crate) fn collect(roots: &[PathBuf], problems: &mut Vec<InputProblem>) -> Vec<Candidate> {
    let mut found = Vec::new();
    for root in roots {
        match fs::metadata(root) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                problems.push(problem(root, "path does not exist"));
            }
            Err(error) => problems.push(problem(root, format!("cannot read: {error}"))),
            Ok(meta) if meta.is_dir() => walk_dir(root, root, problems, &mut found),
            Ok(meta) if meta.is_file() => found.push(Candidate {
                path: root.clone(),
                group: parent_folder(root),
                explicit: true,
            }),
            Ok(_) => problems.push(problem(root, "not a file or directory")),
        }
    }
    deduplicate(found)
}

/// The folder holding `file`, `.` for a bare file name.
fn parent_folder(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A file named twice (directly and inside a named directory, or through two
/// spellings of its path) is read once; being named directly wins.
fn deduplicate(found: Vec<Candidate>) -> Vec<Candidate> {
    let mut first_index: HashMap<PathBuf, usize> = HashMap::new();
    let mut unique: Vec<Candidate> = Vec::with_capacity(found.len());
    for candidate in found {
        let key = fs::canonicalize(&candidate.path).unwrap_or_else(|_| candidate.path.clone());
        match first_index.get(&key) {
            Some(&index) => unique[index].explicit |= candidate.explicit,
            None => {
                first_index.insert(key, unique.len());
                unique.push(candidate);
            }
        }
    }
    unique
}

fn walk_dir(
    dir: &Path,
    group: &Path,
    problems: &mut Vec<InputProblem>,
    found: &mut Vec<Candidate>,
) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            problems.push(problem(dir, format!("cannot read directory: {error}")));
            return;
        }
    };
    let mut items = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => items.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )),
            Err(error) => problems.push(problem(dir, format!("cannot read directory: {error}"))),
        }
    }
    items.sort();

    let latest_checkpoint = latest_checkpoint(&items);
    for (name, path) in items {
        // `symlink_metadata` does not follow links: a linked directory (W&B's
        // `latest-run`) is a second name for a folder walked anyway, and not
        // following links keeps cycles out.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if name == ".hydra" || latest_checkpoint.as_deref() == Some(name.as_str()) {
                walk_dir(&path, group, problems, found);
            } else if !(name.starts_with('.')
                || SKIPPED_DIRS.contains(&name.as_str())
                || is_checkpoint(&name))
            {
                walk_dir(&path, &path, problems, found);
            }
            continue;
        }
        let is_file = meta.is_file() || (meta.file_type().is_symlink() && path.is_file());
        if is_file && SOURCES.iter().any(|source| source.wants(&path)) {
            found.push(Candidate {
                path,
                group: group.to_path_buf(),
                explicit: false,
            });
        }
    }
}

fn is_checkpoint(name: &str) -> bool {
    checkpoint_number(name).is_some()
}

fn checkpoint_number(name: &str) -> Option<u64> {
    name.strip_prefix("checkpoint-")?.parse().ok()
}

/// Each HF `checkpoint-N/` holds a `trainer_state.json` with the history up to
/// step N, so only the newest one is read, as part of the run above it, and
/// none when that run saved its own final `trainer_state.json`.
fn latest_checkpoint(items: &[(String, PathBuf)]) -> Option<String> {
    let final_state = items
        .iter()
        .any(|(name, path)| name == "trainer_state.json" && path.is_file());
    if final_state {
        return None;
    }
    items
        .iter()
        .filter(|(_, path)| path.is_dir())
        .filter_map(|(name, _)| Some((checkpoint_number(name)?, name)))
        .max()
        .map(|(_, name)| name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        fs::write(path, "x").expect("write");
    }

    #[test]
    fn walks_logs_skips_noise_and_groups_special_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for file in [
            "run/train.log",
            "run/model.pt",
            "run/train.py",
            "run/.hydra/config.yaml",
            "run/.cache/x.log",
            "run/__pycache__/y.log",
            "hf/checkpoint-500/trainer_state.json",
            "hf/checkpoint-1000/trainer_state.json",
            "hf/stdout.log",
        ] {
            touch(&root.join(file));
        }
        let mut problems = Vec::new();
        let found = collect(&[root.to_path_buf()], &mut problems);
        assert!(problems.is_empty());
        let rel = |c: &Candidate| {
            (
                c.path
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string(),
                c.group
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string(),
            )
        };
        let listed: Vec<_> = found.iter().map(rel).collect();
        assert_eq!(
            listed,
            [
                (
                    "hf/checkpoint-1000/trainer_state.json".to_string(),
                    "hf".to_string()
                ),
                ("hf/stdout.log".to_string(), "hf".to_string()),
                ("run/.hydra/config.yaml".to_string(), "run".to_string()),
                ("run/train.log".to_string(), "run".to_string()),
            ]
        );
    }

    #[test]
    fn a_final_trainer_state_hides_the_checkpoints() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(&dir.path().join("trainer_state.json"));
        touch(&dir.path().join("checkpoint-5/trainer_state.json"));
        let found = collect(&[dir.path().to_path_buf()], &mut Vec::new());
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn reports_missing_paths_and_reads_each_file_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("a.log");
        touch(&log);
        let missing = dir.path().join("nope");
        let mut problems = Vec::new();
        let found = collect(
            &[dir.path().to_path_buf(), log.clone(), missing.clone()],
            &mut problems,
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].explicit);
        assert_eq!(problems, [problem(&missing, "path does not exist")]);
        assert_eq!(parent_folder(Path::new("train.log")), PathBuf::from("."));
    }
}
