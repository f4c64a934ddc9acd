//! Everything an investigation asks of the user's code, from one walk: each Python file is read
//! and parsed once, and one [`Context`] per file serves the audit rules, the code index and the
//! hyperparameter scan; config files go to the scan alone.
//!
//! [`audit_path`](crate::audit_path), [`locate`](crate::locate) and
//! [`scan_project`](crate::paper::scan_project) each walk and parse the project on their own,
//! which is what a single question needs; an investigation needs all three, and parsing is most
//! of their cost.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use fmr_core::{AuditFinding, InputProblem};
use rayon::prelude::*;

use crate::index::{CodeIndex, index_file};
use crate::paper::CodeScan;
use crate::paper::collect::{
    FileKind, FileScan, path_contexts, project_files, scan_config, scan_python,
};
use crate::rule::AuditRule;
use crate::syntax::NodeExt;
use crate::{Context, SourceFile, check_context, read_source, sort_findings};

/// What [`study_project`] learned.
#[derive(Debug, Clone, Default)]
pub struct ProjectStudy {
    /// The audit rules' findings, sorted as [`audit_path`](crate::audit_path) sorts them.
    pub findings: Vec<AuditFinding>,
    /// Where the training loop, losses, loaders and optimizers are. Its `problems` stay empty:
    /// they are in [`ProjectStudy::problems`].
    pub index: CodeIndex,
    /// The hyperparameters the code and configs set. Its `problems` hold only what went wrong
    /// inside a readable config file; unreadable files are in [`ProjectStudy::problems`].
    pub scan: CodeScan,
    /// Modules the Python files import, as written (`torch.nn`, `ray.rllib`), relative imports
    /// left out.
    pub imported_modules: BTreeSet<String>,
    /// Files that could not be read, parsed or understood, each named once with the reason.
    pub problems: Vec<InputProblem>,
    /// Python files read and parsed.
    pub python_files: usize,
}

/// What one file gave.
enum FileStudy {
    Python {
        findings: Vec<AuditFinding>,
        index: CodeIndex,
        scan: FileScan,
        modules: Vec<String>,
    },
    Config(FileScan),
    Failed(InputProblem),
}

/// Reads, parses and analyses every Python and config file under `root` (or `root` itself),
/// honouring `.gitignore`, in parallel. Unreadable files are reported and skipped.
pub fn study_project(root: &Path, rules: &[&'static dyn AuditRule]) -> ProjectStudy {
    let mut study = ProjectStudy::default();
    let files = project_files(root, &mut study.problems);
    let no_extra_names = HashSet::new();
    let parts: Vec<FileStudy> = files
        .into_par_iter()
        .map(|(path, display, kind, context_path)| {
            let failed = |problem: String| {
                FileStudy::Failed(InputProblem {
                    path: display.clone(),
                    problem,
                })
            };
            let text = match read_source(&path) {
                Ok(text) => text,
                Err(problem) => return failed(problem),
            };
            let contexts = path_contexts(&context_path);
            if kind != FileKind::Python {
                return match scan_config(&text, &display, kind, &contexts, &no_extra_names) {
                    Ok(scan) => FileStudy::Config(scan),
                    Err(problem) => failed(problem),
                };
            }
            let file = match SourceFile::parse(display.clone(), text) {
                Ok(file) => file,
                Err(error) => return failed(error.to_string()),
            };
            let context = Context::new(&file);
            let mut index = CodeIndex::default();
            index_file(&context, &mut index);
            FileStudy::Python {
                findings: check_context(&context, rules),
                index,
                scan: scan_python(&context, contexts, &no_extra_names),
                modules: imported_modules(&context),
            }
        })
        .collect();
    let mut scans = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            FileStudy::Python {
                findings,
                index,
                scan,
                modules,
            } => {
                study.python_files += 1;
                study.findings.extend(findings);
                study.index.absorb(index);
                study.imported_modules.extend(modules);
                scans.push(Ok(scan));
            }
            FileStudy::Config(scan) => scans.push(Ok(scan)),
            FileStudy::Failed(problem) => study.problems.push(problem),
        }
    }
    study.scan.absorb(scans);
    sort_findings(&mut study.findings);
    study
}

/// The dotted module of every absolute `import` and `from … import` statement of a file.
fn imported_modules(file: &Context<'_>) -> Vec<String> {
    let mut modules = Vec::new();
    for statement in file.nodes() {
        match statement.kind_name() {
            "import_statement" => {
                let mut cursor = statement.walk();
                for name in statement.children_by_field_name("name", &mut cursor) {
                    // `import numpy as np`: the module is the aliased import's name.
                    let module = name.field("name").unwrap_or(name);
                    modules.push(file.node_text(module).to_owned());
                }
            }
            "import_from_statement" => {
                if let Some(module) = statement.field("module_name") {
                    modules.push(file.node_text(module).to_owned());
                }
            }
            _ => {}
        }
    }
    modules.retain(|module| !module.is_empty() && !module.starts_with('.'));
    modules
}
