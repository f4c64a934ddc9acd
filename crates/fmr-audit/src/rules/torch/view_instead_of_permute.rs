use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{assignment_sides, scope_body};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, dotted_name, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for `view` or `reshape` used to reorder a tensor's dimensions: the new sizes are the
/// tensor's own sizes in another order, either unpacked first (`b, h, w, c = x.shape` then
/// `x.view(b, c, h, w)`) or read inline (`x.reshape(x.size(0), x.size(2), x.size(1))`).
///
/// Reshapes that merge or split dimensions (`x.view(b, h * w, c)`) are not reported: only an
/// exact permutation of the sizes is.
///
/// ## Why is this bad?
/// `view` and `reshape` keep the elements in memory order and only relabel the shape. Asking for
/// the sizes in a different order does not move any data: an `(N, H, W, C)` image viewed as
/// `(N, C, H, W)` interleaves pixels and channels into noise with the right shape. The model
/// still trains, on scrambled inputs, and plateaus far above where it should.
///
/// ## Example
/// ```python
/// batch, height, width, channels = images.shape
/// images = images.view(batch, channels, height, width)
/// ```
///
/// Use instead:
/// ```python
/// images = images.permute(0, 3, 1, 2)
/// ```
///
/// ## References
/// - [PyTorch: `Tensor.view`](https://pytorch.org/docs/stable/generated/torch.Tensor.view.html)
/// - [PyTorch: `Tensor.permute`](https://pytorch.org/docs/stable/generated/torch.Tensor.permute.html)
///
/// ## Confirms
/// - FM0108: channel order mismatch (NHWC/NCHW)
pub struct ViewInsteadOfPermute;

impl AuditRule for ViewInsteadOfPermute {
    fn code(&self) -> &'static str {
        "PT019"
    }

    fn name(&self) -> &'static str {
        "view-instead-of-permute"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        let mut findings = Vec::new();
        let reshapes = file
            .calls_named("view")
            .chain(file.calls_named("reshape"))
            .filter(|call| call.receiver().is_some());
        for call in reshapes {
            let Some(tensor) = call
                .receiver()
                .and_then(|receiver| dotted_name(file, receiver))
            else {
                continue;
            };
            let sizes = call.positional();
            if sizes.len() < 2 {
                continue;
            }
            let Some(order) = permuted_sizes(file, call, &tensor, &sizes) else {
                continue;
            };
            let message = format!(
                "`{}` passes `{tensor}`'s own sizes in another order ({}): `{}` only relabels the shape and keeps \
                 memory order, so the data is scrambled, not transposed; use `{tensor}.permute({})`",
                short_text(file, call.node),
                order
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                call.callee_name(file),
                order
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            findings.push(file.finding(self, call.node, message, 0.85));
        }
        findings
    }
}

/// The dimension order `sizes` asks for, when it is a non-identity permutation of `tensor`'s
/// own sizes.
fn permuted_sizes(
    file: &Context<'_>,
    call: &Call<'_>,
    tensor: &str,
    sizes: &[Node<'_>],
) -> Option<Vec<usize>> {
    let order = inline_size_indices(file, tensor, sizes)
        .or_else(|| unpacked_size_indices(file, call, tensor, sizes))?;
    let mut sorted = order.clone();
    sorted.sort_unstable();
    let is_permutation = sorted.iter().copied().eq(0..order.len());
    let is_identity = order.iter().copied().eq(0..order.len());
    (is_permutation && !is_identity).then_some(order)
}

/// `x.size(2)`, `x.shape[2]`: the dimension index each size reads from `tensor`.
fn inline_size_indices(file: &Context<'_>, tensor: &str, sizes: &[Node<'_>]) -> Option<Vec<usize>> {
    sizes
        .iter()
        .map(|size| {
            let size = unparenthesized(*size);
            let (owner, index) = if let Some(call) = Call::new(size) {
                if call.callee_name(file) != "size" {
                    return None;
                }
                (call.receiver()?, call.positional().first().copied()?)
            } else if size.kind_name() == "subscript" {
                let shape = size.field("value")?;
                if shape.kind_name() != "attribute"
                    || shape.field("attribute").map(|name| file.node_text(name)) != Some("shape")
                {
                    return None;
                }
                (shape.field("object")?, size.field("subscript")?)
            } else {
                return None;
            };
            if dotted_name(file, owner).as_deref() != Some(tensor) {
                return None;
            }
            file.node_text(index).parse::<usize>().ok()
        })
        .collect()
}

/// `b, h, w, c = x.shape` earlier in the function: the position of each size name in that
/// unpacking.
fn unpacked_size_indices<'t>(
    file: &Context<'t>,
    call: &Call<'_>,
    tensor: &str,
    sizes: &[Node<'_>],
) -> Option<Vec<usize>> {
    let scope = scope_body(file, call.node);
    let assignments: Vec<(Node<'_>, Node<'_>)> = file
        .scope_descendants(scope)
        .take_while(|node| node.start_byte() < call.node.start_byte())
        .filter(|node| node.end_byte() <= call.node.start_byte())
        .filter_map(assignment_sides)
        .collect();
    // Sizes read before `tensor` was reassigned (say by a `permute`) describe another layout.
    let reassigned_at = assignments
        .iter()
        .rev()
        .find(|(left, _)| file.node_text(*left) == tensor)
        .map_or(0, |(left, _)| left.start_byte());
    let unpacked = assignments
        .iter()
        .filter(|(left, right)| {
            left.start_byte() >= reassigned_at && reads_shape_of(file, *right, tensor)
        })
        .filter_map(|(left, _)| {
            if !matches!(
                left.kind_name(),
                "pattern_list" | "tuple_pattern" | "list_pattern"
            ) {
                return None;
            }
            let mut cursor = left.walk();
            let names: Vec<&str> = left
                .named_children(&mut cursor)
                .map(|name| (name.kind_name() == "identifier").then(|| file.node_text(name)))
                .collect::<Option<Vec<_>>>()?;
            Some(names)
        })
        .last()?;
    if unpacked.len() != sizes.len() {
        return None;
    }
    sizes
        .iter()
        .map(|size| {
            let name = file.node_text(unparenthesized(*size));
            if name == "_" {
                return None;
            }
            unpacked
                .iter()
                .position(|unpacked_name| *unpacked_name == name)
        })
        .collect()
}

/// `x.shape` or `x.size()`.
fn reads_shape_of(file: &Context<'_>, value: Node<'_>, tensor: &str) -> bool {
    let value = unparenthesized(value);
    if let Some(call) = Call::new(value) {
        return call.callee_name(file) == "size"
            && call.argument_count() == 0
            && call
                .receiver()
                .and_then(|receiver| dotted_name(file, receiver))
                .as_deref()
                == Some(tensor);
    }
    value.kind_name() == "attribute"
        && value.field("attribute").map(|name| file.node_text(name)) == Some("shape")
        && value
            .field("object")
            .and_then(|object| dotted_name(file, object))
            .as_deref()
            == Some(tensor)
}
