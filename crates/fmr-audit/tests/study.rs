//! `study_project` parses each file once and must learn exactly what the three separate walks
//! learn: the audit, the code index and the hyperparameter scan.

use std::path::{Path, PathBuf};

use fmr_audit::paper::scan_project;
use fmr_audit::{RULES, audit_path, locate, study_project};

mod support;
use support::write;

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// The study of `root` agrees with `audit_path`, `locate` and `scan_project` on it.
fn assert_same_as_separate_walks(root: &Path) {
    let study = study_project(root, RULES);
    let audit = audit_path(root, RULES);
    assert_eq!(study.findings, audit.findings, "audit findings of {root:?}");
    assert_eq!(study.python_files, audit.files_scanned);
    let index = locate(root);
    assert_eq!(study.index.training_loops, index.training_loops);
    assert_eq!(study.index.loss_calls, index.loss_calls);
    assert_eq!(study.index.data_loaders, index.data_loaders);
    assert_eq!(study.index.optimizers, index.optimizers);
    let scan = scan_project(root, &[]);
    assert_eq!(study.scan.values, scan.values, "scanned values of {root:?}");
    assert_eq!(
        format!("{:?}", study.scan.evidence),
        format!("{:?}", scan.evidence)
    );
}

#[test]
fn the_rule_fixtures_give_the_same_findings_and_index() {
    let root = fixtures("fixtures");
    let study = study_project(&root, RULES);
    // The fixtures are meant to fire: a study that found nothing would prove nothing.
    assert!(
        study.findings.len() > 50,
        "{} findings",
        study.findings.len()
    );
    assert!(!study.index.training_loops.is_empty());
    assert_same_as_separate_walks(&root);
}

#[test]
fn the_paper_projects_give_the_same_hyperparameters() {
    for project in ["torch_project", "hf_project", "jax_project"] {
        let root = fixtures("paper_fixtures").join(project);
        let study = study_project(&root, RULES);
        assert!(
            !study.scan.values.is_empty(),
            "{project} sets hyperparameters"
        );
        assert_same_as_separate_walks(&root);
    }
}

#[test]
fn one_file_is_studied_like_a_directory_of_one() {
    let root = tempfile::tempdir().expect("tempdir");
    let file = root.path().join("train.py");
    write(
        &file,
        "import torch\nopt = torch.optim.AdamW(model.parameters(), lr=3e-4)\n\
         for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    opt.step()\n",
    );
    let study = study_project(&file, RULES);
    assert_eq!(study.python_files, 1);
    assert!(study.findings.iter().any(|f| f.rule == "PT001"));
    assert_eq!(study.scan.values_of("learning_rate").len(), 1);
    assert_same_as_separate_walks(&file);
}

#[test]
fn imported_modules_are_the_absolute_dotted_names() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("pkg/train.py"),
        "import numpy as np\nimport ray.rllib\nfrom torch.nn import functional as F\n\
         from . import helpers\nfrom .models import Net\n\ndef f():\n    import optax\n",
    );
    let study = study_project(root.path(), RULES);
    let modules: Vec<&str> = study.imported_modules.iter().map(String::as_str).collect();
    assert_eq!(modules, ["numpy", "optax", "ray.rllib", "torch.nn"]);
}

#[test]
fn unreadable_and_malformed_files_are_named_once_and_the_rest_is_studied() {
    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("a_latin1.py"), b"# caf\xe9\nx = 1\n");
    write(
        &root.path().join("b_config.yaml"),
        "optimizer: [adam\nlr: 0.1\n",
    );
    write(
        &root.path().join("c_train.py"),
        "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n",
    );
    write(&root.path().join("d_config.yaml"), "learning_rate: 0.001\n");
    let study = study_project(root.path(), RULES);
    let named: Vec<&str> = study.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(named, ["a_latin1.py", "b_config.yaml"]);
    assert_eq!(
        study.problems[0].problem,
        "not valid UTF-8 (invalid byte at offset 5)"
    );
    assert!(!study.problems[1].problem.is_empty());
    assert_eq!(study.python_files, 1);
    assert_eq!(study.index.training_loops, ["c_train.py:1"]);
    let lr = study.scan.values_of("learning_rate");
    assert_eq!(lr.len(), 1);
    assert_eq!(lr[0].file, "d_config.yaml");
}

#[test]
fn a_missing_root_is_one_problem() {
    let root = tempfile::tempdir().expect("tempdir");
    let study = study_project(&root.path().join("nowhere"), RULES);
    assert_eq!(study.problems.len(), 1);
    assert_eq!(study.problems[0].problem, "no such file or directory");
    assert_eq!(study.python_files, 0);
}
