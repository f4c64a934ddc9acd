//! `fmr audit --paper` and `fmr audit --trace`: the two auditors that take a
//! question rather than a rule list.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fmr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fmr"))
        .args(args)
        .current_dir(root())
        .env(
            "FMR_DATA_DIR",
            std::env::temp_dir().join("fmr-cli-audit-tests"),
        )
        .output()
        .expect("fmr runs")
}

#[test]
fn paper_alignment_lists_mismatches_with_lines_as_text_and_json() {
    let project = "crates/fmr-audit/tests/paper_fixtures/torch_project";
    let spec = "crates/fmr-audit/tests/paper_fixtures/specs/paper.toml";
    let text = fmr(&["audit", project, "--paper", spec]);
    assert_eq!(
        text.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("MISMATCHES"), "{out}");
    assert!(out.contains("train.py:14: learning_rate"), "{out}");

    let json = fmr(&["audit", project, "--paper", spec, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON alignment");
    assert!(
        value["mismatches"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{value}"
    );
}

#[test]
fn a_broken_or_missing_spec_is_a_clear_error() {
    let project = "crates/fmr-audit/tests/paper_fixtures/torch_project";
    let missing = fmr(&["audit", project, "--paper", "no/such/spec.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("spec.toml"));

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("spec.toml");
    std::fs::write(&bad, "[hyperparameters\nlr = ").expect("write");
    let out = fmr(&[
        "audit",
        project,
        "--paper",
        bad.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("spec.toml"));
}

#[test]
fn trace_follows_the_target_from_its_source_into_the_loss() {
    let scenario = "bench/scenarios/loss-broadcasting-shape";
    let out = fmr(&["audit", scenario, "--trace", "y_train", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON trace");
    let kinds: Vec<&str> = trace["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"split"), "{kinds:?}");
    assert!(kinds.contains(&"loss_input"), "{kinds:?}");

    let empty = fmr(&["audit", scenario, "--trace", "@train.py:3"]);
    assert_eq!(empty.status.code(), Some(2));
}
