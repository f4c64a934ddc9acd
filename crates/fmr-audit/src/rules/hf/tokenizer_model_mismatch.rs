use fmr_core::AuditFinding;
use tree_sitter::Node;

use crate::semantic::names::{last_value_before, scope_body};
use crate::semantic::training::short_text;
use crate::syntax::{Call, NodeExt, string_value, unparenthesized};
use crate::{AuditRule, Auditor, Context};

/// ## What it does
/// Checks for a tokenizer and a model loaded in the same function from checkpoints of
/// different model families (`AutoTokenizer.from_pretrained("bert-base-uncased")` with
/// `AutoModelForSequenceClassification.from_pretrained("roberta-base")`). Checkpoint names are
/// read from string literals or from constants assigned in the file; families are recognized
/// from the repository name (BERT, RoBERTa, GPT-2, GPT-NeoX, Llama 2, Llama 3, Mistral, Qwen, T5,
/// BART, ...).
///
/// A fine-tuned checkpoint loaded with its base model's tokenizer (`gpt2` and
/// `my-org/gpt2-finetuned`), or models that share a vocabulary (`gpt2` and `EleutherAI/gpt-neo`),
/// are not reported.
///
/// ## Why is this bad?
/// Token ids only mean something for the vocabulary the model was trained with. With another
/// tokenizer the ids point at unrelated embeddings (or beyond the table, which raises an index
/// error on GPU): the model sees word salad, fine-tuning starts from scratch in effect, and the
/// loss stays high.
///
/// ## Example
/// ```python
/// tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
/// model = AutoModelForSequenceClassification.from_pretrained("roberta-base")
/// ```
///
/// Use instead:
/// ```python
/// checkpoint = "roberta-base"
/// tokenizer = AutoTokenizer.from_pretrained(checkpoint)
/// model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
/// ```
///
/// ## References
/// - [Transformers: Auto classes](https://huggingface.co/docs/transformers/model_doc/auto)
/// - [Transformers: tokenizer summary](https://huggingface.co/docs/transformers/tokenizer_summary)
///
/// ## Confirms
/// - FM0083: tokenizer and model do not match
pub struct TokenizerModelMismatch;

impl AuditRule for TokenizerModelMismatch {
    fn code(&self) -> &'static str {
        "HF002"
    }

    fn name(&self) -> &'static str {
        "tokenizer-model-mismatch"
    }

    fn auditor(&self) -> Auditor {
        Auditor::SilentBugDetector
    }

    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding> {
        if !file.mentions("Tokenizer") {
            return Vec::new();
        }
        let mut tokenizers = Vec::new();
        let mut models = Vec::new();
        for call in file.calls_named("from_pretrained") {
            let Some(loader) = call.receiver().map(|receiver| file.node_text(receiver)) else {
                continue;
            };
            let Some((checkpoint, family)) = checkpoint_family(file, call.node, call) else {
                continue;
            };
            let scope = file.enclosing_scope(call.node).id();
            if loader.contains("Tokenizer") {
                tokenizers.push((scope, call.node, checkpoint, family));
            } else if loader.contains("Model") || loader.contains("For") {
                models.push((scope, call.node, checkpoint, family));
            }
        }
        let mut findings = Vec::new();
        for (scope, model, model_checkpoint, model_family) in &models {
            let Some((_, tokenizer, tokenizer_checkpoint, tokenizer_family)) =
                tokenizers.iter().find(|(tokenizer_scope, _, _, family)| {
                    tokenizer_scope == scope && family != model_family
                })
            else {
                continue;
            };
            let (line, _) = file.position(*tokenizer);
            let message = format!(
                "`{}` loads a {model_family} model (`{model_checkpoint}`), but the tokenizer comes from a \
                 {tokenizer_family} checkpoint (`{tokenizer_checkpoint}`, line {line}): the token ids index \
                 unrelated embeddings, so the model reads noise; load both from the same checkpoint",
                short_text(file, *model)
            );
            findings.push(file.finding(self, *model, message, 0.8));
        }
        findings
    }
}

/// The checkpoint name of a `from_pretrained` call and its model family, when both are known.
fn checkpoint_family<'t>(
    file: &Context<'t>,
    at: Node<'_>,
    call: &Call<'t>,
) -> Option<(String, &'static str)> {
    let argument = unparenthesized(call.argument(file, 0, "pretrained_model_name_or_path")?);
    let name = match argument.kind_name() {
        "string" => string_value(file, argument)?.to_owned(),
        "identifier" => {
            // A constant of the function, or of the module.
            let text = file.node_text(argument);
            let value = last_value_before(file, scope_body(file, at), text, at.start_byte())
                .or_else(|| last_value_before(file, file.source().root(), text, at.start_byte()))?;
            string_value(file, unparenthesized(value))?.to_owned()
        }
        _ => return None,
    };
    let family = family(&name)?;
    Some((name, family))
}

/// The vocabulary family of a checkpoint, from the words of its repository name.
fn family(checkpoint: &str) -> Option<&'static str> {
    let repository = checkpoint
        .rsplit('/')
        .next()
        .unwrap_or(checkpoint)
        .to_lowercase();
    let words: Vec<&str> = repository
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    let has = |word: &str| words.contains(&word);
    let starts = |prefix: &str| words.iter().any(|word| word.starts_with(prefix));
    let after = |first: &str, second: &str| {
        words
            .windows(2)
            .any(|pair| pair[0] == first && pair[1] == second)
    };
    if has("xlm") && starts("roberta") {
        return Some("XLM-RoBERTa");
    }
    if starts("roberta") || starts("distilroberta") {
        return Some("RoBERTa");
    }
    if starts("deberta") {
        return Some("DeBERTa");
    }
    if has("bert") || starts("distilbert") || has("bert2bert") {
        return Some("BERT");
    }
    if has("gpt") && (has("neox") || after("gpt", "neox")) || starts("pythia") {
        return Some("GPT-NeoX");
    }
    if has("gpt2") || has("distilgpt2") || after("gpt", "neo") || after("gpt", "j") {
        return Some("GPT-2");
    }
    if has("llama3") || after("llama", "3") {
        return Some("Llama 3");
    }
    if has("llama") || starts("tinyllama") {
        return Some("Llama 2");
    }
    if starts("mistral") || starts("mixtral") {
        return Some("Mistral");
    }
    if starts("qwen") {
        return Some("Qwen");
    }
    if starts("gemma") {
        return Some("Gemma");
    }
    if has("t5") {
        return Some("T5");
    }
    if has("bart") {
        return Some("BART");
    }
    if has("opt") {
        return Some("OPT");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn families_from_checkpoint_names() {
        assert_eq!(family("bert-base-uncased"), Some("BERT"));
        assert_eq!(family("distilbert/distilbert-base-uncased"), Some("BERT"));
        assert_eq!(family("FacebookAI/roberta-base"), Some("RoBERTa"));
        assert_eq!(family("xlm-roberta-large"), Some("XLM-RoBERTa"));
        assert_eq!(family("gpt2"), Some("GPT-2"));
        assert_eq!(family("EleutherAI/gpt-neo-125M"), Some("GPT-2"));
        assert_eq!(family("EleutherAI/pythia-160m"), Some("GPT-NeoX"));
        assert_eq!(family("meta-llama/Llama-2-7b-hf"), Some("Llama 2"));
        assert_eq!(family("meta-llama/Meta-Llama-3-8B"), Some("Llama 3"));
        assert_eq!(family("google/flan-t5-base"), Some("T5"));
        assert_eq!(family("facebook/opt-125m"), Some("OPT"));
        assert_eq!(family("my-org/sentiment-classifier"), None);
    }
}
