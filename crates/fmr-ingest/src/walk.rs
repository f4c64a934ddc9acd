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
            Ok(meta) if meta.is_dir() => walk_dir(root, root, false, problems, &mut found),
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

/// Walks `dir`, whose files belong to `group`. Under an MLflow run's
/// `metrics/` (`deep`), subfolders are parts of metric names
/// (`metrics/train/loss`), so they keep the group too.
fn walk_dir(
    dir: &Path,
    group: &Path,
    deep: bool,
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
    let kind = if deep {
        FolderKind::MlflowPart
    } else {
        FolderKind::of(&items)
    };
    for (name, path) in items {
        // `symlink_metadata` does not follow links: a linked directory (W&B's
        // `latest-run`) is a second name for a folder walked anyway, and not
        // following links keeps cycles out.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            match kind.subfolder(&name) {
                Subfolder::SameRun => walk_dir(&path, group, false, problems, found),
                Subfolder::WholeTree => walk_dir(&path, group, true, problems, found),
                Subfolder::Skipped => {}
                Subfolder::Own => {
                    if name == ".hydra" || latest_checkpoint.as_deref() == Some(name.as_str()) {
                        walk_dir(&path, group, false, problems, found);
                    } else if !(name.starts_with('.')
                        || SKIPPED_DIRS.contains(&name.as_str())
                        || is_checkpoint(&name))
                    {
                        walk_dir(&path, &path, false, problems, found);
                    }
                }
            }
            continue;
        }
        if kind == FolderKind::WandbRoot && WANDB_ROOT_LINKS.contains(&name.as_str()) {
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

/// Folders whose subfolders belong to them rather than being runs of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FolderKind {
    /// A W&B run folder: it holds a `run-<id>.wandb` log.
    WandbRun,
    /// W&B's `wandb/` folder, with `latest-run` and the debug-log links.
    WandbRoot,
    /// An MLflow run: `meta.yaml` beside `metrics/`, `params/` or `tags/`.
    MlflowRun,
    /// Inside an MLflow run's `metrics/`, `params/` or `tags/`.
    MlflowPart,
    Plain,
}

enum Subfolder {
    /// Part of the folder's run: walked with the folder's group.
    SameRun,
    /// Part of the folder's run down to its last subfolder.
    WholeTree,
    /// Not logs (W&B's SDK debug logs and scratch space).
    Skipped,
    /// A folder of its own.
    Own,
}

/// The debug-log links W&B leaves in `wandb/`: copies of a run's SDK log,
/// not training output.
const WANDB_ROOT_LINKS: &[&str] = &["debug.log", "debug-internal.log"];

const MLFLOW_PARTS: &[&str] = &["metrics", "params", "tags"];

impl FolderKind {
    fn of(items: &[(String, PathBuf)]) -> Self {
        let has_file = |wanted: &dyn Fn(&str) -> bool| {
            items
                .iter()
                .any(|(name, path)| wanted(name) && path.is_file())
        };
        if has_file(&|name| name.ends_with(".wandb")) {
            FolderKind::WandbRun
        } else if has_file(&|name| name == "meta.yaml")
            && items
                .iter()
                .any(|(name, path)| MLFLOW_PARTS.contains(&name.as_str()) && path.is_dir())
        {
            FolderKind::MlflowRun
        } else if items.iter().any(|(name, _)| name == "latest-run")
            || has_file(&|name| WANDB_ROOT_LINKS.contains(&name))
                && items
                    .iter()
                    .any(|(name, _)| name.starts_with("run-") || name.starts_with("offline-run-"))
        {
            FolderKind::WandbRoot
        } else {
            FolderKind::Plain
        }
    }

    fn subfolder(self, name: &str) -> Subfolder {
        match (self, name) {
            (FolderKind::WandbRun, "files") => Subfolder::SameRun,
            (FolderKind::WandbRun, "logs" | "tmp") => Subfolder::Skipped,
            (FolderKind::MlflowRun, part) if MLFLOW_PARTS.contains(&part) => Subfolder::WholeTree,
            (FolderKind::MlflowPart, _) => Subfolder::WholeTree,
            _ => Subfolder::Own,
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
    fn wandb_and_mlflow_run_folders_keep_their_parts_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for file in [
            "wandb/debug.log",
            "wandb/run-1-abc/run-abc.wandb",
            "wandb/run-1-abc/files/wandb-summary.json",
            "wandb/run-1-abc/files/output.log",
            "wandb/run-1-abc/logs/debug-internal.log",
            "wandb/run-1-abc/tmp/scratch.log",
            "mlruns/1/meta.yaml",
            "mlruns/1/r1/meta.yaml",
            "mlruns/1/r1/metrics/loss",
            "mlruns/1/r1/metrics/train/acc",
            "mlruns/1/r1/params/lr",
            "mlruns/1/r1/artifacts/train.log",
        ] {
            touch(&root.join(file));
        }
        let found = collect(&[root.to_path_buf()], &mut Vec::new());
        let listed: Vec<_> = found
            .iter()
            .map(|c| {
                let rel = |p: &Path| {
                    p.strip_prefix(root)
                        .expect("under root")
                        .display()
                        .to_string()
                };
                (rel(&c.path), rel(&c.group))
            })
            .collect();
        let expected = [
            ("mlruns/1/r1/artifacts/train.log", "mlruns/1/r1/artifacts"),
            ("mlruns/1/r1/meta.yaml", "mlruns/1/r1"),
            ("mlruns/1/r1/metrics/loss", "mlruns/1/r1"),
            ("mlruns/1/r1/metrics/train/acc", "mlruns/1/r1"),
            ("mlruns/1/r1/params/lr", "mlruns/1/r1"),
            ("wandb/run-1-abc/files/output.log", "wandb/run-1-abc"),
            (
                "wandb/run-1-abc/files/wandb-summary.json",
                "wandb/run-1-abc",
            ),
            ("wandb/run-1-abc/run-abc.wandb", "wandb/run-1-abc"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(listed, expected);
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
