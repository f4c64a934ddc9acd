use std::collections::HashSet;

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::imports::Imports;
use crate::semantic::training::{is_jax_grad_call, short_text};
use crate::syntax::{Call, NodeExt, dotted_name, preorder, unparenthesized, words};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks, in functions that are differentiated (a loss function, one passed to `jax.grad` or
/// `jax.value_and_grad`, the `forward` of a `...Loss` module), for:
/// - a square root of squared differences with no epsilon, e.g.
///   `torch.sqrt(((a - b) ** 2).sum(-1))`, `jnp.sqrt(jnp.sum(diff ** 2))`;
/// - a JAX norm of a difference, `jnp.linalg.norm(a - b)`.
///
/// `torch.norm` and `torch.linalg.norm` are not reported: PyTorch defines their gradient at
/// zero as 0.
///
/// ## Why is this bad?
/// The derivative of `sqrt(x)` is `1 / (2 sqrt(x))`, infinite at 0; multiplied by the zero
/// gradient of the squared difference it gives `0 * inf = NaN`. JAX's norm has the same 0/0 at
/// the origin. One pair of identical points (the diagonal of a pairwise distance matrix, a
/// prediction that hits its target exactly) makes every gradient NaN, and the NaN spreads to
/// the weights at the next step.
///
/// ## Example
/// ```python
/// def contrastive_loss(a, b):
///     distance = torch.sqrt(((a - b) ** 2).sum(dim=-1))
///     return distance.mean()
/// ```
///
/// Use instead:
/// ```python
/// def contrastive_loss(a, b):
///     distance = torch.sqrt(((a - b) ** 2).sum(dim=-1) + 1e-12)
///     return distance.mean()
/// ```
///
/// ## References
/// - [PyTorch issue #2421: gradient of zero norm is nan](https://github.com/pytorch/pytorch/issues/2421)
/// - [JAX issue #3058: NaN in gradient of `np.linalg.norm` at 0](https://github.com/jax-ml/jax/issues/3058)
/// - [JAX FAQ: gradients contain NaN where using `where`](https://docs.jax.dev/en/latest/faq.html#gradients-contain-nan-where-using-where)
///
/// ## Confirms
/// - FM0009: NaN gradient at a singularity
pub struct NormAtZero;

impl AuditRule for NormAtZero {
    fn code(&self) -> &'static str {
        "PY001"
    }

    fn name(&self) -> &'static str {
        "norm-at-zero"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("sqrt") && !file.mentions("norm") {
            return Vec::new();
        }
        let imports = file.imports();
        let mut seen = HashSet::new();
        let mut findings = Vec::new();
        for (function, why) in differentiated_functions(file) {
            let Some(body) = function.field("body") else {
                continue;
            };
            let name = function
                .field("name")
                .map_or("", |name| file.node_text(name));
            for call in file.calls_in(body) {
                if !seen.insert(call.node.id()) {
                    continue;
                }
                let Some((kind, argument)) = root_call(file, imports, call) else {
                    continue;
                };
                if has_epsilon(file, argument) {
                    continue;
                }
                let message = match kind {
                    RootKind::Sqrt if squares_a_difference(file, function, argument) => format!(
                        "`{}` in `{name}` ({why}) takes a square root of squared differences with no epsilon: its \
                         gradient is infinite where the difference is zero and becomes NaN; add a small epsilon \
                         inside the square root",
                        short_text(file, call.node)
                    ),
                    RootKind::JaxNorm if holds_difference(file, function, argument) => format!(
                        "`{}` in `{name}` ({why}) has a NaN gradient where `{}` is zero (the norm's derivative is \
                         0/0 there in JAX); use `jnp.sqrt(jnp.sum(d ** 2) + eps)` or a safe norm",
                        short_text(file, call.node),
                        short_text(file, argument)
                    ),
                    _ => continue,
                };
                findings.push(file.finding(self, call.node, message, 0.7));
            }
        }
        findings
    }
}

enum RootKind {
    Sqrt,
    JaxNorm,
}

/// A differentiable square root or JAX norm, with its argument.
fn root_call<'t>(
    file: &SourceFile,
    imports: &Imports,
    call: &Call<'t>,
) -> Option<(RootKind, Node<'t>)> {
    let path = call
        .dotted_name(file)
        .map(|callee| imports.resolve(&callee));
    match path.as_deref() {
        Some("torch.sqrt" | "jax.numpy.sqrt" | "jax.lax.sqrt" | "autograd.numpy.sqrt") => {
            Some((RootKind::Sqrt, call.argument(file, 0, "input")?))
        }
        Some("jax.numpy.linalg.norm" | "autograd.numpy.linalg.norm") => {
            Some((RootKind::JaxNorm, call.argument(file, 0, "x")?))
        }
        // `(...).sqrt()` on a tensor; module functions such as `math.sqrt` have a dotted path.
        _ if call.method_name(file) == Some("sqrt") && call.argument_count() == 0 => {
            let receiver = call.receiver()?;
            (dotted_name(file, receiver).is_none()).then_some((RootKind::Sqrt, receiver))
        }
        _ => None,
    }
}

/// Functions whose output is differentiated, each with the reason shown in messages.
fn differentiated_functions<'t>(file: &Context<'t>) -> Vec<(Node<'t>, &'static str)> {
    let differentiated_names: HashSet<&str> = file
        .calls()
        .iter()
        .filter(|call| is_jax_grad_call(file, call))
        .filter_map(|call| call.argument(file, 0, "fun"))
        .filter(|argument| argument.kind_name() == "identifier")
        .map(|argument| file.node_text(argument))
        .collect();
    file.nodes_of_kind("function_definition")
        .filter_map(|function| {
            let name = file.node_text(function.field("name")?);
            if differentiated_names.contains(name) {
                return Some((function, "differentiated by `jax.grad`"));
            }
            if words(name)
                .iter()
                .any(|word| matches!(word.as_str(), "loss" | "objective"))
            {
                return Some((function, "a loss function"));
            }
            let in_loss_class = file.enclosing_class(function).is_some_and(|class| {
                class.field("name").is_some_and(|class_name| {
                    words(file.node_text(class_name))
                        .iter()
                        .any(|word| word == "loss")
                })
            });
            (in_loss_class && matches!(name, "forward" | "__call__"))
                .then_some((function, "a loss module"))
        })
        .collect()
}

/// Whether the argument is kept away from zero: `x + eps`, `x + 1e-8`, `clamp(x, min=...)`.
fn has_epsilon(file: &SourceFile, argument: Node<'_>) -> bool {
    let argument = unparenthesized(argument);
    if let Some(call) = Call::new(argument) {
        return matches!(
            call.callee_name(file),
            "clamp" | "clip" | "clamp_min" | "maximum" | "max" | "softplus"
        );
    }
    argument.kind_name() == "binary_operator"
        && argument
            .field("operator")
            .is_some_and(|operator| operator.kind_name() == "+")
        && [argument.field("left"), argument.field("right")]
            .into_iter()
            .flatten()
            .any(|operand| is_epsilon_term(file, operand) || has_epsilon(file, operand))
}

fn is_epsilon_term(file: &SourceFile, operand: Node<'_>) -> bool {
    let operand = unparenthesized(operand);
    matches!(operand.kind_name(), "float" | "integer")
        || words(file.node_text(operand)).iter().any(|word| {
            word.starts_with("eps")
                || matches!(word.as_str(), "tiny" | "tol" | "delta" | "stabilizer")
        })
}

/// Whether some squared term of `argument` squares a difference.
fn squares_a_difference(file: &SourceFile, function: Node<'_>, argument: Node<'_>) -> bool {
    preorder(argument).any(|node| {
        squared_operand(file, node).is_some_and(|operand| holds_difference(file, function, operand))
    })
}

/// `x` in `x ** 2`, `x.pow(2)`, `torch.square(x)`, `x * x`.
fn squared_operand<'t>(file: &SourceFile, node: Node<'t>) -> Option<Node<'t>> {
    if node.kind_name() == "binary_operator" {
        let (left, right) = (node.field("left")?, node.field("right")?);
        return match node.field("operator")?.kind_name() {
            "**" if matches!(file.node_text(right), "2" | "2.0") => Some(left),
            "*" if file.node_text(left) == file.node_text(right) => Some(left),
            _ => None,
        };
    }
    let call = Call::new(node)?;
    match call.callee_name(file) {
        "square" => call.argument(file, 0, "input"),
        "pow"
            if call
                .positional()
                .first()
                .is_some_and(|exponent| file.node_text(*exponent) == "2") =>
        {
            call.receiver()
        }
        _ => None,
    }
}

/// Whether `expression` contains a difference of two non-constant terms, directly or through a
/// variable assigned one in the same function.
fn holds_difference(file: &SourceFile, function: Node<'_>, expression: Node<'_>) -> bool {
    preorder(expression).any(|node| {
        is_difference(node)
            || (node.kind_name() == "identifier"
                && assigned_difference(file, function, file.node_text(node)))
    })
}

fn is_difference(node: Node<'_>) -> bool {
    if node.kind_name() != "binary_operator"
        || node
            .field("operator")
            .is_none_or(|operator| operator.kind_name() != "-")
    {
        return false;
    }
    [node.field("left"), node.field("right")]
        .into_iter()
        .all(|operand| {
            operand.is_some_and(|operand| {
                !matches!(unparenthesized(operand).kind_name(), "integer" | "float")
            })
        })
}

fn assigned_difference(file: &SourceFile, function: Node<'_>, name: &str) -> bool {
    preorder(function)
        .filter(|node| node.kind_name() == "assignment")
        .any(|assignment| {
            assignment
                .field("left")
                .is_some_and(|left| file.node_text(left) == name)
                && assignment
                    .field("right")
                    .is_some_and(|right| preorder(right).any(|node| is_difference(node)))
        })
}
