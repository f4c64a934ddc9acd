use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{last_value_before, number, resolve_value, scope_body};
use crate::semantic::training::{GradEvent, short_text};
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a learning-rate scheduler stepped at a different frequency than it was built for:
/// - a schedule sized in optimizer steps (`OneCycleLR(..., steps_per_epoch=len(loader))`,
///   `CyclicLR`, Hugging Face `get_*_schedule_with_warmup(num_training_steps=...)`) stepped once
///   per epoch, outside the loop that calls `optimizer.step()`;
/// - a schedule sized in epochs (`StepLR(step_size=30)`, `MultiStepLR(milestones=[30, 60])`,
///   `ExponentialLR(gamma=0.95)`, `CosineAnnealingLR(T_max=epochs)`) stepped on every batch,
///   in the same loop as `optimizer.step()`.
///
/// Schedules whose size cannot be read from the code (a plain variable, `LambdaLR`) are not
/// reported.
///
/// ## Why is this bad?
/// A per-step schedule stepped per epoch barely moves: the warmup never ends, or the one-cycle
/// peak is never reached, and the run trains at a tiny learning rate. A per-epoch schedule
/// stepped per batch decays within the first epoch: `StepLR(step_size=30, gamma=0.1)` divides
/// the learning rate by ten every 30 batches and training freezes early. Neither raises an
/// error; the loss just plateaus.
///
/// ## Example
/// ```python
/// scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(loader))
/// for epoch in range(epochs):
///     for inputs, targets in loader:
///         ...
///         optimizer.step()
///     scheduler.step()
/// ```
///
/// Use instead:
/// ```python
/// scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(loader))
/// for epoch in range(epochs):
///     for inputs, targets in loader:
///         ...
///         optimizer.step()
///         scheduler.step()
/// ```
///
/// ## References
/// - [PyTorch: how to adjust the learning rate](https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate)
/// - [PyTorch: `OneCycleLR`](https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.OneCycleLR.html)
/// - [Transformers: schedules](https://huggingface.co/docs/transformers/main_classes/optimizer_schedules)
///
/// ## Confirms
/// - FM0012: learning-rate scheduler stepped at the wrong frequency
/// - FM0004: warmup that never completes
pub struct SchedulerStepFrequency;

/// The unit a schedule is sized in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    OptimizerSteps,
    Epochs,
}

/// How often a `scheduler.step()` call runs relative to `optimizer.step()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frequency {
    EveryOptimizerStep,
    OncePerEpoch,
}

const PER_STEP_FACTORIES: &[&str] = &[
    "get_constant_schedule_with_warmup",
    "get_cosine_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup",
    "get_inverse_sqrt_schedule",
    "get_linear_schedule_with_warmup",
    "get_polynomial_decay_schedule_with_warmup",
    "get_scheduler",
    "get_wsd_schedule",
];

impl AuditRule for SchedulerStepFrequency {
    fn code(&self) -> &'static str {
        "PT014"
    }

    fn name(&self) -> &'static str {
        "scheduler-step-frequency"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("LR") && !file.mentions("schedule") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for call in file.calls_named("step") {
            if call.argument_count() != 0 {
                continue;
            }
            let Some(receiver) = call
                .receiver()
                .and_then(|receiver| dotted_name(file, receiver))
            else {
                continue;
            };
            let Some((unit, construction)) = scheduler_construction(file, &receiver, call.node)
            else {
                continue;
            };
            let Some(frequency) = step_frequency(file, call.node) else {
                continue;
            };
            let (line, _) = file.position(construction);
            let construction_text = short_text(file, construction);
            let message = match (unit, frequency) {
                (Unit::OptimizerSteps, Frequency::OncePerEpoch) => format!(
                    "`{receiver}` is sized in optimizer steps (`{construction_text}`, line {line}) but `{}` runs once \
                     per epoch, outside the loop that calls `optimizer.step()`: the schedule advances a few steps in \
                     the whole run, so warmup never ends and the learning rate stays near its initial value; step \
                     it right after `optimizer.step()`",
                    short_text(file, call.node)
                ),
                (Unit::Epochs, Frequency::EveryOptimizerStep) => format!(
                    "`{receiver}` is sized in epochs (`{construction_text}`, line {line}) but `{}` runs on every batch, \
                     next to `optimizer.step()`: the whole schedule is spent within the first epoch and the \
                     learning rate collapses early; step it once per epoch, after the batch loop",
                    short_text(file, call.node)
                ),
                _ => continue,
            };
            findings.push(file.finding(self, call.node, message, 0.8));
        }
        findings
    }
}

/// The schedule `name` holds where `step` calls it, and its unit: the last assignment in the same
/// function, else (for `self.scheduler`) the assignment in the same class, else the only one in
/// the file.
fn scheduler_construction<'t>(
    file: &Context<'t>,
    name: &str,
    step: Node<'_>,
) -> Option<(Unit, Node<'t>)> {
    let scope = scope_body(file, step);
    let value = last_value_before(file, scope, name, step.start_byte()).or_else(|| {
        let class = file.enclosing_class(step).map(|class| class.id());
        let candidates: Vec<Node<'t>> = file
            .assignment_sides()
            .filter(|(left, _)| file.node_text(*left) == name)
            .filter(|(left, _)| {
                !name.starts_with("self.")
                    || file.enclosing_class(*left).map(|found| found.id()) == class
            })
            .map(|(_, right)| right)
            .collect();
        match candidates.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    })?;
    let call = Call::new(unparenthesized(value))?;
    Some((schedule_unit(file, &call)?, value))
}

fn schedule_unit<'t>(file: &Context<'t>, call: &Call<'t>) -> Option<Unit> {
    // `num_training_steps=total` where `total = len(loader) * epochs`: read through the name.
    let argument_text = |position: usize, name: &str| {
        call.argument(file, position, name)
            .map(|argument| file.node_text(resolve_value(file, argument)))
    };
    match call.callee_name(file) {
        "CyclicLR" => Some(Unit::OptimizerSteps),
        "OneCycleLR" => {
            let sized_per_step = call.keyword(file, "steps_per_epoch").is_some()
                || argument_text(2, "total_steps").is_some_and(counts_steps);
            sized_per_step.then_some(Unit::OptimizerSteps)
        }
        name if PER_STEP_FACTORIES.contains(&name) => {
            let total = argument_text(2, "num_training_steps");
            total
                .is_some_and(counts_steps)
                .then_some(Unit::OptimizerSteps)
        }
        "StepLR" => {
            let size = call.argument(file, 1, "step_size")?;
            let epochs = number(file, size).is_some_and(|size| size <= 200.0)
                || mentions_epochs(file.node_text(size));
            epochs.then_some(Unit::Epochs)
        }
        "MultiStepLR" => {
            let milestones = call.argument(file, 1, "milestones")?;
            let mut cursor = milestones.walk();
            let values: Vec<Option<f64>> = milestones
                .named_children(&mut cursor)
                .map(|milestone| number(file, milestone))
                .collect();
            let small_literals = matches!(milestones.kind_name(), "list" | "tuple")
                && !values.is_empty()
                && values
                    .iter()
                    .all(|value| value.is_some_and(|value| value <= 500.0));
            (small_literals || mentions_epochs(file.node_text(milestones))).then_some(Unit::Epochs)
        }
        "ExponentialLR" => {
            let gamma = number(file, call.argument(file, 1, "gamma")?)?;
            (gamma <= 0.99).then_some(Unit::Epochs)
        }
        "CosineAnnealingLR" => {
            let period = argument_text(1, "T_max")?;
            (mentions_epochs(period) && !counts_steps(period)).then_some(Unit::Epochs)
        }
        _ => None,
    }
}

/// `len(loader) * epochs`, `max_steps`, `num_iterations`: a count of optimizer steps.
fn counts_steps(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["len(", "step", "iter", "batch", "update"]
        .iter()
        .any(|hint| lower.contains(hint))
}

fn mentions_epochs(text: &str) -> bool {
    text.to_lowercase().contains("epoch")
}

/// How often `scheduler_step` runs relative to the optimizer steps of its function (or of the
/// module, for a script whose training loop is top-level code): next to one (same innermost loop)
/// or once around a loop that holds them.
fn step_frequency(file: &Context<'_>, scheduler_step: Node<'_>) -> Option<Frequency> {
    let body = scope_body(file, scheduler_step);
    let scheduler_loop = file.enclosing_loops(scheduler_step).next();
    let optimizer_steps: Vec<Node<'_>> = file
        .grad_events_in(body)
        .into_iter()
        .filter(|(event, node)| {
            *event == GradEvent::OptimizerStep && !steps_a_scheduler(file, *node)
        })
        .map(|(_, node)| node)
        .collect();
    let same_level = optimizer_steps.iter().any(|step| {
        file.enclosing_loops(*step).next().map(|found| found.id())
            == scheduler_loop.map(|found| found.id())
    });
    if same_level {
        // Without a loop around both, the function may itself run once per epoch.
        return scheduler_loop.map(|_| Frequency::EveryOptimizerStep);
    }
    let nested_deeper = optimizer_steps.iter().any(|step| {
        file.enclosing_loops(*step).next().is_some()
            && scheduler_loop.is_none_or(|outer| {
                file.enclosing_loops(*step)
                    .any(|found| found.id() == outer.id())
            })
    });
    if nested_deeper {
        return Some(Frequency::OncePerEpoch);
    }
    // `for epoch ...: train_one_epoch(...); scheduler.step()`
    let outer = scheduler_loop?;
    let outer_body = outer.field("body")?;
    let steps_in_loop = |node: Node<'_>| {
        file.grad_event_at(node) == Some(GradEvent::OptimizerStep)
            && file.enclosing_loops(node).next().is_some()
    };
    file.locals()
        .reaches(file, outer_body, &steps_in_loop)
        .then_some(Frequency::OncePerEpoch)
}

/// Whether a zero-argument `x.step()` steps a scheduler: `x` is assigned a learning-rate
/// scheduler somewhere in the file (`cosine = CosineAnnealingLR(...)` reads like an optimizer
/// by name alone).
fn steps_a_scheduler(file: &Context<'_>, step: Node<'_>) -> bool {
    let Some(receiver) = Call::new(step)
        .and_then(|call| call.receiver())
        .map(|receiver| file.node_text(receiver))
    else {
        return false;
    };
    file.assignment_sides()
        .filter(|(left, _)| file.node_text(*left) == receiver)
        .filter_map(|(_, right)| Call::new(unparenthesized(right)))
        .any(|call| {
            let name = call.callee_name(file);
            name.ends_with("LR") || name.contains("Scheduler") || name.contains("schedule")
        })
}
