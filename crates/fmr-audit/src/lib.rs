//! fmr's code auditors: static checks over the Python (PyTorch, Lightning, Hugging Face, Keras,
//! JAX) training code of a failing run, each confirming or refuting one of the engine's
//! hypotheses.
//!
//! Design, after ruff and clippy:
//! - Files are parsed with tree-sitter, which recovers from syntax errors, so a half-edited file
//!   is still audited.
//! - Each rule is a unit struct in its own file under `rules/`, implementing [`AuditRule`]; its
//!   doc comment is the user documentation, ending with the knowledge-base entries it confirms.
//!   [`RULES`] lists them, sorted by their stable code (`PT`, `PL`, `HF`, `KR`, `PY`, `JX`).
//! - A file is parsed once and walked once: [`Context`] holds a flat preorder index of the tree
//!   (subtrees are slices, parents are stored) and the analyses rules share, computed on first
//!   use (imports, gradient events, loss modules, jitted functions, ...). Rules look at one file
//!   at a time and prefer silence to a guess: a rule that fires on correct code costs the user
//!   more than a missed bug.
//! - Rules share a small semantic layer (`semantic/`): what counts as a backward pass or an
//!   optimizer step, which names hold a loss module, where probabilities flow, which functions
//!   JAX traces.
//! - [`audit_path`] walks a directory (honouring `.gitignore`), audits files in parallel, reports
//!   unreadable files as [`InputProblem`]s and carries on; [`locate`] builds the [`CodeIndex`]
//!   the engine uses to point a delegation at the training loop, the loss, the data loader or
//!   the optimizer; [`study_project`] does both, and the hyperparameter scan, from one parse of
//!   each file.

mod auditor;
mod context;
mod index;
pub mod paper;
mod registry;
mod rule;
mod rules;
mod semantic;
mod source;
mod study;
mod syntax;
pub mod trace;

use std::path::{Path, PathBuf};

use fmr_core::{AuditFinding, InputProblem};
use rayon::prelude::*;

pub use auditor::Auditor;
pub use context::Context;
pub use index::{CodeIndex, index_source, locate};
pub use registry::{RULES, rule};
pub use rule::AuditRule;
pub use source::{ParseError, SourceFile};
pub use study::{ProjectStudy, study_project};

/// Files larger than this are generated code or data, not training scripts.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Directories that hold installed packages rather than the user's code.
const SKIPPED_DIRECTORIES: &[&str] = &["__pycache__", "site-packages", "node_modules"];

/// What [`audit_path`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditReport {
    /// Sorted by file, line, rule code and column.
    pub findings: Vec<AuditFinding>,
    /// Files that could not be audited, each with the reason.
    pub problems: Vec<InputProblem>,
    /// Python files read and checked.
    pub files_scanned: usize,
}

/// Runs `rules` over in-memory code, e.g. a snippet pasted by the user.
pub fn audit_source(
    display_path: &str,
    text: &str,
    rules: &[&'static dyn AuditRule],
) -> Vec<AuditFinding> {
    match SourceFile::parse(display_path, text) {
        Ok(file) => {
            let mut findings = check_file(&file, rules);
            sort_findings(&mut findings);
            findings
        }
        // Only an incompatible grammar build gets here; there is nothing to audit with.
        Err(_) => Vec::new(),
    }
}

/// Audits `path`: one file, or every `*.py` file under a directory (recursively, honouring
/// `.gitignore`, skipping hidden directories and virtual environments). Display paths are
/// relative to a given directory, or the path as given for a file.
///
/// Files are read, parsed and checked in parallel; the report does not depend on the order.
pub fn audit_path(path: &Path, rules: &[&'static dyn AuditRule]) -> AuditReport {
    let mut report = AuditReport::default();
    let files = python_files(path, &mut report.problems);
    let outcomes: Vec<Result<Vec<AuditFinding>, InputProblem>> = files
        .into_par_iter()
        .map(|(file_path, display)| {
            let text = read_source(&file_path).map_err(|problem| InputProblem {
                path: display.clone(),
                problem,
            })?;
            let file = SourceFile::parse(display.clone(), text).map_err(|error| InputProblem {
                path: display,
                problem: error.to_string(),
            })?;
            Ok(check_file(&file, rules))
        })
        .collect();
    for outcome in outcomes {
        match outcome {
            Ok(findings) => {
                report.files_scanned += 1;
                report.findings.extend(findings);
            }
            Err(problem) => report.problems.push(problem),
        }
    }
    sort_findings(&mut report.findings);
    report
}

/// Runs `rules` over one parsed file, sharing one [`Context`] between them.
fn check_file(file: &SourceFile, rules: &[&'static dyn AuditRule]) -> Vec<AuditFinding> {
    check_context(&Context::new(file), rules)
}

pub(crate) fn check_context(
    context: &Context<'_>,
    rules: &[&'static dyn AuditRule],
) -> Vec<AuditFinding> {
    rules.iter().flat_map(|rule| rule.check(context)).collect()
}

pub(crate) fn sort_findings(findings: &mut [AuditFinding]) {
    findings.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.rule.as_str(), a.column).cmp(&(
            b.file.as_str(),
            b.line,
            b.rule.as_str(),
            b.column,
        ))
    });
}

/// The files to audit under `path`, each with its display path, in a stable order. Problems met
/// while walking are pushed to `problems`. Honours `.gitignore`; skips virtualenvs and caches.
pub fn python_files(path: &Path, problems: &mut Vec<InputProblem>) -> Vec<(PathBuf, String)> {
    let given = path.display().to_string();
    match std::fs::metadata(path) {
        Err(error) => {
            problems.push(InputProblem {
                path: given,
                problem: describe_io_error(&error),
            });
            Vec::new()
        }
        Ok(metadata) if !metadata.is_dir() => vec![(path.to_path_buf(), given)],
        Ok(_) => walk_directory(path, problems, |file| {
            file.extension().is_some_and(|extension| extension == "py")
        }),
    }
}

/// The files under `root` that `wanted` accepts, with their `/`-separated paths relative to
/// `root`, in a stable order. Honours `.gitignore` (even outside a git checkout: it states
/// intent); skips virtualenvs and caches. Walk errors are pushed to `problems`.
pub(crate) fn walk_directory(
    root: &Path,
    problems: &mut Vec<InputProblem>,
    wanted: impl Fn(&Path) -> bool,
) -> Vec<(PathBuf, String)> {
    let walker = ignore::WalkBuilder::new(root)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| !is_skipped_directory(entry))
        .build();
    let mut files = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                problems.push(InputProblem {
                    path: root.display().to_string(),
                    problem: error.to_string(),
                });
                continue;
            }
        };
        if !entry.file_type().is_some_and(|kind| kind.is_file()) || !wanted(entry.path()) {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let display = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push((entry.path().to_path_buf(), display));
    }
    files
}

fn is_skipped_directory(entry: &ignore::DirEntry) -> bool {
    if !entry.file_type().is_some_and(|kind| kind.is_dir()) || entry.depth() == 0 {
        return false;
    }
    let name = entry.file_name().to_string_lossy();
    SKIPPED_DIRECTORIES.contains(&name.as_ref()) || entry.path().join("pyvenv.cfg").is_file()
}

/// Reads a file as UTF-8 Python source, or says why it cannot be audited.
pub fn read_source(path: &Path) -> Result<String, String> {
    let metadata = std::fs::metadata(path).map_err(|error| describe_io_error(&error))?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(format!(
            "skipped: {} bytes is larger than the {} MiB limit for a source file",
            metadata.len(),
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| describe_io_error(&error))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        format!(
            "not valid UTF-8 (invalid byte at offset {})",
            error.utf8_error().valid_up_to()
        )
    })?;
    // A byte-order mark is legal in Python source but is no part of the code.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

fn describe_io_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => format!("could not be read: {error}"),
    }
}
