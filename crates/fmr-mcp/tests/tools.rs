//! The tools called in process, on the shipped example and on fixtures beside
//! this file. Paths are given relative to the repository root, as an agent
//! working in it would, so each test changes nothing global: it builds
//! absolute paths from CARGO_MANIFEST_DIR instead.

use std::path::{Path, PathBuf};

use fmr_audit::trace::StepKind;
use fmr_engine::Engine;
use fmr_mcp::tools::{
    self, Attempt, AttemptArgs, AttemptOutcome, AuditArgs, ExplainArgs, RunInputs, SearchArgs,
    TraceArgs,
};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(part: &str) -> String {
    crate_dir()
        .join("../../examples/fp16-nan")
        .join(part)
        .display()
        .to_string()
}

fn fixture(part: &str) -> String {
    crate_dir()
        .join("tests/fixtures/project")
        .join(part)
        .display()
        .to_string()
}

fn fp16_example_inputs() -> RunInputs {
    let symptom = std::fs::read_to_string(example("symptom.txt")).expect("example symptom");
    RunInputs {
        paths: vec![example("logs")],
        code: Some(example("code")),
        symptom: Some(symptom),
        ..RunInputs::default()
    }
}

fn engine() -> Engine {
    Engine::new().expect("the embedded knowledge base indexes")
}

#[test]
fn investigate_ranks_fp16_overflow_first_on_the_example() {
    let report = tools::investigate(&engine(), &fp16_example_inputs()).unwrap();
    assert_eq!(report.hypotheses[0].id, "FM0001");
    assert!(report.audit_findings.iter().any(|f| f.rule == "PT005"));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        report.characterization.onset.as_ref().map(|o| o.step),
        Some(2140)
    );
}

#[test]
fn investigate_with_only_unreadable_logs_says_why() {
    let dir = crate_dir().join("tests/fixtures/project/models");
    let inputs = RunInputs {
        paths: vec![dir.display().to_string()],
        ..RunInputs::default()
    };
    let message = tools::investigate(&engine(), &inputs).unwrap_err();
    assert!(
        message.starts_with("nothing readable in the given paths"),
        "{message}"
    );
}

#[test]
fn characterize_measures_the_symptoms_without_searching() {
    let out = tools::characterize(&RunInputs {
        paths: vec![example("logs")],
        ..RunInputs::default()
    })
    .unwrap();
    assert_eq!(out.inputs.len(), 1);
    assert!(
        out.characterization
            .symptoms
            .iter()
            .any(|s| s.code == "S101" && s.window.is_some_and(|w| w.start == 2140))
    );
}

#[test]
fn characterize_needs_logs_or_words() {
    let message = tools::characterize(&RunInputs {
        code: Some(example("code")),
        ..RunInputs::default()
    })
    .unwrap_err();
    assert!(message.contains("give `paths` or `symptom`"), "{message}");
}

#[test]
fn search_covers_one_level_or_all_four() {
    let engine = engine();
    let one = tools::search_knowledge(
        &engine,
        &SearchArgs {
            text: "loss becomes nan with fp16 autocast".into(),
            level: Some(1),
            limit: Some(3),
        },
    )
    .unwrap();
    assert_eq!(one.hits.len(), 3);
    assert_eq!(one.hits[0].id, "FM0001");
    assert!(one.hits.iter().all(|h| h.level == 1 && !h.title.is_empty()));

    let all = tools::search_knowledge(
        &engine,
        &SearchArgs {
            text: "codebook collapse".into(),
            level: None,
            limit: Some(2),
        },
    )
    .unwrap();
    let levels: Vec<u8> = all.hits.iter().map(|h| h.level).collect();
    assert!(levels.windows(2).all(|w| w[0] <= w[1]), "{levels:?}");
    assert!(levels.contains(&1) && levels.contains(&4), "{levels:?}");

    for (level, limit, text, needle) in [
        (Some(0), None, "nan", "`level` must be"),
        (None, Some(0), "nan", "`limit` must be"),
        (None, None, "  ", "`text` is empty"),
    ] {
        let message = tools::search_knowledge(
            &engine,
            &SearchArgs {
                text: text.into(),
                level,
                limit,
            },
        )
        .unwrap_err();
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn audit_code_selects_rules_and_rejects_unknown_ones() {
    let all = tools::audit_code(&AuditArgs {
        path: fixture(""),
        rules: Vec::new(),
        auditor: None,
    })
    .unwrap();
    assert_eq!(all.files_scanned, 2);
    let rules: Vec<&str> = all.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(
        rules.contains(&"PT001") && rules.contains(&"PT002"),
        "{rules:?}"
    );

    let one = tools::audit_code(&AuditArgs {
        path: fixture(""),
        rules: vec!["PT002".into()],
        auditor: None,
    })
    .unwrap();
    assert_eq!(one.rules, ["PT002"]);
    assert!(one.findings.iter().all(|f| f.rule == "PT002"));

    let unknown = tools::audit_code(&AuditArgs {
        path: fixture(""),
        rules: vec!["PT999".into()],
        auditor: None,
    })
    .unwrap_err();
    assert!(unknown.contains("unknown audit rule(s) PT999"), "{unknown}");
    let bad_auditor = tools::audit_code(&AuditArgs {
        path: fixture(""),
        rules: Vec::new(),
        auditor: Some("linter".into()),
    })
    .unwrap_err();
    assert!(bad_auditor.contains("unknown auditor"), "{bad_auditor}");
    let missing = tools::audit_code(&AuditArgs {
        path: "no/such/dir".into(),
        rules: Vec::new(),
        auditor: None,
    })
    .unwrap_err();
    assert!(missing.contains("no/such/dir: no such file or directory"));
}

#[test]
fn trace_follows_labels_from_the_loader_into_the_loss() {
    let out = tools::trace_data_flow(&TraceArgs {
        path: fixture(""),
        name: "labels".into(),
        location: Some("train.py:18".into()),
    })
    .unwrap();
    insta::assert_json_snapshot!(out);
}

#[test]
fn trace_crosses_files_and_carries_the_findings_on_its_lines() {
    // `images` reaches `Net.forward` in models/net.py through `model(images)`.
    let out = tools::trace_data_flow(&TraceArgs {
        path: fixture(""),
        name: "images".into(),
        location: Some("train.py:16".into()),
    })
    .unwrap();
    let forward: Vec<(&str, usize, StepKind)> = out
        .trace
        .forward()
        .map(|step| (step.file.as_str(), step.line, step.kind))
        .collect();
    assert!(
        forward.contains(&("models/net.py", 9, StepKind::Param))
            && forward.contains(&("models/net.py", 10, StepKind::Reshape)),
        "{forward:?}"
    );
    // The probabilities that reach the loss on line 18 carry PT002 (softmax
    // before cross-entropy); the trace passes that line.
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule == "PT002" && f.line == 18)
    );
    let json = serde_json::to_value(&out).unwrap();
    assert!(
        json["steps"].is_array()
            && json["findings"].is_array()
            && json["query"]["name"] == "images"
    );
}

#[test]
fn trace_reports_what_it_cannot_do() {
    let no_mention = tools::trace_data_flow(&TraceArgs {
        path: fixture(""),
        name: "scaler".into(),
        location: None,
    })
    .unwrap();
    assert!(no_mention.trace.steps.is_empty());
    assert!(no_mention.trace.notes[0].contains("does not appear"));

    for (name, location, needle) in [
        ("images", Some("3"), "a line needs its file"),
        (
            "images",
            Some("missing.py:3"),
            "no Python file \"missing.py\"",
        ),
        ("a b", None, "must be a Python name"),
    ] {
        let message = tools::trace_data_flow(&TraceArgs {
            path: fixture(""),
            name: name.into(),
            location: location.map(String::from),
        })
        .unwrap_err();
        assert!(message.contains(needle), "{message}");
    }
    let missing = tools::trace_data_flow(&TraceArgs {
        path: "no/such/dir".into(),
        name: "x".into(),
        location: None,
    })
    .unwrap_err();
    assert!(
        missing.contains("no/such/dir: no such file or directory"),
        "{missing}"
    );
    let off_line = tools::trace_data_flow(&TraceArgs {
        path: fixture("train.py"),
        name: "labels".into(),
        location: Some("2".into()),
    })
    .unwrap();
    assert!(
        off_line.trace.notes[0].starts_with("line 2 of"),
        "{:?}",
        off_line.trace.notes
    );
}

#[test]
fn a_failed_fix_lowers_the_hypothesis_it_targets() {
    let out = tools::record_attempt(
        &engine(),
        &AttemptArgs {
            inputs: fp16_example_inputs(),
            attempt: Attempt {
                what: "added torch.cuda.amp.GradScaler around backward and step".into(),
                outcome: AttemptOutcome::Failed,
                details: Some("still NaN at step 2,140".into()),
            },
        },
    )
    .unwrap();
    assert_eq!(out.recorded.outcome, fmr_core::TriedOutcome::Failed);
    assert!(
        out.recorded
            .text
            .ends_with("did not help; still NaN at step 2,140")
    );
    let fp16 = out
        .changes
        .iter()
        .find(|c| c.id == "FM0001")
        .expect("FM0001 moved");
    assert!(fp16.likelihood_after < fp16.likelihood_before, "{fp16:?}");
    assert!(!fp16.reasons.is_empty());
    assert!(out.summary.contains("FM0001"));
    assert!(
        out.report
            .characterization
            .tried
            .iter()
            .any(|t| t.text == out.recorded.text)
    );
}

#[test]
fn an_attempt_whose_details_would_change_its_outcome_leaves_them_out() {
    let out = tools::record_attempt(
        &engine(),
        &AttemptArgs {
            inputs: fp16_example_inputs(),
            attempt: Attempt {
                what: "switched to bf16".into(),
                outcome: AttemptOutcome::Helped,
                details: Some("no NaN, though it still trains a bit slower".into()),
            },
        },
    )
    .unwrap();
    assert_eq!(out.recorded.text, "switched to bf16: fixed it");
    assert_eq!(out.recorded.outcome, fmr_core::TriedOutcome::Helped);
    assert!(out.notes[0].contains("details were left out"));
}

#[test]
fn explain_returns_the_entry_and_suggests_ids_for_text() {
    let engine = engine();
    let entry = tools::explain_failure_mode(&engine, &ExplainArgs { id: "fm1".into() }).unwrap();
    assert_eq!(entry.id, "FM0001");
    assert!(!entry.fixes.is_empty() && !entry.sources.is_empty());
    assert!(
        entry
            .audit_rules
            .iter()
            .any(|r| r.code == "PT005" && !r.name.is_empty())
    );
    assert!(entry.lookalikes.iter().all(|l| !l.title.is_empty()));

    let message = tools::explain_failure_mode(
        &engine,
        &ExplainArgs {
            id: "fp16 overflow nan".into(),
        },
    )
    .unwrap_err();
    assert!(
        message.contains("Entries matching it as text: FM0001"),
        "{message}"
    );
}

#[test]
fn tool_results_serialize_without_machine_paths() {
    // Results are relative to what the caller passed; nothing from this machine leaks in.
    let out = tools::trace_data_flow(&TraceArgs {
        path: fixture(""),
        name: "loss".into(),
        location: None,
    })
    .unwrap();
    let json = serde_json::to_string(&out).unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).display().to_string();
    assert!(!json.contains(&here), "{json}");
}
