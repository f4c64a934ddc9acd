//! What a PyTorch training step looks like in code: backward passes, optimizer steps, gradient
//! resets and clipping, and the functions of the same file that perform them.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use crate::syntax::{Call, NodeExt, words};
use crate::{Context, SourceFile};

/// A call that touches the gradients of a training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradEvent {
    /// `loss.backward()`, `scaler.scale(loss).backward()`, `accelerator.backward(loss)`.
    Backward,
    /// `optimizer.step()`, `scaler.step(optimizer)`; not schedulers or environments.
    OptimizerStep,
    /// `optimizer.zero_grad()`, `model.zero_grad()`, `p.grad.zero_()`, `p.grad = None`.
    ZeroGrad,
    /// `clip_grad_norm_(...)`, `clip_grad_value_(...)`.
    ClipGrad,
}

const CLIP_FUNCTIONS: &[&str] = &[
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grad_norm",
    "clip_grad_value",
    "clip_gradients",
];

/// The gradient event `node` performs, if any. Besides calls, an assignment `p.grad = None`
/// (or `= torch.zeros_like(...)`) is a gradient reset.
pub fn grad_event(file: &SourceFile, node: Node<'_>) -> Option<GradEvent> {
    if node.kind_name() == "assignment" {
        return is_grad_reset_assignment(file, node).then_some(GradEvent::ZeroGrad);
    }
    let call = Call::new(node)?;
    match call.callee_name(file) {
        "backward" => Some(GradEvent::Backward),
        "step" => is_optimizer_step(file, &call).then_some(GradEvent::OptimizerStep),
        // `optimizer.zero_grad()`, `model.zero_grad()`, helpers such as `optimizer_zero_grad()`.
        name if name.ends_with("zero_grad") || name.ends_with("zero_grads") => {
            Some(GradEvent::ZeroGrad)
        }
        "clear_grad" | "clear_grads" | "cleargrads" => Some(GradEvent::ZeroGrad),
        // `p.grad.zero_()`, `p.grad.data.zero_()`
        "zero_" => call
            .receiver()
            .is_some_and(|receiver| {
                words(file.node_text(receiver))
                    .iter()
                    .any(|word| word == "grad")
            })
            .then_some(GradEvent::ZeroGrad),
        name if CLIP_FUNCTIONS.contains(&name) => Some(GradEvent::ClipGrad),
        _ => None,
    }
}

fn is_grad_reset_assignment(file: &SourceFile, assignment: Node<'_>) -> bool {
    let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right")) else {
        return false;
    };
    let targets_grad = left.kind_name() == "attribute"
        && left
            .field("attribute")
            .is_some_and(|attribute| file.node_text(attribute) == "grad");
    let resets = right.kind_name() == "none"
        || Call::new(right).is_some_and(|call| call.callee_name(file).starts_with("zeros"));
    targets_grad && resets
}

/// `optimizer.step()` as opposed to `scheduler.step()`, `env.step(action)` or
/// `model.step(batch)`: an optimizer step takes no argument but an optional closure, except
/// through a `GradScaler`, which takes the optimizer.
pub fn is_optimizer_step(file: &SourceFile, call: &Call<'_>) -> bool {
    let Some(receiver) = call.receiver() else {
        return false;
    };
    let receiver_words = words(file.node_text(receiver));
    let not_an_optimizer = receiver_words.iter().any(|word| {
        word.starts_with("sched")
            || word == "lr"
            || word.starts_with("env")
            || word.starts_with("sim")
    });
    if not_an_optimizer {
        return false;
    }
    if receiver_words.iter().any(|word| word.starts_with("scaler")) {
        return true;
    }
    match call.argument_count() {
        0 => true,
        1 => {
            call.keyword(file, "closure").is_some()
                || call.positional().first().is_some_and(|argument| {
                    argument.kind_name() == "lambda"
                        || file.node_text(*argument).contains("closure")
                })
        }
        _ => false,
    }
}

/// The body of a `for` or `while` loop.
pub fn loop_body(loop_node: Node<'_>) -> Option<Node<'_>> {
    loop_node.field("body")
}

/// Whether a JAX gradient transformation is applied: `jax.grad`, `value_and_grad`, `nnx.grad`.
pub fn is_jax_grad_call(file: &SourceFile, call: &Call<'_>) -> bool {
    match call.callee_name(file) {
        "value_and_grad" => true,
        "grad" => call.dotted_name(file).is_some_and(|name| {
            name == "grad" || name.ends_with("jax.grad") || name.ends_with("nnx.grad")
        }),
        _ => false,
    }
}

/// The functions defined in one file, by name, so that a loop calling `evaluate(model)` or
/// `self.reset_grads()` can be followed into the callee.
pub struct LocalFunctions<'t> {
    by_name: HashMap<&'t str, Vec<Node<'t>>>,
}

/// How many calls deep [`LocalFunctions::reaches`] follows.
const FOLLOW_DEPTH: usize = 2;

impl<'t> LocalFunctions<'t> {
    pub fn collect(file: &'t SourceFile, context: &Context<'t>) -> Self {
        let mut by_name: HashMap<&'t str, Vec<Node<'t>>> = HashMap::new();
        for node in context.nodes_of_kind("function_definition") {
            if let Some(name) = node.field("name") {
                by_name.entry(file.node_text(name)).or_default().push(node);
            }
        }
        Self { by_name }
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The local definitions a call may run: `f(...)` and `self.f(...)` / `cls.f(...)`.
    pub fn callees(&self, file: &SourceFile, call: &Call<'_>) -> &[Node<'t>] {
        let name = match call.function.kind_name() {
            "identifier" => file.node_text(call.function),
            "attribute" => {
                let on_self = call
                    .receiver()
                    .is_some_and(|receiver| matches!(file.node_text(receiver), "self" | "cls"));
                if !on_self {
                    return &[];
                }
                call.method_name(file).unwrap_or("")
            }
            _ => return &[],
        };
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether `predicate` holds for a node of `scope`, or of a local function it calls (a few
    /// calls deep).
    pub fn reaches(
        &self,
        file: &Context<'_>,
        scope: Node<'_>,
        predicate: &dyn Fn(Node<'_>) -> bool,
    ) -> bool {
        self.reaches_within(file, scope, predicate, FOLLOW_DEPTH)
    }

    fn reaches_within(
        &self,
        file: &Context<'_>,
        scope: Node<'_>,
        predicate: &dyn Fn(Node<'_>) -> bool,
        depth: usize,
    ) -> bool {
        file.scope_descendants(scope).any(|node| {
            predicate(node)
                || (depth > 0
                    && file.call_at(node).is_some_and(|call| {
                        self.callees(file, &call).iter().any(|callee| {
                            callee.field("body").is_some_and(|body| {
                                self.reaches_within(file, body, predicate, depth - 1)
                            })
                        })
                    }))
        })
    }
}

/// The text of an expression for a message, on one line and cut to a readable length.
pub fn short_text(file: &SourceFile, node: Node<'_>) -> String {
    const LIMIT: usize = 60;
    let text = file
        .node_text(node)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() <= LIMIT {
        return text;
    }
    let cut: String = text.chars().take(LIMIT - 3).collect();
    format!("{cut}...")
}

/// `torch.autograd.backward` or any `.backward(` whose receiver is a library that scales or
/// accumulates the loss itself (Accelerate, Fabric, DeepSpeed engines).
pub fn backward_is_library_managed(file: &SourceFile, call: &Call<'_>) -> bool {
    call.receiver().is_some_and(|receiver| {
        let receiver_words = words(file.node_text(receiver));
        receiver_words.iter().any(|word| {
            matches!(
                word.as_str(),
                "accelerator" | "fabric" | "engine" | "deepspeed"
            )
        })
    })
}

/// The optimizer an optimizer-step call updates: `opt` in `opt.step()` and in
/// `scaler.step(opt)`.
pub fn stepped_optimizer(file: &SourceFile, step: &Call<'_>) -> String {
    let through_scaler = step.receiver().is_some_and(|receiver| {
        words(file.node_text(receiver))
            .iter()
            .any(|word| word.starts_with("scaler"))
    });
    let optimizer = if through_scaler {
        step.positional().first().copied()
    } else {
        step.receiver()
    };
    optimizer.map_or_else(|| "optimizer".to_owned(), |node| short_text(file, node))
}

/// Words in a function name that mean it evaluates rather than trains.
const EVALUATION_WORDS: &[&str] = &[
    "eval",
    "evaluate",
    "evaluation",
    "valid",
    "validate",
    "validation",
    "val",
    "test",
    "predict",
    "prediction",
    "inference",
    "infer",
    "generate",
    "sample",
    "sampling",
];

/// Whether `node` runs without gradients or outside training: under `torch.no_grad()` or
/// `torch.inference_mode()`, or in a function decorated with them or named for evaluation.
pub fn in_inference_context(file: &Context<'_>, node: Node<'_>) -> bool {
    file.ancestors(node)
        .any(|ancestor| match ancestor.kind_name() {
            "with_statement" => ancestor.named_children(&mut ancestor.walk()).any(|child| {
                child.kind_name() == "with_clause" && disables_grad(file.node_text(child))
            }),
            "function_definition" => {
                let named_for_evaluation = ancestor.field("name").is_some_and(|name| {
                    words(file.node_text(name))
                        .iter()
                        .any(|word| EVALUATION_WORDS.contains(&word.as_str()))
                });
                let decorated = ancestor.parent().is_some_and(|parent| {
                    parent.kind_name() == "decorated_definition"
                        && parent.named_children(&mut parent.walk()).any(|child| {
                            child.kind_name() == "decorator" && disables_grad(file.node_text(child))
                        })
                });
                named_for_evaluation || decorated
            }
            _ => false,
        })
}

fn disables_grad(text: &str) -> bool {
    text.contains("no_grad")
        || text.contains("inference_mode")
        || text.contains("set_grad_enabled(False)")
}

/// The first backward pass of the file that the user runs themselves (not through Accelerate,
/// Fabric or DeepSpeed, which scale and cast on their own).
pub fn first_user_backward<'t>(file: &Context<'t>) -> Option<Node<'t>> {
    file.grad_events()
        .iter()
        .find(|(event, node)| {
            *event == GradEvent::Backward
                && Call::new(*node).is_some_and(|call| !backward_is_library_managed(file, &call))
        })
        .map(|(_, node)| *node)
}

/// Optimizer classes of `torch.optim` and the common third-party packages.
pub const OPTIMIZER_CLASSES: &[&str] = &[
    "ASGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "Adam8bit",
    "AdamW",
    "AdamW8bit",
    "Adamax",
    "DistributedShampoo",
    "FusedAdam",
    "FusedLAMB",
    "LAMB",
    "LBFGS",
    "Lamb",
    "Lion",
    "Muon",
    "NAdam",
    "PagedAdamW",
    "Prodigy",
    "RAdam",
    "RMSprop",
    "Ranger",
    "Rprop",
    "SGD",
    "Shampoo",
    "Sophia",
    "SparseAdam",
    "ZeroRedundancyOptimizer",
];

/// `torch.optim.AdamW(...)`, `SGD(...)`, `bnb.optim.AdamW8bit(...)`.
pub fn is_optimizer_constructor(file: &SourceFile, call: &Call<'_>) -> bool {
    let name = call.callee_name(file);
    OPTIMIZER_CLASSES.contains(&name)
        || (name.starts_with(char::is_uppercase)
            && call
                .dotted_name(file)
                .is_some_and(|path| path.split('.').any(|part| part == "optim")))
}

/// `model.train()` or `model.train(True)`: back to training mode. A mode given by a variable
/// counts too, since it usually is `True` in the training loop.
pub fn is_train_mode_call(file: &SourceFile, node: Node<'_>) -> bool {
    let Some(call) = Call::new(node) else {
        return false;
    };
    if call.method_name(file) != Some("train") {
        return false;
    }
    call.argument(file, 0, "mode")
        .is_none_or(|mode| mode.kind_name() != "false")
}

/// `model.eval()`.
pub fn is_eval_mode_call(file: &SourceFile, node: Node<'_>) -> bool {
    Call::new(node)
        .is_some_and(|call| call.method_name(file) == Some("eval") && call.argument_count() == 0)
}

/// Words naming a model that stays frozen while another one trains, or that only evaluates.
pub const FROZEN_MODEL_WORDS: &[&str] = &[
    "teacher",
    "ema",
    "frozen",
    "ref",
    "reference",
    "pretrained",
    "old",
    "reward",
    "target",
    "vae",
    "eval",
    "inference",
    "export",
];

/// Words naming the network being trained.
const TRAINED_MODEL_WORDS: &[&str] = &[
    "model",
    "net",
    "network",
    "policy",
    "student",
    "classifier",
    "backbone",
];

/// Which models the file trains, gathered in one pass.
pub struct TrainedModels<'t> {
    /// Receivers of `.train()`.
    put_in_training_mode: HashSet<&'t str>,
    /// Receivers of `.requires_grad_(False)`.
    frozen: HashSet<&'t str>,
    /// The argument lists of optimizer constructors.
    optimizer_arguments: Vec<&'t str>,
}

impl<'t> TrainedModels<'t> {
    pub fn collect(context: &Context<'t>) -> Self {
        let file = context.source();
        let mut models = Self {
            put_in_training_mode: HashSet::new(),
            frozen: HashSet::new(),
            optimizer_arguments: Vec::new(),
        };
        for call in context.calls() {
            if is_optimizer_constructor(file, call)
                && let Some(arguments) = call.arguments
            {
                models.optimizer_arguments.push(file.node_text(arguments));
            }
            let Some(receiver) = call.receiver().map(|receiver| file.node_text(receiver)) else {
                continue;
            };
            match call.method_name(file) {
                Some("train") => {
                    models.put_in_training_mode.insert(receiver);
                }
                Some("requires_grad_")
                    if call
                        .argument(file, 0, "requires_grad")
                        .is_some_and(|flag| flag.kind_name() == "false") =>
                {
                    models.frozen.insert(receiver);
                }
                _ => {}
            }
        }
        models
    }

    /// Whether `model` (an expression's text) is trained in this file: it is put in training
    /// mode or handed to an optimizer, or it is named like a trained network and nothing
    /// freezes it.
    pub fn is_trained(&self, model: &str) -> bool {
        let model_words = words(model);
        if model_words
            .iter()
            .any(|word| FROZEN_MODEL_WORDS.contains(&word.as_str()))
        {
            return false;
        }
        let parameters = format!("{model}.");
        let optimized = self
            .optimizer_arguments
            .iter()
            .any(|arguments| arguments.contains(&parameters) && arguments.contains("parameters"));
        if optimized || self.put_in_training_mode.contains(model) {
            return true;
        }
        !self.frozen.contains(model)
            && model_words
                .iter()
                .any(|word| TRAINED_MODEL_WORDS.contains(&word.as_str()))
    }
}
