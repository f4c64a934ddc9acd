//! `fmr diff GOOD BAD --code REPO`: the run comparison with the code comparison beside it,
//! on a git repository built in a temporary folder and runs that name (or imply) their commits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fmr(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fmr"))
        .args(args)
        .env("FMR_DATA_DIR", data)
        .output()
        .expect("fmr runs")
}

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

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A repository with two commits: the baseline on 2024-01-01 and, on 2024-01-02, a higher
/// learning rate, a smaller batch and no warmup.
fn repository(root: &Path) -> (String, String) {
    let day1 = "2024-01-01T10:00:00Z";
    git(root, &["init", "-q"], day1);
    git(root, &["config", "user.name", "Ada Lovelace"], day1);
    git(root, &["config", "user.email", "ada@example.com"], day1);
    git(root, &["config", "commit.gpgsign", "false"], day1);
    write(
        &root.join("train.py"),
        "LR = 3e-4\n\nloader = DataLoader(ds, batch_size=64)\n",
    );
    write(
        &root.join("conf/train.yaml"),
        "optim:\n  lr: 0.0003\nschedule:\n  warmup_steps: 500\n",
    );
    git(root, &["add", "-A"], day1);
    git(root, &["commit", "-q", "-m", "baseline"], day1);
    let first = git(root, &["rev-parse", "HEAD"], day1);
    let day2 = "2024-01-02T10:00:00Z";
    write(
        &root.join("train.py"),
        "LR = 1e-3\n\nloader = DataLoader(ds, batch_size=32)\n",
    );
    write(
        &root.join("conf/train.yaml"),
        "optim:\n  lr: 0.001\nschedule:\n  warmup_steps: 0\n",
    );
    git(root, &["add", "-A"], day2);
    git(root, &["commit", "-q", "-m", "train faster"], day2);
    let second = git(root, &["rev-parse", "HEAD"], day2);
    (first, second)
}

/// An MLflow run folder with a loss that falls (or climbs from step 60), logged from
/// `start_ms`, and the commit tag when `commit` is given.
fn mlflow_run(root: &Path, id: &str, start_ms: u64, climbs: bool, commit: Option<&str>) -> PathBuf {
    let run = root.join("mlruns/0").join(id);
    write(
        &root.join("mlruns/0/meta.yaml"),
        "name: sweep\nexperiment_id: '0'\n",
    );
    write(
        &run.join("meta.yaml"),
        &format!("run_id: {id}\nrun_name: {id}\nexperiment_id: '0'\nstatus: 3\n"),
    );
    let lines: String = (0..100u32)
        .map(|step| {
            let base = 0.3 + 2.0 / f64::from(step + 1);
            let value = if climbs && step >= 60 {
                base + 0.05 * f64::from(step - 60)
            } else {
                base
            };
            format!("{} {value} {step}\n", start_ms + u64::from(step) * 1000)
        })
        .collect();
    write(&run.join("metrics/loss"), &lines);
    write(
        &run.join("params/lr"),
        if climbs { "0.001" } else { "0.0003" },
    );
    if let Some(commit) = commit {
        write(&run.join("tags/mlflow.source.git.commit"), commit);
    }
    run
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn recorded_commits_bring_commits_files_and_constants() {
    let repo = tempfile::tempdir().expect("tempdir");
    let runs = tempfile::tempdir().expect("tempdir");
    let (first, second) = repository(repo.path());
    let good = mlflow_run(runs.path(), "good", 1_704_103_200_000, false, Some(&first));
    let bad = mlflow_run(runs.path(), "bad", 1_704_189_600_000, true, Some(&second));
    let (good, bad, repo_arg) = (
        good.display().to_string(),
        bad.display().to_string(),
        repo.path().display().to_string(),
    );

    let o = fmr(
        &["diff", &good, &bad, "--code", &repo_arg, "--format", "json"],
        runs.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(
        json["first_parting"], "loss",
        "the run comparison is still there"
    );
    let code = &json["code"];
    assert_eq!(code["good"]["commit"]["hash"], first.as_str());
    assert_eq!(code["bad"]["commit"]["hash"], second.as_str());
    assert_eq!(code["bad"]["source"]["kind"], "recorded");
    assert_eq!(
        code["bad"]["source"]["key"],
        "mlflow.tags.mlflow.source.git.commit"
    );
    let commits = code["commits"].as_array().expect("commits");
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0]["subject"], "train faster");
    assert_eq!(commits[0]["author"], "Ada Lovelace");
    assert_eq!(commits[0]["date"], "2024-01-02T10:00:00Z");
    let files: Vec<(&str, u64, u64)> = code["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default(),
                f["added"].as_u64().unwrap_or_default(),
                f["removed"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(files, [("conf/train.yaml", 2, 2), ("train.py", 2, 2)]);
    let constants: Vec<String> = code["constants"]
        .as_array()
        .expect("constants")
        .iter()
        .map(|c| {
            format!(
                "{}:{} {} {} -> {}",
                c["file"].as_str().unwrap_or_default(),
                c["line"],
                c["name"].as_str().unwrap_or_default(),
                c["old"].as_str().unwrap_or_default(),
                c["new"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        constants,
        [
            "conf/train.yaml:2 optim.lr 0.0003 -> 0.001",
            "conf/train.yaml:4 schedule.warmup_steps 500 -> 0",
            "train.py:1 LR 3e-4 -> 1e-3",
            "train.py:3 loader.batch_size 64 -> 32",
        ]
    );

    let o = fmr(&["diff", &good, &bad, "--code", &repo_arg], runs.path());
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o);
    assert!(out.contains("loss parts first"), "{out}");
    assert!(out.contains("Config: changed lr 0.0003 → 0.001"), "{out}");
    assert!(
        out.contains("1 commit from the good run's to the bad run's"),
        "{out}"
    );
    assert!(out.contains("train.py:1 LR 3e-4 → 1e-3"), "{out}");
    assert!(out.contains("conf/train.yaml +2 -2"), "{out}");
}

#[test]
fn a_run_without_a_commit_is_placed_by_its_first_logged_time() {
    let repo = tempfile::tempdir().expect("tempdir");
    let runs = tempfile::tempdir().expect("tempdir");
    let (first, second) = repository(repo.path());
    let good = mlflow_run(runs.path(), "good", 1_704_103_200_000, false, Some(&first));
    // 2024-01-02 12:00 UTC, two hours after the second commit.
    let bad = mlflow_run(runs.path(), "bad", 1_704_196_800_000, true, None);
    let o = fmr(
        &[
            "diff",
            &good.display().to_string(),
            &bad.display().to_string(),
            "--code",
            &repo.path().display().to_string(),
            "--format",
            "json",
        ],
        runs.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let bad_commit = &json["code"]["bad"];
    assert_eq!(bad_commit["commit"]["hash"], second.as_str());
    assert_eq!(bad_commit["source"]["kind"], "inferred");
    assert_eq!(bad_commit["source"]["started"], 1_704_196_800.0);
    assert_eq!(json["code"]["constants"].as_array().map(Vec::len), Some(4));
}

#[test]
fn no_repository_is_a_note_and_the_rest_is_printed() {
    let runs = tempfile::tempdir().expect("tempdir");
    let not_a_repo = tempfile::tempdir().expect("tempdir");
    let good = mlflow_run(
        runs.path(),
        "good",
        1_704_103_200_000,
        false,
        Some("abcdef0"),
    );
    let bad = mlflow_run(runs.path(), "bad", 1_704_189_600_000, true, Some("abcdef1"));
    let (good, bad) = (good.display().to_string(), bad.display().to_string());
    let missing = not_a_repo.path().join("absent").display().to_string();
    for repo in [not_a_repo.path().display().to_string(), missing] {
        let o = fmr(&["diff", &good, &bad, "--code", &repo], runs.path());
        assert_eq!(o.status.code(), Some(0), "{repo}");
        let out = text(&o);
        assert!(out.contains("loss parts first"), "{out}");
        assert!(out.contains("Note: no code comparison: "), "{out}");
    }
    let o = fmr(
        &[
            "diff",
            &good,
            &bad,
            "--code",
            &not_a_repo.path().display().to_string(),
            "--format",
            "json",
        ],
        runs.path(),
    );
    let json: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert!(
        json["code"]["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("is not inside a git work tree")),
        "{json}"
    );
    assert_eq!(json["code"]["commits"], Value::Array(Vec::new()));

    // Without --code, no code section at all.
    let o = fmr(&["diff", &good, &bad, "--format", "json"], runs.path());
    let json: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert!(json.get("code").is_none());
}

#[test]
fn an_unknown_commit_is_a_note() {
    let repo = tempfile::tempdir().expect("tempdir");
    let runs = tempfile::tempdir().expect("tempdir");
    let (first, _) = repository(repo.path());
    let good = mlflow_run(runs.path(), "good", 1_704_103_200_000, false, Some(&first));
    let bad = mlflow_run(
        runs.path(),
        "bad",
        1_704_189_600_000,
        true,
        Some("0badc0ffee"),
    );
    let o = fmr(
        &[
            "diff",
            &good.display().to_string(),
            &bad.display().to_string(),
            "--code",
            &repo.path().display().to_string(),
        ],
        runs.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o);
    assert!(
        out.contains("Note: run bad records commit 0badc0ffee (mlflow.tags.mlflow.source.git.commit), which is not in"),
        "{out}"
    );
    assert!(out.contains("good run good: commit"), "{out}");
}
