//! `code_diff` on a real repository built in a temporary folder: commits with fixed dates by a
//! configured author, and runs that name their commits (or only carry wall times).

use std::path::Path;
use std::process::Command;

use fmr_core::{Point, Run};
use fmr_git::{CommitSource, code_diff};

fn git(dir: &Path, args: &[&str], date: &str) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Commits `files` (path, text) at `date`; returns the new commit's hash.
fn commit(dir: &Path, files: &[(&str, &str)], message: &str, date: &str) -> String {
    for (path, text) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }
    git(dir, &["add", "-A"], date);
    git(dir, &["commit", "-q", "-m", message], date);
    git(dir, &["rev-parse", "HEAD"], date)
}

const TRAIN_V1: &str = "import torch

lr = 3e-4
EPOCHS = 10


def main():
    loader = DataLoader(ds, batch_size=64, shuffle=True)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=lr,
        weight_decay=0.01,
    )
";

const TRAIN_V2: &str = "import torch

lr = 1e-3
EPOCHS = 10


def main():
    loader = DataLoader(ds, batch_size=32, shuffle=True)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=lr,
        weight_decay=0.1,
    )
";

const CONFIG_V1: &str = "model:\n  layers: 4\noptim:\n  lr: 0.001\n  warmup: 500\n";
const CONFIG_V2: &str = "model:\n  layers: 4\noptim:\n  lr: 0.01\n  warmup: 500\n";
const ARGS_V1: &str = "{\n  \"train\": {\n    \"warmup_steps\": 500,\n    \"seed\": 1\n  }\n}\n";
const ARGS_V2: &str = "{\n  \"train\": {\n    \"warmup_steps\": 0,\n    \"seed\": 1\n  }\n}\n";

struct Fixture {
    dir: tempfile::TempDir,
    first: String,
    second: String,
    third: String,
}

/// Three commits on 2024-01-01, -02 and -03 at 10:00 UTC: the training script and configs,
/// then a new learning rate and batch size, then a config change and a new file.
fn repository() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let day1 = "2024-01-01T10:00:00Z";
    git(root, &["init", "-q"], day1);
    git(root, &["config", "user.name", "Ada Lovelace"], day1);
    git(root, &["config", "user.email", "ada@example.com"], day1);
    git(root, &["config", "commit.gpgsign", "false"], day1);
    let first = commit(
        root,
        &[
            ("train.py", TRAIN_V1),
            ("conf/base.yaml", CONFIG_V1),
            ("args.json", ARGS_V1),
        ],
        "first version",
        day1,
    );
    let second = commit(
        root,
        &[("train.py", TRAIN_V2)],
        "faster: raise lr, smaller batches",
        "2024-01-02T10:00:00Z",
    );
    let third = commit(
        root,
        &[
            ("conf/base.yaml", CONFIG_V2),
            ("args.json", ARGS_V2),
            ("README.md", "notes\n"),
        ],
        "no warmup",
        "2024-01-03T10:00:00Z",
    );
    Fixture {
        dir,
        first,
        second,
        third,
    }
}

fn run_at(name: &str, key: &str, commit: &str) -> Run {
    let mut run = Run {
        name: name.to_owned(),
        ..Run::default()
    };
    run.config.insert(key.to_owned(), commit.into());
    run
}

#[test]
fn recorded_commits_give_commits_files_and_constants() {
    let fixture = repository();
    let good = run_at(
        "baseline",
        "mlflow.tags.mlflow.source.git.commit",
        &fixture.first,
    );
    let bad = run_at("fast", "git_commit", &fixture.third[..10]);
    let diff = code_diff(fixture.dir.path(), &good, &bad);
    assert!(diff.notes.is_empty(), "{:?}", diff.notes);

    let good_commit = diff.good.as_ref().expect("good commit");
    assert_eq!(good_commit.commit.hash, fixture.first);
    assert_eq!(
        good_commit.source,
        CommitSource::Recorded {
            key: "mlflow.tags.mlflow.source.git.commit".into(),
            dirty: false
        }
    );
    let bad_commit = diff.bad.as_ref().expect("bad commit");
    assert_eq!(bad_commit.commit.hash, fixture.third, "a prefix resolves");

    let commits: Vec<(&str, &str, &str, &str)> = diff
        .commits
        .iter()
        .map(|c| {
            (
                c.hash.as_str(),
                c.date.as_str(),
                c.author.as_str(),
                c.subject.as_str(),
            )
        })
        .collect();
    assert_eq!(
        commits,
        vec![
            (
                fixture.third.as_str(),
                "2024-01-03T10:00:00Z",
                "Ada Lovelace",
                "no warmup"
            ),
            (
                fixture.second.as_str(),
                "2024-01-02T10:00:00Z",
                "Ada Lovelace",
                "faster: raise lr, smaller batches"
            ),
        ]
    );
    assert!(diff.commits_only_in_good.is_empty());

    let files: Vec<(&str, Option<u64>, Option<u64>)> = diff
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.added, f.removed))
        .collect();
    assert_eq!(
        files,
        vec![
            ("README.md", Some(1), Some(0)),
            ("args.json", Some(1), Some(1)),
            ("conf/base.yaml", Some(1), Some(1)),
            ("train.py", Some(3), Some(3)),
        ]
    );

    let constants: Vec<String> = diff
        .constants
        .iter()
        .map(|c| format!("{}:{} {} {} -> {}", c.file, c.line, c.name, c.old, c.new))
        .collect();
    assert_eq!(
        constants,
        vec![
            "args.json:3 train.warmup_steps 500 -> 0",
            "conf/base.yaml:4 optim.lr 0.001 -> 0.01",
            "train.py:3 lr 3e-4 -> 1e-3",
            "train.py:8 loader.batch_size 64 -> 32",
            "train.py:12 optimizer.weight_decay 0.01 -> 0.1",
        ]
    );

    let text = diff.summary();
    assert!(
        text.contains("2 commits from the good run's to the bad run's"),
        "{text}"
    );
    assert!(text.contains("train.py:3 lr 3e-4 → 1e-3"), "{text}");
    assert!(
        text.contains("recorded in mlflow.tags.mlflow.source.git.commit"),
        "{text}"
    );
}

#[test]
fn a_run_without_a_recorded_commit_is_placed_by_its_wall_time() {
    let fixture = repository();
    let good = run_at("baseline", "git.commit", &fixture.first);
    let mut bad = Run {
        name: "later".to_owned(),
        ..Run::default()
    };
    // 2024-01-02 12:00 UTC: after the second commit, before the third.
    bad.series_mut("loss").points = (0..3)
        .map(|step| Point {
            step,
            wall_time: Some(1_704_196_800.0 + step as f64 * 60.0),
            value: 1.0,
        })
        .collect();
    let diff = code_diff(fixture.dir.path(), &good, &bad);
    let bad_commit = diff.bad.as_ref().expect("inferred commit");
    assert_eq!(bad_commit.commit.hash, fixture.second);
    assert!(matches!(
        &bad_commit.source,
        CommitSource::Inferred { started, from }
            if *started == 1_704_196_800.0 && from == "its first logged point"
    ));
    assert_eq!(diff.commits.len(), 1);
    assert_eq!(diff.files.len(), 1);
    assert_eq!(diff.constants.len(), 3);
    assert!(diff.summary().contains(
        "inferred: the last commit on HEAD at or before the run started (2024-01-02 12:00:00 UTC"
    ));
}

#[test]
fn reversed_unknown_and_identical_commits_are_noted() {
    let fixture = repository();
    let newer = run_at("newer", "git_commit", &fixture.third);
    let older = run_at("older", "git_commit", &fixture.first);
    let reversed = code_diff(fixture.dir.path(), &newer, &older);
    assert!(reversed.commits.is_empty());
    assert_eq!(reversed.commits_only_in_good.len(), 2);
    assert!(
        reversed.notes[0].contains("is older than the good run's"),
        "{:?}",
        reversed.notes
    );
    assert!(
        reversed
            .constants
            .iter()
            .any(|c| c.name == "lr" && c.old == "1e-3" && c.new == "3e-4")
    );

    let unknown = run_at("elsewhere", "git_commit", "deadbeefdeadbeef");
    let diff = code_diff(fixture.dir.path(), &newer, &unknown);
    assert!(diff.bad.is_none());
    assert!(diff.commits.is_empty() && diff.files.is_empty());
    assert!(
        diff.notes
            .iter()
            .any(|n| n.contains("records commit deadbeefdeadbeef (git_commit), which is not in")),
        "{:?}",
        diff.notes
    );

    let same = code_diff(fixture.dir.path(), &newer, &newer.clone());
    assert!(same.notes[0].contains("both runs are at commit"));
    assert!(same.files.is_empty());

    let nothing = code_diff(fixture.dir.path(), &newer, &Run::default());
    assert!(
        nothing
            .notes
            .iter()
            .any(|n| n.contains("records no commit and no wall time")),
        "{:?}",
        nothing.notes
    );
}

#[test]
fn no_repository_is_a_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_at("a", "git_commit", "abcdef0");
    let diff = code_diff(dir.path(), &run, &run);
    assert_eq!(diff.notes.len(), 1);
    assert!(
        diff.notes[0].contains("is not inside a git work tree"),
        "{:?}",
        diff.notes
    );
    let missing = code_diff(&dir.path().join("absent"), &run, &run);
    assert!(
        missing.notes[0].contains("no such folder"),
        "{:?}",
        missing.notes
    );
    let file = dir.path().join("train.py");
    std::fs::write(&file, "lr = 1\n").expect("write");
    let not_a_folder = code_diff(&file, &run, &run);
    assert!(
        not_a_folder.notes[0].contains("is a file: give the repository's folder"),
        "{:?}",
        not_a_folder.notes
    );
}
