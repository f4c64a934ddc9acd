use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::short_text;
use crate::syntax::{NodeExt, assigned_to, dotted_name, words};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for a `DataLoader` over training data (its dataset argument or the name it is
/// assigned to says `train`) created without `shuffle=True` and without a `sampler` or
/// `batch_sampler`.
///
/// Loaders whose names also say `val`, `test` or `eval` (evaluating on the training set),
/// iterable or streaming datasets (which cannot be shuffled by the loader), and `shuffle` given
/// by a variable are not reported.
///
/// ## Why is this bad?
/// `shuffle` defaults to `False`. Every epoch then sees the batches in the same order, and
/// datasets are often stored sorted (by class, by source, by length): batches are not i.i.d.,
/// SGD follows each block in turn, and the loss oscillates with the epoch or converges to a
/// worse solution. Nothing raises an error.
///
/// ## Example
/// ```python
/// train_loader = DataLoader(train_dataset, batch_size=64)
/// ```
///
/// Use instead:
/// ```python
/// train_loader = DataLoader(train_dataset, batch_size=64, shuffle=True)
/// ```
///
/// ## References
/// - [PyTorch: `torch.utils.data.DataLoader`](https://pytorch.org/docs/stable/data.html#torch.utils.data.DataLoader)
/// - [PyTorch: `DistributedSampler` (shuffles under DDP)](https://pytorch.org/docs/stable/data.html#torch.utils.data.distributed.DistributedSampler)
///
/// ## Confirms
/// - FM0017: unshuffled, ordered data
pub struct TrainLoaderWithoutShuffle;

impl AuditRule for TrainLoaderWithoutShuffle {
    fn code(&self) -> &'static str {
        "PT007"
    }

    fn name(&self) -> &'static str {
        "train-loader-without-shuffle"
    }

    fn auditor(&self) -> Auditor {
        Auditor::DataFlowTracer
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        // Iterable datasets raise an error with `shuffle=True`; they shuffle themselves.
        if file.text().contains("IterableDataset") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for call in file.calls() {
            if !matches!(call.callee_name(file), "DataLoader" | "StatefulDataLoader")
                || call.has_splat()
            {
                continue;
            }
            let Some(dataset) = call.argument(file, 0, "dataset") else {
                continue;
            };
            let target = assigned_to(call.node);
            if !is_training_data(file, dataset, target) || may_be_iterable(file, dataset) {
                continue;
            }
            let explicit_false = match call.argument(file, 2, "shuffle") {
                None => false,
                Some(shuffle) if shuffle.kind_name() == "false" => true,
                Some(_) => continue,
            };
            let sampled =
                ["sampler", "batch_sampler"]
                    .iter()
                    .zip([3, 4])
                    .any(|(name, position)| {
                        call.argument(file, position, name)
                            .is_some_and(|sampler| sampler.kind_name() != "none")
                    });
            if sampled {
                continue;
            }
            let subject = match target {
                Some(target) => format!(
                    "`{}` loads `{}`",
                    short_text(file, target),
                    short_text(file, dataset)
                ),
                None => format!("this `DataLoader` loads `{}`", short_text(file, dataset)),
            };
            let (how, confidence) = if explicit_false {
                ("with `shuffle=False`", 0.6)
            } else {
                ("without `shuffle=True` (the default is `False`)", 0.75)
            };
            let message = format!(
                "{subject}, training data, {how} and no sampler: every epoch sees the batches in the same \
                 order, so batches are not i.i.d. and the loss can oscillate with the epoch; pass \
                 `shuffle=True` (or a `DistributedSampler` under DDP)"
            );
            findings.push(file.finding(self, call.node, message, confidence));
        }
        findings
    }
}

/// Whether the dataset or the loader's name says training, and nothing says evaluation.
fn is_training_data(file: &SourceFile, dataset: Node<'_>, target: Option<Node<'_>>) -> bool {
    let mut names = words(file.node_text(dataset));
    if let Some(target) = target {
        names.extend(words(file.node_text(target)));
    }
    let says_train = names
        .iter()
        .any(|word| word.starts_with("train") && !word.starts_with("trainer"));
    let says_evaluation = names.iter().any(|word| {
        matches!(
            word.as_str(),
            "val" | "valid" | "validation" | "test" | "eval" | "evaluation" | "dev" | "holdout"
        )
    });
    says_train && !says_evaluation
}

/// Whether the dataset looks streamed or already shuffled, judging from its name and from how
/// the file builds it.
fn may_be_iterable(file: &Context<'_>, dataset: Node<'_>) -> bool {
    const HINTS: &[&str] = &[
        "stream",
        "streaming",
        "iter",
        "iterable",
        "iterator",
        "shard",
        "shards",
        "wds",
        "webdataset",
        "shuffle",
        "shuffled",
    ];
    let hinted = |text: &str| {
        words(text)
            .iter()
            .any(|word| HINTS.contains(&word.as_str()))
    };
    if hinted(file.node_text(dataset)) {
        return true;
    }
    let Some(name) = dotted_name(file, dataset) else {
        return false;
    };
    file.nodes_of_kind("assignment").any(|assignment| {
        let targets_dataset = assignment
            .field("left")
            .is_some_and(|left| file.node_text(left) == name);
        targets_dataset
            && assignment
                .field("right")
                .is_some_and(|right| hinted(file.node_text(right)))
    })
}
