use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::jax::parameter_names;
use crate::semantic::training::{is_jax_grad_call, short_text};
use crate::syntax::{NodeExt, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks functions differentiated with `jax.grad` / `jax.value_and_grad` for targets that
/// should be constants but are not wrapped in `jax.lax.stop_gradient`:
/// - a temporal-difference target (a name with `target` in it, computed with `gamma` or
///   `discount`) that applies the network to the parameters being differentiated;
/// - a vector-quantization loss (`z_e - z_q` style difference with a quantized or codebook
///   term) in a function that uses no `stop_gradient` at all.
///
/// ## Why is this bad?
/// `jax.grad` differentiates through everything computed from its argument. A TD target built
/// from the online parameters is pulled toward the prediction (a residual-gradient method),
/// which slows or destabilizes value learning. A VQ-VAE without stop-gradients merges the
/// codebook and commitment terms into one symmetric loss and loses the straight-through path,
/// so the codebook collapses and the encoder gets no reconstruction gradient.
///
/// ## Example
/// ```python
/// def td_loss(params, obs, rewards, next_obs, gamma):
///     target = rewards + gamma * q_apply(params, next_obs).max(-1)
///     return jnp.mean((q_apply(params, obs) - target) ** 2)
///
/// grads = jax.grad(td_loss)(params, obs, rewards, next_obs, 0.99)
/// ```
///
/// Use instead:
/// ```python
/// def td_loss(params, target_params, obs, rewards, next_obs, gamma):
///     target = rewards + gamma * q_apply(target_params, next_obs).max(-1)
///     target = jax.lax.stop_gradient(target)
///     return jnp.mean((q_apply(params, obs) - target) ** 2)
/// ```
///
/// ## References
/// - [JAX: `jax.lax.stop_gradient`](https://docs.jax.dev/en/latest/_autosummary/jax.lax.stop_gradient.html)
/// - [van den Oord et al., "Neural Discrete Representation Learning" (NeurIPS 2017)](https://arxiv.org/abs/1711.00937)
///
/// ## Confirms
/// - FM0074: value learning against a moving target
/// - FM0121: VQ straight-through or commitment bug
pub struct MissingStopGradient;

impl AuditRule for MissingStopGradient {
    fn code(&self) -> &'static str {
        "JX007"
    }

    fn name(&self) -> &'static str {
        "missing-stop-gradient"
    }

    fn auditor(&self) -> Auditor {
        Auditor::JaxLogicAuditor
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("grad") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for function in differentiated_functions(file) {
            let Some(body) = function.field("body") else {
                continue;
            };
            let Some(params) = parameter_names(file, function).into_iter().next() else {
                continue;
            };
            let stops_anywhere = file.node_text(body).contains("stop_gradient");
            for (left, right) in file
                .assignment_sides()
                .filter(|(left, _)| crate::syntax::contains(body, *left))
            {
                if file.node_text(right).contains("stop_gradient") {
                    continue;
                }
                let target = file.node_text(left);
                let target_words = words(target);
                if target_words
                    .iter()
                    .any(|word| word == "target" || word == "targets")
                    && mentions_discount(file, right)
                    && applies_to(file, right, &params)
                    && !stopped_later(file, body, target)
                {
                    let message = format!(
                        "`{target}` is a TD target computed from `{params}`, the parameters `jax.grad` \
                         differentiates: gradients flow into the target and pull it toward the prediction; wrap it in \
                         `jax.lax.stop_gradient` (or compute it from target parameters)"
                    );
                    findings.push(file.finding(self, right, message, 0.75));
                }
            }
            if !stops_anywhere && let Some(difference) = quantization_difference(file, body) {
                let message = format!(
                    "`{}` compares encoder outputs and quantized codes in a function with no \
                     `jax.lax.stop_gradient`: the codebook and commitment terms collapse into one symmetric loss and \
                     the straight-through estimator is missing, so the codebook collapses and the encoder gets no \
                     reconstruction gradient; use `sg(z_e) - z_q` and `z_e - sg(z_q)` and `z_e + sg(z_q - z_e)`",
                    short_text(file, difference)
                );
                findings.push(file.finding(self, difference, message, 0.6));
            }
        }
        findings
    }
}

/// The functions of the file passed by name to `jax.grad` or `jax.value_and_grad`.
fn differentiated_functions<'t>(file: &Context<'t>) -> Vec<Node<'t>> {
    let names: Vec<&str> = file
        .calls()
        .iter()
        .filter(|call| is_jax_grad_call(file, call))
        .filter_map(|call| call.argument(file, 0, "fun"))
        .filter(|argument| argument.kind_name() == "identifier")
        .map(|argument| file.source().node_text(argument))
        .collect();
    file.nodes_of_kind("function_definition")
        .filter(|function| {
            function
                .field("name")
                .is_some_and(|name| names.contains(&file.node_text(name)))
        })
        .collect()
}

fn mentions_discount(file: &Context<'_>, value: Node<'_>) -> bool {
    file.descendants(value).any(|node| {
        node.kind_name() == "identifier"
            && words(file.node_text(node))
                .iter()
                .any(|word| matches!(word.as_str(), "gamma" | "discount"))
    })
}

/// Whether `value` calls something with the differentiated parameters as an argument
/// (`apply(params, x)`, `model.apply({"params": params}, x)`).
fn applies_to(file: &Context<'_>, value: Node<'_>, params: &str) -> bool {
    file.calls_in(value).iter().any(|call| {
        call.arguments.is_some_and(|arguments| {
            file.descendants(arguments)
                .any(|node| node.kind_name() == "identifier" && file.node_text(node) == params)
        })
    })
}

fn stopped_later(file: &Context<'_>, body: Node<'_>, target: &str) -> bool {
    file.calls_in(body).iter().any(|call| {
        call.callee_name(file) == "stop_gradient"
            && call
                .positional()
                .first()
                .is_some_and(|argument| file.node_text(*argument) == target)
    })
}

/// `z_e - z_q` (or `quantized - inputs`) inside the function: a difference of an encoder output
/// and a quantized code.
fn quantization_difference<'t>(file: &Context<'t>, body: Node<'_>) -> Option<Node<'t>> {
    file.descendants(body).find(|node| {
        if node.kind_name() != "binary_operator"
            || node
                .field("operator")
                .is_none_or(|operator| operator.kind_name() != "-")
        {
            return false;
        }
        let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
            return false;
        };
        let quantized = |side: Node<'_>| {
            let text = file.node_text(side);
            let side_words = words(text);
            text.contains("z_q")
                || side_words
                    .iter()
                    .any(|word| word.starts_with("quantiz") || word == "codebook" || word == "zq")
        };
        quantized(left) != quantized(right)
    })
}
