use std::collections::HashMap;

use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::{first_user_backward, in_inference_context, short_text};
use crate::syntax::{Call, NodeExt, dotted_name};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for a forward pass through the module inside `DistributedDataParallel`
/// (`ddp_model.module(inputs)` or `ddp_model.module.forward(inputs)`) in a file that trains
/// with `.backward()`.
///
/// Calls under `torch.no_grad()` or in evaluation functions are not reported, and neither is
/// other use of `.module` (`state_dict()`, `generate()`, attribute access).
///
/// ## Why is this bad?
/// DDP synchronizes gradients through hooks that its own `forward` prepares. A forward pass
/// that goes around the wrapper produces gradients that are never all-reduced: each process
/// trains its own replica, the replicas drift apart, and the run reports the loss of one of
/// them. Depending on the version, it may also fail later with "Expected to have finished
/// reduction in the prior iteration".
///
/// ## Example
/// ```python
/// model = DistributedDataParallel(net, device_ids=[rank])
/// for inputs, targets in loader:
///     loss = criterion(model.module(inputs), targets)
///     loss.backward()
/// ```
///
/// Use instead:
/// ```python
/// model = DistributedDataParallel(net, device_ids=[rank])
/// for inputs, targets in loader:
///     loss = criterion(model(inputs), targets)
///     loss.backward()
/// ```
///
/// ## References
/// - [PyTorch: `DistributedDataParallel`](https://pytorch.org/docs/stable/generated/torch.nn.parallel.DistributedDataParallel.html)
/// - [PyTorch: DDP design notes](https://pytorch.org/docs/stable/notes/ddp.html)
///
/// ## Confirms
/// - FM0026: DDP gradient synchronization bypassed
pub struct DdpModuleBypass;

impl AuditRule for DdpModuleBypass {
    fn code(&self) -> &'static str {
        "PT010"
    }

    fn name(&self) -> &'static str {
        "ddp-module-bypass"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if first_user_backward(file).is_none() {
            return Vec::new();
        }
        let wrapped = ddp_wrapped_names(file);
        if wrapped.is_empty() {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for call in file.calls() {
            let Some(name) = bypassed_wrapper(file, call) else {
                continue;
            };
            let Some(wrapping) = wrapped.get(&name) else {
                continue;
            };
            if in_inference_context(file, call.node) {
                continue;
            }
            let (wrap_line, _) = file.position(*wrapping);
            let message = format!(
                "`{}` runs the forward pass through the module inside `DistributedDataParallel` (`{name}`, line \
                 {wrap_line}), around DDP's gradient hooks: gradients are not all-reduced, so each process trains \
                 its own diverging replica; call `{name}(...)` instead",
                short_text(file, call.node)
            );
            findings.push(file.finding(self, call.node, message, 0.8));
        }
        findings
    }
}

/// Names assigned a `DistributedDataParallel(...)` (under any alias), with the wrapping call.
fn ddp_wrapped_names<'t>(file: &Context<'t>) -> HashMap<String, Node<'t>> {
    let imports = file.imports();
    let mut wrapped = HashMap::new();
    for assignment in file.nodes_of_kind("assignment") {
        let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right"))
        else {
            continue;
        };
        let Some(call) = Call::new(right) else {
            continue;
        };
        let Some(path) = call
            .dotted_name(file)
            .map(|callee| imports.resolve(&callee))
        else {
            continue;
        };
        let last = path.rsplit('.').next().unwrap_or(&path);
        if matches!(last, "DistributedDataParallel" | "DDP")
            && let Some(name) = dotted_name(file, left)
        {
            wrapped.insert(name, right);
        }
    }
    wrapped
}

/// `model` for `model.module(...)` and `model.module.forward(...)`.
fn bypassed_wrapper(file: &SourceFile, call: &Call<'_>) -> Option<String> {
    let callee = call.dotted_name(file)?;
    let wrapper = callee
        .strip_suffix(".module.forward")
        .or_else(|| callee.strip_suffix(".module"))?;
    Some(wrapper.to_owned())
}
