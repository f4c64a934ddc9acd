use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a random generator object created once, in a dataset's `__init__` or at module
/// level (`np.random.default_rng(seed)`, `np.random.RandomState(seed)`, `random.Random(seed)`,
/// `torch.Generator()`), and drawn from in `__getitem__` (or `__iter__`, or a method they call),
/// in a file with no `worker_init_fn` and no `get_worker_info()`.
///
/// The global NumPy, `random` and `torch` generators are not reported: since PyTorch 1.9 each
/// worker seeds them differently.
///
/// ## Why is this bad?
/// Every `DataLoader` worker receives a copy of the dataset, generator state included. With
/// `num_workers=4`, the four workers draw identical random numbers: each augmentation, crop or
/// negative sample is repeated four times per epoch, and the same sequence recurs every epoch.
/// Training sees far less variety than intended and overfits, with no error.
///
/// ## Example
/// ```python
/// class Crops(Dataset):
///     def __init__(self, images):
///         self.images = images
///         self.rng = np.random.default_rng(0)
///
///     def __getitem__(self, index):
///         top = self.rng.integers(0, 32)
///         return self.images[index][top : top + 224]
/// ```
///
/// Use instead:
/// ```python
/// def worker_init_fn(worker_id):
///     info = torch.utils.data.get_worker_info()
///     info.dataset.rng = np.random.default_rng(info.seed % 2**32)
///
/// loader = DataLoader(Crops(images), num_workers=4, worker_init_fn=worker_init_fn)
/// ```
///
/// ## References
/// - [PyTorch: randomness in multi-process data loading](https://pytorch.org/docs/stable/data.html#randomness-in-multi-process-data-loading)
/// - [PyTorch: reproducibility, DataLoader](https://pytorch.org/docs/stable/notes/randomness.html#dataloader)
///
/// ## Confirms
/// - FM0023: DataLoader workers share random state
pub struct DataloaderWorkerRngDuplication;

const GENERATOR_CONSTRUCTORS: &[&str] = &["default_rng", "RandomState", "Random", "Generator"];

impl AuditRule for DataloaderWorkerRngDuplication {
    fn code(&self) -> &'static str {
        "PT023"
    }

    fn name(&self) -> &'static str {
        "dataloader-worker-rng-duplication"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("__getitem__") && !file.mentions("__iter__") {
            return Vec::new();
        }
        if file.mentions("worker_init_fn") || file.mentions("get_worker_info") {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for (generator, construction) in shared_generators(file) {
            let Some(draw) = drawn_per_item(file, &generator, construction) else {
                continue;
            };
            let (line, _) = file.position(draw);
            let message = format!(
                "`{}` is created once and drawn from per item (`{}`, line {line}): each `DataLoader` worker gets a \
                 copy with the same state, so with several workers the same random augmentations repeat across \
                 workers and epochs; reseed it per worker in a `worker_init_fn` (via `get_worker_info()`)",
                short_text(file, construction),
                short_text(file, draw),
            );
            findings.push(file.finding(self, construction, message, 0.6));
        }
        findings
    }
}

/// Generators bound once, in an `__init__` (`self.rng`) or at module level (`rng`).
fn shared_generators<'t>(file: &Context<'t>) -> Vec<(String, Node<'t>)> {
    file.assignment_sides()
        .filter(|(_, right)| constructs_generator(file, *right))
        .filter(|(left, _)| {
            let in_init = file
                .enclosing_function(*left)
                .and_then(|function| function.field("name"))
                .is_some_and(|name| file.node_text(name) == "__init__");
            let at_module_level =
                file.enclosing_function(*left).is_none() && left.kind_name() == "identifier";
            in_init || at_module_level
        })
        .filter_map(|(left, right)| Some((dotted_name(file, left)?, right)))
        .collect()
}

/// Whether `function` is a method of a dataset: `__getitem__` (map-style datasets), or
/// `__iter__` of a class deriving from a `Dataset`. Samplers also define `__iter__`, but they
/// run in the main process and are not copied into workers.
fn is_dataset_method(file: &Context<'_>, function: Node<'_>) -> bool {
    let Some(class) = file.enclosing_class(function) else {
        return false;
    };
    let bases = class
        .field("superclasses")
        .map_or("", |bases| file.node_text(bases));
    if bases.contains("Sampler") {
        return false;
    }
    let name = function
        .field("name")
        .map_or("", |name| file.node_text(name));
    name != "__iter__" || bases.contains("Dataset")
}

/// `np.random.default_rng(0)`, or `torch.Generator().manual_seed(0)` (which returns the
/// generator).
fn constructs_generator(file: &Context<'_>, value: Node<'_>) -> bool {
    let Some(call) = Call::new(unparenthesized(value)) else {
        return false;
    };
    match call.callee_name(file) {
        "manual_seed" => call
            .receiver()
            .is_some_and(|receiver| constructs_generator(file, receiver)),
        name => GENERATOR_CONSTRUCTORS.contains(&name),
    }
}

/// A draw from `generator` in `__getitem__`/`__iter__` of a dataset class, or in a method of the
/// same class they call.
fn drawn_per_item<'t>(
    file: &Context<'t>,
    generator: &str,
    construction: Node<'_>,
) -> Option<Node<'t>> {
    let per_item_methods: Vec<Node<'t>> = file
        .nodes_of_kind("function_definition")
        .filter(|function| {
            function.field("name").is_some_and(|name| {
                matches!(
                    file.node_text(name),
                    "__getitem__" | "__iter__" | "__getitems__"
                )
            })
        })
        .filter(|function| {
            // `self.rng` belongs to its class; a module-level generator to any dataset.
            !generator.starts_with("self.")
                || file.enclosing_class(*function).map(|class| class.id())
                    == file.enclosing_class(construction).map(|class| class.id())
        })
        .filter(|function| is_dataset_method(file, *function))
        .collect();
    for method in per_item_methods {
        let class = file.enclosing_class(method);
        let mut bodies: Vec<Node<'t>> = method.field("body").into_iter().collect();
        // Helpers the item method calls on `self`, one level deep.
        for call in file.calls_in(method) {
            let on_self = call
                .receiver()
                .is_some_and(|receiver| file.node_text(receiver) == "self");
            if !on_self {
                continue;
            }
            let helper = call.callee_name(file);
            bodies.extend(
                file.nodes_of_kind("function_definition")
                    .filter(|function| {
                        file.enclosing_class(*function).map(|found| found.id())
                            == class.map(|found| found.id())
                    })
                    .filter(|function| {
                        function
                            .field("name")
                            .is_some_and(|name| file.node_text(name) == helper)
                    })
                    .filter_map(|function| function.field("body")),
            );
        }
        let draw = bodies.iter().find_map(|body| {
            file.calls_in(*body).iter().find(|call| {
                call.receiver()
                    .and_then(|receiver| dotted_name(file, receiver))
                    .as_deref()
                    == Some(generator)
                    || call
                        .keyword(file, "generator")
                        .is_some_and(|argument| file.node_text(argument) == generator)
            })
        });
        if let Some(draw) = draw {
            return Some(draw.node);
        }
    }
    None
}
