//! Walking directories, bad input, and the code index.

use std::fs;
use std::path::Path;

use fmr_audit::{CodeIndex, RULES, audit_path, audit_source, index_source, locate};

mod support;
use support::write;

/// A loop with backward and step but no `zero_grad`: PT001 on line 4 of this snippet.
const MISSING_ZERO_GRAD: &str = "\
for inputs, targets in loader:
    loss = criterion(model(inputs), targets)
    loss.backward()
    optimizer.step()
";

#[test]
fn missing_path_is_a_problem_not_a_failure() {
    let root = tempfile::tempdir().expect("tempdir");
    let missing = root.path().join("no_such_dir");
    let report = audit_path(&missing, RULES);
    assert_eq!(report.files_scanned, 0);
    assert!(report.findings.is_empty());
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].path.ends_with("no_such_dir"));
    assert_eq!(report.problems[0].problem, "no such file or directory");
    assert_eq!(locate(&missing).problems.len(), 1);
}

#[test]
fn non_utf8_file_is_reported_and_the_others_are_audited() {
    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("a_latin1.py"), b"# caf\xe9\nx = 1\n");
    write(&root.path().join("b_train.py"), MISSING_ZERO_GRAD);
    let report = audit_path(root.path(), RULES);
    assert_eq!(report.files_scanned, 1);
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].path, "a_latin1.py");
    assert_eq!(
        report.problems[0].problem,
        "not valid UTF-8 (invalid byte at offset 5)"
    );
    let rules: Vec<(&str, &str, usize)> = report
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.rule.as_str(), f.line))
        .collect();
    assert_eq!(rules, [("b_train.py", "PT001", 4)]);
}

#[test]
fn syntax_errors_do_not_stop_the_audit() {
    let broken = format!("def broken(:\n    pass\n\nclass\n\n{MISSING_ZERO_GRAD}");
    let findings = audit_source("broken.py", &broken, RULES);
    let lines: Vec<(&str, usize)> = findings.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(lines, [("PT001", 9)]);

    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("broken.py"), &broken);
    let report = audit_path(root.path(), RULES);
    assert_eq!(report.files_scanned, 1);
    assert!(report.problems.is_empty());
    assert_eq!(report.findings.len(), 1);
}

#[test]
fn byte_order_mark_does_not_shift_columns() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("bom.py"),
        format!("\u{feff}{MISSING_ZERO_GRAD}"),
    );
    let report = audit_path(root.path(), RULES);
    let finding = report.findings.first().expect("one finding");
    assert_eq!((finding.line, finding.column), (4, 5));
}

#[test]
fn walk_honours_gitignore_and_skips_hidden_dirs_and_virtualenvs() {
    let root = tempfile::tempdir().expect("tempdir");
    let base = root.path();
    write(&base.join(".gitignore"), "generated/\n");
    write(&base.join("generated/copy.py"), MISSING_ZERO_GRAD);
    write(&base.join(".cache/copy.py"), MISSING_ZERO_GRAD);
    write(&base.join("env/pyvenv.cfg"), "home = /usr/bin\n");
    write(&base.join("env/lib/site.py"), MISSING_ZERO_GRAD);
    write(&base.join("src/nested/train.py"), MISSING_ZERO_GRAD);
    write(&base.join("src/notes.txt"), MISSING_ZERO_GRAD);
    write(&base.join("a.py"), MISSING_ZERO_GRAD);
    let report = audit_path(base, RULES);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.files_scanned, 2);
    let files: Vec<&str> = report.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["a.py", "src/nested/train.py"]);
}

#[test]
fn a_single_file_keeps_the_path_it_was_given() {
    let root = tempfile::tempdir().expect("tempdir");
    let file = root.path().join("train.py");
    write(&file, MISSING_ZERO_GRAD);
    let report = audit_path(&file, RULES);
    assert_eq!(report.files_scanned, 1);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].file, file.display().to_string());
}

#[test]
fn findings_are_sorted_by_file_line_and_code() {
    let report = audit_path(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("fixtures"),
        RULES,
    );
    assert!(report.files_scanned >= 26);
    assert!(report.problems.is_empty());
    let keys: Vec<(String, usize, String)> = report
        .findings
        .iter()
        .map(|f| (f.file.clone(), f.line, f.rule.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(report.findings.iter().any(|f| f.file == "PT001.py"));
}

#[test]
fn code_index_of_a_project() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("project");
    let index = locate(&project);
    let expected = CodeIndex {
        training_loops: vec![
            "src/jax_train.py:13".into(),
            "src/train.py:11".into(),
            "src/train.py:22".into(),
        ],
        loss_calls: vec!["src/jax_train.py:7".into(), "src/train.py:13".into()],
        data_loaders: vec!["data/loaders.py:9".into(), "data/loaders.py:10".into()],
        optimizers: vec!["src/jax_train.py:11".into(), "src/train.py:20".into()],
        problems: Vec::new(),
    };
    assert_eq!(index, expected);
}

#[test]
fn code_index_of_a_snippet() {
    let index = index_source("snippet.py", MISSING_ZERO_GRAD);
    assert_eq!(index.training_loops, ["snippet.py:1"]);
    assert_eq!(index.loss_calls, ["snippet.py:2"]);
    assert!(index.data_loaders.is_empty() && index.optimizers.is_empty());
}

/// Every rule on every fixture cut off at many points: half-written code is the norm in a
/// failing project, and no prefix may make a rule panic.
#[test]
fn truncated_fixtures_never_panic() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures");
    let mut audited = 0;
    for entry in fs::read_dir(&fixtures)
        .expect("fixtures directory")
        .flatten()
    {
        let Ok(text) = fs::read_to_string(entry.path()) else {
            continue;
        };
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                let _ = audit_source("cut.py", &text[..cut], RULES);
                audited += 1;
            }
            cut += 41;
        }
    }
    assert!(audited > 1000, "only {audited} prefixes audited");
}
