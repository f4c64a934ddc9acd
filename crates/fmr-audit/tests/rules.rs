//! Fixture tests: each rule fires exactly on the lines its fixture marks with
//! `# expect: CODE`, no rule fires on any `*_ok*.py` fixture, and a snapshot renders every
//! fixture's findings as a reader would see them.

use std::collections::{BTreeMap, BTreeSet};
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

/// Precision and recall of every rule on the fixtures, with all rules running on every fixture:
/// `expected` marked lines, `found` of them reported, `false` findings on unmarked lines (in
/// the rule's own fixtures, the near-miss `_ok` fixtures and every other rule's fixtures).
/// The table is a snapshot, so any change in a rule's precision or recall shows up in review;
/// `cargo test -p fmr-audit --test rules precision -- --nocapture` prints it.
#[test]
fn precision_and_recall_per_rule() {
    let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
    let mut hits_by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut false_positives: BTreeMap<&str, usize> = BTreeMap::new();
    let mut negative_files = 0;
    for path in fixture_files() {
        let name = file_name(&path);
        let text = read(&path);
        let marked = expected_findings(&text);
        if marked.is_empty() {
            negative_files += 1;
        }
        let reported = found(&audit_source(&name, &text, RULES));
        for rule in RULES {
            let code = rule.code();
            let marked_here = marked.iter().filter(|(_, marked)| marked == code).count();
            let hits = reported
                .iter()
                .filter(|(line, reported)| {
                    reported == code && marked.contains(&(*line, code.to_owned()))
                })
                .count();
            let misses = reported
                .iter()
                .filter(|(line, reported)| {
                    reported == code && !marked.contains(&(*line, code.to_owned()))
                })
                .count();
            *expected.entry(code).or_default() += marked_here;
            *hits_by_rule.entry(code).or_default() += hits;
            *false_positives.entry(code).or_default() += misses;
        }
    }
    let mut table = format!(
        "{} rules, {} fixtures ({negative_files} without any expected finding)\n\n\
         rule   expected  found  false  precision  recall\n",
        RULES.len(),
        fixture_files().len()
    );
    let ratio = |numerator: usize, denominator: usize| {
        if denominator == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}", numerator as f64 / denominator as f64)
        }
    };
    let (mut all_expected, mut all_found, mut all_false) = (0, 0, 0);
    for rule in RULES {
        let code = rule.code();
        let (expected, found, false_positives) =
            (expected[code], hits_by_rule[code], false_positives[code]);
        all_expected += expected;
        all_found += found;
        all_false += false_positives;
        table.push_str(&format!(
            "{code}  {expected:>8}  {found:>5}  {false_positives:>5}  {:>9}  {:>6}\n",
            ratio(found, found + false_positives),
            ratio(found, expected),
        ));
    }
    table.push_str(&format!(
        "all    {all_expected:>8}  {all_found:>5}  {all_false:>5}  {:>9}  {:>6}\n",
        ratio(all_found, all_found + all_false),
        ratio(all_found, all_expected),
    ));
    println!("{table}");
    insta::assert_snapshot!(table);
}
