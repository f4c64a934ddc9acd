//! The hyperparameters a project sets, each with `file:line`: config files (YAML, JSON, TOML,
//! gin) and Python (argparse and absl defaults, dataclass fields, constants, keyword arguments
//! of optimizers, schedulers, losses and clipping calls, library defaults of calls that leave a
//! value out), plus evidence of the techniques the code uses.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use fmr_core::InputProblem;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::components::{Evidence, detect_in_python, evidence_from_values};
use super::names::{Contexts, Ctx, Kind, Transform, normalize, param_info, resolve_code_name};
use super::value::{ParamValue, read_value, text_label};
use crate::{Context, SourceFile, describe_io_error, read_source};

/// How a value came to be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A key of a YAML, JSON or TOML config file.
    Config,
    /// A gin binding (`train.lr = 0.1`).
    GinBinding,
    /// The default of a command-line option (argparse, absl, click).
    CliDefault,
    /// A default of a dataclass / attrs / pydantic field or a class attribute.
    FieldDefault,
    /// A module-level constant (`LR = 3e-4`).
    Constant,
    /// An assignment inside a function.
    Assignment,
    /// A keyword or positional argument of a call (`AdamW(..., lr=3e-4)`), or a key of a dict
    /// literal.
    CallArgument,
    /// A `.get("lr", 3e-4)` / `getattr(cfg, "lr", 3e-4)` fallback.
    LookupDefault,
    /// The library's default for an argument the call leaves out.
    LibraryDefault,
    /// What a call implies (`GradScaler()` means fp16, `CosineAnnealingLR` a cosine schedule).
    Implied,
    /// Computed from other settings (a warmup ratio from warmup steps and total steps).
    Derived,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::GinBinding => "gin binding",
            Self::CliDefault => "command-line default",
            Self::FieldDefault => "field default",
            Self::Constant => "constant",
            Self::Assignment => "assignment",
            Self::CallArgument => "call argument",
            Self::LookupDefault => "lookup default",
            Self::LibraryDefault => "library default",
            Self::Implied => "implied by the call",
            Self::Derived => "computed from other settings",
        }
    }
}

/// One hyperparameter value the code sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeValue {
    /// Canonical name, e.g. `learning_rate`.
    pub param: String,
    /// How the code names it: `--lr`, `optimizer.lr`, `AdamW(lr=)`, `LR`.
    pub name: String,
    pub value: ParamValue,
    /// The value as written in the file.
    pub text: String,
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub origin: Origin,
    /// A batch size per device (before accumulation and data parallelism).
    pub per_device: bool,
    /// Anything a reader should know (e.g. "clips by value, not by norm").
    pub note: Option<String>,
    /// The source line, trimmed.
    pub snippet: String,
}

/// A value found by an extractor, before its name is resolved.
#[derive(Debug, Clone)]
pub(crate) struct RawItem {
    /// The key to resolve, e.g. `lr`.
    pub key: String,
    /// How the code names it, for the report.
    pub display: String,
    pub contexts: Contexts,
    pub value: ParamValue,
    pub text: String,
    pub line: usize,
    pub origin: Origin,
    pub note: Option<String>,
    /// Set when the extractor already knows the canonical name.
    pub canonical: Option<&'static str>,
}

/// Where code for a technique would go, to point at when the technique is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Anchor {
    TrainingStep,
    Optimizer,
    Loss,
    DataLoader,
}

/// A `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Everything read from a project.
#[derive(Debug, Clone, Default)]
pub struct CodeScan {
    /// Sorted by file and line.
    pub values: Vec<CodeValue>,
    pub evidence: Vec<Evidence>,
    pub problems: Vec<InputProblem>,
    pub files_scanned: usize,
    pub(crate) anchors: Vec<(Anchor, Location)>,
}

impl CodeScan {
    /// The values of one canonical hyperparameter.
    pub fn values_of(&self, param: &str) -> Vec<&CodeValue> {
        self.values
            .iter()
            .filter(|value| value.param == param)
            .collect()
    }

    pub(crate) fn anchor(&self, wanted: Anchor) -> Option<&Location> {
        self.anchors
            .iter()
            .find(|(anchor, _)| *anchor == wanted)
            .map(|(_, location)| location)
    }
}

/// Files larger than this are data, not configs.
const MAX_CONFIG_BYTES: u64 = 512 * 1024;

/// Config-like files that do not configure training.
const NOT_CONFIGS: &[&str] = &[
    "pyproject.toml",
    "Cargo.toml",
    "poetry.lock",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "environment.yml",
    "environment.yaml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "mkdocs.yml",
    "codecov.yml",
    "trainer_state.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "all_results.json",
    "eval_results.json",
    "train_results.json",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Python,
    Yaml,
    Json,
    Toml,
    Gin,
}

fn file_kind(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    if NOT_CONFIGS.contains(&name) {
        return None;
    }
    match path.extension()?.to_str()? {
        "py" => Some(FileKind::Python),
        "yaml" | "yml" => Some(FileKind::Yaml),
        "json" => Some(FileKind::Json),
        "toml" => Some(FileKind::Toml),
        "gin" => Some(FileKind::Gin),
        _ => None,
    }
}

/// Reads every Python and config file under `root` (or `root` itself when it is a file),
/// honouring `.gitignore`. `extra_names` are names fmr does not know (a paper's `mask ratio`)
/// to look for verbatim, canonicalised with [`normalize`] and `_`.
pub fn scan_project(root: &Path, extra_names: &[String]) -> CodeScan {
    let mut scan = CodeScan::default();
    let files = project_files(root, &mut scan.problems);
    let extra: HashSet<String> = extra_names.iter().map(|name| normalize(name)).collect();
    let parts: Vec<Result<FileScan, InputProblem>> = files
        .into_par_iter()
        .map(|(path, display, kind, context_path)| {
            scan_file(&path, &display, kind, &path_contexts(&context_path), &extra)
        })
        .collect();
    scan.absorb(parts);
    scan
}

impl CodeScan {
    /// Adds the files' contributions (or why a file could not be read), then derives the
    /// evidence the values imply and sorts the values by file and line.
    pub(crate) fn absorb(&mut self, parts: Vec<Result<FileScan, InputProblem>>) {
        let scan = self;
        for part in parts {
            match part {
                Ok(part) => {
                    scan.files_scanned += 1;
                    scan.values.extend(part.values);
                    scan.evidence.extend(part.evidence);
                    scan.problems.extend(part.problems);
                    for (anchor, location) in part.anchors {
                        if scan.anchor(anchor).is_none() {
                            scan.anchors.push((anchor, location));
                        }
                    }
                }
                Err(problem) => scan.problems.push(problem),
            }
        }
        scan.evidence.extend(evidence_from_values(&scan.values));
        scan.values
            .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    }
}

/// Reads in-memory Python code (a snippet, a test) as [`scan_project`] reads a file.
pub fn scan_python_source(display: &str, text: &str) -> CodeScan {
    let mut scan = CodeScan::default();
    if let Ok(file) = SourceFile::parse(display, text) {
        let part = scan_python(
            &Context::new(&file),
            path_contexts(display),
            &HashSet::new(),
        );
        scan.files_scanned = 1;
        scan.values = part.values;
        scan.evidence = part.evidence;
        scan.anchors = part.anchors;
        scan.evidence.extend(evidence_from_values(&scan.values));
    }
    scan
}

/// A file to read: its path, display path, kind, and the path whose words give it context
/// (relative to the root; only the file name when the root is the file).
pub(crate) type ProjectFile = (PathBuf, String, FileKind, String);

pub(crate) fn project_files(root: &Path, problems: &mut Vec<InputProblem>) -> Vec<ProjectFile> {
    let given = root.display().to_string();
    let metadata = match std::fs::metadata(root) {
        Ok(metadata) => metadata,
        Err(error) => {
            problems.push(InputProblem {
                path: given,
                problem: describe_io_error(&error),
            });
            return Vec::new();
        }
    };
    if !metadata.is_dir() {
        let name = root
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        return file_kind(root)
            .map(|kind| (root.to_path_buf(), given, kind, name))
            .into_iter()
            .collect();
    }
    crate::walk_directory(root, problems, |path| {
        file_kind(path).is_some_and(|kind| {
            kind == FileKind::Python
                || std::fs::metadata(path).is_ok_and(|metadata| metadata.len() <= MAX_CONFIG_BYTES)
        })
    })
    .into_iter()
    .filter_map(|(path, display)| {
        let kind = file_kind(&path)?;
        Some((path, display.clone(), kind, display))
    })
    .collect()
}

/// What one file contributed.
#[derive(Default)]
pub(crate) struct FileScan {
    values: Vec<CodeValue>,
    evidence: Vec<Evidence>,
    problems: Vec<InputProblem>,
    anchors: Vec<(Anchor, Location)>,
}

fn scan_file(
    path: &Path,
    display: &str,
    kind: FileKind,
    path_contexts: &Contexts,
    extra: &HashSet<String>,
) -> Result<FileScan, InputProblem> {
    let problem = |problem: String| InputProblem {
        path: display.to_owned(),
        problem,
    };
    let text = read_source(path).map_err(problem)?;
    if kind == FileKind::Python {
        let file = SourceFile::parse(display, text).map_err(|error| problem(error.to_string()))?;
        return Ok(scan_python(&Context::new(&file), *path_contexts, extra));
    }
    scan_config(&text, display, kind, path_contexts, extra).map_err(problem)
}

/// The values a config file sets; an error says why the text is not valid for its kind.
pub(crate) fn scan_config(
    text: &str,
    display: &str,
    kind: FileKind,
    path_contexts: &Contexts,
    extra: &HashSet<String>,
) -> Result<FileScan, String> {
    let items = match kind {
        FileKind::Yaml => super::configs::yaml_items(text),
        FileKind::Json => super::configs::json_items(text),
        FileKind::Toml => super::configs::toml_items(text),
        FileKind::Gin => Ok(super::configs::gin_items(text)),
        FileKind::Python => Err("Python source is scanned from its syntax tree".to_owned()),
    }?;
    let lines: Vec<&str> = text.lines().collect();
    let mut scan = FileScan::default();
    for mut item in items {
        item.contexts = item.contexts.union(*path_contexts);
        let snippet = lines
            .get(item.line.saturating_sub(1))
            .map_or("", |line| line.trim());
        scan.values
            .extend(canonicalize(item, display, snippet, extra));
    }
    Ok(scan)
}

/// Contexts implied by where a file lives: `conf/optimizer/adamw.yaml` is about the optimizer,
/// `configs/eval.yaml` and `bench.py` are not about training.
pub(crate) fn path_contexts(display: &str) -> Contexts {
    let without_extension = display.rsplit_once('.').map_or(display, |(stem, _)| stem);
    let contexts = without_extension
        .split('/')
        .fold(Contexts::NONE, |contexts, part| {
            contexts.union(Contexts::from_name(part))
        });
    // Script names that are not training: `bench.py`, `sample.py`, `profile_model.py`.
    let path_words = crate::syntax::words(without_extension);
    let trains = path_words
        .iter()
        .any(|word| word.starts_with("train") || word == "finetune" || word == "pretrain");
    let not_training = path_words.iter().any(|word| {
        matches!(
            word.as_str(),
            "bench"
                | "benchmark"
                | "benchmarks"
                | "profile"
                | "profiler"
                | "profiling"
                | "sample"
                | "sampling"
                | "demo"
                | "demos"
                | "visualize"
                | "plot"
                | "plots"
                | "export"
        )
    });
    if not_training && !trains {
        contexts.with(Ctx::Eval)
    } else {
        contexts
    }
}

pub(crate) fn scan_python(
    context: &Context<'_>,
    path_contexts: Contexts,
    extra: &HashSet<String>,
) -> FileScan {
    let file = context.source();
    let mut scan = FileScan::default();
    // Benchmarks, sampling and evaluation scripts do not show how the model trains.
    if path_contexts.has(Ctx::Eval) {
        return scan;
    }
    let extraction = super::python::extract(context);
    for mut item in extraction.items {
        item.contexts = item.contexts.union(path_contexts);
        let snippet = file.line_text(item.line).trim().to_owned();
        scan.values
            .extend(canonicalize(item, file.display_path(), &snippet, extra));
    }
    scan.anchors = extraction
        .anchors
        .into_iter()
        .map(|(anchor, line)| {
            (
                anchor,
                Location {
                    file: file.display_path().to_owned(),
                    line,
                },
            )
        })
        .collect();
    detect_in_python(context, &mut scan.evidence);
    scan
}

/// Resolves a raw item's name and checks its value fits the hyperparameter: a learning rate
/// must be a number, an optimizer must name one. Adam's `betas` become two values.
pub(crate) fn canonicalize(
    item: RawItem,
    file: &str,
    snippet: &str,
    extra: &HashSet<String>,
) -> Vec<CodeValue> {
    let (param, transform) = match item.canonical {
        Some(param) => (param, Transform::Same),
        None => match resolve_code_name(&item.key, item.contexts) {
            Some(synonym) => (synonym.param, synonym.transform),
            None => {
                let normalized = normalize(&item.key);
                if extra.contains(&normalized) {
                    return vec![make_value(
                        &item,
                        normalized.replace(' ', "_"),
                        item.value.clone(),
                        false,
                        None,
                        file,
                        snippet,
                    )];
                }
                return Vec::new();
            }
        },
    };
    let mut value = item.value.clone();
    let mut note = item.note.clone();
    match transform {
        Transform::FlagMeans(label) => match value {
            ParamValue::Bool(true) => value = ParamValue::Text(label.to_owned()),
            _ => return Vec::new(),
        },
        Transform::ByValue => {
            note.get_or_insert_with(|| "clips each gradient by value, not the global norm".into());
        }
        Transform::Same | Transform::PerDevice => {}
    }
    let per_device = transform == Transform::PerDevice;
    let Some(info) = param_info(param) else {
        return Vec::new();
    };
    match info.kind {
        Kind::Number => {
            let number = match &value {
                ParamValue::Number(number) => Some(*number),
                ParamValue::Text(text) => read_value(text)
                    .ok()
                    .and_then(|read| read.value.as_number().filter(|_| read.unit.is_none())),
                _ => None,
            };
            match number {
                Some(number) => vec![make_value(
                    &item,
                    param.to_owned(),
                    ParamValue::Number(number),
                    per_device,
                    note,
                    file,
                    snippet,
                )],
                None => Vec::new(),
            }
        }
        Kind::Text => {
            if text_label(param, &value).is_none() {
                return Vec::new();
            }
            vec![make_value(
                &item,
                param.to_owned(),
                value,
                false,
                note,
                file,
                snippet,
            )]
        }
        Kind::Pair(first, second) => {
            let numbers = match &value {
                ParamValue::List(_) => value.as_numbers(),
                ParamValue::Text(text) => read_value(text)
                    .ok()
                    .and_then(|read| read.value.as_numbers()),
                _ => None,
            };
            let Some(numbers) = numbers.filter(|numbers| numbers.len() == 2) else {
                return Vec::new();
            };
            [(first, numbers[0]), (second, numbers[1])]
                .into_iter()
                .map(|(part, number)| {
                    make_value(
                        &item,
                        part.to_owned(),
                        ParamValue::Number(number),
                        false,
                        note.clone(),
                        file,
                        snippet,
                    )
                })
                .collect()
        }
    }
}

fn make_value(
    item: &RawItem,
    param: String,
    value: ParamValue,
    per_device: bool,
    note: Option<String>,
    file: &str,
    snippet: &str,
) -> CodeValue {
    CodeValue {
        param,
        name: item.display.clone(),
        value,
        text: item.text.clone(),
        file: file.to_owned(),
        line: item.line,
        origin: item.origin,
        per_device,
        note,
        snippet: snippet.to_owned(),
    }
}
