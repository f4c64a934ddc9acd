//! A small index of where the training code does what, so that a delegation can tell an
//! auditor (or the user) which line to read first.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use fmr_core::InputProblem;
use rayon::prelude::*;
use tree_sitter::Node;

use crate::semantic::training::{
    GradEvent, grad_event, is_jax_grad_call, is_optimizer_constructor,
};
use crate::syntax::{Call, NodeExt, words};
use crate::{Context, SourceFile, python_files, read_source};

/// `file:line` locations of the parts of a training script, each list sorted by file and line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeIndex {
    /// Loops that run a training step: `.backward()`, `optimizer.step()`, `jax.grad` /
    /// `value_and_grad`, or a function of the same file that does.
    pub training_loops: Vec<String>,
    /// Calls that compute a loss: `criterion(...)`, `F.cross_entropy(...)`, `loss_fn(...)`.
    pub loss_calls: Vec<String>,
    /// `DataLoader(...)` and similar loader constructions.
    pub data_loaders: Vec<String>,
    /// Optimizer constructions: `torch.optim.AdamW(...)`, `optax.adam(...)`.
    pub optimizers: Vec<String>,
    /// Files that could not be indexed, each with the reason.
    pub problems: Vec<InputProblem>,
}

/// Functional losses of PyTorch and Optax, called by name.
const LOSS_FUNCTIONS: &[&str] = &[
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "l2_loss",
    "margin_ranking_loss",
    "mse_loss",
    "nll_loss",
    "sigmoid_binary_cross_entropy",
    "smooth_l1_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
    "triplet_margin_loss",
];

/// Words in a function name that mean it reports or evaluates a loss.
const NOT_A_LOSS_WORDS: &[&str] = &[
    "estimate",
    "eval",
    "evaluate",
    "log",
    "plot",
    "print",
    "record",
    "track",
    "val",
    "validation",
    "test",
    "avg",
    "average",
    "history",
    "save",
];

/// Optax's optimizer constructors.
const OPTAX_OPTIMIZERS: &[&str] = &[
    "adabelief",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "fromage",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "noisy_sgd",
    "novograd",
    "radam",
    "rmsprop",
    "sgd",
    "sm3",
    "yogi",
];

/// Indexes `path`: one file, or every `*.py` file under a directory (as
/// [`audit_path`](crate::audit_path) walks it).
pub fn locate(path: &Path) -> CodeIndex {
    let mut index = CodeIndex::default();
    let files = python_files(path, &mut index.problems);
    // Files are indexed in parallel, each into its own index, merged in walk order.
    let parts: Vec<Result<CodeIndex, InputProblem>> = files
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
            let mut part = CodeIndex::default();
            index_file(&Context::new(&file), &mut part);
            Ok(part)
        })
        .collect();
    for part in parts {
        match part {
            Ok(part) => index.absorb(part),
            Err(problem) => index.problems.push(problem),
        }
    }
    index
}

impl CodeIndex {
    /// Appends another file's index (and its problems) after this one's.
    pub(crate) fn absorb(&mut self, part: CodeIndex) {
        self.training_loops.extend(part.training_loops);
        self.loss_calls.extend(part.loss_calls);
        self.data_loaders.extend(part.data_loaders);
        self.optimizers.extend(part.optimizers);
        self.problems.extend(part.problems);
    }
}

/// Indexes in-memory code.
pub fn index_source(display_path: &str, text: &str) -> CodeIndex {
    let mut index = CodeIndex::default();
    if let Ok(file) = SourceFile::parse(display_path, text) {
        index_file(&Context::new(&file), &mut index);
    }
    index
}

/// Adds one parsed file's training loops, losses, loaders and optimizers to `index`.
pub(crate) fn index_file(file: &Context<'_>, index: &mut CodeIndex) {
    let locals = file.locals();
    let imports = file.imports();
    let trains = |node: Node<'_>| is_training_event(file, node);
    let mut training_loops = BTreeSet::new();
    let mut loss_calls = BTreeSet::new();
    let mut data_loaders = BTreeSet::new();
    let mut optimizers = BTreeSet::new();
    // Whether each local function trains, computed once per function.
    let mut function_trains: HashMap<usize, bool> = HashMap::new();
    for call in file.calls() {
        let node = call.node;
        let calls_trainer = {
            locals.callees(file, call).iter().any(|function| {
                *function_trains.entry(function.id()).or_insert_with(|| {
                    function
                        .field("body")
                        .is_some_and(|body| locals.reaches(file, body, &trains))
                })
            })
        };
        if (is_training_event(file, node) || calls_trainer)
            && let Some(training_loop) = file.enclosing_loops(node).next()
        {
            training_loops.insert(line_of(file, training_loop));
        }
        if is_loss_call(file, call) {
            loss_calls.insert(line_of(file, node));
        }
        let name = call.callee_name(file);
        if name.ends_with("DataLoader") || matches!(name, "WebLoader" | "load_dataset") {
            data_loaders.insert(line_of(file, node));
        }
        let optax_optimizer = call.dotted_name(file).is_some_and(|callee| {
            imports
                .resolve(&callee)
                .strip_prefix("optax.")
                .is_some_and(|function| OPTAX_OPTIMIZERS.contains(&function))
        });
        if is_optimizer_constructor(file, call) || optax_optimizer {
            optimizers.insert(line_of(file, node));
        }
    }
    for (set, list) in [
        (training_loops, &mut index.training_loops),
        (loss_calls, &mut index.loss_calls),
        (data_loaders, &mut index.data_loaders),
        (optimizers, &mut index.optimizers),
    ] {
        list.extend(
            set.into_iter()
                .map(|line| format!("{}:{line}", file.display_path())),
        );
    }
}

fn line_of(file: &SourceFile, node: Node<'_>) -> usize {
    file.position(node).0
}

/// A backward pass, an optimizer step, a JAX gradient, or a Flax/Optax update.
fn is_training_event(file: &SourceFile, node: Node<'_>) -> bool {
    if matches!(
        grad_event(file, node),
        Some(GradEvent::Backward | GradEvent::OptimizerStep)
    ) {
        return true;
    }
    Call::new(node).is_some_and(|call| {
        is_jax_grad_call(file, &call)
            || matches!(call.callee_name(file), "apply_gradients" | "apply_updates")
    })
}

/// A call computing a loss: a functional loss, a loss module (`criterion(...)`), or a function
/// named for one (`loss_fn(...)`, `compute_loss(...)`); constructors are not calls of a loss.
fn is_loss_call(file: &SourceFile, call: &Call<'_>) -> bool {
    let name = call.callee_name(file);
    if name.starts_with(char::is_uppercase) {
        return false;
    }
    let name_words = words(name);
    // `estimate_loss()`, `log_loss(...)`, `plot_loss(...)` report a loss rather than compute one.
    let reports = name_words
        .iter()
        .any(|word| NOT_A_LOSS_WORDS.contains(&word.as_str()));
    LOSS_FUNCTIONS.contains(&name)
        || (!reports
            && name_words
                .iter()
                .any(|word| matches!(word.as_str(), "loss" | "criterion" | "objective")))
}
