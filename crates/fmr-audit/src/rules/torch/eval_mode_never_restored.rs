use std::collections::HashMap;

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{
    GradEvent, LocalFunctions, grad_event, is_eval_mode_call, is_train_mode_call, loop_body,
    short_text,
};
use crate::syntax::{Call, NodeExt};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for `model.eval()` inside a training loop (a loop that runs `.backward()`), directly
/// or through a function of the same file such as `evaluate(model)`, when nothing in that loop
/// switches the model back with `model.train()`.
///
/// Only models this file trains are considered (it calls `.train()` on them, gives their
/// parameters to an optimizer, or names them `model`, `net`, `policy`, ... without freezing
/// them), so frozen teachers, EMA copies, target networks and VAEs kept in eval mode are not
/// reported.
///
/// ## Why is this bad?
/// After the first evaluation the rest of training runs in evaluation mode: dropout is off and
/// BatchNorm normalizes with its running statistics instead of the batch's, and stops updating
/// them. The model overfits sooner, and a network trained with BatchNorm in eval mode can
/// diverge. Nothing raises an error; the training loss just looks different after the first
/// validation.
///
/// ## Example
/// ```python
/// model.train()
/// for step, (inputs, targets) in enumerate(loader):
///     optimizer.zero_grad()
///     criterion(model(inputs), targets).backward()
///     optimizer.step()
///     if step % 500 == 0:
///         model.eval()
///         validate(model)
/// ```
///
/// Use instead:
/// ```python
/// for step, (inputs, targets) in enumerate(loader):
///     model.train()
///     optimizer.zero_grad()
///     criterion(model(inputs), targets).backward()
///     optimizer.step()
///     if step % 500 == 0:
///         model.eval()
///         validate(model)
/// ```
///
/// ## References
/// - [PyTorch: `Module.eval`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval)
/// - [PyTorch: `Module.train`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.train)
///
/// ## Confirms
/// - FM0020: train/eval mode misuse
pub struct EvalModeNeverRestored;

impl AuditRule for EvalModeNeverRestored {
    fn code(&self) -> &'static str {
        "PT004"
    }

    fn name(&self) -> &'static str {
        "eval-mode-never-restored"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("eval(") {
            return Vec::new();
        }
        let locals = file.locals();
        let trained = file.trained_models();
        let mut leaves_eval = HashMap::new();
        let runs_backward = |node: Node<'_>| grad_event(file, node) == Some(GradEvent::Backward);
        let restores = |node: Node<'_>| is_train_mode_call(file, node);
        let mut findings = Vec::new();
        for call in file.calls() {
            let Some((eval_call, helper)) = eval_switch(file, locals, &mut leaves_eval, call)
            else {
                continue;
            };
            let Some(training_loop) = file.enclosing_loops(call.node).find(|candidate| {
                loop_body(*candidate).is_some_and(|body| locals.reaches(file, body, &runs_backward))
            }) else {
                continue;
            };
            if locals.reaches(file, training_loop, &restores) {
                continue;
            }
            let model = Call::new(eval_call)
                .and_then(|eval| eval.receiver())
                .map(|receiver| file.node_text(receiver));
            let mut candidates: Vec<&str> = model.into_iter().collect();
            if helper.is_some() {
                candidates.extend(
                    call.positional()
                        .into_iter()
                        .map(|argument| file.node_text(argument)),
                );
            }
            if !candidates
                .iter()
                .any(|candidate| trained.is_trained(candidate))
            {
                continue;
            }
            let model = model.unwrap_or("model");
            let (loop_line, _) = file.position(training_loop);
            let message = match helper {
                None => format!(
                    "`{model}.eval()` runs inside the training loop (line {loop_line}) and nothing in the loop calls \
                     `{model}.train()` again: after the first evaluation, training continues with dropout off and \
                     BatchNorm frozen; call `{model}.train()` after evaluating"
                ),
                Some(helper) => {
                    let (eval_line, _) = file.position(eval_call);
                    format!(
                        "`{}` leaves the model in evaluation mode (`{model}.eval()` at line {eval_line}) and the \
                         training loop (line {loop_line}) never calls `.train()` again: training continues with \
                         dropout off and BatchNorm frozen; call `.train()` after `{helper}` returns",
                        short_text(file, call.node)
                    )
                }
            };
            let confidence = if helper.is_some() { 0.75 } else { 0.8 };
            findings.push(file.finding(self, call.node, message, confidence));
        }
        findings
    }
}

/// The `.eval()` call that `call` performs: itself, or the last one of a local function it
/// calls that does not switch back to training mode before returning (then with that
/// function's name). What each function leaves behind is computed once, in `leaves_eval`.
fn eval_switch<'t>(
    file: &Context<'t>,
    locals: &LocalFunctions<'t>,
    leaves_eval: &mut HashMap<usize, Option<Node<'t>>>,
    call: &Call<'t>,
) -> Option<(Node<'t>, Option<&'t str>)> {
    if is_eval_mode_call(file, call.node) {
        return Some((call.node, None));
    }
    locals.callees(file, call).iter().find_map(|function| {
        let last_eval = *leaves_eval.entry(function.id()).or_insert_with(|| {
            let body = function.field("body")?;
            let last_switch = file
                .scope_descendants(body)
                .filter(|&node| is_eval_mode_call(file, node) || is_train_mode_call(file, node))
                .last()?;
            is_eval_mode_call(file, last_switch).then_some(last_switch)
        });
        let name = function
            .field("name")
            .map(|name| file.source().node_text(name))?;
        last_eval.map(|eval| (eval, Some(name)))
    })
}
