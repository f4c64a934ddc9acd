use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::training::short_text;
use crate::syntax::{NodeExt, string_value};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a causal language model whose padding token is set to the end-of-sequence token
/// (`tokenizer.pad_token = tokenizer.eos_token`) in a file that masks padding out of the labels:
/// `DataCollatorForLanguageModeling(..., mlm=False)`, `DataCollatorForCompletionOnlyLM`, or
/// labels set to `-100` where they equal `pad_token_id`.
///
/// Files that give the tokenizer a distinct padding token (`add_special_tokens({"pad_token":
/// ...})`, `pad_token = "<pad>"`, `pad_token = tokenizer.unk_token`) are not reported.
///
/// ## Why is this bad?
/// The collator sets the label to `-100` wherever the input equals the padding id. When
/// padding *is* the end-of-sequence token, every real end-of-sequence token is masked too: the
/// model never gets a loss for ending its answer, so after fine-tuning it rambles until the
/// length limit. Training loss looks normal.
///
/// ## Example
/// ```python
/// tokenizer.pad_token = tokenizer.eos_token
/// collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
/// ```
///
/// Use instead:
/// ```python
/// tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
/// model.resize_token_embeddings(len(tokenizer))
/// collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
/// ```
///
/// ## References
/// - [Transformers: `DataCollatorForLanguageModeling`](https://huggingface.co/docs/transformers/main_classes/data_collator#transformers.DataCollatorForLanguageModeling)
/// - [Transformers issue: EOS masked when pad_token = eos_token](https://github.com/huggingface/transformers/issues/22794)
///
/// ## Confirms
/// - FM0038: EOS masked as padding, the model never learns to stop
/// - FM0086: label masking errors
pub struct PadTokenEosMasked;

impl AuditRule for PadTokenEosMasked {
    fn code(&self) -> &'static str {
        "HF001"
    }

    fn name(&self) -> &'static str {
        "pad-token-eos-masked"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("eos_token") || !file.mentions("pad_token") {
            return Vec::new();
        }
        let mut eos_padding = Vec::new();
        for (left, right) in file.assignment_sides() {
            let target = file.node_text(left);
            let pads = target.ends_with(".pad_token") || target.ends_with(".pad_token_id");
            if !pads {
                continue;
            }
            let value = file.node_text(right);
            if value.ends_with(".eos_token") || value.ends_with(".eos_token_id") {
                eos_padding.push(file.parent(left).unwrap_or(left));
            } else {
                // Any other padding token makes padding distinguishable from EOS.
                return Vec::new();
            }
        }
        if eos_padding.is_empty() || adds_pad_token(file) {
            return Vec::new();
        }
        let Some(masking) = masks_padding(file) else {
            return Vec::new();
        };
        let (line, _) = file.position(masking);
        eos_padding
            .into_iter()
            .map(|assignment| {
                let message = format!(
                    "`{}` makes padding and end-of-sequence the same token, and `{}` (line {line}) masks padding out \
                     of the labels: every EOS is masked too, so the model never learns to stop generating; add a \
                     distinct pad token (and resize the embeddings)",
                    short_text(file, assignment),
                    short_text(file, masking),
                );
                file.finding(self, assignment, message, 0.7)
            })
            .collect()
    }
}

/// `tokenizer.add_special_tokens({"pad_token": ...})` or `add_special_tokens(pad_token=...)`.
fn adds_pad_token(file: &Context<'_>) -> bool {
    file.calls_named("add_special_tokens")
        .any(|call| file.node_text(call.node).contains("pad_token"))
        || file.nodes_of_kind("string").any(|string| {
            string_value(file, string)
                .is_some_and(|value| matches!(value, "<pad>" | "[PAD]" | "<|pad|>"))
        })
}

/// What masks padding from the labels: a causal-LM collator, or `labels == pad_token_id`
/// replaced by `-100`.
fn masks_padding<'t>(file: &Context<'t>) -> Option<Node<'t>> {
    let collator = file
        .calls_named("DataCollatorForLanguageModeling")
        .find(|call| {
            call.keyword(file, "mlm")
                .is_some_and(|mlm| mlm.kind_name() == "false")
        })
        .or_else(|| file.calls_named("DataCollatorForCompletionOnlyLM").next())
        .map(|call| call.node);
    collator.or_else(|| {
        file.nodes_of_kind("comparison_operator")
            .find(|comparison| {
                let text = file.node_text(*comparison);
                let equals_padding = text.contains("==") && text.contains("pad_token_id");
                // `labels[labels == pad_id] = -100`, `torch.where(ids == pad_id, -100, ids)`: the
                // statement holding the comparison writes the ignore index.
                let statement = file.ancestors(*comparison).find(|ancestor| {
                    matches!(
                        ancestor.kind_name(),
                        "expression_statement" | "assignment" | "return_statement"
                    )
                });
                equals_padding
                    && statement.is_some_and(|statement| file.node_text(statement).contains("-100"))
            })
    })
}
