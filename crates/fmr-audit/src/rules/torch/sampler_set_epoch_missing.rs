use fmr_core::AuditFinding;

use crate::semantic::names::names_held_out_data;
use crate::semantic::training::{GradEvent, short_text};
use crate::syntax::{NodeExt, assigned_to};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a shuffling `DistributedSampler` over training data in a file that trains (it
/// runs `.backward()`) but never calls `sampler.set_epoch(epoch)`.
///
/// Samplers with `shuffle=False`, samplers over validation or test data, and files that call
/// `set_epoch` anywhere are not reported.
///
/// ## Why is this bad?
/// `DistributedSampler` seeds its shuffle with `seed + epoch`, and the epoch only changes when
/// `set_epoch` is called. Without it, every epoch visits the data in exactly the same order on
/// every rank, which removes the benefit of shuffling: the loss shows the same pattern every
/// epoch and generalization suffers. Nothing warns about it.
///
/// ## Example
/// ```python
/// sampler = DistributedSampler(train_set)
/// loader = DataLoader(train_set, batch_size=64, sampler=sampler)
/// for epoch in range(epochs):
///     for batch in loader:
///         ...
/// ```
///
/// Use instead:
/// ```python
/// sampler = DistributedSampler(train_set)
/// loader = DataLoader(train_set, batch_size=64, sampler=sampler)
/// for epoch in range(epochs):
///     sampler.set_epoch(epoch)
///     for batch in loader:
///         ...
/// ```
///
/// ## References
/// - [PyTorch: `DistributedSampler`](https://pytorch.org/docs/stable/data.html#torch.utils.data.distributed.DistributedSampler)
///
/// ## Confirms
/// - FM0153: sampler `set_epoch` missing
/// - FM0017: the same data order every epoch
pub struct SamplerSetEpochMissing;

impl AuditRule for SamplerSetEpochMissing {
    fn code(&self) -> &'static str {
        "PT032"
    }

    fn name(&self) -> &'static str {
        "sampler-set-epoch-missing"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("DistributedSampler") || file.calls_named("set_epoch").next().is_some() {
            return Vec::new();
        }
        let trains = file
            .grad_events()
            .iter()
            .any(|(event, _)| *event == GradEvent::Backward);
        if !trains {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for sampler in file.calls_named("DistributedSampler") {
            let Some(dataset) = sampler.argument(file, 0, "dataset") else {
                continue;
            };
            let mut names = file.node_text(dataset).to_owned();
            if let Some(target) = assigned_to(sampler.node) {
                names.push(' ');
                names.push_str(file.node_text(target));
            }
            let shuffles = sampler
                .argument(file, 3, "shuffle")
                .is_none_or(|shuffle| shuffle.kind_name() != "false");
            if !shuffles || names_held_out_data(&names) {
                continue;
            }
            let message = format!(
                "`{}` shuffles with `seed + epoch`, but this file never calls `set_epoch`: every epoch visits the \
                 data in the same order on every rank; call `sampler.set_epoch(epoch)` at the start of each epoch",
                short_text(file, sampler.node)
            );
            findings.push(file.finding(self, sampler.node, message, 0.75));
        }
        findings
    }
}
