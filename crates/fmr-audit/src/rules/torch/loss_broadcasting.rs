use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::losses::LossFamily;
use crate::semantic::names::{number, resolve_value};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::trace::shape;
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for an element-wise loss (`MSELoss`, `L1Loss`, `SmoothL1Loss`, `HuberLoss`, their
/// functional forms) or a hand-written difference (`pred - target`) between a column vector
/// (`(N, 1)`: `x.unsqueeze(1)`, `x.view(-1, 1)`, `x[:, None]`, the output of an
/// `nn.Linear(..., 1)` or of an `nn.Sequential` ending in one) and a flat vector (`(N,)`: `x.view(-1)`, `x.flatten()`, `x.squeeze()`).
/// Shapes are only taken from what the code states. For the arguments of a loss, the data flow
/// tracer's shape facts also follow names back through their assignments: `y` of
/// `X, y = make_regression(...)` stays `(N,)` through `train_test_split`, `torch.tensor(y)` and
/// `y[idx]`. Tensors of unknown shape are not reported.
///
/// ## Why is this bad?
/// Broadcasting turns `(N, 1) - (N,)` into an `(N, N)` matrix: every prediction is compared with
/// every target, so the loss is minimized by predicting the batch mean. Training runs, the loss
/// goes down a little, and the model learns nothing per example. `MSELoss` only emits a
/// `UserWarning`, often lost in the logs; a hand-written difference warns about nothing.
///
/// ## Example
/// ```python
/// pred = head(features)              # nn.Linear(hidden, 1): shape (N, 1)
/// loss = F.mse_loss(pred, target.view(-1))
/// ```
///
/// Use instead:
/// ```python
/// pred = head(features).squeeze(-1)  # shape (N,)
/// loss = F.mse_loss(pred, target.view(-1))
/// ```
///
/// ## References
/// - [PyTorch: broadcasting semantics](https://pytorch.org/docs/stable/notes/broadcasting.html)
/// - [PyTorch: `MSELoss`](https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html)
///
/// ## Confirms
/// - FM0198: loss computed on broadcast shapes
pub struct LossBroadcasting;

/// A shape the code states explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `(N, 1)`.
    Column,
    /// `(N,)`.
    Flat,
}

impl AuditRule for LossBroadcasting {
    fn code(&self) -> &'static str {
        "PT018"
    }

    fn name(&self) -> &'static str {
        "loss-broadcasting"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let layers = single_output_layers(file);
        let mut findings = Vec::new();
        for call in file.calls() {
            let Some(loss) = file.loss_call(call) else {
                continue;
            };
            if loss.family != LossFamily::Elementwise {
                continue;
            }
            let (Some(input), Some(target)) = (loss.input, loss.target) else {
                continue;
            };
            let (Some(input_shape), Some(target_shape)) = (
                loss_argument_shape(file, input, &layers),
                loss_argument_shape(file, target, &layers),
            ) else {
                continue;
            };
            if input_shape.shape == target_shape.shape {
                continue;
            }
            let message = format!(
                "{} compares `{}` ({}) with `{}` ({}): broadcasting makes an (N, N) matrix, so every prediction \
                 is compared with every target and the model learns the batch mean; give both the same shape \
                 (e.g. `.squeeze(-1)` the prediction)",
                loss.label,
                short_text(file, input),
                input_shape.describe(),
                short_text(file, target),
                target_shape.describe(),
            );
            findings.push(file.finding(self, call.node, message, 0.85));
        }
        for difference in file.nodes_of_kind("binary_operator") {
            if difference
                .field("operator")
                .is_none_or(|operator| operator.kind_name() != "-")
            {
                continue;
            }
            let (Some(left), Some(right)) = (difference.field("left"), difference.field("right"))
            else {
                continue;
            };
            let (Some(left_shape), Some(right_shape)) = (
                stated_shape(file, left, &layers),
                stated_shape(file, right, &layers),
            ) else {
                continue;
            };
            if left_shape == right_shape {
                continue;
            }
            let message = format!(
                "`{}` subtracts {} `{}` and {} `{}`: broadcasting makes an (N, N) matrix of every pair, so the \
                 loss built on it compares each prediction with every target; give both the same shape",
                short_text(file, difference),
                article(left_shape),
                short_text(file, left),
                article(right_shape),
                short_text(file, right),
            );
            findings.push(file.finding(self, difference, message, 0.8));
        }
        findings
    }
}

/// The shape of a loss argument, and the line it was inferred from when the code does not
/// state it where the argument is written.
struct ArgumentShape {
    shape: Shape,
    inferred_from: Option<usize>,
}

impl ArgumentShape {
    fn describe(&self) -> String {
        match self.inferred_from {
            Some(line) => format!("{}, from line {line}", describe(self.shape)),
            None => describe(self.shape).to_owned(),
        }
    }
}

/// The stated shape of a loss argument, else the shape the data flow tracer infers by
/// following its names back (`(N,)` or `(N, 1)` only).
fn loss_argument_shape<'t>(
    file: &Context<'t>,
    node: Node<'t>,
    single_output_layers: &[String],
) -> Option<ArgumentShape> {
    if let Some(shape) = stated_shape(file, node, single_output_layers) {
        return Some(ArgumentShape {
            shape,
            inferred_from: None,
        });
    }
    let (inferred, origin) = shape::infer(file, node)?;
    let shape = if inferred.is_flat() {
        Shape::Flat
    } else if inferred.is_column() {
        Shape::Column
    } else {
        return None;
    };
    let line = file.position(origin).0;
    Some(ArgumentShape {
        shape,
        inferred_from: (line != file.position(node).0).then_some(line),
    })
}

fn describe(shape: Shape) -> &'static str {
    match shape {
        Shape::Column => "shape (N, 1)",
        Shape::Flat => "shape (N,)",
    }
}

fn article(shape: Shape) -> &'static str {
    match shape {
        Shape::Column => "the (N, 1)",
        Shape::Flat => "the (N,)",
    }
}

/// Names bound to `nn.Linear(..., 1)` (or `nn.Linear(in_features, out_features=1)`), or to an
/// `nn.Sequential(...)` whose last layer is one: calling them gives an `(N, 1)` column. Names are
/// file-wide, so one bound to anything else anywhere (`net` in two functions) is left out.
fn single_output_layers(file: &Context<'_>) -> Vec<String> {
    let mut single_output = Vec::new();
    let mut other = std::collections::HashSet::new();
    for (left, right) in file.assignment_sides() {
        let Some(name) = dotted_name(file, left) else {
            continue;
        };
        let is_column = Call::new(unparenthesized(right)).is_some_and(|call| {
            is_single_output_linear(file, &call)
                || (call.callee_name(file) == "Sequential"
                    && call
                        .positional()
                        .last()
                        .and_then(|layer| Call::new(unparenthesized(*layer)))
                        .is_some_and(|layer| is_single_output_linear(file, &layer)))
        });
        if is_column {
            single_output.push(name);
        } else {
            other.insert(name);
        }
    }
    single_output.retain(|name| !other.contains(name.as_str()));
    single_output
}

fn is_single_output_linear(file: &Context<'_>, call: &Call<'_>) -> bool {
    call.callee_name(file) == "Linear"
        && call
            .argument(file, 1, "out_features")
            .and_then(|size| number(file, size))
            == Some(1.0)
}

/// The shape `node` is stated to have, following one assignment of a name.
fn stated_shape<'t>(
    file: &Context<'t>,
    node: Node<'t>,
    single_output_layers: &[String],
) -> Option<Shape> {
    shape_of_expression(file, resolve_value(file, node), single_output_layers)
}

fn shape_of_expression(
    file: &Context<'_>,
    node: Node<'_>,
    single_output_layers: &[String],
) -> Option<Shape> {
    let node = unparenthesized(node);
    if node.kind_name() == "subscript" {
        // `x[:, None]`, `x[..., None]`, `x[:, np.newaxis]`
        // A subscript lists each index as its own `subscript` field: read the brackets whole.
        let value = node.field("value")?;
        let text = file
            .text()
            .get(value.end_byte()..node.end_byte())?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let last = text.rsplit(',').next()?.trim();
        return (text.contains(',') && matches!(last, "None" | "np.newaxis" | "numpy.newaxis"))
            .then_some(Shape::Column);
    }
    let call = Call::new(node)?;
    let arguments: Vec<String> = call
        .positional()
        .iter()
        .map(|argument| file.node_text(*argument).replace(' ', ""))
        .collect();
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    match (call.callee_name(file), arguments.as_slice()) {
        ("unsqueeze", ["1" | "-1"]) => Some(Shape::Column),
        ("view" | "reshape", ["-1", "1"]) => Some(Shape::Column),
        ("view" | "reshape", ["-1"]) => Some(Shape::Flat),
        ("flatten" | "ravel", []) => Some(Shape::Flat),
        ("squeeze", [] | ["1" | "-1"]) => Some(Shape::Flat),
        // `self.head(x)` where `self.head = nn.Linear(hidden, 1)`.
        _ => dotted_name(file, call.function)
            .is_some_and(|callee| single_output_layers.contains(&callee))
            .then_some(Shape::Column),
    }
}
