//! Fixture tests: each rule fires exactly on the lines its fixture marks with
//! `# expect: CODE`, no rule fires on any `*_ok*.py` fixture, and a snapshot renders every
//! fixture's findings as a reader would see them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use fmr_audit::{AuditRule, RULES, audit_source, rule};
use fmr_core::AuditFinding;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The `(line, code)` pairs a fixture expects: a `# expect: CODE[, CODE]` comment applies to the
/// next line that is not a comment.
fn expected_findings(text: &str) -> BTreeSet<(usize, String)> {
    let mut expected = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(codes) = trimmed.strip_prefix("# expect:") {
            pending.extend(codes.split(',').map(|code| code.trim().to_owned()));
        } else if !trimmed.is_empty() && !trimmed.starts_with('#') {
            expected.extend(pending.drain(..).map(|code| (index + 1, code)));
        }
    }
    expected
}

fn found(findings: &[AuditFinding]) -> BTreeSet<(usize, String)> {
    findings
        .iter()
        .map(|finding| (finding.line, finding.rule.clone()))
        .collect()
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(fixtures())
        .expect("fixtures directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "py"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_rule_has_a_positive_and_an_ok_fixture() {
    for rule in RULES {
        for name in [
            format!("{}.py", rule.code()),
            format!("{}_ok.py", rule.code()),
        ] {
            assert!(fixtures().join(&name).is_file(), "missing fixture {name}");
        }
    }
}

#[test]
fn each_rule_fires_exactly_on_the_marked_lines_of_its_fixture() {
    for rule in RULES {
        let name = format!("{}.py", rule.code());
        let text = read(&fixtures().join(&name));
        let expected: BTreeSet<_> = expected_findings(&text)
            .into_iter()
            .filter(|(_, code)| code == rule.code())
            .collect();
        assert!(
            expected.len() >= 2,
            "{name}: a fixture needs several marked variants"
        );
        let findings = audit_source(&name, &text, &[*rule]);
        assert_eq!(
            found(&findings),
            expected,
            "{name}: findings differ from the `# expect` markers"
        );
    }
}

#[test]
fn all_rules_together_fire_only_on_marked_lines() {
    for path in fixture_files() {
        let name = file_name(&path);
        let text = read(&path);
        let findings = audit_source(&name, &text, RULES);
        assert_eq!(
            found(&findings),
            expected_findings(&text),
            "{name}: unexpected or missing findings"
        );
    }
}

#[test]
fn no_rule_fires_on_ok_fixtures() {
    let ok_files: Vec<PathBuf> = fixture_files()
        .into_iter()
        .filter(|path| file_name(path).contains("_ok"))
        .collect();
    assert!(ok_files.len() >= RULES.len());
    for path in ok_files {
        let name = file_name(&path);
        let code = name.split("_ok").next().unwrap_or_default();
        assert!(rule(code).is_some(), "{name}: named after an unknown rule");
        let findings = audit_source(&name, &read(&path), RULES);
        assert!(
            findings.is_empty(),
            "{name}: rules fired on correct code: {findings:#?}"
        );
    }
}

#[test]
fn findings_carry_the_rule_metadata() {
    for rule in RULES {
        let name = format!("{}.py", rule.code());
        let text = read(&fixtures().join(&name));
        for finding in audit_source(&name, &text, &[*rule]) {
            assert_eq!(finding.name, rule.name());
            assert_eq!(finding.auditor, rule.auditor().as_str());
            assert_eq!(finding.file, name);
            assert!(finding.column >= 1);
            assert!((0.0..=1.0).contains(&finding.confidence));
            let line = text.lines().nth(finding.line - 1).unwrap_or_default();
            assert_eq!(
                finding.snippet,
                line.trim(),
                "{name}: the snippet is the finding's line"
            );
            assert!(!finding.message.is_empty());
        }
    }
}

/// rustc/ruff style: `file:line:col: CODE message`, then the offending line.
fn render(findings: &[AuditFinding]) -> String {
    if findings.is_empty() {
        return "(no findings)\n".to_owned();
    }
    let mut out = String::new();
    for finding in findings {
        out.push_str(&format!(
            "{}:{}:{}: {} {}\n  [{}, {}, confidence {:.2}]\n  {:>4} | {}\n\n",
            finding.file,
            finding.line,
            finding.column,
            finding.rule,
            finding.message,
            finding.name,
            finding.auditor,
            finding.confidence,
            finding.line,
            finding.snippet,
        ));
    }
    out
}

#[test]
fn snapshot_every_fixture() {
    insta::glob!("fixtures/*.py", |path| {
        let findings = audit_source(&file_name(path), &read(path), RULES);
        insta::assert_snapshot!(render(&findings));
    });
}

#[test]
fn rules_are_usable_as_trait_objects_from_outside() {
    let selected: Vec<&'static dyn AuditRule> = ["PT001", "JX001"]
        .iter()
        .filter_map(|code| rule(code))
        .collect();
    assert_eq!(selected.len(), 2);
    assert!(audit_source("empty.py", "", &selected).is_empty());
}
