use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::grad_disabled_by;
use crate::semantic::training::{GradEvent, short_text};
use crate::syntax::{NodeExt, contains, dotted_name, words};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a temporal-difference target (a name with `target` in it, computed with
/// `gamma`/`discount`) that calls the same network as the prediction it is compared with, in a
/// function that runs `.backward()`, without `torch.no_grad()`, `.detach()` or a separate
/// target network.
///
/// Targets computed by a target network (`target_net(next_obs)`), under `torch.no_grad()`, or
/// detached before the loss are not reported.
///
/// ## Why is this bad?
/// The target is supposed to be a fixed regression label. If gradients flow through it, the
/// update also moves the target toward the prediction (a residual-gradient method rather than
/// Q-learning or TD(0)): learning slows down or the values drift and diverge, and with a shared
/// network the two terms chase each other.
///
/// ## Example
/// ```python
/// q_values = q_net(obs).gather(1, actions)
/// target_q = rewards + gamma * q_net(next_obs).max(1, keepdim=True).values
/// loss = F.mse_loss(q_values, target_q)
/// loss.backward()
/// ```
///
/// Use instead:
/// ```python
/// q_values = q_net(obs).gather(1, actions)
/// with torch.no_grad():
///     target_q = rewards + gamma * target_net(next_obs).max(1, keepdim=True).values
/// loss = F.mse_loss(q_values, target_q)
/// loss.backward()
/// ```
///
/// ## References
/// - [Mnih et al., "Human-level control through deep reinforcement learning" (Nature 2015)](https://www.nature.com/articles/nature14236)
/// - [Sutton and Barto, "Reinforcement Learning", semi-gradient methods (ch. 9.3)](http://incompleteideas.net/book/the-book-2nd.html)
///
/// ## Confirms
/// - FM0074: value learning against a moving target
pub struct TdTargetNotDetached;

impl AuditRule for TdTargetNotDetached {
    fn code(&self) -> &'static str {
        "PT034"
    }

    fn name(&self) -> &'static str {
        "td-target-not-detached"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("gamma") && !file.mentions("discount") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for (left, right) in file.assignment_sides() {
            let target = file.node_text(left);
            if !words(target)
                .iter()
                .any(|word| word == "target" || word == "targets")
            {
                continue;
            }
            let discounted = file.descendants(right).any(|node| {
                node.kind_name() == "identifier"
                    && words(file.node_text(node))
                        .iter()
                        .any(|word| matches!(word.as_str(), "gamma" | "discount"))
            });
            if !discounted
                || file.node_text(right).contains("detach")
                || grad_disabled_by(file, right).is_some()
            {
                continue;
            }
            let Some(function) = file.enclosing_function(left) else {
                continue;
            };
            let Some(body) = function.field("body") else {
                continue;
            };
            let backpropagates = file
                .grad_events_in(body)
                .iter()
                .any(|(event, _)| *event == GradEvent::Backward);
            if !backpropagates || detached_later(file, body, target) {
                continue;
            }
            let Some((network, prediction)) = shared_network(file, body, right) else {
                continue;
            };
            let (line, _) = file.position(prediction);
            let message = format!(
                "`{target}` is computed with `{network}`, the network being trained (its prediction is at line \
                 {line}), and gradients flow through it: the update also drags the target toward the prediction, \
                 which slows or destabilizes value learning; compute the target under `torch.no_grad()` (ideally \
                 with a target network)"
            );
            findings.push(file.finding(self, right, message, 0.75));
        }
        findings
    }
}

/// A network called in `target` that the function also calls outside it (the prediction), with
/// that other call.
fn shared_network<'t>(
    file: &Context<'t>,
    body: Node<'_>,
    target: Node<'_>,
) -> Option<(String, Node<'t>)> {
    let target_networks: Vec<String> = file
        .calls_in(target)
        .iter()
        .filter_map(|call| dotted_name(file, call.function))
        .filter(|callee| {
            !callee.starts_with("torch.") && !callee.starts_with("F.") && !callee.contains("target")
        })
        .collect();
    file.calls_in(body)
        .iter()
        .filter(|call| !contains(target, call.node))
        .find_map(|call| {
            let callee = dotted_name(file, call.function)?;
            target_networks
                .contains(&callee)
                .then(|| (short_text(file, call.function), call.node))
        })
}

/// Whether the function detaches the target where it uses it (`target.detach()`).
fn detached_later(file: &Context<'_>, body: Node<'_>, target: &str) -> bool {
    file.calls_in(body).iter().any(|call| {
        call.callee_name(file) == "detach"
            && call
                .receiver()
                .is_some_and(|receiver| file.node_text(receiver) == target)
    })
}
