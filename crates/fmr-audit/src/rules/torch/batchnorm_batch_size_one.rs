use fmr_core::AuditFinding;

use crate::semantic::names::{names_held_out_data, names_training_data, number_value};
use crate::semantic::training::short_text;
use crate::syntax::assigned_to;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a training `DataLoader` with `batch_size=1` in a file whose model uses batch
/// normalization (`nn.BatchNorm1d/2d/3d`, `nn.SyncBatchNorm`), or with `batch_size=2` where the
/// model uses `nn.BatchNorm1d`.
///
/// Evaluation loaders (`val`, `test` in the name) are not reported: BatchNorm uses its running
/// statistics in `eval()` mode.
///
/// ## Why is this bad?
/// In training mode BatchNorm normalizes with the statistics of the current batch. With one
/// sample, `BatchNorm1d` raises "Expected more than 1 value per channel when training", and
/// `BatchNorm2d` normalizes each image by its own spatial statistics: the activations lose their
/// per-image scale and the running averages learned for evaluation describe single images, so
/// the model evaluates far worse than it trains. With two samples, `BatchNorm1d` over `(N, C)`
/// features has a batch mean at their midpoint and a variance of half their squared difference,
/// so every normalized feature is exactly +1 or -1: the next layer only learns which of the two
/// samples is larger, and the running statistics describe that degenerate distribution.
///
/// ## Example
/// ```python
/// train_loader = DataLoader(train_set, batch_size=1, shuffle=True)
/// ```
///
/// Use instead:
/// ```python
/// train_loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True)
/// # or replace BatchNorm with GroupNorm / LayerNorm when batches must be tiny
/// ```
///
/// ## References
/// - [PyTorch: `BatchNorm2d`](https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html)
/// - [Wu and He, "Group Normalization" (ECCV 2018)](https://arxiv.org/abs/1803.08494)
///
/// ## Confirms
/// - FM0021: BatchNorm running statistics broken
/// - FM0151: batch statistics from too few samples
pub struct BatchnormBatchSizeOne;

const BATCH_NORMS: &[&str] = &["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"];

impl AuditRule for BatchnormBatchSizeOne {
    fn code(&self) -> &'static str {
        "PT025"
    }

    fn name(&self) -> &'static str {
        "batchnorm-batch-size-one"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        // The first batch norm in the file, whichever kind, for the message.
        let Some(norm) = BATCH_NORMS
            .iter()
            .filter_map(|name| file.calls_named(name).next())
            .min_by_key(|call| call.node.start_byte())
        else {
            return Vec::new();
        };
        let (norm_line, _) = file.position(norm.node);
        let batchnorm_1d = file.calls_named("BatchNorm1d").next().is_some();
        let mut findings = Vec::new();
        for loader in file.calls_named("DataLoader") {
            let batch_size = loader
                .argument(file, 1, "batch_size")
                .and_then(|size| number_value(file, size));
            let single_sample = match batch_size {
                Some(1.0) => true,
                Some(2.0) if batchnorm_1d => false,
                _ => continue,
            };
            let Some(dataset) = loader.argument(file, 0, "dataset") else {
                continue;
            };
            let mut names = file.node_text(dataset).to_owned();
            if let Some(target) = assigned_to(loader.node) {
                names.push(' ');
                names.push_str(file.node_text(target));
            }
            if !names_training_data(&names) || names_held_out_data(&names) {
                continue;
            }
            let message = if single_sample {
                format!(
                    "`{}` trains with one sample per batch, and this file's model uses `{}` (line {norm_line}): in \
                     training mode BatchNorm normalizes by the statistics of a single sample, which raises for \
                     `BatchNorm1d` and makes the running statistics useless for `BatchNorm2d`; use larger batches or \
                     `GroupNorm`/`LayerNorm`",
                    short_text(file, loader.node),
                    norm.callee_name(file),
                )
            } else {
                format!(
                    "`{}` trains with two samples per batch, and this file's model uses `BatchNorm1d`: over two \
                     samples every normalized feature is exactly +1 or -1, so the layers after it only see which \
                     sample is larger and the running statistics describe that degenerate distribution; use \
                     batches of 16 or more, or `LayerNorm`/`GroupNorm`",
                    short_text(file, loader.node),
                )
            };
            findings.push(file.finding(self, loader.node, message, 0.65));
        }
        findings
    }
}
