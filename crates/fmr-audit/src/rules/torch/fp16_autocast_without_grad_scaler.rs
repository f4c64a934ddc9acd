use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::imports::Imports;
use crate::semantic::training::{first_user_backward, in_inference_context, short_text};
use crate::syntax::{Call, NodeExt, string_value, words};
use crate::{AuditRule, Auditor, Context, SourceFile};

/// ## What it does
/// Checks for float16 autocast regions in a file that runs `.backward()` but neither creates
/// nor uses a `GradScaler`. `torch.autocast("cuda")` and `torch.cuda.amp.autocast()` use float16 unless
/// told otherwise; `dtype=torch.bfloat16` and CPU autocast (bfloat16 by default) are fine
/// without a scaler.
///
/// ## Why is this bad?
/// float16 represents nothing below about 6e-8 and nothing above 65504. Without loss scaling,
/// small gradients underflow to zero (layers silently stop learning) and large activations or
/// gradients overflow to `inf`, which turns the loss and the weights into NaN. `GradScaler`
/// multiplies the loss before backward, unscales before the step, and skips steps with
/// non-finite gradients.
///
/// ## Example
/// ```python
/// for inputs, targets in loader:
///     optimizer.zero_grad()
///     with torch.autocast(device_type="cuda"):
///         loss = criterion(model(inputs), targets)
///     loss.backward()
///     optimizer.step()
/// ```
///
/// Use instead:
/// ```python
/// scaler = torch.amp.GradScaler("cuda")
/// for inputs, targets in loader:
///     optimizer.zero_grad()
///     with torch.autocast(device_type="cuda", dtype=torch.float16):
///         loss = criterion(model(inputs), targets)
///     scaler.scale(loss).backward()
///     scaler.step(optimizer)
///     scaler.update()
/// ```
///
/// ## References
/// - [PyTorch: automatic mixed precision](https://pytorch.org/docs/stable/amp.html)
/// - [PyTorch AMP examples: typical mixed precision training](https://pytorch.org/docs/stable/notes/amp_examples.html)
///
/// ## Confirms
/// - FM0001: fp16 overflow without loss scaling
/// - FM0008: pure fp16 without master weights
/// - FM0035: mixed-precision fine-tuning instability
pub struct Fp16AutocastWithoutGradScaler;

impl AuditRule for Fp16AutocastWithoutGradScaler {
    fn code(&self) -> &'static str {
        "PT005"
    }

    fn name(&self) -> &'static str {
        "fp16-autocast-without-grad-scaler"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if scales_loss(file) {
            return Vec::new();
        }
        let Some(backward) = first_user_backward(file) else {
            return Vec::new();
        };
        let (backward_line, _) = file.position(backward);
        let imports = file.imports();
        let mut findings = Vec::new();
        for call in file.calls() {
            let Some(precision) = autocast_precision(file, imports, call) else {
                continue;
            };
            if in_inference_context(file, call.node) {
                continue;
            }
            let (reason, confidence) = match precision {
                Fp16::Explicit => ("runs in float16", 0.85),
                Fp16::CudaDefault => (
                    "runs in float16 (the CUDA default when no dtype is given)",
                    0.8,
                ),
                Fp16::DefaultIfCuda => (
                    "runs in float16 if the device is CUDA (the default dtype there)",
                    0.55,
                ),
            };
            let message = format!(
                "`{}` {reason} and this file calls `.backward()` (line {backward_line}), but no `GradScaler` \
                 scales the loss: small gradients underflow to zero and large ones overflow to inf/NaN; use \
                 `torch.amp.GradScaler` around backward and step, or `dtype=torch.bfloat16`",
                short_text(file, call.node)
            );
            findings.push(file.finding(self, call.node, message, confidence));
        }
        findings
    }
}

/// Whether the file creates a `GradScaler` or uses one (a scaler passed in as an argument).
fn scales_loss(file: &Context<'_>) -> bool {
    // The text test only skips the identifier scan when no scaler can be named.
    let names_a_scaler = file.text().contains("GradScaler")
        && file
            .nodes_of_kind("identifier")
            .any(|node| file.node_text(node).ends_with("GradScaler"));
    names_a_scaler
        || file
            .calls()
            .iter()
            .any(|call| match call.method_name(file) {
                Some("unscale_") => true,
                Some("scale") => call.receiver().is_some_and(|receiver| {
                    words(file.node_text(receiver))
                        .iter()
                        .any(|word| word.starts_with("scaler"))
                }),
                _ => false,
            })
}

/// Why an autocast region is float16.
enum Fp16 {
    /// `dtype=torch.float16`.
    Explicit,
    /// CUDA autocast without a dtype.
    CudaDefault,
    /// Autocast on a device given by a variable, without a dtype.
    DefaultIfCuda,
}

/// Whether `call` opens a float16 autocast region; `None` for other calls, bfloat16, CPU, a
/// dtype held in a variable, or `enabled=False`.
fn autocast_precision(file: &SourceFile, imports: &Imports, call: &Call<'_>) -> Option<Fp16> {
    if call.callee_name(file) != "autocast" {
        return None;
    }
    let path = imports.resolve(&call.dotted_name(file)?);
    let cuda_module = matches!(
        path.as_str(),
        "torch.cuda.amp.autocast" | "cuda.amp.autocast"
    );
    let device_first = matches!(
        path.as_str(),
        "torch.autocast" | "torch.amp.autocast" | "amp.autocast" | "autocast"
    );
    if !cuda_module && !device_first {
        // `torch.cpu.amp.autocast`, `accelerator.autocast()`, ...
        return None;
    }
    // A bare `autocast()` without arguments can only be `torch.cuda.amp.autocast`.
    let cuda_module = cuda_module || (path == "autocast" && call.argument_count() == 0);
    if call
        .keyword(file, "enabled")
        .is_some_and(|enabled| enabled.kind_name() == "false")
    {
        return None;
    }
    // `dtype` comes second in both `torch.autocast(device_type, dtype)` and
    // `torch.cuda.amp.autocast(enabled, dtype)`.
    if let Some(dtype) = call.argument(file, 1, "dtype") {
        return is_float16(file, dtype).then_some(Fp16::Explicit);
    }
    if cuda_module {
        return Some(Fp16::CudaDefault);
    }
    let device = call.argument(file, 0, "device_type")?;
    match string_value(file, device) {
        Some(device) if device == "cuda" || device.starts_with("cuda:") => Some(Fp16::CudaDefault),
        Some(_) => None,
        None if device.kind_name() == "call" || device.kind_name() == "string" => None,
        None => Some(Fp16::DefaultIfCuda),
    }
}

fn is_float16(file: &SourceFile, dtype: Node<'_>) -> bool {
    let text = file.node_text(dtype);
    let name = text.rsplit('.').next().unwrap_or(text);
    matches!(name, "float16" | "half")
        || string_value(file, dtype).is_some_and(|value| value == "float16")
}
