//! The Data Flow Tracer: given a name at a place in a Python project (`labels` at
//! `train.py:30`, `loss` in `train_one_epoch`), follow its value backward to where it comes from
//! and forward to where it goes, across functions and files, listing every transformation on
//! the way (normalize, shuffle, cast, augment, reshape, split, index, device moves, detach, ...)
//! with its file and line.
//!
//! ```no_run
//! use fmr_audit::trace::{TraceQuery, trace};
//!
//! let query = TraceQuery::new("y_train").at("train.py:30");
//! let found = trace(std::path::Path::new("my_project"), &query).expect("readable project");
//! print!("{}", found.render_text());
//! ```
//!
//! How it works, best effort:
//! - The project is parsed with tree-sitter (files walked as [`audit_path`](crate::audit_path)
//!   walks them, honouring `.gitignore`); each file knows its module name and imports, so a
//!   call resolves to the function or class it runs, in the same file or another.
//! - *Backward*, a name read at a point resolves to the bindings that reach it (assignments,
//!   tuple unpacking, loop targets, in-place changes such as `np.random.shuffle(y)`), each
//!   binding's right-hand side is taken apart layer by layer (each layer a classified step), and
//!   the names it reads are followed in turn: parameters to the arguments of their call sites
//!   (only the call site the trace came through, when it came through one), calls of project
//!   functions into their `return`s, `for x, y in loader` into `DataLoader(ds)`, then into
//!   `TensorDataset(X, y)` or the dataset class's `__getitem__`, `self.attr` into its stores.
//! - *Forward*, every later read of the value climbs its expression (each operation a step)
//!   to the statement that consumes it: an assignment (followed on under the new name), a loss,
//!   `.backward()`, a `return` (followed to the callers), a call of a project function (followed
//!   into the parameter).
//! - Element positions are tracked through tuples (`x, y = batch`, `train_test_split`), so `y`
//!   is not confused with `x`. Depth and step counts are bounded and every binding and read is
//!   visited once, so recursion and cycles end; odd code yields fewer steps, never a panic.

mod classify;
mod project;
mod query;
mod scope;
pub(crate) mod shape;
mod walk;

use std::fmt::Write as _;
use std::path::Path;

use fmr_core::InputProblem;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{SourceFile, python_files, read_source};

/// What to trace: a name, and optionally where to pick it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TraceQuery {
    /// The variable or attribute to follow: `labels`, `loss`, `batch`, `self.scaler`.
    pub name: String,
    /// Where to pick the name up: `train.py:30` (a file and 1-based line), `train.py` (a file),
    /// `train_one_epoch` (a function), or `data.py:load` (a function of a file). Without it, the
    /// tracer picks the mention that feeds a loss, else the first mention.
    pub location: Option<String>,
}

impl TraceQuery {
    /// A query for `name` anywhere in the project.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            location: None,
        }
    }

    /// The same query, picked up at `location` (see [`TraceQuery::location`]).
    #[must_use]
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

/// Which way a step lies from the traced mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Where the value comes from.
    Backward,
    /// Where the value goes.
    Forward,
}

/// What happens to the value at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Where the value is made: a library producer (`make_regression`, `np.load`,
    /// `pd.read_csv`, `torch.randn`, `load_digits`), a literal, an import from a library.
    Source,
    /// Copied or renamed unchanged (`a = b`, a tuple element, an attribute read).
    Assign,
    /// Centred or scaled: `(x - mean) / std`, `x / 255`, `StandardScaler().fit_transform(x)`.
    Normalize,
    /// Reordered at random: `np.random.shuffle(x)`, `x[torch.randperm(n)]`.
    Shuffle,
    /// Converted to another type or container: `.float()`, `.astype(...)`, `torch.tensor(x)`.
    Cast,
    /// Changed at random to augment: transforms, noise, flips.
    Augment,
    /// Reshaped: `.view`, `.reshape`, `.permute`, `.squeeze`, `.unsqueeze`, `x[:, None]`,
    /// `torch.stack`.
    Reshape,
    /// Divided into parts: `train_test_split`, `random_split`, `.split`.
    Split,
    /// A part selected: `x[idx]`, `x[:-300]`, `batch[1]`, `.gather`.
    Index,
    /// Moved between devices: `.to(device)`, `.cuda()`, `.cpu()`.
    Device,
    /// Cut from the autograd graph: `.detach()`, `stop_gradient`.
    Detach,
    /// Computed on element-wise: `+`, `*`, `np.tanh`, `.clamp`, comparisons.
    Arithmetic,
    /// Reduced over elements: `.mean()`, `.sum()`, `.argmax()`.
    Reduce,
    /// Passed to or returned from a function that is not classified otherwise.
    Call,
    /// A parameter of a project function (backward: from its call sites; forward: into it).
    Param,
    /// Returned from a project function.
    Return,
    /// Stored in or read from an object attribute: `self.x = x`.
    Attribute,
    /// Batched or iterated: `DataLoader(ds, ...)`, `for x, y in loader`.
    Loader,
    /// Wrapped as a dataset or read from one: `TensorDataset(X, y)`, `__getitem__`.
    Dataset,
    /// Passed through a model: `model(x)`.
    Model,
    /// Computed by a loss from a prediction and a target (backward from a loss value).
    Loss,
    /// An argument of a loss: `criterion(pred, target)`.
    LossInput,
    /// Gradients computed from it: `loss.backward()`.
    BackwardPass,
    /// Changed in place in another way: `x[mask] = 0`, `x.append(v)`.
    Mutate,
}

impl StepKind {
    /// The snake-case name used in JSON and in text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Assign => "assign",
            Self::Normalize => "normalize",
            Self::Shuffle => "shuffle",
            Self::Cast => "cast",
            Self::Augment => "augment",
            Self::Reshape => "reshape",
            Self::Split => "split",
            Self::Index => "index",
            Self::Device => "device",
            Self::Detach => "detach",
            Self::Arithmetic => "arithmetic",
            Self::Reduce => "reduce",
            Self::Call => "call",
            Self::Param => "param",
            Self::Return => "return",
            Self::Attribute => "attribute",
            Self::Loader => "loader",
            Self::Dataset => "dataset",
            Self::Model => "model",
            Self::Loss => "loss",
            Self::LossInput => "loss_input",
            Self::BackwardPass => "backward_pass",
            Self::Mutate => "mutate",
        }
    }
}

/// A place in the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CodeLocation {
    /// The file as the project walk shows it (relative to the traced directory).
    pub file: String,
    /// 1-based line and column (column counted in characters).
    pub line: usize,
    pub column: usize,
    /// The source line, trimmed.
    pub snippet: String,
}

/// One step of the value's way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TraceStep {
    /// The file as the project walk shows it.
    pub file: String,
    /// 1-based line and column of the operation.
    pub line: usize,
    pub column: usize,
    /// The source line, trimmed.
    pub snippet: String,
    pub direction: Direction,
    pub kind: StepKind,
    /// The name that holds the value at this step (`y_train`, `self.labels`, `batch`).
    pub via: String,
    /// The operation as written, shortened: `torch.tensor(y_train, dtype=torch.float32)`.
    pub detail: String,
    /// The value's shape where the code states it or it can be inferred: `(N,)`, `(N, 1)`.
    pub shape: Option<String>,
    /// Steps between this one and the traced mention (1 for a direct neighbour).
    pub depth: usize,
    /// The step this one was reached from (an index into `steps`); `None` for the neighbours
    /// of the traced mention. Steps form a tree: several sources can feed one value, one value
    /// can go several ways.
    pub parent: Option<usize>,
}

impl TraceStep {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// What the tracer found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trace {
    pub query: TraceQuery,
    /// The mention the trace starts from.
    pub anchor: Option<CodeLocation>,
    /// Where the value is first made: the furthest source on the first backward path.
    pub origin: Option<TraceStep>,
    /// Backward steps first, each branch from its source to the mention, then forward steps
    /// from the mention on.
    pub steps: Vec<TraceStep>,
    /// What the trace could not see or chose: limits hit, calls it could not resolve, the
    /// mention picked when no location was given.
    pub notes: Vec<String>,
    /// Files that could not be read, each with the reason.
    pub problems: Vec<InputProblem>,
}

impl Trace {
    /// The backward steps, sources first.
    pub fn backward(&self) -> impl Iterator<Item = &TraceStep> {
        self.steps
            .iter()
            .filter(|step| step.direction == Direction::Backward)
    }

    /// The forward steps, in the order the value meets them.
    pub fn forward(&self) -> impl Iterator<Item = &TraceStep> {
        self.steps
            .iter()
            .filter(|step| step.direction == Direction::Forward)
    }

    /// A plain-text rendering, one step per line:
    ///
    /// ```text
    /// trace of `y` from train.py:30:26
    ///   loss = criterion(pred, y[idx])
    /// origin: train.py:11 source make_regression(n_samples=500)
    /// where it comes from (sources first):
    ///   train.py:11  source        y  make_regression(n_samples=500)
    /// where it goes:
    ///   train.py:30  index         y (N,)  y[idx]
    /// ```
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        match &self.anchor {
            Some(anchor) => {
                let _ = writeln!(
                    out,
                    "trace of `{}` from {}:{}:{}\n  {}",
                    self.query.name, anchor.file, anchor.line, anchor.column, anchor.snippet
                );
            }
            None => {
                let _ = writeln!(out, "trace of `{}`", self.query.name);
            }
        }
        if let Some(origin) = &self.origin {
            let _ = writeln!(
                out,
                "origin: {} {} {}",
                origin.location(),
                origin.kind.as_str(),
                origin.detail
            );
        }
        let width = self
            .steps
            .iter()
            .map(|step| step.location().chars().count())
            .max()
            .unwrap_or(0);
        for (direction, title) in [
            (Direction::Backward, "where it comes from (sources first):"),
            (Direction::Forward, "where it goes:"),
        ] {
            let steps: Vec<&TraceStep> = self
                .steps
                .iter()
                .filter(|step| step.direction == direction)
                .collect();
            if steps.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{title}");
            for step in steps {
                let shape = step
                    .shape
                    .as_ref()
                    .map(|shape| format!(" {shape}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:<13} {}{shape}  {}",
                    step.location(),
                    step.kind.as_str(),
                    step.via,
                    step.detail,
                );
            }
        }
        if self.steps.is_empty() && self.anchor.is_some() {
            let _ = writeln!(out, "no steps found");
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        for problem in &self.problems {
            let _ = writeln!(out, "skipped {problem}");
        }
        out
    }
}

/// Traces `query` through the Python project at `root` (a directory, walked as
/// [`audit_path`](crate::audit_path) walks it, or one file).
///
/// Errors when there is nothing to trace in: no Python file under `root`, a query name that
/// is not a Python name, or a location naming a file or function the project lacks. A name
/// that does not occur gives a trace without steps and a note saying so.
pub fn trace(root: &Path, query: &TraceQuery) -> Result<Trace, String> {
    let mut problems = Vec::new();
    let files = python_files(root, &mut problems);
    // Read and parse in parallel; the order stays the walk's.
    let parsed: Vec<Result<SourceFile, InputProblem>> = files
        .into_par_iter()
        .map(|(path, display)| {
            read_source(&path)
                .and_then(|text| {
                    SourceFile::parse(display.clone(), text).map_err(|error| error.to_string())
                })
                .map_err(|problem| InputProblem {
                    path: display,
                    problem,
                })
        })
        .collect();
    let mut sources = Vec::new();
    for outcome in parsed {
        match outcome {
            Ok(source) => sources.push(source),
            Err(problem) => problems.push(problem),
        }
    }
    if sources.is_empty() {
        let reasons: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(if reasons.is_empty() {
            format!("no Python files under {}", root.display())
        } else {
            format!(
                "no readable Python files under {}: {}",
                root.display(),
                reasons.join("; ")
            )
        });
    }
    let mut found = trace_sources(&sources, query)?;
    found.problems = problems;
    Ok(found)
}

/// Traces `query` through files already parsed (display paths as the trace should show them).
pub fn trace_sources(sources: &[SourceFile], query: &TraceQuery) -> Result<Trace, String> {
    let name = query.name.trim();
    if !query::is_traceable_name(name) {
        return Err(format!(
            "the name to trace must be a Python name or dotted path such as `labels` or `self.scaler`, not {:?}",
            query.name
        ));
    }
    let project = project::Project::new(sources);
    let anchor = query::find_anchor(&project, name, query.location.as_deref())?;
    let mut notes = anchor.notes.clone();
    let Some(mention) = anchor.mention else {
        return Ok(Trace {
            query: query.clone(),
            anchor: None,
            origin: None,
            steps: Vec::new(),
            notes,
            problems: Vec::new(),
        });
    };
    let mut tracer = walk::Tracer::new(&project);
    tracer.run(&mention);
    let (steps, mut tracer_notes) = tracer.finish();
    notes.append(&mut tracer_notes);
    let origin = steps
        .iter()
        .find(|step| step.direction == Direction::Backward && step.kind == StepKind::Source)
        .or_else(|| {
            steps
                .iter()
                .find(|step| step.direction == Direction::Backward)
        })
        .cloned();
    let context = project.context(mention.file);
    let (line, column) = context.position(mention.node);
    Ok(Trace {
        query: TraceQuery {
            name: name.to_owned(),
            location: query.location.clone(),
        },
        anchor: Some(CodeLocation {
            file: context.display_path().to_owned(),
            line,
            column,
            snippet: context.line_text(line).trim().to_owned(),
        }),
        origin,
        steps,
        notes,
        problems: Vec::new(),
    })
}
