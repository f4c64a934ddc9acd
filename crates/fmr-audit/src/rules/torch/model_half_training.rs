use std::collections::{HashMap, HashSet};

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{
    FROZEN_MODEL_WORDS, first_user_backward, in_inference_context, short_text,
};
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized, words};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for a model converted to float16 (`model.half()`, `model.to(torch.float16)`,
/// `model.to(dtype=torch.half)`) in a file that trains with `.backward()`.
///
/// Models that are clearly frozen (a teacher, an EMA or reference copy, a model whose
/// `requires_grad_(False)` is called), conversions under `torch.no_grad()` or in evaluation
/// functions, and tensors are not reported.
///
/// ## Why is this bad?
/// Training float16 weights directly loses most updates: float16 has 10 mantissa bits, so an
/// update smaller than about 1/1000 of a weight rounds away (`1 + 1e-4 == 1`), and small
/// gradients underflow to zero. Training stalls, or overflows to NaN, with no error. Mixed
/// precision keeps float32 master weights and only computes in float16.
///
/// ## Example
/// ```python
/// model = Net().cuda().half()
/// for inputs, targets in loader:
///     loss = criterion(model(inputs.half()), targets)
///     loss.backward()
///     optimizer.step()
/// ```
///
/// Use instead:
/// ```python
/// model = Net().cuda()
/// scaler = torch.amp.GradScaler("cuda")
/// for inputs, targets in loader:
///     with torch.autocast(device_type="cuda", dtype=torch.float16):
///         loss = criterion(model(inputs), targets)
///     scaler.scale(loss).backward()
///     scaler.step(optimizer)
///     scaler.update()
/// ```
///
/// ## References
/// - [PyTorch: automatic mixed precision](https://pytorch.org/docs/stable/amp.html)
/// - [Micikevicius et al., Mixed Precision Training (arXiv:1710.03740)](https://arxiv.org/abs/1710.03740)
///
/// ## Confirms
/// - FM0001: fp16 overflow without loss scaling
/// - FM0008: pure fp16 without master weights
/// - FM0035: mixed-precision fine-tuning instability
pub struct ModelHalfTraining;

impl AuditRule for ModelHalfTraining {
    fn code(&self) -> &'static str {
        "PT009"
    }

    fn name(&self) -> &'static str {
        "model-half-training"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let Some(backward) = first_user_backward(file) else {
            return Vec::new();
        };
        let (backward_line, _) = file.position(backward);
        let names = NameFacts::collect(file);
        let mut findings = Vec::new();
        for call in file.calls() {
            if !casts_to_float16(file, call) {
                continue;
            }
            let Some(receiver) = call.receiver() else {
                continue;
            };
            if !names.is_model(file, receiver, 2)
                || names.is_frozen(file, receiver)
                || in_inference_context(file, call.node)
            {
                continue;
            }
            let message = format!(
                "`{}` stores the model's weights in float16 in a file that trains them (`.backward()` at line \
                 {backward_line}): updates below float16's resolution round away and small gradients underflow, \
                 so training stalls or turns NaN; keep float32 weights and use `torch.autocast` with a \
                 `GradScaler` (or bfloat16)",
                short_text(file, call.node)
            );
            findings.push(file.finding(self, call.node, message, 0.75));
        }
        findings
    }
}

/// What the file says about its names, gathered in one pass: what each is assigned, and which
/// are frozen with `requires_grad_(False)`.
struct NameFacts<'t> {
    assigned: HashMap<&'t str, Vec<Node<'t>>>,
    frozen: HashSet<&'t str>,
}

impl<'t> NameFacts<'t> {
    fn collect(context: &Context<'t>) -> Self {
        let file = context.source();
        let mut facts = Self {
            assigned: HashMap::new(),
            frozen: HashSet::new(),
        };
        for (left, right) in context.assignment_sides() {
            facts
                .assigned
                .entry(file.node_text(left))
                .or_default()
                .push(right);
        }
        for call in context.calls() {
            if call.method_name(file) == Some("requires_grad_")
                && call
                    .argument(file, 0, "requires_grad")
                    .is_some_and(|flag| flag.kind_name() == "false")
                && let Some(receiver) = call.receiver()
            {
                facts.frozen.insert(file.node_text(receiver));
            }
        }
        facts
    }

    /// Whether `node` is a network: a constructor call, `from_pretrained`, a name that says so,
    /// or a name assigned from one of these.
    fn is_model(&self, file: &SourceFile, node: Node<'_>, depth: usize) -> bool {
        let node = unparenthesized(node);
        if let Some(call) = Call::new(node) {
            let name = call.callee_name(file);
            if matches!(name, "to" | "cuda" | "cpu" | "float" | "train" | "eval") {
                return call
                    .receiver()
                    .is_some_and(|receiver| self.is_model(file, receiver, depth));
            }
            let is_class = name.starts_with(char::is_uppercase) && !name.ends_with("Tensor");
            return is_class || name == "from_pretrained";
        }
        let Some(name) = dotted_name(file, node) else {
            return false;
        };
        let name_words = words(&name);
        if name_words
            .iter()
            .any(|word| TENSOR_WORDS.contains(&word.as_str()))
        {
            return false;
        }
        if name_words
            .iter()
            .any(|word| MODEL_WORDS.contains(&word.as_str()))
        {
            return true;
        }
        depth > 0
            && self.assigned.get(name.as_str()).is_some_and(|values| {
                values
                    .iter()
                    .any(|value| self.is_model(file, *value, depth - 1))
            })
    }

    /// Whether the model is named or made frozen.
    fn is_frozen(&self, file: &SourceFile, receiver: Node<'_>) -> bool {
        let text = file.node_text(receiver);
        words(text)
            .iter()
            .any(|word| FROZEN_MODEL_WORDS.contains(&word.as_str()))
            || self.frozen.contains(text)
    }
}

/// `.half()`, or `.to(...)` with a float16 dtype.
fn casts_to_float16(file: &SourceFile, call: &Call<'_>) -> bool {
    match call.method_name(file) {
        Some("half") => call.argument_count() == 0,
        Some("to") => call
            .positional()
            .into_iter()
            .chain(call.keyword(file, "dtype"))
            .any(|argument| matches!(file.node_text(argument), "torch.float16" | "torch.half")),
        _ => false,
    }
}

/// Words that name a network rather than a tensor.
const MODEL_WORDS: &[&str] = &[
    "model",
    "net",
    "network",
    "module",
    "backbone",
    "encoder",
    "decoder",
    "transformer",
    "generator",
    "discriminator",
    "classifier",
    "policy",
    "unet",
    "llm",
    "resnet",
    "vit",
    "bert",
    "gpt",
    "critic",
    "actor",
];

/// Words that name tensors or parts of a model.
const TENSOR_WORDS: &[&str] = &[
    "input",
    "inputs",
    "x",
    "batch",
    "data",
    "image",
    "images",
    "img",
    "tensor",
    "feat",
    "feats",
    "features",
    "emb",
    "embedding",
    "embeddings",
    "logits",
    "output",
    "outputs",
    "label",
    "labels",
    "target",
    "targets",
    "mask",
    "grad",
    "weight",
    "weights",
    "bias",
    "param",
    "params",
    "state",
    "buffer",
    "latents",
    "tokens",
];
