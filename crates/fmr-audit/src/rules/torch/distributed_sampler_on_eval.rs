use fmr_core::AuditFinding;

use crate::semantic::names::names_held_out_data;
use crate::semantic::training::short_text;
use crate::syntax::{NodeExt, assigned_to};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a `DistributedSampler` over validation or test data (its dataset or the name it
/// is assigned to says `val`, `test` or `eval`).
///
/// A sampler with `drop_last=True` in a file that evaluates the dropped remainder through a
/// `Subset` is not reported.
///
/// ## Why is this bad?
/// To give every rank the same number of samples, `DistributedSampler` pads the dataset by
/// repeating samples from its start (or, with `drop_last=True`, drops the remainder). Metrics
/// averaged over ranks then count some examples twice, or miss some, whenever the dataset size
/// is not a multiple of the world size: the reported accuracy differs from a single-process
/// evaluation and changes with the number of GPUs.
///
/// ## Example
/// ```python
/// val_sampler = DistributedSampler(val_set, shuffle=False)
/// val_loader = DataLoader(val_set, batch_size=64, sampler=val_sampler)
/// ```
///
/// Use instead:
/// ```python
/// # Evaluate on rank 0 only, or shard without padding and gather the exact predictions.
/// indices = range(rank, len(val_set), world_size)
/// val_loader = DataLoader(Subset(val_set, indices), batch_size=64)
/// ```
///
/// ## References
/// - [PyTorch: `DistributedSampler` (padding to equal shards)](https://pytorch.org/docs/stable/data.html#torch.utils.data.distributed.DistributedSampler)
/// - [PyTorch Lightning: distributed evaluation uses an unpadded sampler](https://lightning.ai/docs/pytorch/stable/common/trainer.html#use-distributed-sampler)
///
/// ## Confirms
/// - FM0027: DistributedSampler padding skews evaluation
pub struct DistributedSamplerOnEval;

impl AuditRule for DistributedSamplerOnEval {
    fn code(&self) -> &'static str {
        "PT033"
    }

    fn name(&self) -> &'static str {
        "distributed-sampler-on-eval"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("DistributedSampler") {
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
            if !names_held_out_data(&names) {
                continue;
            }
            // `drop_last=True` and a `Subset` of the leftover samples evaluated separately (the
            // PyTorch ImageNet example) covers every sample exactly once.
            let drops_remainder = sampler
                .keyword(file, "drop_last")
                .is_some_and(|flag| flag.kind_name() == "true");
            if drops_remainder && file.calls_named("Subset").next().is_some() {
                continue;
            }
            let message = format!(
                "`{}` shards held-out data: to give every rank the same count it repeats (or with `drop_last` \
                 drops) samples, so metrics averaged over ranks count some examples twice whenever the dataset \
                 size is not a multiple of the world size; evaluate without padding (rank 0, or an unpadded shard \
                 and an exact gather)",
                short_text(file, sampler.node)
            );
            findings.push(file.finding(self, sampler.node, message, 0.5));
        }
        findings
    }
}
